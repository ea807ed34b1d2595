"""Unit tests of smokegate.checks.health_metrics: the guide's metrics in the shapes health endpoints use."""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.checks.health_metrics import Thresholds, memory_percent, read


@pytest.mark.parametrize(("report", "percent"), [
    ({"used_mb": 212, "limit_mb": 1024}, 212 / 1024 * 100),
    ({"usedBytes": 3 * 2**30, "totalBytes": 4 * 2**30}, 75.0),
    ({"rss": 600, "limit": 1000}, 60.0),
    ({"free_mb": 100, "total_mb": 1000}, 90.0),
    ({"percent": 45}, 45.0),
    ({"usage": 0.62}, 62.0),
    ({"status": "ok", "usedPercent": 81.5}, 81.5),
])
def test_memory_objects(report: dict[str, Any], percent: float) -> None:
    assert memory_percent(report) == pytest.approx(percent)


@pytest.mark.parametrize("report", [
    {"used_mb": 212, "limit": 1024 * 2**20},  # different units: not compared
    {"heapUsed": 90, "heapTotal": 100},        # V8's current heap, not what is available
    {"rss": 123456},                           # no total
    {"usage": 512},                            # a size, not a ratio
])
def test_memory_without_a_readable_ratio_is_not_judged(report: dict[str, Any]) -> None:
    assert memory_percent(report) is None


def test_every_guide_metric_in_nested_and_flat_shapes() -> None:
    body = {"status": "healthy", "uptime_s": 1234, "memory": {"used_mb": 912, "limit_mb": 1024},
            "metrics": {"errorRate": 0.07, "avg_response_time_ms": 5400, "availability": 0.9995},
            "checks": {"database": {"status": "ok", "latency_ms": 12}}}
    metrics = {m.name: m for m in read(body)}
    assert set(metrics) == {"memory usage", "error rate", "response time", "uptime"}
    assert not metrics["memory usage"].within and metrics["memory usage"].source == "memory"
    assert metrics["error rate"].value == pytest.approx(7.0) and metrics["error rate"].past_warning_sign
    response = metrics["response time"]
    assert response.source == "metrics.avg_response_time_ms" and response.past_warning_sign
    assert metrics["uptime"].within and not metrics["uptime"].past_warning_sign
    assert metrics["memory usage"].describe() == "memory usage 89.06 % (memory; the guide: < 80 %)"


def test_thresholds_come_from_the_target_and_units_are_never_guessed() -> None:
    body = {"memoryUsage": 0.5, "error_rate_percent": 2, "response_time_s": 1.5, "uptime_percent": 99.5}
    metrics = {m.name: m for m in read(body, Thresholds(memory_pct=40, error_rate_pct=5, uptime_pct=99))}
    assert not metrics["memory usage"].within and metrics["error rate"].within
    assert metrics["response time"].value == 1500 and metrics["uptime"].within
    # uptime_s is seconds since start, responseTime has no unit, a component's latency is not a response time.
    assert read({"uptime_s": 99, "responseTime": 9000, "checks": {"db": {"latency_ms": 9000}}, "memory": 512}) == []
