"""Maintenance windows: a run inside one is labelled, pages nobody and is no availability sample."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer

from smokegate.config import load_config
from smokegate.ops.finish import finish_run
from smokegate.ops.history import History
from smokegate.ops.maintenance import MaintenanceWindow, window_at
from smokegate.ops.report import collect

from .conftest import check, make_gate

SUNDAY = datetime(2026, 12, 6, 2, 10, tzinfo=UTC)  # a Sunday
ONE_OFF = MaintenanceWindow(name="pg-upgrade", start=datetime(2026, 12, 8, 22, 0, tzinfo=UTC),
                            end=datetime(2026, 12, 8, 23, 30, tzinfo=UTC))
WEEKLY = MaintenanceWindow(name="sunday-backups", weekly="sun 02:00-02:30")


def test_one_off_and_weekly_windows() -> None:
    assert ONE_OFF.span_at(datetime(2026, 12, 8, 22, 0, tzinfo=UTC)) is not None
    assert ONE_OFF.span_at(datetime(2026, 12, 8, 23, 30, tzinfo=UTC)) is None, "the end is outside"
    assert WEEKLY.span_at(SUNDAY) == (datetime(2026, 12, 6, 2, 0, tzinfo=UTC), datetime(2026, 12, 6, 2, 30, tzinfo=UTC))
    assert WEEKLY.span_at(SUNDAY + timedelta(days=7)) is not None
    assert WEEKLY.span_at(SUNDAY + timedelta(days=1)) is None and WEEKLY.span_at(SUNDAY + timedelta(hours=1)) is None
    found = window_at([ONE_OFF, WEEKLY], SUNDAY)
    assert found is not None and found[1] == "maintenance window 'sunday-backups' (2026-12-06 02:00-02:30 UTC)"


@pytest.mark.parametrize(("fields", "words"), [
    ({"weekly": "sunday 2am"}, "weekly must look like 'sun 02:00-03:00'"),
    ({"weekly": "sun 03:00-02:00"}, "ends before it starts"),
    ({"start": "2026-12-08T22:00:00"}, "needs start and end"),
    ({"start": "2026-12-08T22:00:00", "end": "2026-12-08T23:00:00"}, "need a time zone"),
    ({"start": "2026-12-08T23:00:00Z", "end": "2026-12-08T22:00:00Z"}, "end must be after start"),
    ({"weekly": "sun 02:00-03:00", "start": "2026-12-08T22:00:00Z"}, "either weekly or has start and end"),
])
def test_a_bad_window_is_a_config_error(fields: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        MaintenanceWindow(name="w", **fields)


def test_windows_come_from_the_target_config(tmp_path: Path) -> None:
    path = tmp_path / "smokegate.toml"
    path.write_text('[targets.prod]\nbase_url = "https://napoleonai.app"\n'
                    '[[targets.prod.maintenance]]\nname = "sunday-backups"\nweekly = "sun 02:00-02:30"\n')
    assert load_config(path).suite.targets["prod"].maintenance == (WEEKLY,)


def _finish(gate: dict[str, Any], tmp_path: Path, history: Path, env: dict[str, str], **kwargs: Any) -> Any:
    return finish_run(gate, reports_dir=tmp_path, history_path=history, scheduled=True, say=lambda _m: None,
                      environ=env, maintenance=(WEEKLY,), **kwargs)


def test_a_failing_run_inside_a_window_is_recorded_labelled_and_pages_nobody(
        tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/alert").respond_with_data("ok")
    env = {"ALERT_WEBHOOK_URL": httpserver.url_for("/alert")}
    history = tmp_path / "history.sqlite"
    broken = [check("api-status", "failed", severity="critical", failure_kind="contract-broken")]
    asked: list[bool] = []
    outcomes = [_finish(make_gate(checks=broken, at=SUNDAY + timedelta(minutes=m)), tmp_path, history, env,
                        hints=lambda: asked.append(True) or ["x"]) for m in (0, 5, 10)]
    assert [o.maintenance for o in outcomes] == ["sunday-backups"] * 3
    assert all(o.decision.kind is None and o.incident_id is None for o in outcomes)
    assert not httpserver.log and not asked, "paged, or asked the providers, inside a window"
    assert not (tmp_path / "incident.md").exists()
    with History.open(history) as h:
        assert h.query("SELECT maintenance, incident_id FROM runs") == [("sunday-backups", None)] * 3
        assert h.availability("production", location=None, since_ts=0) == (0, 0)
        assert h.failing_streak("production", upto_ts=SUNDAY.timestamp() + 3600) == []
    # After the window the first failure starts its own streak: two are needed before anyone is paged.
    after = _finish(make_gate(checks=broken, at=SUNDAY + timedelta(minutes=40)), tmp_path, history, env)
    assert after.maintenance is None and after.decision.kind is None and after.decision.streak == 1
    assert _finish(make_gate(checks=broken, at=SUNDAY + timedelta(minutes=45)), tmp_path, history,
                   env).decision.kind == "alert"
    assert (tmp_path / "alerts.json").read_text().count('"maintenance": null') == 1


def test_the_report_counts_window_runs_apart(tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite"
    env: dict[str, str] = {}
    for minute in (0, 10, 20):  # inside the window: one of them fails
        checks = [check("h", "failed", failure_kind="contract-broken")] if minute == 10 else None
        _finish(make_gate(checks=checks, at=SUNDAY + timedelta(minutes=minute)), tmp_path, history, env)
    for minute in (60, 70):
        _finish(make_gate(at=SUNDAY + timedelta(minutes=minute)), tmp_path, history, env)
    with History.open(history) as h:
        data = collect(h, since=timedelta(hours=24), now=SUNDAY + timedelta(hours=2))
    stats = data.targets[0]
    assert (stats.runs, stats.passed, stats.maintenance_runs, stats.availability) == (2, 2, 3, 100.0)
