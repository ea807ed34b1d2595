"""Everything a running testbed's routes share: state, the build, session keys, identity."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from smokegate.testbed.auth import AuthService
from smokegate.testbed.clerk import ClerkService
from smokegate.testbed.idp import IdentityProvider
from smokegate.testbed.nextjs import Build
from smokegate.testbed.sessions import SessionKeys
from smokegate.testbed.state import TestbedState
from smokegate.testbed.supabase_project import SupabaseProject
from smokegate.testbed.vercel import ProtectionKeys, leak_widget

# What a Next.js build inlines from NEXT_PUBLIC_* variables: public by design, so no secret.
PUBLIC_ENV = {
    "NEXT_PUBLIC_APP_URL": "https://napoleonai.app",
    "NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY": "pk_test_bmFwb2xlb24tdGVzdGJlZC5jbGVyay5hY2NvdW50cy5kZXYk",
    "NEXT_PUBLIC_STRIPE_PUBLISHABLE_KEY": "pk_test_51NapoleonTestbedPublishableKey0000000000",
    "NEXT_PUBLIC_SUPABASE_URL": "https://napoleon-testbed.supabase.co",
}


@dataclass
class Testbed:
    state: TestbedState
    build: Build = field(init=False)
    # The stand-in for Google, Microsoft and Slack, and the app's side of sign-in (testbed/auth.py).
    idp: IdentityProvider = field(default_factory=IdentityProvider)
    auth: AuthService = field(init=False)
    sessions: SessionKeys = field(default_factory=SessionKeys.generate)
    public_origin: str = ""
    # Clerk (Backend API, Frontend API behind the app's proxy) and Vercel's Deployment Protection.
    clerk: ClerkService = field(init=False)
    protection: ProtectionKeys = field(default_factory=ProtectionKeys)
    # Another origin than the app's (https://127.0.0.1:<port>): the IdP, Clerk's Backend API, partners.
    other_origin: str = ""
    # The Supabase project the pages talk to (testbed/supabase_project.py), on the other origin.
    supabase: SupabaseProject = field(init=False)
    # Set by the server: applies faults that need the listener itself changed (TLS, target down).
    on_faults_changed: Callable[[set[str]], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        self.build = Build.create(self.state.version, PUBLIC_ENV)
        self.auth = AuthService(self, self.idp)
        self.clerk = ClerkService(self)
        self.supabase = SupabaseProject(self.state)

    def serve_supabase_at(self, url: str) -> None:
        """The Supabase project's origin, known once the server listens: the build inlines it and the anon key."""
        from smokegate.testbed.fake_secrets import SUPABASE_ANON_KEY

        self.supabase.configure(url)
        before = self.build
        self.build = Build.create(self.state.version, {**PUBLIC_ENV, "NEXT_PUBLIC_SUPABASE_URL": url,
                                                       "NEXT_PUBLIC_SUPABASE_ANON_KEY": SUPABASE_ANON_KEY})
        # Chunks added since (the page faults' scripts, testbed/auth.py) keep being served.
        for path, text in before.files.items():
            self.build.files.setdefault(path, text)

    def current_user(self, request: Request) -> dict[str, Any] | None:
        if self.auth.is_revoked(request):  # signed out: the cookie's token is dead server-side
            return None
        # The jwt-alg-none fault: the session check trusts the token's own alg header.
        return self.sessions.user(request, accept_alg_none=self.state.on("jwt-alg-none"))

    def sign_in_buttons(self, request: Request) -> str:
        """The sign-in page's auth UI: the OAuth buttons, clerk-js's script tag (and the leak fault's widget)."""
        return self.clerk.script_tag() + leak_widget(self) + "".join(
            f'<a class="oauth" data-provider="{p}" href="/sign-in/{p}">Continue with {label}</a>'
            for p, label in (("google", "Google"), ("microsoft", "Microsoft"), ("slack", "Slack"))
        )

    def broken_chunk(self) -> str:
        """The chunk the ``chunk-broken`` fault removes: the landing page's own page chunk."""
        return self.build.route_scripts["/"][-1]
