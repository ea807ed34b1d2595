"""API endpoints (ops guide: API response under 500 ms): each answers its status within budget."""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.checks.warning_signs import SLOW_RESPONSE
from smokegate.config import ApiEndpoint, Target
from smokegate.probe import Exchange, Probe

# Latency is judged here: no burst of another check may run meanwhile (measures=True).
pytestmark = [pytest.mark.safe, pytest.mark.check(epic="smoke", measures=True)]


@pytest.fixture(scope="session")
def api_answers(probe: Probe) -> dict[str, Exchange]:
    return {}


def _call(probe: Probe, endpoint: ApiEndpoint, cache: dict[str, Exchange]) -> Exchange:
    if endpoint.name not in cache:
        cache[endpoint.name] = probe.request(endpoint.method, endpoint.path, json=endpoint.json_body)
    return cache[endpoint.name]


@pytest.mark.check(severity="high", feature="api")
def test_api_answers_expected_status(
    api_endpoint: ApiEndpoint, probe: Probe, api_answers: dict[str, Exchange]
) -> None:
    answer = _call(probe, api_endpoint, api_answers)
    assert answer.status == api_endpoint.expect_status, (
        f"{api_endpoint.method} {api_endpoint.path} answered {answer.status}, expected "
        f"{api_endpoint.expect_status}: {answer.text[:160]!r}"
    )


@pytest.mark.check(severity="high", feature="performance")
def test_api_within_budget(
    target: Target, api_endpoint: ApiEndpoint, probe: Probe, api_answers: dict[str, Exchange], check_record: Any
) -> None:
    budget = target.api_budget(api_endpoint)
    first = _call(probe, api_endpoint, api_answers)
    # The first call may pay for a fresh connection; judge the median of it and two more.
    more = [probe.request(api_endpoint.method, api_endpoint.path, json=api_endpoint.json_body) for _ in range(2)]
    from smokegate.timing import Samples

    samples = Samples.of(x.timing.total_ms for x in (first, *more))
    check_record.measure(samples.median, budget, warning_sign=SLOW_RESPONSE, samples=list(samples.values),
                         phases=[x.timing.as_dict() for x in (first, *more)])
    assert samples.median <= budget, (
        f"{api_endpoint.method} {api_endpoint.path} {samples.describe()} > budget {budget:.0f} ms; "
        f"first call: {first.timing.describe()}"
    )
