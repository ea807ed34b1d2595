"""The health report's layout: bars that tell 150 % from 300 % of budget, rows with nothing to say
left out, a trend per check, labels that never overlap a bar — checked on the page in Chromium."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from selftests.ops.conftest import check, make_gate
from selftests.render_checks import VIEWPORT, overlaps
from smokegate.ops.health_report import write_report
from smokegate.ops.history import History
from smokegate.ops.report import Bucket, CheckStats, ReportData, TargetStats, collect
from smokegate.ops.report_format import sparkline
from smokegate.ops.report_page import collect_trends, has_something_to_say, render_page
from smokegate.templating import BUDGET_POSITION, ratio_position

NOW = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)
LONG = "synthetic/test_page_load.py::test_largest_contentful_paint_is_good[a-page-with-a-rather-long-name-indeed]"


def _data(checks: list[CheckStats]) -> ReportData:
    start = NOW - timedelta(hours=24)
    target = TargetStats("production", runs=24, passed=24,
                         buckets=[Bucket(start + timedelta(hours=i), runs=1, passed=1) for i in range(24)])
    return ReportData(generated_at=NOW, since=timedelta(hours=24), start=start, bucket=timedelta(hours=1),
                      history_name="history.sqlite", targets=[target], checks=checks, incidents=[],
                      incidents_total=0)


def _stats(name: str, p50: float, p95: float, budget: float | None, unit: str = "ms") -> CheckStats:
    return CheckStats("production", name, "smoke", unit, budget=budget, runs=24, p50=p50, p95=p95)


CHECKS = [
    _stats("at-150-percent", 100.0, 750.0, 500.0),
    _stats("at-300-percent", 100.0, 1500.0, 500.0),
    _stats("at-ten-times", 100.0, 5000.0, 500.0),
    _stats("zero-of-zero", 0.0, 0.0, 0.0, unit="scripts"),
    _stats("never-measured", 0.0, 0.0, None),
    _stats(LONG, 1800.0, 2600.0, 2500.0),
]


def _width(page: str, name: str, bar: str) -> float:
    row = re.search(rf'<tr class="row" data-check="{re.escape(name)}">(.*?)</tr>', page, re.S)
    assert row, f"no chart row for {name}"
    found = re.search(rf'<rect class="{bar}" x="0" y="\d+" width="([\d.]+)"', row.group(1))
    assert found, f"no {bar} bar for {name}"
    return float(found.group(1))


def test_150_and_300_percent_of_budget_look_different() -> None:
    page = render_page(_data(CHECKS))
    at150, at300, at1000 = (_width(page, n, "p95") for n in ("at-150-percent", "at-300-percent", "at-ten-times"))
    plot = 290.0
    budget_x = plot * BUDGET_POSITION
    assert budget_x < at150 < at300 < at1000
    assert at300 - at150 > 40  # on the old per-row scale both were drawn at the same length
    assert at1000 == plot  # capped at 4x...
    capped = re.search(r'data-check="at-ten-times">(.*?)</tr>', page, re.S)
    assert capped
    assert 'class="cap"' in capped.group(1)  # ...with the marker saying so
    assert 'class="cap"' not in re.search(r'data-check="at-300-percent">(.*?)</tr>', page, re.S).group(1)  # type: ignore[union-attr]
    assert "logarithmic scale from 1/16× to 4×" in page


def test_the_scale_is_logarithmic_with_the_budget_at_a_fixed_place() -> None:
    assert ratio_position(1.0) == (pytest.approx(2 / 3), False)
    doubling = ratio_position(2.0)[0] - ratio_position(1.0)[0]
    assert ratio_position(4.0)[0] - ratio_position(2.0)[0] == pytest.approx(doubling)
    assert ratio_position(10.0) == (1.0, True)
    assert ratio_position(0.01) == (0.0, True)
    assert ratio_position(None) == (0.0, False)


def test_rows_with_nothing_to_say_are_left_out_of_the_chart_but_kept_in_the_table() -> None:
    assert not has_something_to_say(_stats("zero-of-zero", 0.0, 0.0, 0.0))
    assert not has_something_to_say(CheckStats("production", "no-values", "smoke", "ms"))
    assert has_something_to_say(_stats("zero-of-a-budget", 0.0, 0.0, 1.0))  # 0 % errors of a 1 % budget says "fine"
    page = render_page(_data(CHECKS))
    chart = re.search(r'<table class="chart latency".*?</table>', page, re.S)
    assert chart
    assert 'data-check="zero-of-zero"' not in chart.group(0)
    assert 'data-check="never-measured"' not in chart.group(0)
    assert 'data-omitted="2"' in page
    table = re.search(r'<table class="checks".*?</table>', page, re.S)
    assert table
    assert 'data-check="zero-of-zero"' in table.group(0)


def _history(tmp_path: Path, values: dict[int, float]) -> Path:
    """One run per hour before NOW, ``values[hours_ago]`` as the health check's measured time."""
    path = tmp_path / "history.sqlite"
    with History.open(path) as history:
        for hours_ago, value in values.items():
            gate = make_gate(at=NOW - timedelta(hours=hours_ago, minutes=-10),
                             checks=[check("health", measured=value, budget=500.0, unit="ms")])
            history.record_gate(gate, run_id=f"run-{hours_ago}", scheduled=True)
    return path


def test_the_trend_is_the_p50_per_hour(tmp_path: Path) -> None:
    path = _history(tmp_path, {3: 100.0, 2: 200.0, 1: 300.0})
    with History.open(path) as history:
        data = collect(history, since=timedelta(hours=24), now=NOW)
        trends = collect_trends(history, data)
    trend = trends[("production", "health")]
    assert len(trend) == 24
    assert trend[-3:] == [100.0, 200.0, 300.0]
    assert trend[:-3] == [None] * 21
    line = sparkline(trend, "ms", timedelta(hours=1))
    assert line is not None
    points = [tuple(map(float, p.split(","))) for p in line.segments[0].split()]
    assert [y for _, y in points] == sorted((y for _, y in points), reverse=True)  # rising: y falls on screen
    assert (line.low, line.high) == ("100", "300")
    assert "p50 per hour" in line.title


def test_a_weekly_trend_is_per_day(week_history: Path) -> None:
    with History.open(week_history) as history:
        data = collect(history, since=timedelta(days=7), now=NOW)
        trends = collect_trends(history, data)
    assert len(trends[("production", "page-home")]) == 7


def _overlaps_of(browser: Any, path: Path) -> list[Any]:
    context = browser.new_context(viewport=VIEWPORT, offline=True)
    try:
        page = context.new_page()
        page.goto(path.as_uri(), wait_until="load")
        return overlaps(page)
    finally:
        context.close()


def test_no_label_overlaps_a_bar_or_another_label(report_browser: Any, week_history: Path, tmp_path: Path) -> None:
    generated = tmp_path / "generated.html"
    generated.write_text(render_page(_data(CHECKS)), encoding="utf-8")
    weekly = write_report(week_history, tmp_path / "weekly.html", since=timedelta(days=7), now=NOW)
    for path in (generated, weekly):
        clashes = _overlaps_of(report_browser, path)
        assert not clashes, f"{path.name}: {len(clashes)} overlapping boxes, e.g. {clashes[:3]}"


def test_the_overlap_check_sees_a_label_drawn_over_a_bar(report_browser: Any, tmp_path: Path) -> None:
    """The check the tests above rely on: it finds what the old chart did (a long name over the bars)."""
    page = tmp_path / "overlapping.html"
    page.write_text(
        '<!doctype html><html><body><svg width="600" height="40">'
        f'<text x="0" y="14">{LONG}</text><rect x="220" y="2" width="300" height="18" fill="#0969da"/></svg>'
        '<p style="position:relative">first line</p><p style="position:relative;top:-30px">second line</p>'
        "</body></html>",
        encoding="utf-8",
    )
    clashes = _overlaps_of(report_browser, page)
    pairs = {(a.text, b.text) for a, b in clashes}
    assert (LONG[:80], "<rect >") in pairs  # the boxes keep the first 80 characters
    assert ("first line", "second line") in pairs
