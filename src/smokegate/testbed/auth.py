"""Sign-in as the platform does it (Clerk with Google, Microsoft and Slack), the AI endpoint, page faults.

``/sign-in/<provider>`` starts an OAuth authorization code flow: a fresh ``state``, a PKCE verifier
(or an OpenID ``nonce`` for providers bound that way), remembered server-side under a random id in
an HttpOnly cookie, then a redirect to the provider's authorize URL.  ``/sign-in/sso-callback``
checks ``state`` against that pending sign-in (used once), exchanges the code at the provider's
token endpoint with the client secret and the PKCE verifier, reads the user, and sets Clerk's
``__session`` cookie.  ``/sign-out`` revokes the session server-side, so a copied cookie dies too.
This module is the service the testbed holds (:class:`AuthService`); its routes are in
:mod:`smokegate.testbed.auth_routes`.

The synthetic suite's testbed faults live here as well: what the sign-in redirect and callback get
wrong, the slow AI answer, and page faults that only a real browser notices (a script that logs an
error or throws, at once or some time after load, a slow or failing script, a late largest paint, a
layout shift).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import ssl
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from starlette.requests import Request

from smokegate.testbed.idp import PROVIDERS, IdentityProvider
from smokegate.testbed.sessions import SESSION_COOKIE

if TYPE_CHECKING:
    from smokegate.testbed.context import Testbed

CALLBACK_PATH = "/sign-in/sso-callback"
PENDING_COOKIE = "__clerk_oauth_pending"
PENDING_TTL_S = 600
NO_STORE = {"cache-control": "private, no-cache, no-store, max-age=0, must-revalidate"}
ANALYTICS_SCRIPT = "/_vercel/insights/script.js"
AI_LATENCY_S = 0.12
AI_SLOW_S = 4.0
PAGE_LOAD_SLOW_S = 3.0
LCP_SLOW_S = 3.0

# Where the initiation faults point, and at which provider (never the journey's provider, Google,
# so each fault fails exactly the initiation check it is about).
LOOKALIKE_HOST = "accounts-signin.napoleon-login.example"
FOREIGN_REDIRECT = "https://napoleon-auth-callback.example/oauth/callback"
CONSTANT_STATE = "napoleon-oauth-state-v1"
FAULT_PROVIDER = {
    "oauth-wrong-host": "slack",
    "oauth-wrong-client-id": "microsoft",
    "oauth-foreign-redirect": "slack",
    "oauth-no-state": "microsoft",
    "oauth-constant-state": "slack",
    "oauth-no-pkce": "microsoft",
    "oauth-implicit-flow": "microsoft",
    "oauth-missing-scope": "slack",
}

# Page faults: which page they break and the script (a chunk of the build) that breaks it.
LATE_ERROR_S = 0.3
LATE_CONSOLE_ERROR_S = 3.0


def _after_load(delay_s: float, code: str) -> str:
    """A script running ``code`` ``delay_s`` after the page's load event (armed at once if it has fired)."""
    return (f"(function(){{function late(){{setTimeout(function(){{{code}}},{delay_s * 1000:g})}}"
            'if(document.readyState==="complete")late();else addEventListener("load",late)})();')


_HIGHLIGHTS = 'fetch("/api/highlights").then(function(r){return r.json()}).then(function(d){'
FAULT_CHUNKS = {
    "console-error": (
        "/pricing",
        "plans-client",
        'console.error("Error: failed to load plans: GET /api/plans 503 (Service Unavailable)");',
    ),
    "uncaught-exception": (
        "/",
        "briefing-client",
        "(function(){var briefing;return briefing.items.map(function(i){return i.id})})();",
    ),
    "lcp-slow": (
        "/",
        "hero-client",
        _HIGHLIGHTS + 'var s=document.createElement("section");s.className="hero";'
        's.style.cssText="font-size:44px;line-height:1.25;max-width:1100px;margin:24px";'
        's.textContent=d.headline;document.querySelector("main").appendChild(s)});',
    ),
    # Late failures, as a useEffect's setTimeout or a widget failing after its data arrives: armed
    # at the load event, they fire after the samples' quiet time (settle_ms) has ended.
    "late-error-300ms": (
        "/",
        "briefing-widget-client",
        _after_load(LATE_ERROR_S, "var widget;widget.items.map(function(i){return i.id});"),
    ),
    "late-console-error-3s": (
        "/pricing",
        "plans-refresh-client",
        _after_load(LATE_CONSOLE_ERROR_S,
                    'console.error("Error: refreshing plans failed: GET /api/plans 503 (Service Unavailable)");'),
    ),
    "layout-shift": (
        "/pricing",
        "banner-client",
        _HIGHLIGHTS + 'var b=document.createElement("div");b.setAttribute("role","status");'
        'b.style.cssText="height:280px;background:#fde68a;padding:12px";b.textContent=d.banner;'
        "document.body.insertBefore(b,document.body.firstChild)});",
    ),
}
FAULT_ANALYTICS = {"page-load-slow": "/", "script-broken": "/pricing"}
HEADLINE = (
    "Your morning briefing: three decisions need you before ten, the board deck is ready for review, "
    "and Napoleon has drafted replies to the eleven threads that can wait."
)


@dataclass
class Pending:
    provider: str
    state: str
    verifier: str | None
    nonce: str | None
    redirect_url: str
    created: float


@dataclass
class AuthService:
    """Pending sign-ins, revoked sessions, and the page fault scripts of one testbed."""

    tb: Testbed
    idp: IdentityProvider
    ca_file: str | None = None
    pending: dict[str, Pending] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    chunks: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for fault, (_route, stem, code) in FAULT_CHUNKS.items():
            self.chunks[fault] = self.tb.build.add("chunks/app/", stem, code)

    def page_scripts(self, route: str) -> list[str]:
        """Scripts the active page faults add to ``route``'s document (none on a healthy testbed)."""
        scripts = [self.chunks[f] for f, (r, _, _) in FAULT_CHUNKS.items() if r == route and self.tb.state.on(f)]
        scripts += [ANALYTICS_SCRIPT for f, r in FAULT_ANALYTICS.items() if r == route and self.tb.state.on(f)]
        return scripts

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def is_revoked(self, request: Request) -> bool:
        token = request.cookies.get(SESSION_COOKIE)
        return bool(token) and self._digest(token or "") in self.revoked

    def revoke(self, token: str) -> None:
        self.revoked.add(self._digest(token))

    def _client_ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()

    # -- sign-in start --------------------------------------------------------------------------

    def authorize_redirect(self, provider: str, redirect_url: str) -> tuple[str, str]:
        """Remember a new sign-in; return (pending id, the provider's authorize URL)."""
        app = PROVIDERS[provider]
        on = self.tb.state.on
        faulty = {f for f, p in FAULT_PROVIDER.items() if p == provider and on(f)}
        state = CONSTANT_STATE if "oauth-constant-state" in faulty else secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48) if app.binding == "pkce" else None
        nonce = secrets.token_urlsafe(24) if app.binding == "nonce" else None
        params: dict[str, str] = {
            "client_id": app.client_id + ("-legacy" if "oauth-wrong-client-id" in faulty else ""),
            "redirect_uri": FOREIGN_REDIRECT
            if "oauth-foreign-redirect" in faulty
            else self.tb.public_origin + CALLBACK_PATH,
            "response_type": "token" if "oauth-implicit-flow" in faulty else "code",
            "scope": " ".join(s for s in app.scopes if not ("oauth-missing-scope" in faulty and s == "email")),
        }
        if "oauth-no-state" not in faulty:
            params["state"] = state
        if verifier is not None and "oauth-no-pkce" not in faulty:
            digest = hashlib.sha256(verifier.encode()).digest()
            params["code_challenge"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            params["code_challenge_method"] = "S256"
        if "oauth-no-pkce" in faulty:
            verifier = None
        if nonce is not None:
            params["nonce"] = nonce
        url = self.idp.authorize_url(provider)
        if "oauth-wrong-host" in faulty:
            url = f"https://{LOOKALIKE_HOST}{app.authorize_path}"
        pending_id = secrets.token_urlsafe(24)
        now = time.time()
        self.pending = {k: v for k, v in self.pending.items() if now - v.created < PENDING_TTL_S}
        self.pending[pending_id] = Pending(provider, state, verifier, nonce, redirect_url, now)
        return pending_id, f"{url}?{urlencode(params)}"

    # -- callback -------------------------------------------------------------------------------

    async def exchange(self, pending: Pending, code: str) -> dict[str, Any] | None:
        """Trade the code for tokens at the provider and read the user; None when it refuses."""
        app = PROVIDERS[pending.provider]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.tb.public_origin + CALLBACK_PATH,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        }
        if pending.verifier:
            form["code_verifier"] = pending.verifier
        async with httpx.AsyncClient(verify=self._client_ssl(), timeout=10, trust_env=False) as client:
            answer = await client.post(self.idp.token_url, data=form)
            if answer.status_code != 200:
                return None
            tokens = answer.json()
            if pending.nonce is not None:
                try:
                    claims = jwt.decode(tokens.get("id_token", ""), self.idp.key, algorithms=["RS256"]).claims
                except (JoseError, ValueError):
                    return None
                if not hmac.compare_digest(str(claims.get("nonce", "")), pending.nonce):
                    return None
            info = await client.get(
                self.idp.userinfo_url, headers={"authorization": f"Bearer {tokens['access_token']}"}
            )
            if info.status_code != 200:
                return None
            user: dict[str, Any] = info.json()
            return user
