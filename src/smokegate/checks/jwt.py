"""JWT helpers for the checks: reading a payload without trusting it, and forging bad tokens.

The forged tokens are what an attacker can make without the platform's keys: an ``alg: none``
token and a token signed with a key of their own.  A correct server refuses both.
"""

from __future__ import annotations

import base64
import functools
import json
import time
from typing import Any

JWT_PATTERN = r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def unverified_payload(token: str) -> dict[str, Any] | None:
    """The claims of a compact JWT, without checking anything; None when it is not a JWT."""
    try:
        value = json.loads(_unb64(token.split(".")[1]))
    except (IndexError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def session_claims(ttl_s: int, subject: str = "user_smokegate_probe") -> dict[str, Any]:
    """Claims of a Clerk-like session valid for ``ttl_s`` seconds (negative: expired that long ago)."""
    now = int(time.time())
    issued = min(now, now + ttl_s - 60)
    return {"sub": subject, "name": "smokegate probe", "email": "probe@example.com",
            "iat": issued, "nbf": issued, "exp": now + ttl_s, "iss": "smokegate"}


def alg_none_token(claims: dict[str, Any]) -> str:
    """An unsigned token (``alg: none``); valid claims, no signature at all."""
    header = {"alg": "none", "typ": "JWT"}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


def self_signed_token(claims: dict[str, Any]) -> str:
    """A well-formed RS256 token signed with a throwaway key the platform has never seen."""
    from joserfc import jwt

    return jwt.encode({"alg": "RS256", "kid": "smokegate-probe", "typ": "JWT"}, claims, _throwaway_key())


@functools.cache
def _throwaway_key() -> Any:
    """One RSA key per process: making a 2048-bit key costs about 70 ms, and any key the platform
    never saw proves the same thing."""
    # Imported here: joserfc loads cryptography, which only this check needs (start-up of every run).
    from joserfc.jwk import RSAKey

    return RSAKey.generate_key(2048, parameters={"kid": "smokegate-probe"})


def expired_token() -> str:
    """A session token that expired an hour ago (signed with a throwaway key)."""
    return self_signed_token(session_claims(-3600))
