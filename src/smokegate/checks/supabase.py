"""Database access, black box: what the public anon key reaches in a Supabase project.

Every visitor's browser holds the project's URL and anon key (inlined from ``NEXT_PUBLIC_SUPABASE_*``),
so anything the ``anon`` role may read or write through the Data API (PostgREST), Storage or Auth is
open to the internet.  These functions find the URL and key where the browser gets them and judge
the answers of the probes, as PostgREST, Storage and GoTrue document them:

- a table read with ``Prefer: count=exact`` answers ``Content-Range: <first>-<last>/<total>``; rows,
  or a total above 0, mean row level security lets ``anon`` read (splinter's lint 0013
  ``rls_disabled_in_public``, or a policy ``using (true)``);
- refusals carry PostgREST's error JSON: SQLSTATE ``42501`` (no privilege), ``PGRST205`` (no such table);
- a private bucket whose objects ``anon`` can list is open; a private bucket flagged ``public`` serves
  every object to whoever knows its name;
- ``/auth/v1/settings`` says whether sign-ups, autoconfirm and anonymous sign-ins are on;
- ``/rest/v1/`` (PostgREST's OpenAPI) lists every table to whoever may read it.

Nothing here keeps a row's values: a judgement holds counts and column names only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from smokegate.checks.jwt import JWT_PATTERN, unverified_payload

PUBLISHABLE_KEY = re.compile(r"\bsb_publishable_[A-Za-z0-9_-]{16,}")
_JWT = re.compile(JWT_PATTERN)
_STRING = r"""["'`]([^"'`\s]{8,2048})["'`]"""
# The hosted API's origin: https://<20-character project ref>.supabase.co
HOSTED = re.compile(r"https://([a-z0-9]{20})\.supabase\.co\b")


@dataclass(frozen=True)
class Project:
    """Where a page's Supabase client goes, with which key, and where that was read."""

    url: str | None
    key: str | None
    url_from: str = ""
    key_from: str = ""


def is_anon_key(value: str) -> bool:
    """A key the browser may hold: a JWT whose role is ``anon``, or a ``sb_publishable_`` key."""
    if PUBLISHABLE_KEY.fullmatch(value):
        return True
    claims = unverified_payload(value) if _JWT.fullmatch(value) else None
    return bool(claims) and claims.get("role") == "anon"  # type: ignore[union-attr]


def _origin(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def find_project(documents: Iterable[tuple[str, str]]) -> Project:
    """The project's URL and anon key in what a page serves: ``(source name, text)`` pairs.

    The key is the first anon-role JWT or publishable key.  The URL, in order of trust: the string
    literal just before that key in a call (``createBrowserClient("<url>", "<key>")``, ``createClient``:
    how every Supabase client is made once Next.js inlined the values), the hosted origin of the
    key's own ``ref`` claim when a page names it, then any ``https://<ref>.supabase.co`` literal.
    """
    docs = list(documents)
    key = key_from = None
    for source, text in docs:
        for match in (*_JWT.finditer(text), *PUBLISHABLE_KEY.finditer(text)):
            if is_anon_key(match.group(0)):
                key, key_from = match.group(0), source
                break
        if key:
            break
    url = url_from = None
    if key:
        call = re.compile(_STRING + r"\s*,\s*[\"'`]" + re.escape(key) + r"[\"'`]")
        for source, text in docs:
            found = call.search(text)
            if found and _origin(found.group(1)):
                url, url_from = _origin(found.group(1)), f"{source} (the client's URL beside the key)"
                break
        ref = (unverified_payload(key) or {}).get("ref") if _JWT.fullmatch(key) else None
        if url is None and isinstance(ref, str):
            hosted = f"https://{ref}.supabase.co"
            url, url_from = next(((hosted, f"{s} (the key's project)") for s, t in docs if hosted in t), (None, None))
    if url is None:
        for source, text in docs:
            found = HOSTED.search(text)
            if found:
                url, url_from = found.group(0), source
                break
    return Project(url, key, url_from or "", key_from or "")


def _body(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def error_code(text: str) -> str:
    """PostgREST's (or the gateway's) error: ``42501 permission denied for table x``."""
    body = _body(text)
    if not isinstance(body, dict):
        return text[:120].strip()
    parts = [str(body.get(k)) for k in ("code", "error", "message") if body.get(k) not in (None, "")]
    return " ".join(dict.fromkeys(parts))


@dataclass(frozen=True)
class TableRead:
    """What a read of one table with the anon key showed: rows (counted), or why it was refused."""

    readable: bool
    rows: int | None  # the exact count when the server gave one, else rows in the answer
    columns: tuple[str, ...] = ()
    refused: str = ""  # the refusal, as PostgREST said it
    missing: bool = False  # no such table (PGRST205/42P01): nothing to protect, or a wrong name


_RANGE = re.compile(r"^\s*(?:\*|\d+-\d+)/(\d+|\*)\s*$")


def judge_read(status: int, headers: Mapping[str, str], text: str) -> TableRead:
    """Judge ``GET /rest/v1/<table>?select=*&limit=1`` sent with ``Range: 0-0`` and ``Prefer: count=exact``."""
    if status in (200, 206):
        body = _body(text)
        rows = body if isinstance(body, list) else []
        total = _RANGE.match(headers.get("content-range", ""))
        count = int(total.group(1)) if total and total.group(1).isdigit() else len(rows)
        count = max(count, len(rows))
        columns = tuple(sorted(rows[0])) if rows and isinstance(rows[0], dict) else ()
        return TableRead(readable=count > 0, rows=count, columns=columns)
    code = error_code(text)
    missing = status == 404 and ("PGRST205" in code or "42P01" in code)
    return TableRead(readable=False, rows=None, refused=f"{status} {code}".strip(), missing=missing)


def write_refused(status: int) -> bool:
    """A write the anon role must not make: refused is 401/403 (no privilege, RLS) or 404/405 (no route)."""
    return status in (401, 403, 404, 405)


def listed_objects(status: int, text: str) -> int | None:
    """How many objects ``POST /storage/v1/object/list/<bucket>`` showed; None when it refused."""
    body = _body(text)
    if status != 200 or not isinstance(body, list):
        return None
    return len(body)


def buckets(status: int, text: str) -> dict[str, bool]:
    """``GET /storage/v1/bucket``'s buckets the key may see: name -> public."""
    body = _body(text)
    if status != 200 or not isinstance(body, list):
        return {}
    return {str(b.get("id") or b.get("name")): bool(b.get("public")) for b in body if isinstance(b, dict)}


# What /auth/v1/settings says, by the name the config uses.
AUTH_SETTINGS: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "signups": ("new users can sign up", lambda s: not s.get("disable_signup", False)),
    "email_autoconfirm": ("e-mail sign-ups are confirmed without a click in the mail",
                          lambda s: bool(s.get("mailer_autoconfirm"))),
    "anonymous_sign_ins": ("anyone can get a session by anonymous sign-in",
                           lambda s: bool((s.get("external") or {}).get("anonymous_users"))),
}


def auth_mismatches(settings: Any, expected: Mapping[str, bool | None]) -> list[str]:
    """Where GoTrue's settings differ from what the config expects (None: not checked)."""
    if not isinstance(settings, dict) or "disable_signup" not in settings:
        raise ValueError("not GoTrue's settings (no disable_signup)")
    found = []
    for name, want in expected.items():
        if want is None:
            continue
        what, read = AUTH_SETTINGS[name]
        if read(settings) != want:
            found.append(f"{name}: {'on' if read(settings) else 'off'}, expected {'on' if want else 'off'} ({what})")
    return found


def schema_tables(status: int, text: str) -> list[str] | None:
    """The tables ``GET /rest/v1/`` lists (PostgREST's OpenAPI); None when the schema was refused."""
    body = _body(text)
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("paths"), dict):
        return None
    return sorted(p.strip("/") for p in body["paths"] if p.strip("/") and not p.startswith("/rpc/"))
