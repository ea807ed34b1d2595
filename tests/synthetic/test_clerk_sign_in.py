"""The synthetic Clerk user signs in by sign-in token, on production too (ops guide: "Authentication").

No OAuth provider is involved, so no provider can block the robot: the Clerk Backend API makes a
one-time sign-in token for the synthetic user (its email in ``[synthetic.clerk]``, the secret key in
``CLERK_SECRET_KEY``), and the browser redeems it in the page's own clerk-js, past Clerk's bot
protection with a Testing Token, as Clerk's ``@clerk/testing`` does.  Signing the synthetic user in
only creates that user's own session, so the check is safe.  Skipped, with the reason, when Clerk is
not configured; the signed-in checks then use the OAuth test account or are skipped as well.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from smokegate.config import Target
from smokegate.synthetic.ticket import ClerkTickets, ticket_sign_in

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="synthetic")]


@pytest.mark.check(severity="critical", feature="sign-in")
def test_ticket_sign_in_reaches_dashboard(
    target: Target, new_context: Callable[..., BrowserContext], clerk_tickets: ClerkTickets, check_record: Any
) -> None:
    syn = target.synthetic
    context = new_context()
    clerk_tickets.prepare(context)
    result = ticket_sign_in(context.new_page(), syn, clerk_tickets.ticket())
    check_record.measure(result.redeem_ms + result.dashboard_ms, None, redeem_ms=round(result.redeem_ms),
                         dashboard_ms=round(result.dashboard_ms), method="clerk-ticket")
    expected = syn.account.display_name
    assert result.user_name and (expected is None or result.user_name == expected), (
        f"{syn.dashboard_path} greets {result.user_name!r} after the ticket sign-in, expected "
        f"{expected or 'the synthetic user'!r}"
    )
