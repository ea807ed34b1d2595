"""The run history on both engines: one schema, readable migrations, alert streams, concurrent writers.

Every API test runs twice, on an SQLite file and on a real PostgreSQL server started for the
session (``selftests/ops/postgres.py``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from selftests.ops.conftest import check, make_gate
from selftests.ops.postgres import PostgresServer
from smokegate.ops.finish import finish_run
from smokegate.ops.history import (
    RUN_COLUMNS,
    History,
    HistoryError,
    PostgresURL,
    migrations,
    parse_source,
)
from smokegate.ops.report import collect

T0 = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)
WRITERS = ("a", "b")
RUNS_PER_WRITER = 40
CHECKS_PER_RUN = 20


@pytest.fixture(params=["sqlite", "postgresql"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's history lives: a fresh SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    url: str = request.getfixturevalue("postgres_url")
    return url


def _gate(at: datetime, *, failed: bool = False, verdict: str | None = None, **kwargs: Any) -> dict[str, Any]:
    checks = [check("health", "failed" if failed else "passed", severity="critical", measured=12.0, budget=500.0,
                    unit="ms")]
    gate = make_gate(at=at, checks=checks, **kwargs)
    if verdict is not None:
        gate["verdict"] = verdict
    return gate


# -- one schema, migrations ---------------------------------------------------------------------


def _columns(history: History, table: str) -> list[str]:
    if history.engine == "sqlite":
        return [row[1] for row in history.query(f"PRAGMA table_info({table})")]
    return [
        row[0]
        for row in history.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            (table,),
        )
    ]


def test_both_engines_have_the_same_tables_and_columns(tmp_path: Path, postgres_url: str) -> None:
    with History.open(tmp_path / "h.sqlite") as lite, History.open(postgres_url) as pg:
        for table in ("runs", "checks", "notifications", "schema_migrations", "meta"):
            assert _columns(lite, table) == _columns(pg, table), table
        assert _columns(pg, "runs") == list(RUN_COLUMNS)
        assert lite.schema_version() == pg.schema_version() == len(migrations("sqlite")) == 3
        # Both engines carry the same numbered steps, each recorded once.
        steps = [(m.version, m.name) for m in migrations("postgresql")]
        assert steps == [(m.version, m.name) for m in migrations("sqlite")]
        for history in (lite, pg):
            assert history.query("SELECT version, name FROM schema_migrations ORDER BY version") == steps


def test_reopening_applies_nothing_again(source: str) -> None:
    with History.open(source) as history:
        first = history.query("SELECT version, applied_at FROM schema_migrations ORDER BY version")
    with History.open(source) as history:
        assert history.query("SELECT version, applied_at FROM schema_migrations ORDER BY version") == first


def test_a_schema_1_file_is_migrated_in_place_and_keeps_its_runs(tmp_path: Path) -> None:
    """A history written before migrations existed: the old code's tables, one run, meta schema=1."""
    path = tmp_path / "old.sqlite"
    initial = next(m for m in migrations("sqlite") if m.version == 1)
    with sqlite3.connect(path) as db:
        for statement in initial.statements:
            db.execute(statement)
        db.execute("INSERT INTO meta (key, value) VALUES ('schema', '1')")
        db.execute(
            f"INSERT INTO runs VALUES ({', '.join('?' * 21)})",
            ("old-run", "production", None, None, None, "2025-03-01T00:00:00+00:00", "2025-03-01T00:00:30+00:00",
             T0.timestamp() - 86400, 30.0, "fail", None, 1, 0, 1, 0, 0, 0, 1, 5, "critical", "INC-old"),
        )
    with History.open(path) as history:
        assert history.schema_version() == 3
        assert history.query("SELECT run_id, location, suite, incident_id FROM runs") == [
            ("old-run", None, None, "INC-old")
        ]
        assert history.query("SELECT value FROM meta WHERE key = 'schema'") == [("3",)]
        # The old run still counts in its (plain) stream.
        assert [r.run_id for r in history.failing_streak("production", upto_ts=T0.timestamp())] == ["old-run"]


# -- the API, on both engines ------------------------------------------------------------------------


def test_recording_a_run_id_again_is_refused_and_the_first_run_stands(source: str) -> None:
    with History.open(source) as history:
        history.record_gate(_gate(T0), run_id="same", scheduled=False, location="eu")
        with pytest.raises(HistoryError, match="run id 'same' is already recorded"):
            history.record_gate(_gate(T0, failed=True), run_id="same", scheduled=False, location="us")
        assert [(r.run_id, r.verdict) for r in history.recent_runs("production", limit=5)] == [("same", "pass")]
        assert history.query("SELECT location FROM runs") == [("eu",)]
        assert history.query("SELECT COUNT(*) FROM checks") == [(1,)]


def test_a_watch_stream_is_its_target_suite_and_location(source: str) -> None:
    """Health passing every 30 s must not break the smoke suite's streak, nor one place's another's."""
    with History.open(source) as history:
        for minute in range(6):
            at = T0 + timedelta(minutes=minute)
            history.record_gate(_gate(at), run_id=f"h{minute}", scheduled=True, suite="health", location="eu")
            history.record_gate(_gate(at + timedelta(seconds=5), failed=minute >= 3), run_id=f"s{minute}",
                                scheduled=True, suite="smoke", location="eu")
            history.record_gate(_gate(at + timedelta(seconds=9), failed=True), run_id=f"u{minute}",
                                scheduled=True, suite="smoke", location="us")
        history.record_gate(_gate(T0, failed=True), run_id="plain", scheduled=True)
        end = (T0 + timedelta(hours=1)).timestamp()
        assert [r.run_id for r in history.failing_streak("production", upto_ts=end, suite="smoke", location="eu")] == [
            "s5", "s4", "s3"
        ]
        assert len(history.failing_streak("production", upto_ts=end, suite="smoke", location="us")) == 6
        assert history.failing_streak("production", upto_ts=end, suite="health", location="eu") == []
        # Plain pytest runs form the target's own stream, as before watchers existed.
        assert [r.run_id for r in history.failing_streak("production", upto_ts=end)] == ["plain"]
        assert [r.run_id for r in history.recent_runs("production", limit=1, suite="health", location="eu")] == ["h5"]
        started = history.last_started("production", suite="smoke", location="us")
        assert started == T0 + timedelta(minutes=5, seconds=9) - timedelta(seconds=30)  # make_gate: 30 s runs


def test_error_runs_neither_extend_nor_break_a_streak_nor_count_as_availability(source: str) -> None:
    with History.open(source) as history:
        verdicts = ["pass", "fail", "error", "fail", "error"]
        for index, verdict in enumerate(verdicts):
            gate = _gate(T0 + timedelta(minutes=index), failed=verdict == "fail", verdict=verdict)
            history.record_gate(gate, run_id=f"r{index}", scheduled=True, suite="health", location="eu")
        end = (T0 + timedelta(hours=1)).timestamp()
        streak = history.failing_streak("production", upto_ts=end, suite="health", location="eu")
        assert [r.run_id for r in streak] == ["r3", "r1"]
        assert history.availability("production", location="eu", since_ts=T0.timestamp() - 60) == (3, 1)


def test_notices_belong_to_their_stream(source: str) -> None:
    from smokegate.ops.history import Notice

    with History.open(source) as history:
        ts = T0.timestamp()
        history.record_notice(Notice("r1", "production", ts, "alert", "alert", "sent", "INC-1", "200", "eu", "health"))
        history.record_notice(Notice("r2", "production", ts + 1, "alert", "alert", "sent", "INC-2", "200"))
        ours = history.notices("production", channel="alert", suite="health", location="eu")
        assert [(n.run_id, n.location, n.suite) for n in ours] == [("r1", "eu", "health")]
        assert [n.run_id for n in history.notices("production", channel="alert")] == ["r2"]


def test_the_report_shows_availability_per_location_without_error_runs(source: str) -> None:
    with History.open(source) as history:
        plan = [("eu", "pass"), ("eu", "pass"), ("eu", "fail"), ("eu", "error"), ("us", "pass"), ("us", "error")]
        for index, (location, verdict) in enumerate(plan):
            gate = _gate(T0 - timedelta(minutes=index + 1), failed=verdict == "fail", verdict=verdict)
            history.record_gate(gate, run_id=f"r{index}", scheduled=True, location=location, suite="health")
        history.record_gate(_gate(T0 - timedelta(minutes=30)), run_id="legacy", scheduled=True)
        data = collect(history, since=timedelta(hours=24), now=T0)
    (stats,) = data.targets
    assert (stats.runs, stats.passed, stats.error_runs) == (5, 4, 2)
    assert {name: (p.runs, p.passed) for name, p in stats.locations.items()} == {
        "(unknown)": (1, 1), "eu": (3, 2), "us": (1, 1)
    }
    assert stats.locations["eu"].availability == pytest.approx(200 / 3)
    assert sum(bucket.runs for bucket in stats.buckets) == 5


def test_finish_run_alerts_after_n_failures_of_its_own_stream(source: str, tmp_path: Path) -> None:
    """The alert logic (decide) unchanged, fed with the watch stream's runs only."""
    kinds = []
    for minute in range(4):
        # Another suite of the same target passes in between: it must not reset the streak.
        finish_run(_gate(T0 + timedelta(minutes=minute, seconds=30)), reports_dir=tmp_path / "r",
                   history_path=parse_source(source), scheduled=True, environ={}, say=lambda _m: None,
                   suite="health", location="eu")
        outcome = finish_run(_gate(T0 + timedelta(minutes=minute), failed=True), reports_dir=tmp_path / "r",
                             history_path=parse_source(source), scheduled=True, environ={}, say=lambda _m: None,
                             suite="smoke", location="eu")
        kinds.append((outcome.decision.kind, outcome.decision.streak))
    # No webhook is configured, so nothing is *sent* and the alert is due again on every run.
    assert kinds == [(None, 1), ("alert", 2), ("alert", 3), ("alert", 4)]


# -- where the history lives -----------------------------------------------------------------------


def test_a_postgres_url_never_shows_its_password() -> None:
    url = PostgresURL("postgresql://watch:s3cret-pw@db.internal:5433/smokegate?sslmode=require")
    assert str(url) == "postgresql://watch@db.internal:5433/smokegate?sslmode=require"
    assert "s3cret" not in str(PostgresURL("postgresql://db.internal/smokegate?password=s3cret&user=w"))
    assert url.has_password


@pytest.mark.parametrize(
    ("value", "origin", "message"),
    [
        ("postgresql://w:pw@db/h", "ini smokegate_history", "is not read from a file"),
        ("postgresql://w:pw@db/h", "--history", "do not put a password on the command line"),
        ("postgresql:///h", "SMOKEGATE_HISTORY", "needs a host"),
        ("  ", "--history", "empty value"),
    ],
)
def test_history_values_that_are_refused(value: str, origin: str, message: str) -> None:
    with pytest.raises(HistoryError, match=message) as caught:
        parse_source(value, origin=origin)
    assert "pw" not in str(caught.value).replace("password", "")
    assert str(caught.value).startswith(origin)


def test_where_a_history_may_come_from() -> None:
    assert parse_source("reports/h.sqlite", origin="--history") == Path("reports/h.sqlite")
    assert isinstance(parse_source("postgresql://w:pw@db/h", origin="SMOKEGATE_HISTORY"), PostgresURL)
    assert isinstance(parse_source("postgres://w@db/h", origin="--history"), PostgresURL)


def test_an_unreachable_database_is_reported_and_the_run_still_finishes(tmp_path: Path) -> None:
    lines: list[str] = []
    url = f"postgresql://w:hunter22@/db?host={tmp_path}&port=1"
    outcome = finish_run(_gate(T0), reports_dir=tmp_path / "r", history_path=parse_source(url, origin="env"),
                         say=lines.append, environ={})
    assert not outcome.history_ok
    assert outcome.verdict == "pass"
    (line,) = [line for line in lines if line.startswith("run history unavailable")]
    assert "cannot connect" in line
    assert "hunter22" not in "\n".join(lines)


# -- concurrent writers on PostgreSQL ----------------------------------------------------------------


def _writer(url: str, name: str, start: Any, errors: Any) -> None:
    """A separate process recording runs as fast as it can once both writers are ready."""
    try:
        start.wait(30)
        for index in range(RUNS_PER_WRITER):
            checks = [check(f"c{n}", measured=float(n), budget=100.0, unit="ms") for n in range(CHECKS_PER_RUN)]
            gate = make_gate(target=name, at=T0 + timedelta(seconds=index), checks=checks)
            # Open per run, as real runs do, so the first opens race to migrate the fresh database.
            with History.open(url) as history:
                history.record_gate(gate, run_id=f"{name}-{index}", scheduled=True, location=name)
                # Both writers also try one shared run id: recorded once, never duplicated or half-written;
                # every other attempt is refused.
                with contextlib.suppress(HistoryError):
                    history.record_gate(gate, run_id="shared", scheduled=True, location=name)
    except Exception as exc:  # reported to the parent, which fails the test with it
        errors.put(f"{name}: {type(exc).__name__}: {exc}")
        raise


def test_two_writer_processes_on_one_postgres_database_lose_nothing(postgres_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    start, errors = context.Event(), context.Queue()
    writers = [context.Process(target=_writer, args=(postgres_url, name, start, errors)) for name in WRITERS]
    for process in writers:
        process.start()
    start.set()
    for process in writers:
        process.join(120)
    problems = [errors.get() for _ in range(errors.qsize())] if not errors.empty() else []
    assert [p.exitcode for p in writers] == [0, 0], problems

    with History.open(postgres_url) as history:
        assert history.query(
            "SELECT target, COUNT(*) FROM runs WHERE run_id <> 'shared' GROUP BY target ORDER BY target"
        ) == [("a", RUNS_PER_WRITER), ("b", RUNS_PER_WRITER)]
        total = 2 * RUNS_PER_WRITER + 1
        assert history.count_runs() == total
        assert history.query("SELECT COUNT(*) FROM checks") == [(total * CHECKS_PER_RUN,)]
        assert history.query("SELECT COUNT(*) FROM checks WHERE run_id = 'shared'") == [(CHECKS_PER_RUN,)]
        assert history.query("SELECT version FROM schema_migrations ORDER BY version") == [(1,), (2,), (3,)]


def test_the_postgres_server_fixture_is_private(postgres_server: PostgresServer) -> None:
    """The self-tests' server listens on loopback and a socket in its own temp dir, nowhere else."""
    with History.open(postgres_server.url()) as history:
        assert history.query("SHOW listen_addresses") == [("127.0.0.1",)]
        assert history.query("SHOW unix_socket_directories") == [(str(postgres_server.root),)]


def test_smokegate_report_reads_a_postgres_history_from_the_environment(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from smokegate.cli import main

    now = datetime.now(UTC)
    with History.open(postgres_url) as history:
        for index, location in enumerate(("eu", "us")):
            history.record_gate(_gate(now - timedelta(minutes=index + 1)), run_id=f"r{index}", scheduled=True,
                                location=location, suite="health")
    monkeypatch.setenv("SMOKEGATE_HISTORY", postgres_url)
    out = tmp_path / "report.html"
    assert main(["report", "--since", "24h", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    page = out.read_text()
    assert 'data-target="production"' in page
    assert str(PostgresURL(postgres_url)) in page.replace("&amp;", "&")  # the history's name, no password
