"""Scalability (ops guide: "Handle 10x traffic increase"): the platform at 10 times its normal traffic.

Intrusive: one Locust run per pytest run ramps from the baseline (``[load] baseline_rps``) to
``multiplier`` times it, holds, and ramps down, over the target's pages, public APIs, health and, with
the synthetic Clerk user, the signed-in API and the AI route.  While it holds at the peak every route
keeps its budget at p95 (pages 2 s, APIs and health 500 ms, AI 3 s), under 1 % of the requests fail
and no few seconds are a burst of 5xx.  A threshold that fails names the step of the ramp where it
broke (its rate and users) and the route.  A generator that could not keep up makes the check
inconclusive ("could not be determined: the load generator saturated"), never a finding.
"""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.checks import causes
from smokegate.checks import load_verdict as verdict
from smokegate.checks.load_timeline import WRONG_STATUS
from smokegate.checks.warning_signs import ERROR_RATE_INCREASE, SLOW_RESPONSE
from smokegate.config import Target
from smokegate.failures import CheckFailure, FailureKind, Inconclusive
from smokegate.load.plan import MIN_SAMPLES, Route
from smokegate.plugin.load_fixtures import LoadOutcome

pytestmark = [pytest.mark.intrusive, pytest.mark.check(epic="load")]


def _session_lapsed(outcome: LoadOutcome) -> str | None:
    """Why the synthetic user's requests may have been refused for the test's own reason, or None."""
    errors = outcome.output.session_errors
    if not errors:
        return None
    return (f"the synthetic user's session could not be refreshed ({sum(errors.values())} time(s): "
            f"{next(iter(errors))})")


def _judged(judgment: verdict.Judgment, analysis: verdict.Analysis, check_record: Any, **sign: Any) -> None:
    if judgment.measured is not None:
        check_record.measure(judgment.measured, judgment.budget, unit=judgment.unit, **sign, **judgment.details)
    if judgment.undetermined is not None:
        raise Inconclusive(judgment.undetermined, analysis.undetermined_kind)
    check_record.cause(*causes.LOAD_CAPACITY)
    assert judgment.passed, judgment.message


@pytest.mark.check(severity="high", feature="load-latency")
def test_route_p95_within_budget_at_peak(load_route: Route, load_evidence: LoadOutcome, check_record: Any) -> None:
    if load_route.signed_in and load_evidence.signed_in_skipped:
        pytest.skip(load_evidence.signed_in_skipped)
    lapsed = _session_lapsed(load_evidence)
    refused = load_evidence.analysis.route(load_route.id).errors[WRONG_STATUS]
    if load_route.signed_in and lapsed and refused:
        raise CheckFailure(FailureKind.TEST_SESSION_EXPIRED,
                           f"{load_route.label}: {refused} requests of the hold were refused: {lapsed}; not an outage")
    judgment = verdict.judge_p95(load_evidence.analysis, load_route.id, load_route.budget_ms, MIN_SAMPLES)
    _judged(judgment, load_evidence.analysis, check_record, warning_sign=SLOW_RESPONSE)


@pytest.mark.check(severity="high", feature="load-errors")
def test_error_ratio_under_budget_at_peak(target: Target, load_evidence: LoadOutcome, check_record: Any) -> None:
    lapsed = _session_lapsed(load_evidence)
    excused = {r.id: lapsed for r in load_evidence.plan.mix if r.signed_in} if lapsed else {}
    judgment = verdict.judge_errors(load_evidence.analysis, target.budgets.error_rate, excused)
    _judged(judgment, load_evidence.analysis, check_record, warning_sign=ERROR_RATE_INCREASE)


@pytest.mark.check(severity="high", feature="load-errors")
def test_no_5xx_burst_at_peak(target: Target, load_evidence: LoadOutcome, check_record: Any) -> None:
    judgment = verdict.judge_burst(load_evidence.analysis, target.load.burst_ratio, target.load.burst_window_s)
    _judged(judgment, load_evidence.analysis, check_record)
