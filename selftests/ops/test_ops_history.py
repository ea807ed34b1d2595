"""Run history: concurrent writers, corrupt and missing files, and a run that outlives a broken history."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from smokegate.ops.finish import finish_run
from smokegate.ops.history import History, HistoryError

GateFactory = Callable[..., dict[str, Any]]
T0 = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)
RUNS_PER_WRITER = 40
CHECKS_PER_RUN = 20


def _writer(path: str, name: str, start: Any, errors: Any) -> None:
    """A separate process that records runs as fast as it can once both writers are ready."""
    from selftests.ops.conftest import check, make_gate

    try:
        start.wait(30)
        for index in range(RUNS_PER_WRITER):
            checks = [check(f"check-{n}", measured=float(n), budget=100.0, unit="ms") for n in range(CHECKS_PER_RUN)]
            gate = make_gate(target=name, at=T0 + timedelta(seconds=index), checks=checks)
            # Open per run, as real runs do, so opening and schema creation race too.
            with History.open(path) as history:
                history.record_gate(gate, run_id=f"{name}-{index}", scheduled=True)
    except Exception as exc:  # reported to the parent, which fails the test with it
        errors.put(f"{name}: {type(exc).__name__}: {exc}")
        raise


def test_two_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    context = multiprocessing.get_context("spawn")
    start, errors = context.Event(), context.Queue()
    writers = [context.Process(target=_writer, args=(str(path), name, start, errors)) for name in ("a", "b")]
    for process in writers:
        process.start()
    start.set()
    for process in writers:
        process.join(120)
    problems = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert [p.exitcode for p in writers] == [0, 0], problems

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT target, COUNT(*) FROM runs GROUP BY target").fetchall() == [
            ("a", RUNS_PER_WRITER),
            ("b", RUNS_PER_WRITER),
        ]
        assert db.execute("SELECT COUNT(*) FROM checks").fetchone() == (2 * RUNS_PER_WRITER * CHECKS_PER_RUN,)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_file_that_is_not_a_database_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "notpem.pem"
    content = b"-----BEGIN CERTIFICATE-----\nthis is not an SQLite database\n" * 20
    path.write_bytes(content)
    with pytest.raises(HistoryError, match=r"is not a smokegate run history \(not an SQLite database\); it was left as "
                                           r"it is"):
        History.open(path)
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notpem.pem"], "something was renamed or created"


def test_another_programs_database_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)")
    db.close()
    before = path.read_bytes()
    with pytest.raises(HistoryError, match=r"an SQLite database but not a smokegate run history \(its tables: users\)"):
        History.open(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(HistoryError, match=r"is a directory \(a run history is an SQLite file"):
        History.open(tmp_path)


def test_an_empty_file_becomes_a_history(tmp_path: Path, gate_factory: GateFactory) -> None:
    path = tmp_path / "history.sqlite"
    path.touch()
    with History.open(path) as history:
        history.record_gate(gate_factory(), run_id="r1", scheduled=False)
        assert history.count_runs() == 1


def test_a_database_with_damaged_pages_is_detected(tmp_path: Path, gate_factory: GateFactory) -> None:
    path = tmp_path / "history.sqlite"
    with History.open(path) as history:
        for index in range(50):
            history.record_gate(gate_factory(at=T0 + timedelta(minutes=index)), run_id=f"r{index}", scheduled=True)
    # Closing the last connection checkpoints the WAL into the file; now scribble over its pages.
    data = bytearray(path.read_bytes())
    assert len(data) > 4 * 4096
    data[4096 : len(data) - 4096] = b"\xa5" * (len(data) - 8192)
    path.write_bytes(bytes(data))

    notices: list[str] = []
    with History.open(path, notice=notices.append) as history:
        assert history.count_runs() == 0
    assert any("is corrupt" in notice for notice in notices), notices
    assert list(tmp_path.glob("history.sqlite.corrupt-*"))


def test_a_missing_file_starts_a_new_history_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "history.sqlite"
    notices: list[str] = []
    with History.open(path, notice=notices.append) as history:
        assert history.count_runs() == 0
    assert notices == [f"no run history at {path}; starting a new one"]
    assert path.is_file()


def test_a_file_that_is_no_history_never_breaks_the_run(tmp_path: Path, gate_factory: GateFactory) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(b"\x00garbage" * 1000)
    lines: list[str] = []
    outcome = finish_run(
        gate_factory(), reports_dir=tmp_path / "reports", history_path=path, run_id="r1", say=lines.append, environ={}
    )
    assert not outcome.history_ok
    assert outcome.verdict == "pass"
    assert any(line.startswith("run history unavailable, run not recorded: ") and "not a smokegate run history" in line
               for line in lines), lines
    assert path.read_bytes() == b"\x00garbage" * 1000
    assert not list(tmp_path.glob("history.sqlite.*"))


def test_a_damaged_history_is_left_alone_by_the_read_only_report(tmp_path: Path, gate_factory: GateFactory) -> None:
    path = tmp_path / "history.sqlite"
    with History.open(path) as history:
        for index in range(50):
            history.record_gate(gate_factory(at=T0 + timedelta(minutes=index)), run_id=f"r{index}", scheduled=True)
    data = bytearray(path.read_bytes())
    data[4096 : len(data) - 4096] = b"\xa5" * (len(data) - 8192)
    path.write_bytes(bytes(data))
    with pytest.raises(HistoryError, match=r"is damaged .* it was left as it is"):
        History.open(path, recover=False)
    assert path.read_bytes() == bytes(data)
    assert not list(tmp_path.glob("history.sqlite.corrupt-*"))


def test_an_unusable_history_path_is_reported_and_the_run_still_finishes(
    tmp_path: Path, gate_factory: GateFactory
) -> None:
    blocked = tmp_path / "history-is-a-directory"
    blocked.mkdir()
    lines: list[str] = []
    outcome = finish_run(
        gate_factory(), reports_dir=tmp_path / "reports", history_path=blocked, say=lines.append, environ={}
    )
    assert not outcome.history_ok
    assert outcome.verdict == "pass"
    assert any(line.startswith("run history unavailable, run not recorded:") for line in lines), lines
    assert (tmp_path / "reports" / "alerts.json").is_file()


def test_recording_a_run_id_again_is_refused(tmp_path: Path, gate_factory: GateFactory, check_factory: Any) -> None:
    path = tmp_path / "history.sqlite"
    with History.open(path) as history:
        history.record_gate(gate_factory(), run_id="same", scheduled=False)
        failing = gate_factory(checks=[check_factory("health", "failed", severity="critical")])
        with pytest.raises(HistoryError, match=r"run id 'same' is already recorded \(pass, finished .*\); this run "
                                               r"was not recorded: give each run its own --run-id"):
            history.record_gate(failing, run_id="same", scheduled=False)
        # The earlier run stands, whole: its row and its checks, nothing of the second one.
        assert [(r.run_id, r.verdict) for r in history.recent_runs("production", limit=5)] == [("same", "pass")]
        assert history.query("SELECT COUNT(*) FROM checks WHERE outcome = 'failed'") == [(0,)]
