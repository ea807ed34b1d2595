"""The signed-in app answers (ops guide: API < 500 ms, AI processing < 3 seconds).

Uses the worker's session (signed in once, reused through storage state).  The AI request is one
short synthetic note per run on the test account.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from smokegate.config import Target
from smokegate.synthetic.journey import retry_cut

pytestmark = pytest.mark.safe


@pytest.mark.check(severity="critical", feature="signed-in-api")
def test_user_api_answers_signed_in(target: Target, signed_in_context: BrowserContext) -> None:
    path = target.synthetic.user_api_path
    answer, _ = retry_cut(lambda: signed_in_context.request.get(path), f"GET {path}")
    assert answer.status == 200, f"{path} answered {answer.status} with a live session, expected 200"
    body = answer.json()
    missing = [key for key in ("id", "email") if not body.get(key)]
    assert not missing, f"{path} answered 200 without {', '.join(missing)}"


@pytest.mark.check(severity="high", feature="ai")
def test_ai_answers_within_budget(target: Target, signed_in_context: BrowserContext, check_record: Any) -> None:
    ai = target.synthetic.ai
    budget = ai.budget_ms or target.budgets.ai_ms
    # A request the network cuts is sent once more; the time is the answered attempt's.
    answer, elapsed = retry_cut(lambda: signed_in_context.request.fetch(
        ai.path, method=ai.method, data=ai.body if ai.method == "POST" else None, timeout=max(budget * 3, 10_000)
    ), f"{ai.method} {ai.path}")
    check_record.measure(elapsed, budget, status=answer.status)
    assert answer.status == 200, f"{ai.method} {ai.path} answered {answer.status}, expected 200"
    assert elapsed <= budget, f"{ai.method} {ai.path} took {elapsed:.0f} ms > budget {budget:.0f} ms"
