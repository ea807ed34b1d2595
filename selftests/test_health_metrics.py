"""Unit tests of smokegate.checks.health_metrics: the guide's metrics in the shapes health endpoints use."""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.checks.health_metrics import MetricField, Thresholds, memory_percent, read, words


@pytest.mark.parametrize(("report", "percent"), [
    ({"used_mb": 212, "limit_mb": 1024}, 212 / 1024 * 100),
    ({"usedBytes": 3 * 2**30, "totalBytes": 4 * 2**30}, 75.0),
    ({"rss": 600, "limit": 1000}, 60.0),
    ({"free_mb": 100, "total_mb": 1000}, 90.0),
    ({"percent": 45}, 45.0),
    ({"usage": 0.62}, 62.0),
    ({"status": "ok", "usedPercent": 81.5}, 81.5),
    # Issue 19: shapes with a unit the suite skipped as "no unit".
    ({"used_pct": 91}, 91.0),
    ({"usedPercentage": 42.5}, 42.5),
    ({"heapUsed": 90, "heapLimit": 100}, 90.0),
    ({"heapUsed": 90 * 2**20, "heapTotal": 95 * 2**20, "heap_size_limit": 2 * 2**30}, 90 / 2048 * 100),
    ({"free_pct": 30}, 70.0),
    ({"used_mb": 512, "limit_gb": 1}, 51.2),
    ({"rssBytes": 300, "heapUsed": 5, "limitBytes": 1000}, 30.0),
])
def test_memory_objects(report: dict[str, Any], percent: float) -> None:
    assert memory_percent(report) == pytest.approx(percent)


@pytest.mark.parametrize("report", [
    {"used_mb": 212, "limit": 1024 * 2**20},  # different units: not compared
    {"heapUsed": 90, "heapTotal": 100},        # V8's current heap, not what is available
    {"rss": 123456},                           # no total
    {"usage": 512},                            # a size, not a ratio
    {"total_heap_size": 100, "used_heap_size": 90},  # V8's heap so far again, in getHeapStatistics' names
    {"used": 5, "total_mb": 10},               # a unit on one side only
])
def test_memory_without_a_readable_ratio_is_not_judged(report: dict[str, Any]) -> None:
    assert memory_percent(report) is None


def test_every_guide_metric_in_nested_and_flat_shapes() -> None:
    body = {"status": "healthy", "uptime_s": 1234, "memory": {"used_mb": 912, "limit_mb": 1024},
            "metrics": {"errorRate": 0.07, "avg_response_time_ms": 5400, "availability": 0.9995},
            "checks": {"database": {"status": "ok", "latency_ms": 12}}}
    metrics = {m.name: m for m in read(body).metrics}
    assert set(metrics) == {"memory usage", "error rate", "response time", "uptime"}
    assert not metrics["memory usage"].within and metrics["memory usage"].source == "memory"
    assert metrics["error rate"].value == pytest.approx(7.0) and metrics["error rate"].past_warning_sign
    response = metrics["response time"]
    assert response.source == "metrics.avg_response_time_ms" and response.past_warning_sign
    assert metrics["uptime"].within and not metrics["uptime"].past_warning_sign
    assert metrics["memory usage"].describe() == "memory usage 89.06 % (memory; the guide: < 80 %)"


def test_thresholds_come_from_the_target_and_units_are_never_guessed() -> None:
    body = {"memoryUsage": 0.5, "error_rate_percent": 2, "response_time_s": 1.5, "uptime_percent": 99.5}
    metrics = {m.name: m for m in read(body, Thresholds(memory_pct=40, error_rate_pct=5, uptime_pct=99)).metrics}
    assert not metrics["memory usage"].within and metrics["error rate"].within
    assert metrics["response time"].value == 1500 and metrics["uptime"].within
    # uptime_s is seconds since start, responseTime has no unit, a component's latency is not a response time.
    reading = read({"uptime_s": 99, "responseTime": 9000, "checks": {"db": {"latency_ms": 9000}}, "memory": 512})
    assert reading.metrics == []
    # What looked like a metric is named, with why it was not read (the skip reason shows it).
    assert reading.unread == ["memory: 512 (no unit)", "responseTime (no unit)",
                              "uptime_s (time since start, not availability)"]


@pytest.mark.parametrize(("key", "expected"), [
    ("used_pct", ("used", "pct")), ("usedPercent", ("used", "percent")), ("memoryUsedMB", ("memory", "used", "mb")),
    ("heapSizeLimit", ("heap", "size", "limit")), ("usage%", ("usage", "%")),
    ("HTTPErrorRate", ("http", "error", "rate")),
])
def test_keys_are_read_as_words(key: str, expected: tuple[str, ...]) -> None:
    assert words(key) == expected


def test_memory_in_the_shapes_real_health_routes_use() -> None:
    """Issue 19: ``memory: {"used_pct": 91}`` was skipped as "no unit"; flat and nested shapes are read."""
    assert read({"memory": {"used_pct": 91}}).metrics[0].describe() == "memory usage 91 % (memory; the guide: < 80 %)"
    nested = read({"process": {"memoryUsage": 0.4}, "system": {"memory": {"usedPercent": 85}}}).metrics[0]
    assert (nested.source, nested.value) == ("system.memory", 85)
    flat = read({"status": "ok", "heapUsed": 700, "heapLimit": 1000}).metrics[0]
    assert (flat.source, flat.value) == ("heapLimit, heapUsed", 70.0)
    assert read({"process": {"memoryUsage": 0.4}}).metrics[0].source == "process.memoryUsage"


def test_a_configured_field_wins_and_a_missing_one_is_named() -> None:
    body = {"stats": {"m": 0.91, "used": 700, "cap": 1000, "p50": 2.5, "availability_9s": 3}}
    fields = {"memory": MetricField("stats.m", "ratio"), "response_time": MetricField("stats.p50", "s")}
    metrics = {m.name: m for m in read(body, fields=fields).metrics}
    assert metrics["memory usage"].value == pytest.approx(91) and metrics["memory usage"].source == "stats.m"
    assert metrics["response time"].value == 2500
    pair = read(body, fields={"memory": MetricField("stats.used", limit_path="stats.cap")}).metrics[0]
    assert (pair.source, pair.value) == ("stats.used / stats.cap", 70.0)
    missing = read(body, fields={"uptime": MetricField("stats.uptime", "percent")})
    assert missing.missing == ["stats.uptime (health.metrics.uptime)"] and not missing.metrics
