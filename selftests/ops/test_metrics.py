"""The watcher's Prometheus metrics from gate.json dicts, served over HTTP and read by Prometheus's parser."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from selftests.ops.conftest import check, make_gate
from smokegate.ops.metrics import WatchMetrics

LATENCY = "smoke/test_health.py::test_health_latency_within_budget"
ERROR_RATE = "smoke/test_error_rate.py::test_error_rate_under_budget"


@pytest.fixture
def metrics() -> Iterator[tuple[WatchMetrics, str]]:
    watch = WatchMetrics("eu-west", window_s=86_400)
    port = watch.serve(0, "127.0.0.1")
    yield watch, f"http://127.0.0.1:{port}/metrics"
    watch.stop()


def _scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = httpx.get(url, timeout=10, trust_env=False)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _get(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def _gate(*, latency_ms: float, failed: bool, verdict: str | None = None) -> dict[str, Any]:
    checks = [
        check(LATENCY, "failed" if failed else "passed", measured=latency_ms, budget=500.0, unit="ms",
              duration_s=1.25, failure_kind="budget-exceeded" if failed else None),
        check(ERROR_RATE, measured=0.002, budget=0.01, unit="ratio", duration_s=3.0),
        check("smoke/test_health.py::test_deployment_is_expected_version", "skipped"),
    ]
    gate = make_gate(target="production", checks=checks)
    if verdict is not None:
        gate["verdict"] = verdict
    return gate


def test_a_run_becomes_prometheus_metrics(metrics: tuple[WatchMetrics, str]) -> None:
    watch, url = metrics
    alerts = {"run_id": "r2", "deliveries": [{"channel": "alert", "kind": "alert", "status": "sent"},
                                             {"channel": "monitoring", "kind": "metrics", "status": "sent"}]}
    watch.run_finished(target="production", suite="health", gate=_gate(latency_ms=120, failed=False),
                       duration_s=0.8, finished_ts=1_700_000_000.0, alerts=None)
    watch.run_finished(target="production", suite="health", gate=_gate(latency_ms=812, failed=True),
                       duration_s=4.2, finished_ts=1_700_000_030.0, alerts=alerts)
    watch.set_availability("production", samples=2, passing=1)
    watch.lag.labels("production", "health").observe(0.004)
    samples = _scrape(url)

    run = {"target": "production", "suite": "health", "location": "eu-west"}
    per_check = {"target": "production", "check": LATENCY, "location": "eu-west"}
    assert _get(samples, "smokegate_runs_total", **run, verdict="pass") == 1
    assert _get(samples, "smokegate_runs_total", **run, verdict="fail") == 1
    assert _get(samples, "smokegate_run_duration_seconds_count", **run) == 2
    assert _get(samples, "smokegate_run_duration_seconds_sum", **run) == pytest.approx(5.0)
    assert _get(samples, "smokegate_last_run_timestamp_seconds", **run) == 1_700_000_030.0
    assert _get(samples, "smokegate_alerts_total", **run, kind="alert", status="sent") == 1
    assert not [k for k in samples if k[0] == "smokegate_alerts_total" and ("kind", "metrics") in k[1]]
    assert _get(samples, "smokegate_target_up", target="production", location="eu-west") == 0
    assert _get(samples, "smokegate_availability_ratio", target="production", location="eu-west") == 0.5
    assert _get(samples, "smokegate_availability_samples", target="production", location="eu-west") == 2
    assert _get(samples, "smokegate_availability_window_seconds") == 86_400
    # The latest outcome as a state set; durations, values and budgets in seconds.
    assert _get(samples, "smokegate_check_outcome", **per_check, smokegate_check_outcome="failed") == 1
    assert _get(samples, "smokegate_check_outcome", **per_check, smokegate_check_outcome="passed") == 0
    assert _get(samples, "smokegate_check_duration_seconds", **per_check) == 1.25
    assert _get(samples, "smokegate_check_measured_seconds", **per_check) == pytest.approx(0.812)
    assert _get(samples, "smokegate_check_budget_seconds", **per_check) == 0.5
    assert _get(samples, "smokegate_check_runs_total", **per_check) == 2
    assert _get(samples, "smokegate_check_failures_total", **per_check, failure_kind="budget-exceeded") == 1
    # A value that is not a time keeps its unit as a label.
    rate = {"target": "production", "check": ERROR_RATE, "location": "eu-west", "unit": "ratio"}
    assert _get(samples, "smokegate_check_measured", **rate) == 0.002
    assert _get(samples, "smokegate_check_budget", **rate) == 0.01
    # A skipped check has a state but is no run of the check.
    skipped = {"target": "production", "check": "smoke/test_health.py::test_deployment_is_expected_version",
               "location": "eu-west"}
    assert _get(samples, "smokegate_check_outcome", **skipped, smokegate_check_outcome="skipped") == 1
    assert ("smokegate_check_runs_total", frozenset(skipped.items())) not in samples
    assert _get(samples, "smokegate_watch_schedule_lag_seconds_count", target="production", suite="health") == 1
    assert _get(samples, "process_cpu_seconds_total") > 0


def test_a_run_that_could_not_judge_leaves_target_up_as_it_was(metrics: tuple[WatchMetrics, str]) -> None:
    watch, url = metrics
    watch.run_finished(target="production", suite="health", gate=_gate(latency_ms=100, failed=False),
                       duration_s=0.5, finished_ts=1.0, alerts=None)
    watch.run_finished(target="production", suite="health", gate=make_gate(checks=[], reason="bad option") | {
        "verdict": "error"}, duration_s=0.1, finished_ts=2.0, alerts=None)
    samples = _scrape(url)
    assert _get(samples, "smokegate_target_up", target="production", location="eu-west") == 1
    assert _get(samples, "smokegate_runs_total", target="production", suite="health", location="eu-west",
                verdict="error") == 1


def test_metric_names_follow_prometheus_conventions(metrics: tuple[WatchMetrics, str]) -> None:
    watch, url = metrics
    watch.run_finished(target="production", suite="health", gate=_gate(latency_ms=100, failed=True),
                       duration_s=0.5, finished_ts=1.0, alerts=None)
    answer = httpx.get(url, timeout=10, trust_env=False).text
    for family in text_string_to_metric_families(answer):
        if not family.name.startswith("smokegate_"):
            continue
        if family.type == "counter":
            assert all(s.name.endswith("_total") for s in family.samples), family.name
        assert "_ms" not in family.name and "millisecond" not in family.name, family.name
        if "duration" in family.name or "lag" in family.name:
            assert family.name.endswith("_seconds"), family.name
