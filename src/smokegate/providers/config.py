"""The ``[providers]`` section of a target: which provider APIs the suite asks, and what it expects.

The deployment checklist's "Environment variables configured", "Database migrations applied" and
"External services verified", the weekly "Backup Verification", the daily report's "User Activity"
and "Revenue", and the "Payment Processing Errors" alert cannot be seen from the deployment's URL:
each is asked of the provider's own API.  Defaults describe the real platform (Vercel, Supabase,
Stripe, Clerk, OpenAI), so a target lists only what differs.

Tokens are never in the file: each section names the environment variable that holds one (its
``*_env`` key), and that name joins the target's ``secret_env`` by itself (:func:`provider_token_envs`),
so the one scrubber masks the token in every artifact and a page serving one is a finding.  A check
whose token is not set is skipped with that reason.  Every API URL may be replaced through the
environment (``api_url_env``, ``url_env``): the testbed's stand-ins listen on ports chosen at start, as
Clerk's ``CLERK_API_URL`` already allows.
"""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

_ENV = r"^[A-Za-z_][A-Za-z0-9_]*$"
_NAME = r"^[a-z0-9][a-z0-9-]*$"
_HTTPS = r"^https://[^\s/]+(/[^\s]*)?$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _from_env(name: str | None, default: str) -> tuple[str, str | None]:
    """``(value, env name)`` when the variable is set, else ``(default, None)``."""
    if name and os.environ.get(name):
        return os.environ[name].rstrip("/"), name
    return default.rstrip("/"), None


class StatusPage(_Model):
    """A provider's public status page and the components of it the platform uses.

    ``kind`` is the page's format: ``statuspage`` (Atlassian Statuspage's ``/api/v2/summary.json``,
    also served by Vercel, Supabase, OpenAI and Clerk) or ``stripe`` (``status.stripe.com/current``).
    A component is named as the page names it; ``Group/Component`` names a component inside a group
    (Supabase lists its regions inside each service: ``Database/eu-west-1``).
    """

    name: str = Field(pattern=_NAME)
    label: str = Field(min_length=1)
    kind: Literal["statuspage", "stripe"] = "statuspage"
    url: str = Field(pattern=_HTTPS)
    url_env: str | None = Field(default=None, pattern=_ENV)
    components: tuple[str, ...] = Field(min_length=1)

    def resolved_url(self) -> tuple[str, str]:
        """The URL to read and where it came from (for messages)."""
        value, env = _from_env(self.url_env, self.url)
        return value, f"env {env}" if env else f"providers.status.pages[{self.name}].url"


def _default_pages() -> tuple[StatusPage, ...]:
    return (
        StatusPage(name="vercel", label="Vercel", url="https://www.vercel-status.com/api/v2/summary.json",
                   url_env="SMOKEGATE_STATUS_VERCEL_URL",
                   components=("Edge Network", "Serverless Functions", "Builds", "Deployments")),
        StatusPage(name="supabase", label="Supabase", url="https://status.supabase.com/api/v2/summary.json",
                   url_env="SMOKEGATE_STATUS_SUPABASE_URL",
                   components=("Database/eu-west-1", "Auth/eu-west-1", "Storage/eu-west-1", "Management API")),
        StatusPage(name="openai", label="OpenAI", url="https://status.openai.com/api/v2/summary.json",
                   url_env="SMOKEGATE_STATUS_OPENAI_URL", components=("Chat Completions", "Embeddings")),
        StatusPage(name="stripe", label="Stripe", kind="stripe", url="https://status.stripe.com/current",
                   url_env="SMOKEGATE_STATUS_STRIPE_URL", components=("api", "checkoutjs", "webhooks")),
        StatusPage(name="clerk", label="Clerk", url="https://status.clerk.com/api/v2/summary.json",
                   url_env="SMOKEGATE_STATUS_CLERK_URL", components=("Frontend API", "Backend API")),
    )


class Status(_Model):
    """The providers' status pages: a check in the gate, and the hint every incident carries."""

    pages: tuple[StatusPage, ...] = Field(default_factory=_default_pages)
    # A status page is read at most once a minute per URL (shared by the runs of one machine).
    cache_s: float = Field(60, ge=0, le=3600)
    timeout_s: float = Field(5, gt=0, le=30)

    @model_validator(mode="after")
    def _unique(self) -> Status:
        names = [p.name for p in self.pages]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate status page name(s): {', '.join(duplicates)}")
        return self


# The operations guide's production variables: each must exist for the deployment's environment.
GUIDE_ENV = (
    "NEXT_PUBLIC_APP_URL", "NEXTAUTH_URL", "NEXT_PUBLIC_SUPABASE_URL", "NEXT_PUBLIC_SUPABASE_ANON_KEY",
    "SUPABASE_SERVICE_ROLE_KEY", "NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY", "CLERK_SECRET_KEY", "OPENAI_API_KEY",
    "OPENAI_ORG_ID", "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET",
    "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET", "MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET",
    "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "MONITORING_WEBHOOK_URL", "ALERT_WEBHOOK_URL",
)


class ApiSection(_Model):
    """What every provider API section shares: the token's variable, the URL, a timeout."""

    token_env: str = Field(pattern=_ENV)
    api_url: str = Field(pattern=_HTTPS)
    api_url_env: str | None = Field(default=None, pattern=_ENV)
    timeout_s: float = Field(10, gt=0, le=60)

    def token(self) -> str | None:
        return os.environ.get(self.token_env) or None

    def resolved_url(self, section: str) -> tuple[str, str]:
        value, env = _from_env(self.api_url_env, self.api_url)
        return value, f"env {env}" if env else f"providers.{section}.api_url"


class Vercel(ApiSection):
    """Vercel's REST API: the project's environment variables (names and targets only), its deployments,
    and instant rollback (``smokegate rollback``)."""

    token_env: str = Field(default="VERCEL_TOKEN", pattern=_ENV)
    api_url: str = Field(default="https://api.vercel.com", pattern=_HTTPS)
    api_url_env: str | None = Field(default="SMOKEGATE_VERCEL_API_URL", pattern=_ENV)
    project: str = Field(default="napoleon-ai", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    team_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]+$")
    # The deployment's environment: production, preview, development, or a custom environment's slug.
    environment: str = Field(default="production", pattern=r"^[a-z0-9][a-z0-9-]*$")
    required_env: tuple[str, ...] = GUIDE_ENV


class Supabase(ApiSection):
    """Supabase's Management API: migrations applied against the repository's folder, backups, PITR."""

    token_env: str = Field(default="SUPABASE_ACCESS_TOKEN", pattern=_ENV)
    api_url: str = Field(default="https://api.supabase.com", pattern=_HTTPS)
    api_url_env: str | None = Field(default="SMOKEGATE_SUPABASE_API_URL", pattern=_ENV)
    project_ref: str = Field(default="napoleonaiprodref", pattern=r"^[a-z0-9]{6,40}$")
    # The repository's migrations (supabase/migrations/<version>_<name>.sql), relative to the config file.
    migrations_dir: str = Field(default="supabase/migrations", min_length=1)
    backup_max_age_h: float = Field(26, gt=0, le=24 * 30)
    # None: point-in-time recovery is not required; True: it must be on; False: it must be off.
    pitr: StrictBool | None = True
    retention_days: float = Field(7, ge=0, le=365)


class Stripe(ApiSection):
    """Stripe's API, read with a restricted key (read access to Charges, Events and Webhook Endpoints)."""

    token_env: str = Field(default="STRIPE_READ_KEY", pattern=_ENV)
    api_url: str = Field(default="https://api.stripe.com", pattern=_HTTPS)
    api_url_env: str | None = Field(default="SMOKEGATE_STRIPE_API_URL", pattern=_ENV)
    # The endpoint Stripe must deliver to; {base_url} is the deployment's URL.  Set it to the production
    # domain where deployments have URLs of their own (Vercel's): Stripe knows the domain, not those.
    webhook_url: str = Field(default="{base_url}/api/webhooks/stripe", pattern=r"^(https://|\{base_url\})\S+$")
    # "Payment Processing Errors": events of the last 24 h whose delivery failed, above this many.
    max_failed_deliveries: int = Field(5, ge=0)
    # Payment success: succeeded / (succeeded + failed) charges of the last 24 h, judged from this many.
    min_success_ratio: float = Field(0.8, ge=0, le=1)
    min_payments: int = Field(20, ge=1)
    # The most list pages read per question (100 objects each); beyond, the figures say "at least".
    max_pages: int = Field(20, ge=1, le=200)

    def endpoint_url(self, base_url: str) -> str:
        return self.webhook_url.replace("{base_url}", base_url.rstrip("/"))


class ClerkActivity(_Model):
    """Users and active sessions from Clerk's Backend API (the key and URL of ``[synthetic.clerk]``)."""

    # Users active in the last 24 h, the synthetic monitor not counted, below which the check fails.
    min_active_users: int = Field(1, ge=0)
    # Active sessions are counted per user (Clerk lists sessions per user); at most this many users.
    max_session_lookups: int = Field(100, ge=0, le=1000)


class ProvidersConfig(_Model):
    status: Status = Status()
    vercel: Vercel = Vercel()
    supabase: Supabase = Supabase()
    stripe: Stripe = Stripe()
    clerk: ClerkActivity = ClerkActivity()


def provider_token_envs(raw: object) -> tuple[str, ...]:
    """The token variables a raw ``providers`` table names (defaults included), valid names only.

    Read before validation, so the target's ``secret_env`` can hold them: a token is masked like any
    other secret, and a page serving one is a finding, without the user listing it twice.
    """
    import re

    sections = raw if isinstance(raw, dict) else {}
    defaults = {"vercel": Vercel(), "supabase": Supabase(), "stripe": Stripe()}
    found = []
    for name, default in defaults.items():
        section = sections.get(name)
        value = section.get("token_env", default.token_env) if isinstance(section, dict) else default.token_env
        if isinstance(value, str) and re.match(_ENV, value):
            found.append(value)
    return tuple(found)
