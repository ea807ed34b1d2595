"""The synthetic Clerk user's session for the load check, without a browser, against the testbed's Clerk: the
ticket redeemed at the Frontend API as clerk-js redeems it, the session token refreshed as clerk-js refreshes
it, and each token accepted by the app's signed-in API as a bearer token."""

from __future__ import annotations

import ssl

import httpx
import pytest

from smokegate.failures import CheckFailure
from smokegate.load import session
from smokegate.load.plan import Session
from smokegate.synthetic.clerk_testing import BackendApi
from smokegate.synthetic.ticket import ClerkTickets
from smokegate.testbed.control import RunningTestbed
from smokegate.testbed.fake_secrets import FAKE_SECRETS
from smokegate.testbed.idp import DEFAULT_EMAIL


def _tickets(testbed: RunningTestbed, key: str, context: ssl.SSLContext) -> ClerkTickets:
    api = BackendApi(testbed.clerk_api_url, key, 10, context)
    return ClerkTickets(api, DEFAULT_EMAIL, 300, lambda: f"{testbed.url}/__clerk")


def _user(testbed: RunningTestbed, context: ssl.SSLContext, jwt: str) -> httpx.Response:
    return httpx.get(f"{testbed.url}/api/user", headers={"authorization": f"Bearer {jwt}"}, verify=context, timeout=10)


def test_the_synthetic_user_is_signed_in_and_refreshed_without_a_browser(healthy_testbed: RunningTestbed) -> None:
    context = ssl.create_default_context(cafile=healthy_testbed.ca_file)
    tickets = _tickets(healthy_testbed, FAKE_SECRETS["CLERK_SECRET_KEY"], context)
    signed_in = session.sign_in(tickets, context, 10)
    assert signed_in.session_id.startswith("sess_") and signed_in.client_cookie
    assert _user(healthy_testbed, context, signed_in.jwt).json()["email"] == DEFAULT_EMAIL
    fresh = session.refresh(signed_in, context, 10)
    assert fresh != signed_in.jwt and session.expires_at(fresh) > 0
    assert _user(healthy_testbed, context, fresh).status_code == 200
    tickets.api.close()


def test_a_refused_ticket_or_session_says_which_step(healthy_testbed: RunningTestbed) -> None:
    context = ssl.create_default_context(cafile=healthy_testbed.ca_file)
    healthy_testbed.set_faults(["clerk-ticket-refused"])
    try:
        with pytest.raises(session.SessionError, match=r"refused the synthetic user's sign-in ticket .*ticket_invalid"):
            session.sign_in(_tickets(healthy_testbed, FAKE_SECRETS["CLERK_SECRET_KEY"], context), context, 10)
    finally:
        healthy_testbed.set_faults([])
    with pytest.raises(CheckFailure, match="refused the secret key"):
        session.sign_in(_tickets(healthy_testbed, "sk_test_wrong", context), context, 10)
    gone = Session(f"{healthy_testbed.url}/__clerk", "sess_nosuch", "client_nosuch", "jwt")
    with pytest.raises(session.SessionError, match=r"refused to refresh the session \(HTTP 404 resource_not_found"):
        session.refresh(gone, context, 10)
