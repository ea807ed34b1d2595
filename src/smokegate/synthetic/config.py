"""The ``[synthetic]`` section of a target: pages sampled in a browser, OAuth providers, the test account.

Defaults describe the real platform (Clerk sign-in with Google, Microsoft and Slack); a target lists
only what differs.  The test account's credentials are never in the file: it names the environment
variables that hold them, and the sign-in journey is skipped with that reason when they are unset.
The signed-in checks sign a synthetic Clerk user in by sign-in token (``[synthetic.clerk]``) when the
Clerk secret key is set, which works on production too; else with the OAuth test account.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_NAME = r"^[a-z0-9][a-z0-9-]*$"
_ENV = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provider(_Model):
    """An OAuth provider behind a "Continue with ..." button of the sign-in page."""

    name: str = Field(pattern=_NAME)
    # The button's accessible name; ``button_selector`` (a Playwright selector) wins when set.
    label: str = Field(min_length=1)
    button_selector: str | None = None
    # Host (no port) the authorize URL must point at, and the client the platform registered there.
    authorize_host: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    scopes: tuple[str, ...] = ("openid", "email", "profile")
    # How the authorization code is bound to the browser: PKCE S256, or an OpenID nonce.
    binding: Literal["pkce", "nonce"] = "pkce"
    # Origins besides the app's own that may receive the code (the auth provider's domain, e.g. Clerk's).
    redirect_origins: tuple[str, ...] = ()
    # The provider's login form, for the journey with the test account.
    email_selector: str = "input[type=email], input[name=email], input[name=loginfmt]"
    password_selector: str = "input[type=password]"
    submit_selector: str = "button[type=submit], input[type=submit]"


class Account(_Model):
    """The test account: names of the environment variables holding its credentials."""

    email_env: str = "SMOKEGATE_TEST_EMAIL"
    password_env: str = "SMOKEGATE_TEST_PASSWORD"
    # The provider the journey signs in with; the first provider when unset.
    provider: str | None = None
    # The name the dashboard must greet the user with; any non-empty name when unset.
    display_name: str | None = None

    def credentials(self) -> tuple[str, str] | None:
        email, password = os.environ.get(self.email_env), os.environ.get(self.password_env)
        return (email, password) if email and password else None

    def missing(self) -> list[str]:
        return [name for name in (self.email_env, self.password_env) if not os.environ.get(name)]


class Ai(_Model):
    """The AI endpoint the signed-in app calls, and a harmless synthetic request to it."""

    path: str = Field(default="/api/ai/summarize", pattern=r"^/")
    method: Literal["POST", "GET"] = "POST"
    body: dict[str, Any] = Field(
        default_factory=lambda: {"text": "Synthetic check: summarise this one-line note in one line."}
    )
    # None means the target's budgets.ai_ms (the guide's 3 s).
    budget_ms: float | None = Field(default=None, gt=0)
    # Requests sent in a row; the budget is judged on their median.
    samples: int = Field(default=3, ge=1, le=10)


class Clerk(_Model):
    """The synthetic user signed in with a Clerk sign-in token (no OAuth provider), production included.

    The Backend API secret key is read from the variable ``secret_key_env`` names, never from the file.
    The Backend API URL is ``api_url``, or the value of ``api_url_env`` when that variable is set (the
    name ``CLERK_API_URL`` is Clerk's own SDKs' convention).  The Frontend API is found on the sign-in
    page (Clerk's script tag) unless ``frontend_api`` names it.
    """

    secret_key_env: str = Field(default="CLERK_SECRET_KEY", pattern=_ENV)
    # The synthetic user's email address: a dedicated Clerk user, never a person's account.
    user_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    api_url: str = Field(default="https://api.clerk.com", pattern=r"^https://[^\s/]+(/[^\s]*)?$")
    api_url_env: str | None = Field(default="CLERK_API_URL", pattern=_ENV)
    # The Frontend API's URL (https://clerk.example.com, or a proxy URL); found on the page when unset.
    frontend_api: str | None = Field(default=None, pattern=r"^https://[^\s]+$")
    # Lifetime of each sign-in token (Clerk's default is 30 days; the helper asks for 5 minutes).
    sign_in_token_ttl_s: int = Field(default=300, ge=30, le=3600)
    # Every Backend API request is bounded by this timeout.
    timeout_s: float = Field(default=10, gt=0, le=60)

    def secret_key(self) -> str | None:
        return os.environ.get(self.secret_key_env) or None

    def backend_url(self) -> tuple[str, str]:
        """The Backend API URL and where it came from (for messages)."""
        if self.api_url_env and os.environ.get(self.api_url_env):
            return os.environ[self.api_url_env].rstrip("/"), f"env {self.api_url_env}"
        return self.api_url.rstrip("/"), "synthetic.clerk.api_url"

    def not_configured(self) -> str | None:
        """Why the ticket sign-in cannot run here, or None when it can."""
        missing = []
        if self.user_email is None:
            missing.append("synthetic.clerk.user_email (the synthetic user) in the target config")
        if self.secret_key() is None:
            missing.append(f"{self.secret_key_env} in the environment")
        return f"no synthetic Clerk user: set {' and '.join(missing)}" if missing else None


class SyntheticConfig(_Model):
    """What the browser suite checks on one target."""

    # Page loads per page; the budget is judged on the median.
    samples: int = Field(default=3, ge=1, le=20)
    # Quiet time after the load event before vitals are read, so late paints and shifts count.
    settle_ms: int = Field(default=150, ge=0, le=5000)
    # Console errors and uncaught exceptions are caught until this long after load (0: the sample
    # only), on the last sample of each page, watched on the page's own clock (synthetic/late.py).
    late_error_window_ms: int = Field(default=5000, ge=0, le=60000)
    lcp_warn_ms: float = Field(default=2500, gt=0)
    cls_warn: float = Field(default=0.1, ge=0)
    navigation_timeout_ms: float = Field(default=15000, gt=0)
    sign_in_path: str = Field(default="/sign-in", pattern=r"^/")
    dashboard_path: str = Field(default="/dashboard", pattern=r"^/")
    user_api_path: str = Field(default="/api/user", pattern=r"^/")
    user_name_selector: str = '[data-testid="user-name"]'
    sign_out_label: str = "Sign out"
    ai: Ai = Ai()
    account: Account = Account()
    clerk: Clerk = Clerk()
    providers: tuple[Provider, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> SyntheticConfig:
        names = [p.name for p in self.providers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate providers name(s): {', '.join(duplicates)}")
        # A target without providers (no OAuth sign-in: `providers = []`) has no journey for the
        # account's provider to name; TOML cannot unset the default one, so it is not held against it.
        if self.account.provider is not None and names and self.account.provider not in names:
            raise ValueError(f"account.provider {self.account.provider!r} is not one of the providers")
        return self

    def journey_provider(self) -> Provider | None:
        """The provider the sign-in journey uses."""
        wanted = self.account.provider
        return next((p for p in self.providers if wanted in (None, p.name)), None)
