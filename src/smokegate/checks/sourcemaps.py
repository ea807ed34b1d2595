"""Source maps: where a script says its map is, and whether what is served there is one.

Browsers and attackers find a script's map three ways, and so does this module: the script's
last ``//# sourceMappingURL=`` comment (ECMA-426; ``//@`` is the legacy form), the ``SourceMap``
(or legacy ``X-SourceMap``) response header, and the conventional ``<script>.map`` name that
webpack uses.  Turbopack, Next.js 16's default bundler, content-hashes its maps apart from their
chunks (``a1b2….js`` points at ``c3d4….js.map``), so only the comment finds them there.

A map counts as served only when what comes back *is* one (JSON with ``version`` and
``mappings`` or ``sections``): a site that answers every unknown path with a 200 page does not
serve maps.  A ``data:`` URL is a map inlined into the script itself: served by definition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from smokegate.bodies import parse_json
from smokegate.checks import urls

# The last sourceMappingURL annotation in a line or block comment (ECMA-426 section 11.1.2.1).
_COMMENT = re.compile(r"(?://|/\*)\s*[#@]\s*sourceMappingURL\s*=\s*([^\s'\"*]+)")
HEADERS = {"sourcemap": "SourceMap header", "x-sourcemap": "X-SourceMap header"}
# A map may start with this line to defeat cross-site script inclusion; readers skip it.
_XSSI_PREFIX = ")]}'"


@dataclass
class MapReference:
    """Where a script's map may be, and how it was found (comment, header, conventional name)."""

    url: str
    found_by: list[str] = field(default_factory=list)

    @property
    def inline(self) -> bool:
        return self.url.startswith("data:")

    def describe(self) -> str:
        where = "an inline data: URL" if self.inline else self.url
        return f"{where} (by {', '.join(self.found_by)})"


def comment_url(script: str) -> str | None:
    """The URL of the script's last sourceMappingURL comment, if any (only the tail is read)."""
    matches = _COMMENT.findall(script[-4096:])
    return matches[-1] if matches else None


def references(script_url: str, script: str, headers: Mapping[str, str]) -> list[MapReference]:
    """Every place the script's map may be, resolved against the script's URL, without duplicates."""
    found: dict[str, MapReference] = {}

    def add(raw: str, how: str) -> None:
        url = raw if raw.startswith("data:") else urls.resolve(script_url, raw.strip())
        if url is not None:  # a reference no browser can resolve points nowhere
            found.setdefault(url, MapReference(url)).found_by.append(how)

    comment = comment_url(script)
    if comment:
        add(comment, "sourceMappingURL comment")
    for name, how in HEADERS.items():
        value = headers.get(name)
        if value and value.strip():
            add(value.strip(), how)
    parsed = urls.parse(script_url)
    plain = parsed.origin + parsed.path if parsed is not None else ""
    if plain.endswith(".js"):
        add(plain + ".map", "conventional name")
    return list(found.values())


def is_source_map(text: str) -> bool:
    """Whether ``text`` is a source map (revision 3, plain or indexed), not an HTML or error page."""
    body = text.lstrip()
    if body.startswith(_XSSI_PREFIX):
        body = body[len(_XSSI_PREFIX):]
    try:
        data = parse_json(body)
    except ValueError:
        return False
    return isinstance(data, dict) and "version" in data and ("mappings" in data or "sections" in data)


def source_count(text: str) -> int:
    """How many original files a served map exposes (for the finding's message)."""
    body = text.lstrip().removeprefix(_XSSI_PREFIX)
    try:
        data = parse_json(body)
    except ValueError:
        return 0
    if not isinstance(data, dict):
        return 0
    sources = data.get("sources")
    if isinstance(sources, list):
        return len(sources)
    sections = data.get("sections")
    if isinstance(sections, list):
        return sum(len(s.get("map", {}).get("sources", [])) for s in sections if isinstance(s, dict))
    return 0
