"""The testbed's identity provider: a real OAuth 2 / OpenID Connect authorization server (authlib).

It stands in for Google, Microsoft and Slack on its own origin (``https://127.0.0.1:<port>``, the
app being ``https://localhost:<port>``), one registered client per provider, each on the path the
real provider uses for its authorize endpoint.  The authorization code grant is authlib's own:
``state`` is echoed, PKCE S256 is verified at the token endpoint when the authorize request carried a
challenge, an OpenID ``nonce`` is put into the ID token, and codes are single-use and expire after
a minute.  The login form knows one user, the test account, whose credentials come from the
``SMOKEGATE_TEST_EMAIL`` / ``SMOKEGATE_TEST_PASSWORD`` environment variables when set (the canary
self-test sets them), else from the documented testbed defaults below.

authlib ships server integrations for Flask and Django only; :class:`_StarletteRequest` is the thin
adapter the Flask integration also is: the request's parameters as an ``OAuth2Request``.
"""

from __future__ import annotations

import hmac
import html
import os
import secrets
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from authlib.oauth2 import AuthorizationServer, OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Payload, OAuth2Request, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from smokegate.testbed import hosts

# The testbed's test account.  Not a secret of anything: the testbed is a local stand-in, and the
# self-tests and `make demo` export these so the suite reads them from the environment as it would
# read a real test account's.
DEFAULT_EMAIL = "ada.lovelace@napoleon-testbed.example"
DEFAULT_PASSWORD = "testbed-only-password-not-a-secret"
EMAIL_ENV = "SMOKEGATE_TEST_EMAIL"
PASSWORD_ENV = "SMOKEGATE_TEST_PASSWORD"
CODE_TTL_S = 60
TOKEN_TTL_S = 3600
ISSUER_PATH = ""


def account_env() -> dict[str, str]:
    """The environment a suite run needs to sign in to the testbed (for self-tests and the demo)."""
    return {
        EMAIL_ENV: os.environ.get(EMAIL_ENV) or DEFAULT_EMAIL,
        PASSWORD_ENV: os.environ.get(PASSWORD_ENV) or DEFAULT_PASSWORD,
    }


@dataclass(frozen=True)
class ProviderApp:
    """How one real provider looks from the outside: its authorize path and the platform's client."""

    name: str
    title: str
    authorize_path: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    binding: str  # "pkce" or "nonce"


PROVIDERS: dict[str, ProviderApp] = {
    p.name: p
    for p in (
        ProviderApp(
            "google",
            "Sign in - Google Accounts",
            "/o/oauth2/v2/auth",
            "718263541209-napoleontestbed.apps.googleusercontent.com",
            "GOCSPX-testbed-google-client-secret",
            ("openid", "email", "profile"),
            "pkce",
        ),
        ProviderApp(
            "microsoft",
            "Sign in to your account",
            "/common/oauth2/v2.0/authorize",
            "6f1c2e7a-4b8d-4f60-a5c1-e9b7d2f4a6c8",
            "testbed~microsoft~client~secret",
            ("openid", "email", "profile"),
            "pkce",
        ),
        ProviderApp(
            "slack",
            "Sign in to Slack",
            "/openid/connect/authorize",
            "5031728845.6214539907",
            "testbed-slack-client-secret",
            ("openid", "email", "profile"),
            "nonce",
        ),
    )
}


@dataclass
class User:
    sub: str
    name: str
    email: str
    password: str = field(repr=False)


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    app: ProviderApp
    redirect_uri: str

    def get_client_id(self) -> str:
        return self.app.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in self.app.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.app.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    auth_time: int
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, data: dict[str, str], datalist: dict[str, list[str]]) -> None:
        self._data = data
        self._datalist = defaultdict(list, datalist)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class _StarletteRequest(OAuth2Request):  # type: ignore[misc]
    """A Starlette request, its body already read, as authlib wants it."""

    def __init__(self, request: Request, form: Mapping[str, str], form_list: dict[str, list[str]]) -> None:
        super().__init__(method=request.method, uri=str(request.url), headers=dict(request.headers))
        self._args = dict(request.query_params)
        self._form = dict(form)
        datalist: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            datalist.setdefault(key, []).append(value)
        for key, values in form_list.items():
            datalist.setdefault(key, []).extend(values)
        self.payload = _Payload({**self._args, **self._form}, datalist)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class _OpenIDCode(OpenIDCode):  # type: ignore[misc]
    def __init__(self, idp: IdentityProvider) -> None:
        super().__init__(require_nonce=False)
        self.idp = idp

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        return nonce in self.idp.used_nonces

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.idp.key

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": "testbed-idp"}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {
            "iss": self.idp.origin,
            "aud": [client.get_client_id()],
            "exp": int(time.time()) + TOKEN_TTL_S,
        }

    def generate_user_info(self, user: User, scope: str) -> UserInfo:
        info = UserInfo(sub=user.sub, name=user.name)
        if "email" in scope.split():
            info["email"] = user.email
        return info


class _CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012
    idp: IdentityProvider  # set on the subclass built per provider

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.idp.codes[code] = AuthorizationCode(
            code=code,
            client_id=request.client.get_client_id(),
            redirect_uri=data.get("redirect_uri", ""),
            scope=request.scope or "",
            user=request.user,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method"),
            nonce=data.get("nonce"),
            auth_time=int(time.time()),
            expires_at=time.time() + CODE_TTL_S,
        )
        if data.get("nonce"):
            self.idp.used_nonces.add(data["nonce"])

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        found = self.idp.codes.get(code)
        if found is None or found.client_id != client.get_client_id() or found.expires_at < time.time():
            return None
        return found

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        # Single use (RFC 6749 4.1.2): a replayed code finds nothing.
        self.idp.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User:
        return authorization_code.user


class _Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, idp: IdentityProvider) -> None:
        super().__init__(scopes_supported=["openid", "email", "profile"])
        self.idp = idp
        self.register_token_generator("default", self._token)

    def query_client(self, client_id: str) -> Client | None:
        return self.idp.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.idp.tokens[token["access_token"]] = (request.user, time.time() + TOKEN_TTL_S)

    def _token(
        self,
        grant_type: str,
        client: Client,
        user: User | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        return {
            "token_type": "Bearer",
            "access_token": secrets.token_urlsafe(32),
            "expires_in": TOKEN_TTL_S,
            "scope": scope or "",
        }

    def create_oauth2_request(self, request: OAuth2Request) -> OAuth2Request:
        return request  # already adapted by the route

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        headers = dict(headers)
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status, headers={**headers, "cache-control": "no-store"})
        return Response(body or b"", status_code=status, headers=headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class IdentityProvider:
    """One authorization server with a client per provider; ``origin`` and ``app_origin`` set at start."""

    origin: str = ""
    app_origin: str = ""
    # Where the app's server reaches the token and userinfo endpoints (its back channel), when not
    # ``origin``: behind the chaos proxy, the app's own calls must not cross the runner's network.
    backchannel: str = ""
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "testbed-idp"}))
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    tokens: dict[str, tuple[User, float]] = field(default_factory=dict)
    used_nonces: set[str] = field(default_factory=set)
    user: User = field(init=False)
    clients: dict[str, Client] = field(init=False)
    server: _Server = field(init=False)

    def __post_init__(self) -> None:
        self.user = User(
            sub="user_2fNapoleonTestbedAda",
            name="Ada Lovelace",
            email=os.environ.get(EMAIL_ENV) or DEFAULT_EMAIL,
            password=os.environ.get(PASSWORD_ENV) or DEFAULT_PASSWORD,
        )
        self.clients = {}
        self.server = _Server(self)
        grant = type("CodeGrant", (_CodeGrant,), {"idp": self})
        self.server.register_grant(grant, [CodeChallenge(required=False), _OpenIDCode(self)])

    def configure(self, origin: str, app_origin: str, callback_path: str) -> None:
        self.origin, self.app_origin = origin, app_origin
        self.clients = {p.client_id: Client(p, app_origin + callback_path) for p in PROVIDERS.values()}

    def authorize_url(self, provider: str) -> str:
        return self.origin + PROVIDERS[provider].authorize_path

    @property
    def token_url(self) -> str:
        return (self.backchannel or self.origin) + "/token"

    @property
    def userinfo_url(self) -> str:
        return (self.backchannel or self.origin) + "/userinfo"

    def check_password(self, email: str, password: str) -> bool:
        ok_email = hmac.compare_digest(email.strip().lower().encode(), self.user.email.lower().encode())
        ok_password = hmac.compare_digest(password.encode(), self.user.password.encode())
        return ok_email and ok_password


def _login_page(app: ProviderApp, params: Mapping[str, str], error: str = "", status: int = 200) -> Response:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
        for k, v in params.items()
        if k not in ("email", "password")
    )
    notice = f'<p role="alert" class="error">{html.escape(error)}</p>' if error else ""
    body = (
        f"<!DOCTYPE html><html><head><meta charset=utf-8><title>{html.escape(app.title)}</title></head><body>"
        f"<main><h1>{html.escape(app.title)}</h1><p>to continue to Napoleon AI</p>{notice}"
        # Posted to the bare path: the parameters travel once, in the form (authlib rejects duplicates).
        f'<form method="post" action="{html.escape(app.authorize_path)}" autocomplete="off">{hidden}'
        '<label>Email <input type="email" name="email" autocomplete="username" required></label>'
        '<label>Password <input type="password" name="password" autocomplete="current-password" required>'
        '</label><button type="submit">Sign in</button></form></main></body></html>'
    )
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store", "x-frame-options": "DENY"})


def _error_page(message: str, status: int = 400) -> Response:
    return HTMLResponse(
        f"<!DOCTYPE html><html><head><title>Error</title></head><body><h1>Authorization error</h1>"
        f"<p>{html.escape(message)}</p></body></html>",
        status_code=status,
        headers={"cache-control": "no-store"},
    )


def routes(idp: IdentityProvider) -> list[BaseRoute]:
    """The IdP's own origin: authorize (per provider path), token, userinfo, JWKS, discovery."""

    async def _adapt(request: Request) -> _StarletteRequest:
        form: dict[str, str] = {}
        form_list: dict[str, list[str]] = {}
        if request.method == "POST":
            # URL-encoded forms only (what the login form and token clients send); parsed here so
            # the testbed needs no multipart library.
            for key, value in parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True):
                form.setdefault(key, value)
                form_list.setdefault(key, []).append(value)
        return _StarletteRequest(request, form, form_list)

    def authorize_for(app: ProviderApp) -> Any:
        async def authorize(request: Request) -> Response:
            oauth_request = await _adapt(request)
            try:
                grant = idp.server.get_consent_grant(oauth_request)
            except OAuth2Error as error:
                return _error_page(f"{error.error}: {error.description or ''}".strip(": "))
            params = oauth_request.payload.data
            if request.method == "GET":
                return _login_page(app, params)
            if not idp.check_password(params.get("email", ""), params.get("password", "")):
                return _login_page(app, params, "Wrong email or password. Try again.", status=401)
            response: Response = idp.server.create_authorization_response(
                oauth_request, grant_user=idp.user, grant=grant
            )
            return response

        return authorize

    async def token(request: Request) -> Response:
        response: Response = idp.server.create_token_response(await _adapt(request))
        return response

    async def userinfo(request: Request) -> Response:
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        found = idp.tokens.get(given)
        if found is None or found[1] < time.time():
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={"www-authenticate": 'Bearer error="invalid_token"'},
            )
        user = found[0]
        return JSONResponse(
            {"sub": user.sub, "name": user.name, "email": user.email, "email_verified": True},
            headers={"cache-control": "no-store"},
        )

    async def jwks(request: Request) -> Response:
        return JSONResponse({"keys": [idp.key.as_dict(private=False)]})

    async def discovery(request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": idp.origin,
                "authorization_endpoint": idp.authorize_url("google"),
                "token_endpoint": idp.token_url,
                "userinfo_endpoint": idp.userinfo_url,
                "jwks_uri": idp.origin + "/jwks",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            }
        )

    return [
        *(Route(app.authorize_path, authorize_for(app), methods=["GET", "POST"]) for app in PROVIDERS.values()),
        Route("/token", token, methods=["POST"]),
        Route("/userinfo", userinfo),
        Route("/jwks", jwks),
        Route("/.well-known/openid-configuration", discovery),
    ]


def create_app(idp: IdentityProvider) -> Starlette:
    """The IdP as its own ASGI app."""
    return Starlette(routes=routes(idp))


def by_host(app: ASGIApp, idp: IdentityProvider) -> ASGIApp:
    """Serve the IdP to requests for its host (``127.0.0.1``), everything else to ``app``."""
    return hosts.by_host(app, urlsplit(idp.origin).hostname or "", create_app(idp))
