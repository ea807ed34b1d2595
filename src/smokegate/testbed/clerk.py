"""Clerk as the platform uses it: the Backend API, the Frontend API behind the app's proxy, and clerk-js.

*Backend API* (``api.clerk.com``; here ``https://127.0.0.1:<port>/v1``, reached with the secret key as
bearer token): ``GET /v1/users?email_address=``, ``POST /v1/sign_in_tokens`` and ``POST /v1/testing_tokens``,
with Clerk's JSON shapes and its ``{"errors": [...]}`` answers.

*Frontend API*, proxied by the app at ``/__clerk`` (Clerk's proxy setup, so the page's CSP stays
``'self'``): ``/v1/environment``, ``/v1/client``, ``/v1/client/sign_ins`` (the ``ticket`` strategy),
``/v1/client/sessions/{id}/touch`` and ``/v1/client/sessions/{id}/tokens`` (a fresh session token, as
clerk-js and the load check's virtual users get one).  Bot protection is on, as on the production
instance: a sign-in attempt without a valid ``__clerk_testing_token`` is refused with 429, as Clerk does for automated
browsers.  The session it issues is the platform's ``__session`` JWT (the app verifies it).

*clerk-js*: a small stand-in served where ``@clerk/nextjs`` loads it from (the proxy's
``/npm/@clerk/clerk-js@5/dist/clerk.browser.js``), with the API Clerk's own Playwright helper drives:
``window.Clerk.loaded``, ``Clerk.client.signIn.create({strategy: "ticket", ticket})``,
``Clerk.setActive({session})``, ``Clerk.user``; it writes ``__session`` and ``__client_uat`` as clerk-js does.

Faults: ``clerk-ticket-refused`` (the deployment's publishable key is another instance's: every ticket
is ``ticket_invalid_code``), ``clerk-session-not-set`` (``NEXT_PUBLIC_CLERK_DOMAIN`` points at the
production domain: clerk-js writes the session cookie for a domain the browser refuses).
"""

from __future__ import annotations

import base64
import hmac
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from smokegate.testbed import hosts
from smokegate.testbed.fake_secrets import FAKE_SECRETS
from smokegate.testbed.idp import DEFAULT_EMAIL

if TYPE_CHECKING:
    from smokegate.testbed.context import Testbed

PROXY_PATH = "/__clerk"
CLERK_JS_PATH = f"{PROXY_PATH}/npm/@clerk/clerk-js@5/dist/clerk.browser.js"
TESTING_TOKEN_PARAM = "__clerk_testing_token"
CLIENT_COOKIE = "__client"
REFUSED_FAULT = "clerk-ticket-refused"
NOT_SET_FAULT = "clerk-session-not-set"
TESTING_TOKEN_TTL_S = 3600
NO_STORE = {"cache-control": "no-store"}


def publishable_key(frontend_api: str, live: bool = False) -> str:
    """Clerk's publishable key: ``pk_test_``/``pk_live_`` and the Frontend API host, base64, ``$``-terminated."""
    encoded = base64.b64encode(f"{frontend_api}$".encode()).decode().rstrip("=")
    return ("pk_live_" if live else "pk_test_") + encoded


# The instance the platform's secret key belongs to, and another one (a staging instance's key
# deployed by mistake: the ticket-refused fault).
FRONTEND_API = "napoleon-testbed.clerk.accounts.dev"
OTHER_FRONTEND_API = "napoleon-staging.clerk.accounts.dev"


def _errors(status: int, code: str, message: str, long_message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "long_message": long_message, "code": code, "meta": {}}],
                         "clerk_trace_id": secrets.token_hex(16)}, status_code=status, headers=NO_STORE)


def _id(prefix: str) -> str:
    return f"{prefix}_2{secrets.token_urlsafe(18).replace('-', 'x').replace('_', 'y')}"


@dataclass
class ClerkUser:
    id: str
    first_name: str
    last_name: str
    email: str
    email_id: str

    def json(self) -> dict[str, Any]:
        now = int(time.time() * 1000)
        return {
            "object": "user", "id": self.id, "first_name": self.first_name, "last_name": self.last_name,
            "username": None, "primary_email_address_id": self.email_id, "image_url": "https://img.clerk.com/x",
            "email_addresses": [{"object": "email_address", "id": self.email_id, "email_address": self.email,
                                 "verification": {"status": "verified", "strategy": "admin"}}],
            "banned": False, "locked": False, "public_metadata": {}, "created_at": now, "updated_at": now,
        }


@dataclass
class ClerkService:
    """One Clerk instance: its users, the tokens it issued, and the browsers' clients and sessions."""

    tb: Testbed
    secret_key: str = field(default_factory=lambda: FAKE_SECRETS["CLERK_SECRET_KEY"])
    users: dict[str, ClerkUser] = field(default_factory=dict)
    sign_in_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    used_tokens: set[str] = field(default_factory=set)
    testing_tokens: dict[str, float] = field(default_factory=dict)
    clients: dict[str, list[str]] = field(default_factory=dict)  # client id -> its session ids
    sessions: dict[str, str] = field(default_factory=dict)  # session id -> user id

    def __post_init__(self) -> None:
        # The synthetic user: Ada, the same person the identity provider knows.
        user = ClerkUser(_id("user"), "Ada", "Lovelace", DEFAULT_EMAIL, _id("idn"))
        self.users[user.id] = user

    def authorized(self, request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return given.startswith("Bearer ") and hmac.compare_digest(
            given.removeprefix("Bearer ").encode(), self.secret_key.encode())

    def script_tag(self) -> str:
        """The tag ``@clerk/nextjs`` renders for clerk-js in proxy mode (and what the faults bend)."""
        on = self.tb.state.on
        attributes = {
            "src": CLERK_JS_PATH, "data-clerk-js-script": "", "async": "", "crossorigin": "anonymous",
            "data-clerk-publishable-key": publishable_key(OTHER_FRONTEND_API if on(REFUSED_FAULT) else FRONTEND_API),
            "data-clerk-proxy-url": PROXY_PATH,
        }
        if on(NOT_SET_FAULT):
            attributes["data-clerk-domain"] = "napoleonai.app"
        return "<script " + " ".join(f'{k}="{html.escape(v)}"' for k, v in attributes.items()) + "></script>"

    def session_token(self, user: ClerkUser) -> str:
        """The short-lived session JWT clerk-js writes to ``__session`` (the app verifies it)."""
        claims = {"sub": user.id, "name": f"{user.first_name} {user.last_name}", "email": user.email}
        return self.tb.sessions.issue(claims, issuer=f"https://{FRONTEND_API}")

    def client_json(self, client_id: str | None) -> dict[str, Any] | None:
        if client_id is None or client_id not in self.clients:
            return None
        session_ids = self.clients[client_id]
        return {"object": "client", "id": client_id, "sign_in": None, "sign_up": None,
                "sessions": [self.session_json(s) for s in session_ids if s in self.sessions],
                "last_active_session_id": session_ids[-1] if session_ids else None, "captcha_bypass": False}

    def session_json(self, session_id: str) -> dict[str, Any]:
        user = self.users[self.sessions[session_id]]
        return {"object": "session", "id": session_id, "status": "active", "user": user.json(),
                "last_active_token": {"object": "token", "jwt": self.session_token(user)}}


# -- Backend API (api.clerk.com) --------------------------------------------------------------------


def backend_app(clerk: ClerkService) -> ASGIApp:
    def unauthorized() -> Response:
        return _errors(401, "authentication_invalid", "Invalid authentication",
                       "Unable to authenticate the request, you need to supply an active API key")

    async def users(request: Request) -> Response:
        if not clerk.authorized(request):
            return unauthorized()
        wanted = {e.lower() for e in request.query_params.getlist("email_address")}
        found = [u.json() for u in clerk.users.values() if not wanted or u.email.lower() in wanted]
        return JSONResponse(found, headers=NO_STORE)

    async def sign_in_tokens(request: Request) -> Response:
        if not clerk.authorized(request):
            return unauthorized()
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("user_id"):
            return _errors(422, "form_param_missing", "missing required parameter",
                           "user_id must be included.")
        user = clerk.users.get(str(body["user_id"]))
        if user is None:
            return _errors(404, "resource_not_found", "not found", "The requested resource was not found.")
        ttl = int(body.get("expires_in_seconds") or 2_592_000)
        token = secrets.token_urlsafe(32)
        clerk.sign_in_tokens[token] = (user.id, time.time() + ttl)
        # For the self-tests (admin API only): the value no artifact of the run may hold.
        clerk.tb.state.record("clerk-token-issued", token_kind="sign_in_token", token=token)
        now = int(time.time() * 1000)
        return JSONResponse({
            "object": "sign_in_token", "id": _id("sit"), "user_id": user.id, "token": token, "status": "pending",
            "url": f"https://accounts.napoleonai.app/sign-in?__clerk_ticket={token}",
            "created_at": now, "updated_at": now,
        }, headers=NO_STORE)

    async def testing_tokens(request: Request) -> Response:
        if not clerk.authorized(request):
            return unauthorized()
        expires = int(time.time()) + TESTING_TOKEN_TTL_S
        token = f"{int(time.time())}-{secrets.token_urlsafe(24)}"
        clerk.testing_tokens[token] = expires
        clerk.tb.state.record("clerk-token-issued", token_kind="testing_token", token=token)
        return JSONResponse({"object": "testing_token", "token": token, "expires_at": expires}, headers=NO_STORE)

    return Starlette(routes=[
        Route("/v1/users", users),
        Route("/v1/sign_in_tokens", sign_in_tokens, methods=["POST"]),
        Route("/v1/testing_tokens", testing_tokens, methods=["POST"]),
    ])


def backend_by_host(app: ASGIApp, clerk: ClerkService, host: str) -> ASGIApp:
    """Serve the Backend API to ``/v1/`` requests for ``host``; everything else to ``app``."""
    return hosts.by_host(app, host, backend_app(clerk), path_prefix="/v1/")


# -- Frontend API (through the app's /__clerk proxy) and clerk-js -----------------------------------


def routes(tb: Testbed) -> list[BaseRoute]:
    clerk = tb.clerk

    def response(data: Any, client_id: str | None) -> JSONResponse:
        return JSONResponse({"response": data, "client": clerk.client_json(client_id)}, headers=NO_STORE)

    async def environment(request: Request) -> Response:
        return JSONResponse({
            "object": "environment",
            "auth_config": {"object": "auth_config", "single_session_mode": True},
            "display_config": {"object": "display_config", "sign_in_url": "/sign-in", "home_url": "/",
                               "application_name": "Napoleon AI"},
            "user_settings": {"attributes": {"email_address": {"enabled": True, "used_for_first_factor": True}}},
        }, headers=NO_STORE)

    async def client(request: Request) -> Response:
        return JSONResponse({"response": clerk.client_json(request.cookies.get(CLIENT_COOKIE))}, headers=NO_STORE)

    async def sign_ins(request: Request) -> Response:
        testing = request.query_params.get(TESTING_TOKEN_PARAM, "")
        if clerk.testing_tokens.get(testing, 0) < time.time():
            # Bot protection: an automated browser without a valid testing token is turned away.
            return _errors(429, "too_many_requests", "Too many requests",
                           "Too many requests, please try again later (bot protection).")
        # clerk-js posts form-encoded bodies (parsed here without python-multipart, which the testbed lacks).
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("strategy") != "ticket":
            return _errors(422, "form_param_value_invalid", "is invalid",
                           "strategy does not match one of the allowed values for parameter strategy")
        ticket = str(form.get("ticket") or "")
        issued = clerk.sign_in_tokens.get(ticket)
        if tb.state.on(REFUSED_FAULT) or issued is None:
            return _errors(422, "ticket_invalid_code", "is invalid",
                           "This ticket is invalid. Make sure you're using a valid ticket generated by Clerk.")
        if ticket in clerk.used_tokens:
            return _errors(422, "ticket_invalid_code", "is invalid", "Sign in token has already been used.")
        if issued[1] < time.time():
            return _errors(422, "ticket_expired_code", "is expired", "This ticket has expired.")
        clerk.used_tokens.add(ticket)
        session_id = _id("sess")
        clerk.sessions[session_id] = issued[0]
        client_id = request.cookies.get(CLIENT_COOKIE)
        if client_id not in clerk.clients:
            client_id = _id("client")
            clerk.clients[client_id] = []
        clerk.clients[client_id].append(session_id)
        tb.state.record("clerk-sign-in", strategy="ticket", user=issued[0])
        attempt = {"object": "sign_in_attempt", "id": _id("sia"), "status": "complete",
                   "identifier": clerk.users[issued[0]].email, "created_session_id": session_id,
                   "first_factor_verification": {"status": "verified", "strategy": "ticket"}}
        answer = response(attempt, client_id)
        answer.set_cookie(CLIENT_COOKIE, client_id, max_age=3600 * 24 * 7, path="/", secure=True, httponly=True,
                          samesite="lax")
        return answer

    async def touch(request: Request) -> Response:
        client_id = request.cookies.get(CLIENT_COOKIE)
        session_id = request.path_params["session"]
        if client_id not in clerk.clients or session_id not in clerk.clients.get(client_id or "", []):
            return _errors(404, "resource_not_found", "not found", "No session was found with id " + session_id)
        return response(clerk.session_json(session_id), client_id)

    async def tokens(request: Request) -> Response:
        """A fresh session token, as clerk-js asks for one before the last expires (``getToken()``)."""
        client_id = request.cookies.get(CLIENT_COOKIE)
        session_id = request.path_params["session"]
        if client_id not in clerk.clients or session_id not in clerk.clients.get(client_id or "", []):
            return _errors(404, "resource_not_found", "not found", "No session was found with id " + session_id)
        user = clerk.users[clerk.sessions[session_id]]
        return JSONResponse({"object": "token", "jwt": clerk.session_token(user)}, headers=NO_STORE)

    async def clerk_js(request: Request) -> Response:
        return Response(CLERK_JS, media_type="application/javascript; charset=utf-8",
                        headers={"cache-control": "public, max-age=300"})

    return [
        Route(f"{PROXY_PATH}/v1/environment", environment),
        Route(f"{PROXY_PATH}/v1/client", client),
        Route(f"{PROXY_PATH}/v1/client/sign_ins", sign_ins, methods=["POST"]),
        Route(f"{PROXY_PATH}/v1/client/sessions/{{session}}/touch", touch, methods=["POST"]),
        Route(f"{PROXY_PATH}/v1/client/sessions/{{session}}/tokens", tokens, methods=["POST"]),
        Route(CLERK_JS_PATH, clerk_js),
    ]


# The stand-in for clerk-js: the part of its API a ticket sign-in uses, over the same Frontend API calls.
CLERK_JS = """(function () {
  "use strict";
  var tag = document.querySelector("script[data-clerk-js-script]");
  function attr(name) { return tag ? tag.getAttribute(name) : null; }
  var proxy = attr("data-clerk-proxy-url");
  var key = attr("data-clerk-publishable-key") || "";
  var domain = attr("data-clerk-domain");
  var host = atob(key.split("_").slice(2).join("_")).replace(/\\$$/, "");
  var base = proxy ? new URL(proxy, location.href).href.replace(/\\/+$/, "") : "https://" + host;
  function wrap(data) { var c = data || { id: null, sessions: [] }; c.signIn = signIn; return c; }
  function call(method, path, form) {
    var init = { method: method, credentials: "include" };
    if (form) { init.body = new URLSearchParams(form); }
    return fetch(base + "/v1" + path + "?_clerk_js_version=5.0.0", init).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) {
          var first = (body.errors || [])[0] || {};
          var error = new Error(first.long_message || first.message || ("HTTP " + r.status));
          error.status = r.status; error.errors = body.errors || []; error.clerkError = true;
          throw error;
        }
        if (body.client !== undefined && body.client !== null) { Clerk.client = wrap(body.client); }
        return body.response;
      });
    });
  }
  function setCookie(name, value) {
    document.cookie = name + "=" + value + "; Path=/; Secure; SameSite=Lax" + (domain ? "; Domain=" + domain : "");
  }
  var signIn = {
    create: function (params) {
      return call("POST", "/client/sign_ins", params).then(function (attempt) {
        return { id: attempt.id, status: attempt.status, createdSessionId: attempt.created_session_id };
      });
    }
  };
  var Clerk = {
    loaded: false, frontendApi: host, proxyUrl: proxy, user: null, session: null, client: wrap(null),
    setActive: function (options) {
      return call("POST", "/client/sessions/" + encodeURIComponent(options.session) + "/touch").then(function (s) {
        Clerk.session = s; Clerk.user = s.user;
        setCookie("__session", s.last_active_token.jwt);
        setCookie("__client_uat", String(Math.floor(Date.now() / 1000)));
      });
    }
  };
  window.Clerk = Clerk;
  call("GET", "/environment").then(function () { return call("GET", "/client"); }).then(function (client) {
    if (client) { Clerk.client = wrap(client); }
    Clerk.loaded = true;
  });
})();
"""
