"""Signing the synthetic user in through Clerk without any OAuth provider: the Python side of ``@clerk/testing``.

Clerk's Playwright helper (``@clerk/testing``, ``clerk.signIn({page, emailAddress})``) does three
things, and so does this module with :mod:`smokegate.synthetic.ticket`:

1. a *Testing Token* from the Backend API (``POST /v1/testing_tokens``), appended as
   ``__clerk_testing_token`` to the browser's Frontend API requests so Clerk's bot protection lets an
   automated browser through;
2. the user found by email (``GET /v1/users?email_address=``) and a *sign-in token* made for it
   (``POST /v1/sign_in_tokens``);
3. the browser redeeming it with the ``ticket`` strategy (``Clerk.client.signIn.create`` and
   ``Clerk.setActive``).

Here: the Backend API client (:class:`BackendApi`, every request bounded by a timeout, retried once on a
network fault), and finding the Frontend API from the sign-in page as clerk-js itself does (its script
tag's ``data-clerk-proxy-url`` or publishable key).  What Clerk returns that is secret (tokens) goes to
the scrubber as soon as it is seen.  Nothing here imports pytest.
"""

from __future__ import annotations

import base64
import binascii
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import httpx

from smokegate.failures import CheckFailure, FailureKind, Inconclusive, is_transient
from smokegate.probe import USER_AGENT, describe_transport_error
from smokegate.scrub import SCRUBBER

TESTING_TOKEN_PARAM = "__clerk_testing_token"
RETRY_STATUSES = (429, 502, 503, 504)
MAX_RETRY_AFTER_S = 5.0


class ClerkSetupError(CheckFailure):
    """Clerk cannot sign the synthetic user in for a reason on the suite's side (key, user, config)."""

    def __init__(self, message: str) -> None:
        super().__init__(FailureKind.TEST_SETUP, message)


def _clerk_error(body: Any) -> str:
    """``code: long message`` from Clerk's ``{"errors": [...]}`` answer."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        if isinstance(first, dict):
            code = first.get("code") or "error"
            return f"{code}: {first.get('long_message') or first.get('message') or ''}".strip()
    return "no error detail"


@dataclass
class BackendApi:
    """Clerk's Backend API (``https://api.clerk.com/v1``), authenticated with the instance's secret key."""

    url: str
    secret_key: str
    timeout_s: float
    verify: ssl.SSLContext
    # Where the URL came from and which variable holds the key, for messages (never the values).
    url_source: str = "synthetic.clerk.api_url"
    key_env: str = "CLERK_SECRET_KEY"
    on_request: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        self.client = httpx.Client(
            base_url=self.url.rstrip("/") + "/v1",
            headers={"authorization": f"Bearer {self.secret_key}", "user-agent": USER_AGENT,
                     "accept": "application/json"},
            timeout=httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 5.0)),
            verify=self.verify, follow_redirects=False, trust_env=False,
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> BackendApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, retried once after a network fault or a 429/5xx (Retry-After honoured up to 5 s)."""
        for attempt in (1, 2):
            if self.on_request is not None:
                self.on_request()
            try:
                response = self.client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                # The one rule (smokegate.failures): a cut or a timeout is tried once more; a refusal,
                # a name that does not resolve or a TLS failure lasts, and is said to.
                if attempt == 1 and is_transient(exc):
                    continue
                tries = "2 attempts" if attempt == 2 else "not retried: it lasts"
                raise Inconclusive(f"Clerk's Backend API ({self.url}, from {self.url_source}) did not answer "
                                   f"{method} /v1{path}: {describe_transport_error(exc, self.timeout_s)} "
                                   f"({tries})") from None
            if response.status_code in RETRY_STATUSES and attempt == 1:
                try:
                    wait = float(response.headers.get("retry-after", "1"))
                except ValueError:
                    wait = 1.0
                time.sleep(min(max(wait, 0.0), MAX_RETRY_AFTER_S))
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code in (401, 403):
            raise ClerkSetupError(
                f"Clerk's Backend API refused the secret key in {self.key_env} ({response.status_code} "
                f"{_clerk_error(body)}): set the secret key of the instance the deployment uses")
        if response.status_code >= 500 or response.status_code == 429:
            raise CheckFailure(FailureKind.THIRD_PARTY, (
                f"Clerk's Backend API answered {method} /v1{path} with {response.status_code} "
                f"({_clerk_error(body)}) twice: Clerk is degraded"))
        if response.status_code != 200 or body is None:
            raise ClerkSetupError(
                f"Clerk's Backend API answered {method} /v1{path} with {response.status_code} ({_clerk_error(body)})")
        return body

    def user_id(self, email: str) -> str:
        """The id of the user with exactly this email address (Clerk matches more loosely)."""
        body = self._call("GET", "/users", params={"email_address": email, "limit": 10})
        users = body.get("data") if isinstance(body, dict) else body  # a list, or {"data": [...]} in newer versions
        for user in users if isinstance(users, list) else []:
            addresses = [a.get("email_address", "") for a in user.get("email_addresses", []) if isinstance(a, dict)]
            if any(a.lower() == email.lower() for a in addresses) and isinstance(user.get("id"), str):
                return str(user["id"])
        raise ClerkSetupError(f"Clerk has no user with the email {email} (synthetic.clerk.user_email): create the "
                              "synthetic user in the Clerk dashboard of this instance")

    def testing_token(self) -> str:
        """A Testing Token for the instance (bot protection lets the automated browser through)."""
        body = self._call("POST", "/testing_tokens")
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ClerkSetupError("Clerk's Backend API answered POST /v1/testing_tokens without a token")
        SCRUBBER.add(token, name="clerk testing token")
        return token

    def sign_in_token(self, user_id: str, ttl_s: int) -> str:
        """A one-time sign-in token (ticket) for the user, valid ``ttl_s`` seconds."""
        body = self._call("POST", "/sign_in_tokens", json={"user_id": user_id, "expires_in_seconds": ttl_s})
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise ClerkSetupError("Clerk's Backend API answered POST /v1/sign_in_tokens without a token")
        SCRUBBER.add(token, name="clerk sign-in token")
        return token


def backend_context(ca_bundle: str) -> ssl.SSLContext:
    """The OS trust store, plus the target's own CA when it has one (a staging CA, the testbed's)."""
    context = ssl.create_default_context()
    if ca_bundle != "system":
        context.load_verify_locations(cafile=ca_bundle)
    return context


# -- the Frontend API, found as clerk-js finds it ---------------------------------------------------------


def frontend_api_of_key(publishable_key: str) -> str | None:
    """The Frontend API host a publishable key encodes (``pk_live_<base64(host$)>``), or None."""
    parts = publishable_key.split("_", 2)
    if len(parts) != 3 or parts[0] != "pk" or parts[1] not in ("test", "live"):
        return None
    encoded = parts[2] + "=" * (-len(parts[2]) % 4)
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if not decoded.endswith("$") or "$" in decoded[:-1] or not decoded[:-1]:
        return None
    return decoded[:-1]


class _ClerkScript(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attributes: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        clerk_js = "data-clerk-js-script" in found or "/npm/@clerk/clerk-js@" in found.get("src", "")
        if tag == "script" and clerk_js and self.attributes is None:
            self.attributes = found


def frontend_api_from_html(text: str, page_url: str) -> str | None:
    """The Frontend API base URL clerk-js will call, from its script tag on a page, or None.

    ``data-clerk-proxy-url`` wins (Clerk's proxy setup, resolved against the page); else the host the
    publishable key encodes; else the script's own origin.
    """
    parser = _ClerkScript()
    parser.feed(text[:2_000_000])
    found = parser.attributes
    if found is None:
        return None
    proxy = found.get("data-clerk-proxy-url")
    if proxy:
        return urljoin(page_url, proxy).rstrip("/")
    host = frontend_api_of_key(found.get("data-clerk-publishable-key", ""))
    if host:
        return f"https://{host}"
    src = urlsplit(urljoin(page_url, found.get("src", "")))
    return f"{src.scheme}://{src.netloc}" if src.scheme == "https" and src.netloc else None


def is_frontend_api_request(url: str, frontend_api: str) -> bool:
    """A request to the Frontend API's ``/v1/`` endpoints (same scheme, host and port, path under its base)."""
    parts, base = urlsplit(url), urlsplit(frontend_api)
    prefix = base.path.rstrip("/") + "/v1/"
    return (parts.scheme, parts.netloc.lower()) == (base.scheme, base.netloc.lower()) and parts.path.startswith(prefix)


def with_testing_token(url: str, token: str) -> str:
    """The URL with ``__clerk_testing_token`` set (as ``setupClerkTestingToken`` does)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != TESTING_TOKEN_PARAM]
    query.append((TESTING_TOKEN_PARAM, token))
    return urlunsplit(parts._replace(query=urlencode(query)))
