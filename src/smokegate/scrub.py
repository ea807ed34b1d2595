"""Keep secrets out of every artifact: reports, traces, console logs, messages, alerts, incidents, history.

The one way smokegate hides a secret.  A secret known by name (an environment variable the config
names) is replaced by ``[redacted NAME, N chars]``: no character of its value survives, only its
name and length, so a reader can still tell which secret leaked where.

A Playwright trace records what the browser did, which includes what must never be kept: the
password typed into the provider's form, the OAuth code in the callback URL, session cookies in
request and response headers.  :class:`Scrubber` masks them by value (secrets read from the
environment and values the journey saw, in their raw, URL-encoded and JSON-escaped forms) and by
shape (JWTs, ``code=`` and token parameters, cookie and authorization headers), and rewrites trace
archives member by member.  Screenshots are masked at the source instead (inputs hidden before the
picture is taken), since pixels cannot be scrubbed by text.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import quote, quote_plus

MASK = "[redacted]"
# What a run writes under reports/ that can carry text: reports, logs, Allure results, trace archives.
REPORT_SUFFIXES = (".html", ".xml", ".json", ".md", ".txt", ".log", ".zip", ".har")
MIN_SECRET_LENGTH = 6
_SECRET_PARAMS = r"code|code_verifier|id_token|access_token|refresh_token|client_secret|password|token"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # JSON web tokens: Clerk's __session, ID tokens.
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), MASK),
    # Query and form parameters, also when JSON-escaped (\u0026) inside a trace.  Not a template's
    # placeholder (``?code=${e}`` in a bundled script, as Locust's report has): masking it breaks the script.
    (re.compile(rf"((?:^|[?&#\s\"']|\\u0026)(?:{_SECRET_PARAMS})=)(?!\$\{{)[^&#\"'\s\\<]+", re.I), rf"\1{MASK}"),
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
    # Server-side keys by their shape (smokegate.checks.secrets finds them served): Supabase secret
    # keys, Stripe secret and restricted keys (Clerk's share the shape), OpenAI project keys.
    (re.compile(r"\b(?:sb_secret_[A-Za-z0-9_-]{16,}|(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}"
                r"|sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,})"), MASK),
    # The password of a connection string (postgresql://user:password@host): where it points stays.
    (re.compile(r"\b((?:postgres(?:ql)?|mysql|mariadb|rediss?|mongodb(?:\+srv)?|amqps?)://[^\s:/@\"'<>`]+:)"
                r"[^\s@/\"'<>`]+(@)"), rf"\1{MASK}\2"),
    # Raw header lines and cookie pairs.
    (re.compile(r"(?im)^(\s*(?:cookie|set-cookie|authorization):\s*).+$"), rf"\1{MASK}"),
    # (The literal "__" comes first and the word boundary after it, as a lookbehind: the regular
    # expression engine then skips ahead to each "__" instead of trying every position.)
    (re.compile(r"__(?<!\w__)(session|client|client_uat|clerk_[A-Za-z_]+)=[^;&\"'\s\\]+"), rf"__\1={MASK}"),
)


class Scrubber:
    """Masks known secret values (raw, URL-encoded and JSON-escaped) and secret-shaped text."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._masks: dict[str, str] = {}
        self.add(*values)

    @classmethod
    def from_env(cls, names: Iterable[str], environ: Mapping[str, str] | None = None) -> Scrubber:
        scrubber = cls()
        scrubber.add_env(*names, environ=environ)
        return scrubber

    def add(self, *values: str | None, name: str | None = None) -> None:
        """Values to hide; with a ``name`` the mask says which secret it was and how long."""
        for value in values:
            if not value or len(value) < MIN_SECRET_LENGTH:
                continue  # a very short value would mask ordinary words; a real secret is never that short
            mask = f"[redacted {name}, {len(value)} chars]" if name else MASK
            for spelling in (value, value.strip(), quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]):
                if len(spelling) >= MIN_SECRET_LENGTH:
                    self._masks.setdefault(spelling, mask)

    def add_env(self, *names: str, environ: Mapping[str, str] | None = None) -> None:
        """Secrets held by environment variables, masked with the variable's name."""
        source = os.environ if environ is None else environ
        for env_name in names:
            self.add(source.get(env_name), name=env_name)

    @property
    def values(self) -> list[str]:
        return sorted(self._masks, key=len, reverse=True)

    def text(self, text: str) -> str:
        for value in self.values:
            if value in text:
                text = text.replace(value, self._masks[value])
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    __call__ = text

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
        original = path.read_bytes()
        if zipfile.is_zipfile(io.BytesIO(original)):
            return self._zip(path)
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

    def tree(self, root: Path, suffixes: Iterable[str] | None = None) -> int:
        """Scrub every file under ``root`` (only those with ``suffixes`` when given); return how many changed."""
        if not root.exists():
            return 0
        wanted = set(suffixes) if suffixes is not None else None
        return sum(
            self.file(p) for p in sorted(root.rglob("*"))
            if p.is_file() and (wanted is None or p.suffix in wanted)
        )


# One per process (each xdist worker): the run adds the target's secrets, the journey what it sees,
# and every report and artifact is scrubbed with it.
SCRUBBER = Scrubber()
