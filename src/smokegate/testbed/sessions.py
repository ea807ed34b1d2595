"""Sessions as Clerk issues them: a short-lived signed JWT in the ``__session`` cookie.

The testbed signs with its own RS256 key (as Clerk does); a token with another algorithm, a bad
signature or a past ``exp`` is no session at all.  JWTs are handled by joserfc, the JOSE library
authlib itself now builds on.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from starlette.requests import Request

SESSION_COOKIE = "__session"
SESSION_TTL_S = 3600


def _unverified_header(token: str) -> dict[str, Any]:
    head = token.split(".", 1)[0]
    head += "=" * (-len(head) % 4)
    value = json.loads(base64.urlsafe_b64decode(head))
    return value if isinstance(value, dict) else {}


@dataclass
class SessionKeys:
    key: RSAKey

    @classmethod
    def generate(cls) -> SessionKeys:
        return cls(key=RSAKey.generate_key(2048, parameters={"kid": "testbed"}))

    def issue(self, user: dict[str, Any], ttl_s: int = SESSION_TTL_S, issuer: str = "testbed") -> str:
        now = int(time.time())
        claims = {
            "sub": user["sub"], "name": user.get("name", ""), "email": user.get("email", ""),
            "iat": now, "nbf": now, "exp": now + ttl_s, "iss": issuer,
            # Each sign-in is a session of its own (Clerk's sid claim).  Without it, two sign-ins of one
            # user in the same second got the same token (RS256 signatures are deterministic), and
            # signing one out revoked the other.
            "sid": "sess_" + secrets.token_urlsafe(18),
        }
        return jwt.encode({"alg": "RS256", "kid": "testbed", "typ": "JWT"}, claims, self.key)

    def verify(self, token: str, *, accept_alg_none: bool = False) -> dict[str, Any] | None:
        try:
            if accept_alg_none and _unverified_header(token).get("alg", "").lower() == "none":
                # The classic mistake the alg-none fault imitates: trusting the token's own header.
                payload = token.split(".")[1]
                payload += "=" * (-len(payload) % 4)
                claims = json.loads(base64.urlsafe_b64decode(payload))
            else:
                claims = dict(jwt.decode(token, self.key, algorithms=["RS256"]).claims)
            jwt.JWTClaimsRegistry(exp={"essential": True}).validate(claims)
        except (JoseError, ValueError, TypeError, KeyError, IndexError):
            return None
        return claims if isinstance(claims, dict) else None

    def user(self, request: Request, *, accept_alg_none: bool = False) -> dict[str, Any] | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            auth = request.headers.get("authorization", "")
            token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        return self.verify(token, accept_alg_none=accept_alg_none) if token else None
