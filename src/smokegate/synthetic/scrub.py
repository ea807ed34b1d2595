"""Keep secrets out of every artifact: traces, console logs, messages, reports.

A Playwright trace records what the browser did, which includes what must never be kept: the
password typed into the provider's form, the OAuth code in the callback URL, session cookies in
request and response headers.  :class:`Scrubber` masks them by value (secrets read from the
environment and values the journey saw, in their raw, URL-encoded and JSON-escaped forms) and by
shape (JWTs, ``code=`` and token parameters, cookie and authorization headers), and rewrites trace
archives member by member.  Screenshots are masked at the source instead (inputs hidden before the
picture is taken), since pixels cannot be scrubbed by text.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus

MASK = "[redacted]"
MIN_SECRET_LENGTH = 6
_SECRET_PARAMS = r"code|code_verifier|id_token|access_token|refresh_token|client_secret|password|token"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # JSON web tokens: Clerk's __session, ID tokens.
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),
    # Query and form parameters, also when JSON-escaped (\u0026) inside a trace.
    (re.compile(rf"((?:^|[?&#\s\"']|\\u0026)(?:{_SECRET_PARAMS})=)[^&#\"'\s\\<]+", re.I), rf"\1{MASK}"),
    # Header entries as traces and HARs store them: {"name": "cookie", "value": "..."}.
    (
        re.compile(
            r'("name"\s*:\s*"(?:cookie|set-cookie|authorization|proxy-authorization)"\s*,\s*"value"\s*:\s*")'
            r'(?:[^"\\]|\\.)*"',
            re.I,
        ),
        rf'\1{MASK}"',
    ),
    # Cookie objects as storage_state and context.cookies() write them.
    (
        re.compile(
            r'("name"\s*:\s*"(?:__session|__client|__client_uat|__clerk[^"]*)"\s*,\s*"value"\s*:\s*")'
            r'(?:[^"\\]|\\.)*"'
        ),
        rf'\1{MASK}"',
    ),
    # Raw header lines and cookie pairs.
    (re.compile(r"(?im)^(\s*(?:cookie|set-cookie|authorization):\s*).+$"), rf"\1{MASK}"),
    (re.compile(r"\b(__session|__client|__client_uat|__clerk_[A-Za-z_]+)=[^;&\"'\s\\]+"), rf"\1={MASK}"),
)


class Scrubber:
    """Masks known secret values and secret-shaped text."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        self.add(*values)

    def add(self, *values: str | None) -> None:
        for value in values:
            if value and len(value) >= MIN_SECRET_LENGTH:
                self._values.update({value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]})

    def add_env(self, *names: str) -> None:
        self.add(*(os.environ.get(name) for name in names))

    @property
    def values(self) -> list[str]:
        return sorted(self._values, key=len, reverse=True)

    def text(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, MASK)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def data(self, data: bytes) -> bytes:
        """Scrub bytes that are text; binary data (images, video) is returned unchanged."""
        try:
            decoded = data.decode("utf-8")
        except UnicodeDecodeError:
            return data
        scrubbed = self.text(decoded)
        return data if scrubbed == decoded else scrubbed.encode("utf-8")

    def file(self, path: Path) -> bool:
        """Scrub one artifact in place (zip archives member by member); True when it changed."""
        if zipfile.is_zipfile(path):
            return self._zip(path)
        original = path.read_bytes()
        scrubbed = self.data(original)
        if scrubbed != original:
            path.write_bytes(scrubbed)
            return True
        return False

    def _zip(self, path: Path) -> bool:
        changed = False
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".zip")
        os.close(handle)
        try:
            with zipfile.ZipFile(path) as source, zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as target:
                for info in source.infolist():
                    original = source.read(info)
                    scrubbed = self.data(original)
                    changed |= scrubbed != original
                    target.writestr(info, scrubbed)
            if changed:
                os.replace(temporary, path)
        finally:
            Path(temporary).unlink(missing_ok=True)
        return changed

    def tree(self, root: Path) -> int:
        """Scrub every file under ``root``; return how many changed."""
        return sum(self.file(p) for p in sorted(root.rglob("*")) if p.is_file()) if root.exists() else 0


# One per process (each xdist worker): the journey registers what it sees, artifacts are scrubbed with it.
SCRUBBER = Scrubber()
