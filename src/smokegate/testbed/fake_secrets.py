"""The testbed's own server-side secrets: fake, deterministic, and shaped like the real ones.

Leak faults serve these, and the self-tests export them as the environment variables the target
config names, so the exact-value canary must catch a leak as well as the pattern rules do.  The
values are assembled at import time so this source file itself holds no string a secret scanner
(ours or GitHub's) would flag.
"""

from __future__ import annotations

import base64
import hashlib
import time

from joserfc import jwt
from joserfc.jwk import OctKey


def _noise(label: str, length: int) -> str:
    digest = b""
    counter = 0
    while len(digest) * 4 // 3 < length + 4:
        digest += hashlib.sha256(f"smokegate-testbed:{label}:{counter}".encode()).digest()
        counter += 1
    return base64.b64encode(digest).decode().replace("+", "").replace("/", "").replace("=", "")[:length]


def _supabase_jwt(role: str) -> str:
    # Supabase API keys are HS256 JWTs signed with the project's JWT secret; only the role differs.
    key = OctKey.import_key(_noise("supabase-jwt-secret", 40).encode())
    claims = {"iss": "supabase", "ref": "napoleon-testbed", "role": role, "iat": 1_717_000_000,
              "exp": 2_032_576_000}
    return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, key)


FAKE_SECRETS: dict[str, str] = {
    "STRIPE_SECRET_KEY": "sk_" + "live_" + "51Np" + _noise("stripe-secret", 95),
    "STRIPE_WEBHOOK_SECRET": "whsec" + "_" + _noise("stripe-webhook", 32),
    "CLERK_SECRET_KEY": "sk_" + "live_" + _noise("clerk-secret", 40),
    "CLERK_WEBHOOK_SECRET": "whsec" + "_" + base64.b64encode(hashlib.sha256(b"clerk-webhook").digest()[:24]).decode(),
    "SUPABASE_SERVICE_ROLE_KEY": _supabase_jwt("service" + "_role"),
    "OPENAI_API_KEY": "sk-" + "proj-" + _noise("openai", 56),
    # Supabase's new secret API key (sb_secret_…), the successor of the service_role JWT.
    "SUPABASE_SECRET_KEY": "sb_" + "secret_" + _noise("supabase-secret", 32),
    "GOOGLE_CLIENT_SECRET": "GOC" + "SPX-" + _noise("google", 28),
    "MICROSOFT_CLIENT_SECRET": _noise("microsoft", 40),
    "SLACK_CLIENT_SECRET": _noise("slack", 32).lower(),
}
# The pooler connection string of the project's Postgres, with its password (never a client's to see).
DATABASE_URL = ("postgresql://postgres.napoleontestbedrefx:" + _noise("database-password", 24)
                + "@aws-0-eu-central-1.pooler.supabase.com:6543/postgres")
# Public by design (NEXT_PUBLIC_SUPABASE_ANON_KEY): served on every page, never a finding.
SUPABASE_ANON_KEY = _supabase_jwt("anon")


def env() -> dict[str, str]:
    """The environment a suite run against the testbed needs for its canary and webhook checks."""
    return dict(FAKE_SECRETS)


def dotenv_file() -> str:
    """What a leaked ``/.env`` of the platform looks like."""
    lines = ["# Production environment", "NODE_ENV=production", "NEXT_PUBLIC_APP_URL=https://napoleonai.app"]
    lines += [f"{name}={value}" for name, value in FAKE_SECRETS.items()]
    lines.append(f"# generated {time.strftime('%Y-%m-%d')}")
    return "\n".join(lines) + "\n"
