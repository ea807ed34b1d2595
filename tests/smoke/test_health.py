"""Health monitoring (ops guide): /api/health answers 200 within 500 ms, in real time, every component ok."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from smokegate.checks import causes, freshness, health_metrics
from smokegate.checks.warning_signs import SLOW_RESPONSE
from smokegate.config import Target
from smokegate.probe import Exchange, Probe

# Latency is judged here: no burst of another check may run meanwhile (measures=True).
pytestmark = [pytest.mark.safe, pytest.mark.check(epic="smoke", measures=True)]

NO_CACHE = {"cache-control": "no-cache", "pragma": "no-cache"}


@pytest.fixture(scope="module")
def health(target: Target, probe: Probe) -> Exchange:
    return probe.get(target.health.path, headers=NO_CACHE)


def _problem(answer: Exchange) -> str | None:
    """What is wrong with the health body's shape, or None when it is the health JSON."""
    try:
        body = answer.json()
    except ValueError:
        return f"{answer.url} answered {answer.status} with a body that is not JSON: {answer.text[:120]!r}"
    if not isinstance(body, dict) or not isinstance(body.get("checks"), dict):
        return f"{answer.url} JSON has no 'checks' object: {answer.text[:200]!r}"
    return None


def _body(answer: Exchange) -> dict[str, Any]:
    """The health JSON for the check that owns its shape (a finding when it is broken)."""
    problem = _problem(answer)
    if problem:
        pytest.fail(problem, pytrace=False)
    body: dict[str, Any] = answer.json()
    return body


def _body_or_skip(answer: Exchange) -> dict[str, Any]:
    """The health JSON for checks that read one figure from it: a broken body is one finding
    (test_health_reports_every_component_ok), not one per check reading it."""
    if _problem(answer):
        pytest.skip("the health body is not the health JSON (reported by test_health_reports_every_component_ok)")
    body: dict[str, Any] = answer.json()
    return body


def _component_keys(failing: list[str]) -> list[str]:
    return [f"component:{entry.split(' ', 1)[0]}" for entry in failing]


def _failing_components(body: dict[str, Any]) -> list[str]:
    failing = []
    for name, check in body["checks"].items():
        if not isinstance(check, dict):
            failing.append(f"{name} (malformed: {check!r})")
        elif check.get("status") != "ok":
            error = f": {check['error']}" if check.get("error") else ""
            failing.append(f"{name} ({check.get('status')}{error})")
    return sorted(failing)


@pytest.mark.check(severity="critical", feature="health", required=True)
def test_health_answers_200(health: Exchange, check_record: Any) -> None:
    failing = _failing_components(health.json()) if health.status == 503 and not _problem(health) else []
    if failing:
        check_record.detail("dependency", failing[0].split(" ", 1)[0])
    if health.status == 503:
        check_record.cause(*causes.HEALTH_UNHEALTHY, *_component_keys(failing))
    assert health.status == 200, (
        f"{health.url} answered {health.status}, expected 200"
        + (f"; failing: {', '.join(failing)}" if failing else "")
    )


@pytest.mark.check(severity="critical", feature="health")
def test_health_reports_every_component_ok(target: Target, health: Exchange, check_record: Any) -> None:
    body = _body(health)
    missing = [name for name in target.health.components if name not in body["checks"]]
    assert not missing, f"health does not report component(s): {', '.join(missing)}"
    failing = _failing_components(body)
    if failing:
        check_record.detail("dependency", failing[0].split(" ", 1)[0])
        check_record.cause(*causes.HEALTH_UNHEALTHY, *_component_keys(failing))
    assert not failing, f"health components not ok: {', '.join(failing)}"


@pytest.mark.check(severity="high", feature="health")
def test_health_is_real_time(target: Target, health: Exchange, check_record: Any) -> None:
    # A health a CDN stores or serves, or whose timestamp is old, reports a past state as the
    # present (typically a route handler rendered statically at build time).
    signs = freshness.cache_signs(health.headers)
    try:
        stamped = freshness.body_timestamp(health.json())
    except ValueError:
        stamped = None  # not JSON: test_health_reports_every_component_ok says so
    if stamped is not None:
        key, moment = stamped
        age = (datetime.now(UTC) - moment).total_seconds()
        check_record.detail("timestamp_age_s", round(age, 1))
        if age > target.health.max_age_s:
            signs.append(f"its {key} {moment.isoformat(timespec='seconds')} is {age:.0f} s old "
                         f"(> {target.health.max_age_s:.0f} s)")
    check_record.detail("cache_signs", signs)
    assert not signs, (
        f"{target.health.path} is not real-time, it may report a past state as the present: " + "; ".join(signs)
    )


@pytest.mark.check(severity="medium", feature="health")
def test_health_metrics_within_guide(target: Target, health: Exchange, check_record: Any) -> None:
    # The guide's key metrics (memory < 80 % of available, error rate < 1 %, response time < 2 s,
    # uptime 99.9 %), judged whenever health reports them; past a warning sign, severity rises.
    budgets = target.budgets
    limits = health_metrics.Thresholds(memory_pct=budgets.memory_ratio * 100, error_rate_pct=budgets.error_rate * 100,
                                       response_ms=budgets.response_ms, uptime_pct=budgets.uptime_ratio * 100)
    fields = {name: health_metrics.MetricField(**spec.model_dump()) for name, spec in target.health.metrics.items()}
    reading = health_metrics.read(_body_or_skip(health), limits, fields)
    assert not reading.missing, (
        f"{target.health.path} does not report what the config points at: {'; '.join(reading.missing)}")
    metrics = reading.metrics
    if not metrics:
        seen = f"; seen but not readable: {'; '.join(reading.unread)}" if reading.unread else ""
        pytest.skip(f"{target.health.path} reports none of the guide's metrics (memory, error rate, response time, "
                    f"uptime) in a form with a unit: not judged{seen} (point at them with health.metrics)")
    check_record.detail("metrics", {m.name: round(m.value, 2) for m in metrics})
    over = [m for m in metrics if not m.within]
    for metric in over:
        if metric.past_warning_sign and metric.sign is not None:
            check_record.raise_severity(metric.sign.describe())
    assert not over, f"{target.health.path} reports " + "; ".join(m.describe() for m in over)


@pytest.mark.check(severity="high", feature="health")
def test_health_latency_within_budget(target: Target, probe: Probe, check_record: Any) -> None:
    budget = target.budgets.health_ms
    exchanges, samples = probe.sample("GET", target.health.path, target.health.samples, headers=NO_CACHE)
    check_record.measure(samples.median, budget, warning_sign=SLOW_RESPONSE, samples=list(samples.values),
                         phases=[x.timing.as_dict() for x in exchanges])
    slowest = max(exchanges, key=lambda x: x.timing.total_ms)
    assert samples.median <= budget, (
        f"{target.health.path} {samples.describe()} > budget {budget:.0f} ms; slowest: {slowest.timing.describe()}"
    )


@pytest.mark.check(severity="high", feature="database")
def test_database_latency_within_budget(target: Target, health: Exchange, check_record: Any) -> None:
    budget = target.budgets.db_ms
    name = target.health.database_component
    component = _body_or_skip(health)["checks"].get(name)
    check_record.detail("dependency", name)
    assert isinstance(component, dict), f"health does not report the {name} component"
    latency = component.get("latency_ms")
    if component.get("status") not in (None, "ok"):
        # A component that is down reports no latency: the components check's finding.
        check_record.cause(*causes.HEALTH_UNHEALTHY, *_component_keys([name]))
    assert isinstance(latency, int | float), (
        f"health reports no {name} latency (status {component.get('status')!r}"
        f"{', error: ' + str(component['error']) if component.get('error') else ''})"
    )
    check_record.measure(latency, budget)
    assert latency <= budget, f"{name} latency reported by health {latency:.0f} ms > budget {budget:.0f} ms"


@pytest.mark.check(severity="critical", feature="deployment")
def test_deployment_is_expected_version(expected_version: str | None, health: Exchange) -> None:
    expected = expected_version
    if not expected:
        pytest.skip("no --expect-version given: the deployed build is not checked")
    reported = str(_body_or_skip(health).get("version") or "")
    # Deployments report full or abbreviated SHAs; either side may be the short one.
    short = min(len(reported), len(expected))
    same = reported == expected or (short >= 7 and reported[:short] == expected[:short])
    assert same, (
        f"health reports build {reported!r}, expected {expected!r}: the gate is not testing the new deployment "
        f"(stale cache, old alias or failed rollout)"
    )
