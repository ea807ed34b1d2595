"""The daily health report: its figures from a generated week, and the page in headless Chromium."""

from __future__ import annotations

import re
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from selftests.ops.conftest import CHROMIUM_ARGS
from smokegate.cli import main
from smokegate.ops.health_report import write_report
from smokegate.ops.history import History
from smokegate.ops.report import collect, parse_since, percentile

WEEK_END = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)
# 669 of 672 production runs passed (three failed in a row); every staging run passed.
PROD_AVAILABILITY = "99.554 %"


@pytest.fixture(scope="module")
def week_report(week_history: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "weekly.html"
    return write_report(week_history, out, since=timedelta(days=7), now=WEEK_END)


def test_figures_of_a_generated_week(week_history: Path) -> None:
    with History.open(week_history) as history:
        data = collect(history, since=timedelta(days=7), now=WEEK_END)
    production, staging = data.targets
    assert (production.target, production.runs, production.passed, production.errors) == (
        "production",
        672,
        669,
        3,
    )
    assert (staging.target, staging.runs, staging.passed) == ("staging", 168, 168)
    assert production.kinds == {"contract-broken": 3}
    checks = {(c.target, c.check): c for c in data.checks}
    health = checks[("production", "health-endpoint")]
    assert (health.p50, health.p95, health.budget, health.runs) == (48.5, 92.0, 500.0, 672)
    page = checks[("production", "page-home")]
    assert (page.p50, page.p95) == (1475.0, 1910.0)
    assert checks[("production", "api-status")].failures == 3
    (incident,) = data.incidents
    assert (incident.incident_id, incident.runs, incident.severity) == (
        "INC-20250303T0100Z-production-test01",
        3,
        "critical",
    )
    assert incident.checks == [("api-status", "contract-broken", 3)]
    assert incident.recovered == incident.last_failure + timedelta(minutes=15)


def test_a_day_covers_only_the_last_24_hours(week_history: Path) -> None:
    with History.open(week_history) as history:
        data = collect(history, since=timedelta(hours=24), now=WEEK_END)
    assert [(t.target, t.runs) for t in data.targets] == [("production", 96), ("staging", 24)]
    assert data.incidents == []  # the incident was days ago
    assert len(data.targets[0].buckets) == 24


def test_percentile_matches_the_standard_library() -> None:
    values = sorted([3.0, 1.0, 4.0, 1.5, 9.0, 2.6, 5.0, 3.5, 8.9, 7.9, 3.2])
    expected = statistics.quantiles(values, n=100, method="inclusive")
    assert percentile(values, 0.5) == pytest.approx(expected[49])
    assert percentile(values, 0.95) == pytest.approx(expected[94])
    assert percentile([7.0], 0.95) == 7.0


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
    ],
)
def test_since_periods(text: str, period: timedelta) -> None:
    assert parse_since(text) == period


@pytest.mark.parametrize("text", ["", "0h", "24", "1y", "-3d", "7 days"])
def test_bad_since_periods_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--since wants a period like 24h"):
        parse_since(text)


def test_the_page_loads_nothing_from_outside(week_report: Path) -> None:
    page = week_report.read_text()
    assert "Content-Security-Policy" in page
    assert "default-src 'none'" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.IGNORECASE)
    assert "<script" not in page
    assert "@import" not in page
    assert "url(" not in page


def test_cli_report_writes_the_page_and_prints_its_path(
    week_history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "daily.html"
    assert main(["report", "--since", "24h", "--history", str(week_history), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert "<h1>Daily health report</h1>" in out.read_text()


def test_cli_default_output_sits_next_to_the_history(
    week_history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "history.sqlite"
    history.write_bytes(week_history.read_bytes())
    assert main(["report", "--since", "7d", "--history", str(history)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "health-report-7d.html")


def test_cli_refuses_a_missing_history_and_a_bad_period(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--history", str(tmp_path / "nope.sqlite")]) == 1
    assert "no run history at" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--since", "yesterday"])
    assert exit_info.value.code == 2


# -- in a browser ------------------------------------------------------------------------------


def test_report_renders_its_figures_and_charts_in_headless_chromium(
    week_report: Path, chromium_executable: str, tmp_path: Path
) -> None:
    from playwright.sync_api import Route, sync_playwright

    outside: list[str] = []

    def block(route: Route) -> None:
        outside.append(route.request.url)
        route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)
            # Any request that is not the file itself is a failure of "self-contained".
            context.route(re.compile(r"^(?!file:).*"), block)
            page = context.new_page()
            page.goto(week_report.as_uri(), wait_until="load", timeout=15_000)
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)

            card = page.locator('.card[data-target="production"] [data-metric="availability"]')
            assert card.inner_text() == PROD_AVAILABILITY
            assert card.get_attribute("data-value") == "99.5536"
            staging = page.locator('.card[data-target="staging"] [data-metric="availability"]')
            assert staging.inner_text() == "100.000 %"
            assert page.locator('.card[data-target="production"] [data-metric="errors"]').inner_text() == "3"
            assert page.locator('.card[data-target="production"]').inner_text().count("misses the 99.9 % goal") == 1

            row = page.locator('table.checks[data-target="production"] tr[data-check="health-endpoint"]')
            assert row.locator('[data-metric="p50"]').inner_text() == "48.5"
            assert row.locator('[data-metric="p95"]').inner_text() == "92.0"
            assert row.locator('[data-metric="budget"]').inner_text() == "500"
            home = page.locator('table.checks[data-target="production"] tr[data-check="page-home"]')
            assert (
                home.locator('[data-metric="p50"]').inner_text(),
                home.locator('[data-metric="p95"]').inner_text(),
            ) == ("1475", "1910")

            # The charts are drawn, sized, and carry the same figures.
            assert page.locator(".chart").count() >= 5
            latency = page.locator('table.chart.latency[data-target="production"]')
            box = latency.bounding_box()
            assert box is not None
            assert box["width"] > 500
            assert box["height"] > 60
            bars = latency.locator('tr[data-check="health-endpoint"]')
            assert bars.locator("rect.p50").get_attribute("data-value") == "48.5"
            assert bars.locator("rect.p95").get_attribute("data-value") == "92"
            assert bars.locator("line.budget").get_attribute("data-value") == "500"
            availability = page.locator('svg.chart.availability[data-target="production"] rect.bar')
            assert availability.count() == 28  # a week in six-hour buckets
            values = [float(v or 0) for v in availability.evaluate_all("els => els.map(e => e.dataset.value)")]
            assert min(values) == pytest.approx(100 * 21 / 24, abs=1e-3)  # the bucket with the three failures
            assert (
                page.locator(
                    'table.chart.kinds[data-target="production"] [data-kind="contract-broken"] rect'
                ).get_attribute("data-value")
                == "3"
            )

            incident = page.locator(".incident")
            assert incident.count() == 1
            assert incident.get_attribute("data-incident") == "INC-20250303T0100Z-production-test01"
            assert incident.locator('[data-metric="runs"]').inner_text() == "3"
            assert "recovered" in incident.inner_text()
            assert page.locator("table.slowest tr[data-check]").first.get_attribute("data-check") == "page-home"
        finally:
            browser.close()

    assert outside == []
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(png) > 20_000
