"""Vercel Deployment Protection: the automation bypass secret, and recognising a protected deployment.

Vercel protects preview deployments by default (Vercel Authentication, Password Protection, Trusted
IPs): every request without credentials gets Vercel's own answer instead of the app's, a 401 login
page (with an ``_vercel_sso_nonce`` cookie) or a redirect to ``https://vercel.com/sso-api``.  Its
*Protection Bypass for Automation* lets a robot through with a project secret sent as the
``x-vercel-protection-bypass`` header (Vercel exposes the secret to the project as
``VERCEL_AUTOMATION_BYPASS_SECRET``).

The secret is sent to the target's own origin only (scheme, host and port), never to another origin
and never over plain HTTP: :class:`Bypass` decides per URL, and the probe applies it to every request
through an httpx event hook.  Browsers get it differently (``smokegate.synthetic.protection``):
Vercel turns the header into a host-only cookie when asked (``x-vercel-set-bypass-cookie``), which
the browser itself never sends to another host.  Without the secret, a protected deployment is
recognised once, at reachability time (:func:`protection_of`), and the run ends with one message
(:func:`protected_reason`) instead of every check failing on Vercel's login page.

Pure logic: no pytest, no network.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

HEADER = "x-vercel-protection-bypass"
SET_COOKIE_HEADER = "x-vercel-set-bypass-cookie"
DEFAULT_ENV = "VERCEL_AUTOMATION_BYPASS_SECRET"
# What Vercel's protection answers with: a nonce cookie for its SSO round trip, its SSO endpoint.
SSO_NONCE_COOKIE = "_vercel_sso_nonce"
SSO_HOST = "vercel.com"
SSO_PATHS = ("/sso-api", "/login")
_SSO_LINK = re.compile(r"https://vercel\.com/sso-api\b")
HOW_TO_GET = "Vercel: Project Settings → Deployment Protection → Protection Bypass for Automation"


def origin_of(url: str) -> str:
    """``scheme://host:port`` with the default port made explicit, so equal origins compare equal."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "").lower()
    try:
        port = parts.port
    except ValueError:
        return ""
    if port is None:
        port = {"https": 443, "http": 80}.get(scheme, 0)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class Bypass:
    """The bypass secret and the one origin it may be sent to."""

    secret: str
    origin: str
    env: str

    @classmethod
    def for_target(cls, base_url: str, env_name: str | None,
                   environ: Mapping[str, str] | None = None) -> Bypass | None:
        """The target's bypass, or None when no secret is configured (an empty variable is unset, as in CI)."""
        if not env_name:
            return None
        value = (os.environ if environ is None else environ).get(env_name, "")
        if not value or urlsplit(base_url).scheme != "https":
            return None
        return cls(secret=value, origin=origin_of(base_url), env=env_name)

    def applies_to(self, url: str) -> bool:
        """Only the target's own HTTPS origin: another host, port or plain HTTP never sees the secret."""
        return origin_of(url) == self.origin and self.origin.startswith("https://")

    def headers_for(self, url: str) -> dict[str, str]:
        return {HEADER: self.secret} if self.applies_to(url) else {}

    def request_hook(self) -> Callable[[httpx.Request], None]:
        """An httpx ``request`` event hook adding the header to the target's requests, and only those."""

        def hook(request: httpx.Request) -> None:
            if request.extensions.get("smokegate_no_bypass"):
                request.headers.pop(HEADER, None)
                return
            if self.applies_to(str(request.url)):
                request.headers[HEADER] = self.secret
            else:
                request.headers.pop(HEADER, None)  # never forwarded to another origin, even if a check set it

        return hook

    def matches(self, value: str) -> bool:
        """Is ``value`` this secret? (constant time)"""
        return hmac.compare_digest(value.encode(), self.secret.encode())


def protection_of(status: int, headers: httpx.Headers | Mapping[str, str], text: str) -> str | None:
    """How the answer shows Vercel's Deployment Protection in front of the app, or None when it does not.

    Vercel Authentication answers a 401 page that starts its SSO round trip (an ``_vercel_sso_nonce``
    cookie, a link to ``vercel.com/sso-api``) or redirects there directly; both are recognised by those
    markers only, so an app's own 401 or redirect to its sign-in page is never mistaken for it.
    """
    if isinstance(headers, httpx.Headers):
        cookies, location = " ".join(headers.get_list("set-cookie")), headers.get("location", "")
    else:  # a plain mapping (Playwright joins repeated Set-Cookie headers with newlines)
        lowered = {k.lower(): v for k, v in headers.items()}
        cookies, location = lowered.get("set-cookie", ""), lowered.get("location", "")
    if 300 <= status < 400 and location:
        try:
            parts = urlsplit(location)
            host = (parts.hostname or "").lower()
        except ValueError:  # "http://[::1" and other Locations urllib refuses: not Vercel's
            host = ""
        if host == SSO_HOST and parts.path.startswith(SSO_PATHS):
            return f"{status} redirect to {SSO_HOST}{parts.path} (Vercel Authentication)"
    if status in (401, 403):
        if f"{SSO_NONCE_COOKIE}=" in cookies:
            return f"{status} with Vercel's login page ({SSO_NONCE_COOKIE} cookie)"
        if _SSO_LINK.search(text[:100_000]):
            return f"{status} with Vercel's login page (link to {SSO_HOST}/sso-api)"
    return None


def protected_reason(protection: str, path: str, env_name: str | None, secret_sent: bool) -> str:
    """The one message a protected deployment ends the run with (never the secret itself)."""
    where = f"provide the bypass secret in {env_name}" if env_name else (
        "name the variable holding the bypass secret in the target config (vercel_bypass_env) and set it")
    if secret_sent:
        return (f"the deployment is protected by Vercel Deployment Protection and refused the bypass secret "
                f"from {env_name} ({protection} on {path}): the secret is wrong for this project or was "
                f"regenerated; {HOW_TO_GET}")
    return (f"the deployment is protected by Vercel Deployment Protection ({protection} on {path}); "
            f"{where} ({HOW_TO_GET})")
