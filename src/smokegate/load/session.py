"""The synthetic Clerk user's session for the load check, without a browser: clerk-js's calls over HTTP.

The browser suite signs the synthetic user in by letting clerk-js redeem a sign-in token
(:mod:`smokegate.synthetic.ticket`).  The load check's virtual users have no browser, so this module
makes the same Frontend API calls clerk-js makes, with the same Testing Token:

1. ``POST <frontend api>/v1/client/sign_ins?__clerk_testing_token=...`` (form ``strategy=ticket``,
   ``ticket``): the client (``__client`` cookie) with its new session and the session's JWT;
2. ``POST <frontend api>/v1/client/sessions/<id>/tokens`` with that client cookie: a fresh JWT, as
   clerk-js asks for one before the short-lived ``__session`` token expires (Clerk's last one minute).

The virtual users send the JWT as ``Authorization: Bearer`` (Clerk's header authentication).  The
sign-in runs once per run on the pytest side (:func:`sign_in`, httpx); the refresh runs in every
generator process (:func:`refresh`, the standard library only, which gevent makes cooperative).
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

from smokegate.load.plan import Session

if TYPE_CHECKING:
    from smokegate.synthetic.ticket import ClerkTickets

CLIENT_COOKIE = "__client"
# Refresh a session token this long before it expires (clerk-js refreshes well before its minute runs out).
REFRESH_MARGIN_S = 20.0


class SessionError(Exception):
    """The Frontend API would not sign the synthetic user in or refresh its session; says which step."""


def expires_at(jwt: str) -> float:
    """The ``exp`` claim of a JWT (not verified: the generator only needs to know when to refresh)."""
    try:
        payload = jwt.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"])
    except (IndexError, ValueError, KeyError, TypeError):
        return 0.0


def needs_refresh(jwt: str, now: float | None = None) -> bool:
    return expires_at(jwt) - (time.time() if now is None else now) < REFRESH_MARGIN_S


def _error(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        if isinstance(first, dict):
            return f"{first.get('code') or 'error'}: {first.get('long_message') or first.get('message') or ''}"
    return "no error detail"


def sign_in(tickets: ClerkTickets, context: ssl.SSLContext, timeout_s: float) -> Session:
    """Redeem a fresh sign-in token at the Frontend API; raise :class:`SessionError` saying why not."""
    import httpx

    from smokegate.scrub import SCRUBBER
    from smokegate.synthetic.clerk_testing import with_testing_token

    frontend_api = tickets.frontend_api()
    testing_token = tickets.api.testing_token()
    ticket = tickets.ticket()
    url = with_testing_token(f"{frontend_api}/v1/client/sign_ins", testing_token)
    with httpx.Client(verify=context, timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
        try:
            answer = client.post(url, data={"strategy": "ticket", "ticket": ticket})
        except httpx.TransportError as exc:
            raise SessionError(f"the Frontend API ({frontend_api}) did not answer the ticket sign-in: {exc}") from None
    try:
        body = answer.json()
    except ValueError:
        body = None
    if answer.status_code != 200 or not isinstance(body, dict):
        raise SessionError(f"the Frontend API refused the synthetic user's sign-in ticket (HTTP {answer.status_code} "
                           f"{_error(body)})")
    session_id = (body.get("response") or {}).get("created_session_id")
    sessions = (body.get("client") or {}).get("sessions") or []
    jwt = next((s.get("last_active_token", {}).get("jwt") for s in sessions if s.get("id") == session_id), None)
    client_cookie = answer.cookies.get(CLIENT_COOKIE)
    if not session_id or not jwt or not client_cookie:
        raise SessionError("the Frontend API accepted the ticket but returned no session (created_session_id, its "
                           "token or the __client cookie is missing)")
    for secret, name in ((jwt, "clerk session token"), (client_cookie, "clerk client cookie")):
        SCRUBBER.add(secret, name=name)
    return Session(frontend_api=frontend_api, session_id=session_id, client_cookie=client_cookie, jwt=jwt)


def refresh(session: Session, context: ssl.SSLContext, timeout_s: float) -> str:
    """A fresh session token for ``session`` from the Frontend API, as clerk-js gets one."""
    cookie = SimpleCookie()
    cookie[CLIENT_COOKIE] = session.client_cookie
    request = urllib.request.Request(
        f"{session.frontend_api}/v1/client/sessions/{session.session_id}/tokens", data=b"", method="POST",
        headers={"cookie": cookie.output(header="", attrs=[]).strip(),
                 "content-type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s, context=context) as answer:
            body = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        try:
            detail = _error(json.loads(exc.read()))
        except ValueError:
            detail = "no error detail"
        raise SessionError(f"the Frontend API refused to refresh the session (HTTP {exc.code} {detail})") from None
    except (OSError, ValueError) as exc:
        raise SessionError(f"the Frontend API did not refresh the session: {exc}") from None
    jwt = body.get("jwt") if isinstance(body, dict) else None
    if not isinstance(jwt, str) or not jwt:
        raise SessionError("the Frontend API answered the token refresh without a jwt")
    return jwt
