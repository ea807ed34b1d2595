"""The daily report's provider figures (user activity, payments, backups) with trends, the watcher's
schedule gaps, and the uptime badges."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smokegate.cli import main as cli_main
from smokegate.ops.badge import uptime
from smokegate.ops.gaps import find_gaps, schedule_gaps
from smokegate.ops.health_report import build_report
from smokegate.ops.history import History
from smokegate.testbed.control import RunningTestbed

from ..conftest import cli_for, env_for, run_suite
from .conftest import check, make_gate

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _row(page: str, figure: str) -> str:
    match = re.search(rf'<tr data-figure="{re.escape(figure)}">(.*?)</tr>', page, re.S)
    assert match, f"no row for {figure}"
    return match.group(1)


@pytest.mark.selftest_slow
def test_the_daily_report_shows_user_activity_and_payment_success_with_trends(
        testbed: RunningTestbed, tmp_path: Path) -> None:
    """Three real runs of the providers suite (the middle one with half the charges failing), recorded
    two hours apart as a watcher's would be."""
    gates = []
    try:
        for index, faults in enumerate(([], ["stripe-payments-failing"], [])):
            testbed.set_faults(faults)
            run = run_suite(["tests/providers", *cli_for(testbed), "--no-history"], tmp_path / f"run{index}",
                            env=env_for(testbed))
            gates.append(run.gate)
    finally:
        testbed.set_faults([])
    history = tmp_path / "history.sqlite"
    with History.open(history) as h:
        for index, gate in enumerate(gates):
            at = NOW - timedelta(hours=4 - 2 * index)
            gate = {**gate, "started_at": (at - timedelta(seconds=5)).isoformat(), "finished_at": at.isoformat()}
            h.record_gate(gate, run_id=f"providers-{index}", scheduled=True)
        page = build_report(h, since=timedelta(hours=24), now=NOW)

    activity = page.split('<h2 id="user-activity">', 1)[1].split("<h2", 1)[0]
    assert 'data-section="activity" data-target="local"' in activity
    active = _row(activity, "users.active_24h")
    assert 'data-value="37"' in active and 'class="spark"' in active
    assert 'data-value="241"' in _row(activity, "users.total")
    assert 'class="spark"' in _row(activity, "sessions.active")

    payments = page.split('<h2 id="payments">', 1)[1].split("<h2", 1)[0]
    success = _row(payments, "payments.success_ratio")
    assert ">95.0 %<" in success and ">50.0 %<" in success, "latest 95 %, low 50 % (the failing hour)"
    assert 'class="spark"' in success and "polyline" in success
    assert ">171<" in _row(payments, "payments.succeeded")

    backups = page.split('<h2 id="backups">', 1)[1].split("<h2", 1)[0]
    assert ">on<" in _row(backups, "backups.pitr") and ">0<" in _row(backups, "migrations.pending")
    # Counts only: no person's name or email reached the history or the page.
    from smokegate.testbed.providers.people import PEOPLE

    text = page + json.dumps(gates)
    assert not [p for p in PEOPLE if p.email in text or p.last in text]


def test_gaps_are_measured_against_the_streams_own_rhythm() -> None:
    starts = [float(t) for t in range(0, 600, 30)] + [1800.0, 1830.0, 1860.0]
    usual, gaps = find_gaps(starts, now=1870.0)
    assert usual == 30.0 and gaps == [(570.0, 1800.0)]
    assert find_gaps(starts, now=2100.0)[1][-1] == (1860.0, None), "stopped: no run since"
    assert find_gaps([0.0, 30.0, 60.0], now=1000.0) == (None, []), "too few runs for a rhythm"


def test_the_report_lists_the_watchers_gaps(tmp_path: Path) -> None:
    with History.open(tmp_path / "history.sqlite") as h:
        for n in range(50):  # health every 30 s for ten minutes, then nothing for 20 minutes, then again until now
            at = NOW - timedelta(minutes=45) + timedelta(seconds=30 * n + (1200 if n >= 20 else 0))
            h.record_gate(make_gate(at=at), run_id=f"h{n}", scheduled=True, suite="health", location="eu-west")
        for n in range(10):  # smoke every 5 minutes, stopped an hour ago
            at = NOW - timedelta(hours=2) + timedelta(minutes=5 * n)
            h.record_gate(make_gate(at=at), run_id=f"s{n}", scheduled=True, suite="smoke", location="eu-west")
        gaps = schedule_gaps(h, start=NOW - timedelta(hours=24), end=NOW)
        page = build_report(h, since=timedelta(hours=24), now=NOW)
    assert [(g.suite, round(g.length_s(NOW)), g.end is None) for g in gaps] == [
        ("smoke", 4530, True), ("health", 1230, False)]
    watcher = page.split('<h2 id="watcher">', 1)[1].split("<h2", 1)[0]
    assert 'data-suite="health"' in watcher and "20 min" in watcher and "every 30 s" in watcher
    assert "no run since" in watcher and "every 5 min" in watcher


def test_no_watcher_no_gaps_said_plainly(tmp_path: Path) -> None:
    with History.open(tmp_path / "history.sqlite") as h:
        h.record_gate(make_gate(at=NOW - timedelta(hours=1)), run_id="one", scheduled=False)
        page = build_report(h, since=timedelta(hours=24), now=NOW)
    assert "No run of smokegate watch in this period." in page
    assert "No user activity recorded in this period" in page


def test_uptime_counts_judged_runs_outside_windows(tmp_path: Path) -> None:
    with History.open(tmp_path / "history.sqlite") as h:
        failing = [check("x", "failed", failure_kind="contract-broken")]
        for n in range(999):
            h.record_gate(make_gate(at=NOW - timedelta(minutes=n)), run_id=f"p{n}", scheduled=True)
        h.record_gate(make_gate(checks=failing, at=NOW - timedelta(hours=3)), run_id="f", scheduled=True)
        h.record_gate(make_gate(checks=failing, at=NOW - timedelta(hours=4)), run_id="m", scheduled=True,
                      maintenance="sunday-backups")
        h.record_gate(make_gate(at=NOW - timedelta(hours=5), error_kind="inconclusive"), run_id="e", scheduled=True)
        h.record_gate(make_gate(checks=failing, at=NOW - timedelta(days=3)), run_id="old", scheduled=True)
        day = uptime(h, "production", "24h", timedelta(hours=24), NOW)
        week = uptime(h, "production", "7d", timedelta(days=7), NOW)
        month = uptime(h, "staging", "30d", timedelta(days=30), NOW)
    assert (day.samples, day.passing, day.text, day.grade) == (1000, 999, "99.90%", "good")
    assert (week.samples, week.text, week.grade) == (1001, "99.80%", "fair")
    assert (month.text, month.grade) == ("no data", "none")


def test_smokegate_badge_writes_three_svgs_per_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = tmp_path / "history.sqlite"
    with History.open(history) as h:
        h.record_gate(make_gate(at=datetime.now(UTC)), run_id="p", scheduled=True)
        h.record_gate(make_gate(target="staging", at=datetime.now(UTC),
                                checks=[check("x", "failed", failure_kind="contract-broken")]), run_id="f",
                      scheduled=True)
    assert cli_main(["badge", "--history", str(history), "--out", str(tmp_path / "badges")]) == 0
    written = sorted(p.name for p in (tmp_path / "badges").iterdir())
    assert written == [f"{t}-uptime-{p}.svg" for t in ("production", "staging") for p in ("24h", "30d", "7d")]
    assert capsys.readouterr().out.count(".svg") == 6
    good = ET.parse(tmp_path / "badges" / "production-uptime-24h.svg").getroot()
    assert good.get("aria-label") == "uptime 24h: 100%"
    assert "#2da44e" in (tmp_path / "badges" / "production-uptime-24h.svg").read_text()
    assert "#cf222e" in (tmp_path / "badges" / "staging-uptime-7d.svg").read_text()
    assert cli_main(["badge", "--history", str(tmp_path / "none.sqlite")]) == 1
