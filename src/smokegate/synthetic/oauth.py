"""Judging an OAuth authorize URL captured from a sign-in button, without ever following it.

Each function returns the problems it finds (empty when the URL is as configured), so a check
asserts on one aspect and its message names exactly what is wrong.  What is sound follows RFC 6749,
RFC 7636 (PKCE) and the OAuth 2.0 Security BCP (RFC 9700): the code goes only to a redirect URI of
the app itself, ``state`` is unguessable and fresh, and the code is bound to the browser.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

MIN_STATE_LENGTH = 16
# A random token of 16+ characters from a base64/hex alphabet has at least this many distinct
# characters with overwhelming probability; a word or a counter does not.
MIN_STATE_DISTINCT = 8
PKCE_CHALLENGE_LENGTH = 43  # base64url of a SHA-256 digest, unpadded


@dataclass(frozen=True)
class AuthorizeUrl:
    """An authorize URL, split into what the checks look at."""

    url: str
    scheme: str
    host: str
    path: str
    params: dict[str, list[str]]

    @classmethod
    def parse(cls, url: str) -> AuthorizeUrl:
        parts = urlsplit(url)
        return cls(
            url, parts.scheme, (parts.hostname or "").lower(), parts.path, parse_qs(parts.query, keep_blank_values=True)
        )

    def get(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[0] if values else None

    def redacted(self) -> str:
        """The URL without the values that could help an attacker (state, challenge, nonce)."""
        shown = {k: ("…" if k in ("state", "code_challenge", "nonce") else v[0]) for k, v in self.params.items()}
        return f"{self.scheme}://{self.host}{self.path}?" + "&".join(f"{k}={v}" for k, v in shown.items())


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{(parts.hostname or '').lower()}{port}"


def host_problems(auth: AuthorizeUrl, expected_host: str) -> list[str]:
    problems = []
    if auth.scheme != "https":
        problems.append(f"authorize URL is {auth.scheme}://, not https://")
    if auth.host != expected_host.lower():
        problems.append(f"authorize host is {auth.host!r}, expected {expected_host!r}")
    return problems


def client_id_problems(auth: AuthorizeUrl, expected: str) -> list[str]:
    given = auth.get("client_id")
    return [] if given == expected else [f"client_id is {given!r}, expected {expected!r}"]


def response_type_problems(auth: AuthorizeUrl) -> list[str]:
    given = auth.get("response_type")
    return [] if given == "code" else [f"response_type is {given!r}, expected 'code' (authorization code flow)"]


def redirect_uri_problems(auth: AuthorizeUrl, app_origin: str, allowed_origins: Iterable[str] = ()) -> list[str]:
    given = auth.get("redirect_uri")
    if not given:
        return ["redirect_uri is missing"]
    parts = urlsplit(given)
    if parts.scheme != "https":
        return [f"redirect_uri {given!r} is not https"]
    allowed = {origin_of(app_origin), *(origin_of(o) for o in allowed_origins)}
    if origin_of(given) not in allowed:
        return [f"redirect_uri {given!r} is not on the app's origin ({', '.join(sorted(allowed))})"]
    return []


def state_problems(first: str | None, second: str | None) -> list[str]:
    """``state`` of two attempts: present, long and varied enough to be random, never repeated."""
    if not first:
        return ["state is missing (login CSRF: an attacker's code could be planted in the victim's session)"]
    problems = []
    if len(first) < MIN_STATE_LENGTH:
        problems.append(f"state is {len(first)} characters, expected at least {MIN_STATE_LENGTH}")
    if len(set(first)) < MIN_STATE_DISTINCT:
        problems.append(f"state has only {len(set(first))} distinct characters: not random")
    if second is None:
        problems.append("state is missing on the second attempt")
    elif second == first:
        problems.append("state is the same on two attempts: predictable")
    return problems


def binding_problems(auth: AuthorizeUrl, binding: str) -> list[str]:
    """The code must be bound to this browser: PKCE with S256, or an OpenID nonce."""
    if binding == "nonce":
        nonce = auth.get("nonce")
        if not nonce or len(nonce) < MIN_STATE_LENGTH:
            return [f"nonce is {'missing' if not nonce else 'too short'} (expected an OpenID nonce)"]
        return []
    challenge, method = auth.get("code_challenge"), auth.get("code_challenge_method")
    if not challenge:
        return ["PKCE code_challenge is missing (an intercepted code could be redeemed by anyone)"]
    problems = []
    if method != "S256":
        problems.append(f"code_challenge_method is {method!r}, expected 'S256'")
    if len(challenge) != PKCE_CHALLENGE_LENGTH:
        problems.append(f"code_challenge is {len(challenge)} characters, a S256 challenge has {PKCE_CHALLENGE_LENGTH}")
    return problems


def scope_problems(auth: AuthorizeUrl, expected: Iterable[str]) -> list[str]:
    given = set((auth.get("scope") or "").replace(",", " ").split())
    missing = [s for s in expected if s not in given]
    return [f"scope {auth.get('scope')!r} lacks {', '.join(missing)}"] if missing else []


def fingerprint(value: str) -> str:
    """A short, non-reversible label for a value a message must not show."""
    return hashlib.sha256(value.encode()).hexdigest()[:8]
