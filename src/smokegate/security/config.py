"""The ``[security]`` section of a target: what the security checks probe and what they expect.

The defaults describe the real platform (Next.js App Router on Vercel, Clerk, Stripe, Supabase), so
a target lists only what differs.  Secrets never appear here: webhook secrets and canary values are
named by environment variable, like everything else in the target config.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from smokegate.checks.notfound import Content

Method = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_NAME = r"^[a-z0-9][a-z0-9-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _origin(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"not an origin (scheme://host[:port]): {value!r}")
    return value.rstrip("/")


class Tls(_Model):
    """Certificate and protocol expectations, checked with sslyze."""

    # Fail when any certificate of the chain expires sooner; warn (low severity) under warn_days.
    expiry_fail_days: int = Field(7, ge=0)
    expiry_warn_days: int = Field(30, ge=1)
    mozilla_profile: Literal["modern", "intermediate", "old"] = "intermediate"
    hsts_min_age_s: int = Field(31536000, ge=0)
    hsts_include_subdomains: StrictBool = True
    # Plain-HTTP URL that must redirect to HTTPS; None means http://<host> on port 80.
    http_url: str | None = None
    scan_timeout_s: float = Field(60, gt=0, le=600)


class CorsRoute(_Model):
    """An API route browsers may call cross-origin, and from where."""

    name: str = Field(pattern=_NAME)
    path: str = Field(pattern=r"^/")
    # The methods the route itself serves; a preflight may never allow more.
    methods: tuple[Method, ...] = ("GET", "HEAD", "OPTIONS")
    allowed_origins: tuple[str, ...] = ("https://napoleonai.app", "https://www.napoleonai.app")
    allow_subdomains: StrictBool = False

    _origins = field_validator("allowed_origins")(
        classmethod(lambda cls, v: tuple(_origin(o) for o in v))
    )


class RateLimit(_Model):
    """The bounded burst that must run into the rate limiter (an intrusive check)."""

    path: str = Field("/api/waitlist", pattern=r"^/")
    method: Method = "POST"
    json_body: dict[str, str] | None = {"email": "smokegate-ratelimit@example.com"}
    # The documented limit per window.
    limit: int = Field(30, ge=1)
    # The documented window, in seconds (Upstash's fixedWindow(30, "10 s"): 10).  A burst the target answered
    # more slowly than that shows nothing without a 429: "could not be determined", not a finding.  Unset, a
    # burst is judged whatever it took.
    window_s: float | None = Field(None, gt=0, le=86400)
    max_requests: int = Field(150, ge=1, le=150)
    concurrency: int = Field(5, ge=1, le=5)
    # The longest Retry-After the check will wait before asking again.
    max_wait_s: float = Field(15, gt=0, le=120)

    @property
    def cap(self) -> int:
        """Where a burst that met no 429 stops: twice the limit and one, never above max_requests.

        The common limiters count in fixed windows aligned on the clock (Upstash's ``fixedWindow``,
        Vercel's WAF), so a burst that a window boundary cuts in two can be answered by the rest of
        one window and the whole of the next: up to twice the limit without a 429, from a limiter
        that works.  A burst that meets the limit stops at its first 429 whatever the cap.
        """
        return min(self.max_requests, 2 * self.limit + 1)


class ProtectedRoute(_Model):
    name: str = Field(pattern=_NAME)
    path: str = Field(pattern=r"^/")
    method: Method = "GET"


class ReturnRoute(_Model):
    """A route that takes a return URL (sign-in, sign-out): it must never send the browser off-site."""

    name: str = Field(pattern=_NAME)
    path: str = Field(pattern=r"^/")


class Cookies(_Model):
    # Cookies that are script-readable by design (Clerk's session and client-uat cookies).
    script_readable: tuple[str, ...] = ("__session", "__client_uat")
    # Where the platform expects its session token (Clerk: the __session cookie).
    session_cookie: str = "__session"


class Webhook(_Model):
    """A webhook receiver and the environment variable holding its signing secret."""

    name: str = Field(pattern=_NAME)
    path: str = Field(pattern=r"^/")
    kind: Literal["stripe", "svix"] = "stripe"
    secret_env: str = Field(min_length=1)


class JsonRoute(_Model):
    """A JSON API route probed with bad input (an intrusive check)."""

    name: str = Field(pattern=_NAME)
    path: str = Field(pattern=r"^/")
    method: Method = "POST"
    # A body of the right shape, and one whose fields have the wrong types.
    valid_body: dict[str, str | int | bool] = Field(default_factory=dict)
    wrong_types_body: dict[str, str | int | bool | list[int] | None] = Field(default_factory=dict)
    # The route's documented body limit; the oversized probe sends twice that.
    max_body_bytes: int = Field(65536, ge=1024, le=4_500_000)


class SensitivePath(_Model):
    name: str = Field(pattern=_NAME)
    path: str = Field(pattern=r"^/")
    # What the file holds, to know it when served (KEY=value lines, a [core] section, JSON…);
    # None infers it from the path (smokegate.checks.notfound.content_of).
    content: Content | None = None


class SecretScan(_Model):
    # At most this many distinct scripts are fetched over all scanned pages.
    max_scripts: int = Field(60, ge=1, le=500)
    # A canary also matches on this many leading characters of a secret value.
    canary_prefix_chars: int = Field(12, ge=8)


class SupabaseAuth(_Model):
    """What ``/auth/v1/settings`` must say (None: not checked).  The platform signs users in with Clerk,
    so Supabase Auth takes no sign-ups of its own."""

    signups: StrictBool | None = False
    email_autoconfirm: StrictBool | None = False
    anonymous_sign_ins: StrictBool | None = False


class Supabase(_Model):
    """The Supabase project the pages talk to, probed with the public anon key only (black box)."""

    # The project's API origin (https://<ref>.supabase.co); None: read where the browser gets it.
    url: str | None = None
    # The variable holding the anon (or publishable) key; unset: the key the pages serve.
    anon_key_env: str = Field("NEXT_PUBLIC_SUPABASE_ANON_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    # Tables and buckets no visitor may read (row level security, storage policies).
    private_tables: tuple[str, ...] = ()
    private_buckets: tuple[str, ...] = ()
    # The column the intrusive write probes filter on (a value no row has): PATCH/DELETE must be refused.
    write_probe_column: str = Field("id", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    auth: SupabaseAuth = SupabaseAuth()

    _url = field_validator("url")(classmethod(lambda cls, v: None if v is None else _origin(v)))

    @field_validator("private_tables")
    @classmethod
    def _tables(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", name):
                raise ValueError(f"not a table name: {name!r}")
        return value

    @field_validator("private_buckets")
    @classmethod
    def _buckets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._ -]*", name):
                raise ValueError(f"not a bucket name: {name!r}")
        return value


Package = Literal["next", "react", "react-dom", "react-server-dom-webpack", "react-server-dom-turbopack"]


class Advisories(_Model):
    """Published advisories (OSV) against the framework versions the deployment serves."""

    # OSV's API; the variable api_url_env names, when set, wins (a mirror, or the testbed's stand-in).
    api_url: str = "https://api.osv.dev"
    api_url_env: str | None = Field("OSV_API_URL", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    packages: tuple[Package, ...] = ("next", "react", "react-dom", "react-server-dom-webpack",
                                     "react-server-dom-turbopack")
    # The lowest advisory severity that fails the check (the guide: zero critical vulnerabilities).
    fail_on: Literal["critical", "high", "moderate", "low"] = "critical"
    cache_hours: float = Field(24, ge=0, le=24 * 30)

    _api = field_validator("api_url")(classmethod(lambda cls, v: _origin(v)))


class SecurityConfig(_Model):
    tls: Tls = Tls()
    cors: tuple[CorsRoute, ...] = (
        CorsRoute(name="plans", path="/api/plans"),
        CorsRoute(name="status", path="/api/status"),
    )
    rate_limit: RateLimit = RateLimit()
    sign_in_path: str = Field("/sign-in", pattern=r"^/")
    protected_api: tuple[ProtectedRoute, ...] = (ProtectedRoute(name="user", path="/api/user"),)
    protected_pages: tuple[ProtectedRoute, ...] = (ProtectedRoute(name="dashboard", path="/dashboard"),)
    cookies: Cookies = Cookies()
    # Sign-in and sign-out routes, and the return-URL parameters they may read (Clerk's, Auth.js's,
    # Auth0's and common names); probed with off-site values, GET only.
    return_routes: tuple[ReturnRoute, ...] = (
        ReturnRoute(name="sign-in", path="/sign-in"),
        ReturnRoute(name="sign-out", path="/sign-out"),
    )
    return_params: tuple[str, ...] = ("redirect_url", "redirect_uri", "returnTo", "next", "callbackUrl")
    webhooks: tuple[Webhook, ...] = (
        Webhook(name="stripe", path="/api/webhooks/stripe", kind="stripe", secret_env="STRIPE_WEBHOOK_SECRET"),
        Webhook(name="clerk", path="/api/webhooks/clerk", kind="svix", secret_env="CLERK_WEBHOOK_SECRET"),
    )
    json_routes: tuple[JsonRoute, ...] = (
        JsonRoute(
            name="waitlist", path="/api/waitlist",
            valid_body={"email": "smokegate@example.com"},
            wrong_types_body={"email": 42, "name": [1, 2]},
        ),
    )
    sensitive_paths: tuple[SensitivePath, ...] = (
        SensitivePath(name="dotenv", path="/.env"),
        SensitivePath(name="dotenv-production", path="/.env.production"),
        SensitivePath(name="git-config", path="/.git/config"),
        SensitivePath(name="next-build-dir", path="/.next/server/app-paths-manifest.json"),
        SensitivePath(name="api-debug", path="/api/debug"),
    )
    # Headers, cookies and served code are checked on the target's pages with ``scan = true``.
    secrets: SecretScan = SecretScan()
    supabase: Supabase = Supabase()
    advisories: Advisories = Advisories()
    # Next.js's image optimizer: it must refuse a URL outside images.remotePatterns.
    image_optimizer_path: str = Field("/_next/image", pattern=r"^/")

    @model_validator(mode="after")
    def _unique_names(self) -> SecurityConfig:
        for kind, items in (
            ("cors", self.cors), ("protected_api", self.protected_api),
            ("protected_pages", self.protected_pages), ("webhooks", self.webhooks),
            ("json_routes", self.json_routes), ("sensitive_paths", self.sensitive_paths),
            ("return_routes", self.return_routes),
        ):
            names = [item.name for item in items]
            duplicates = sorted({n for n in names if names.count(n) > 1})
            if duplicates:
                raise ValueError(f"duplicate security.{kind} name(s): {', '.join(duplicates)}")
        return self
