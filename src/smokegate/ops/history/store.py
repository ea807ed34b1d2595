"""The run history: every run and every check result, in an embedded SQLite file or in PostgreSQL.

The history is what makes alerts stateful (how many runs in a row failed, when did we last page
someone) and what the daily health report and the watcher's availability are built from.  Four
tables, the same in both engines:

``runs``
    one row per run: id, target, URL, version, times, verdict, counts, incident id, and where it
    ran from (``location``) and which ``smokegate watch`` suite it was (``suite``, NULL for a
    plain pytest run).
``checks``
    one row per check per run: outcome, severity, measured value and budget, failure kind.
``notifications``
    every webhook delivery attempted (alert, reminder, recovery, metrics) and how it went.
``figures``
    what a run's checks report for the daily report's trends (``details.figures`` of a check in
    ``gate.json``: user activity, payment success, backup age), counts and ratios only.
``schema_migrations``
    which numbered steps of ``ops/migrations/<engine>/`` have been applied (see its README).

Where the history lives (:func:`parse_source`):

- a file path: SQLite, the embedded default.  Two runs may finish at the same moment (a
  post-deploy gate and a scheduled run), so the file is opened in WAL mode with a busy timeout
  and every write is one ``BEGIN IMMEDIATE`` transaction.  A file that is not a smokegate history
  (a PEM file given by mistake, another program's SQLite database, a directory) is refused and
  left exactly as it is (:func:`sqlite_file_problem`); the suite and ``smokegate watch`` check it
  before anything runs.  A damaged smokegate history must never break a run: :meth:`History.open`
  moves it aside as ``<name>.corrupt-<timestamp>``, starts a new one and says so through
  ``notice`` (never for the read-only report, which says what is wrong instead).
- a ``postgresql://`` URL: PostgreSQL through psycopg 3, shared by watchers on several machines.
  Every write is one transaction, so concurrent writers neither lose nor duplicate rows.  The URL may
  carry a password, so it is only ever shown with the password removed (:class:`PostgresURL`),
  and it is taken from the environment or the command line, never from a file.

A run id is recorded once: recording it again is refused (:class:`HistoryError`), never a silent
replacement of the earlier run.

Alert streams: a plain pytest run belongs to its target's stream (all runs of the target that
no watcher made, wherever they ran, as before).  A watcher's run belongs to the stream of its
target, suite and location: a health probe every 30 s must neither break nor extend the streak
of the smoke suite's runs, nor one location's streak another's.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smokegate.ops.history.backends import Backend, Postgres, SQLite, file_lock, is_corruption
from smokegate.ops.history.source import HistoryError, HistorySource, PostgresURL, parse_source, sqlite_file_problem
from smokegate.severity import Severity, most_severe

MESSAGE_LIMIT = 500
NO_TARGET = "(no target)"

RUN_COLUMNS = (
    "run_id", "target", "base_url", "version", "expected_version", "started_at", "finished_at", "ts",
    "duration_s", "verdict", "reason", "scheduled", "passed", "failed", "skipped", "deselected", "flaky",
    "blocking", "requests_sent", "severity", "incident_id", "location", "suite", "maintenance",
)  # fmt: skip
LEGACY_RUN_COLUMNS = 21  # rows without location and suite (history schema 1, the report benchmark)
CHECK_COLUMNS = (
    "run_id", "target", "ts", "check_id", "outcome", "severity", "epic", "feature", "blocking", "measured",
    "budget", "unit", "failure_kind", "dependency", "attempts", "duration_s", "message",
)  # fmt: skip
_RUN_FIELDS = "run_id, target, ts, verdict, scheduled, incident_id, severity, version, reason"


class _Duplicate(Exception):
    """A run id that is already recorded (turned into a HistoryError once the transaction is undone)."""

    def __init__(self, run_id: str, verdict: str, finished: str) -> None:
        super().__init__(run_id)
        self.run_id, self.verdict, self.finished = run_id, verdict, finished


@dataclass(frozen=True)
class RunRow:
    """The parts of a stored run that alerting and the report need."""

    run_id: str
    target: str
    ts: float
    verdict: str
    scheduled: bool
    incident_id: str | None
    severity: str | None
    version: str | None
    reason: str | None


@dataclass(frozen=True)
class Notice:
    """One stored webhook delivery (``suite`` and ``location`` name a watcher's stream)."""

    run_id: str
    target: str
    ts: float
    channel: str
    kind: str
    status: str
    incident_id: str | None
    detail: str | None
    location: str | None = None
    suite: str | None = None


# -- helpers shared with alerting and the report ---------------------------------------------------


def parse_time(value: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime (naive input is taken as UTC)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def gate_target(gate: Mapping[str, Any]) -> str:
    """The target name a gate dict is about; runs whose config was invalid have none."""
    target = gate.get("target") or {}
    name = target.get("name") if isinstance(target, Mapping) else None
    return str(name) if name else NO_TARGET


def highest_failed_severity(gate: Mapping[str, Any]) -> str | None:
    """The most severe severity among failed (else blocking) checks; None when nothing failed."""
    candidates = [c for c in gate.get("checks", []) if c.get("outcome") == "failed"]
    if not candidates:
        candidates = [c for c in gate.get("checks", []) if c.get("blocking")]
    return most_severe([str(c.get("severity")) for c in candidates])


# -- the history -----------------------------------------------------------------------------------------


def _same(column: str, value: str | None) -> tuple[str, list[Any]]:
    return (f"{column} IS NULL", []) if value is None else (f"{column} = ?", [value])


def _stream(suite: str | None, location: str | None) -> tuple[str, list[Any]]:
    """SQL (`` AND ...``) selecting one alert stream: see the module docstring."""
    if suite is None:
        return " AND suite IS NULL", []
    where, params = _same("location", location)
    return f" AND suite = ? AND {where}", [suite, *params]


class History:
    """An open run history.  Use :meth:`open`; close it (or use ``with``) when done.

    One instance may be used from several threads; it serialises its own use of the connection.
    """

    def __init__(self, source: HistorySource, backend: Backend) -> None:
        self.source = source
        self._b = backend
        self._lock = threading.RLock()

    @property
    def path(self) -> Path:
        """The SQLite file (kept for callers written before PostgreSQL histories existed)."""
        if not isinstance(self.source, Path):
            raise AttributeError(f"a PostgreSQL history has no path: {self.source}")
        return self.source

    @property
    def name(self) -> str:
        """How to show the history to a person: the file name, or the URL without its password."""
        return self.source.name if isinstance(self.source, Path) else str(self.source)

    @property
    def engine(self) -> str:
        return self._b.engine

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        source: str | os.PathLike[str] | PostgresURL,
        *,
        notice: Callable[[str], None] | None = None,
        recover: bool = True,
    ) -> History:
        """Open (or create) the history, bringing its schema up to date.

        A file path is SQLite: a missing file is created; a file that is not a smokegate history
        is refused untouched; a damaged smokegate history is moved aside and replaced (with
        ``recover``, else refused).  A ``postgresql://`` URL (or :class:`PostgresURL`) is
        PostgreSQL.  Raises :class:`HistoryError` when the history cannot be used (not a history,
        an unwritable directory, a database that refuses the connection).
        """
        where = source if isinstance(source, PostgresURL) else parse_source(source)
        if isinstance(where, PostgresURL):
            return cls(where, Postgres(where))
        return cls._open_sqlite(where, notice or (lambda _message: None), recover)

    @classmethod
    def _open_sqlite(cls, path: Path, say: Callable[[str], None], recover: bool) -> History:
        problem = sqlite_file_problem(path)
        if problem:
            raise HistoryError(problem)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"{path}: cannot create the history directory: {exc}") from None
        if not path.exists():
            say(f"no run history at {path}; starting a new one")
        try:
            return cls(path, SQLite(path))
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise HistoryError(f"{path}: cannot open the run history: {exc}") from None
            if not recover:
                raise HistoryError(f"run history {path} is damaged ({exc}); it was left as it is") from None
        with file_lock(path):
            # Another process may have recovered the file while we waited for the lock.
            try:
                return cls(path, SQLite(path))
            except sqlite3.DatabaseError as exc:
                if not is_corruption(exc):
                    raise HistoryError(f"{path}: cannot open the run history: {exc}") from None
                aside = cls._move_aside(path)
                say(f"run history {path} is corrupt ({exc}); moved it to {aside.name} and started a new one")
            try:
                return cls(path, SQLite(path))
            except sqlite3.DatabaseError as exc:
                raise HistoryError(f"{path}: cannot create a new run history: {exc}") from None

    @staticmethod
    def _move_aside(path: Path) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = path.with_name(f"{path.name}.corrupt-{stamp}")
        counter = 1
        while aside.exists():
            counter += 1
            aside = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        os.replace(path, aside)
        # A stale WAL or shared-memory file belongs to the corrupt database, not the new one.
        for suffix in ("-wal", "-shm"):
            sidecar = path.with_name(path.name + suffix)
            if sidecar.exists():
                os.replace(sidecar, aside.with_name(aside.name + suffix))
        return aside

    def close(self) -> None:
        with self._lock:
            self._b.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------

    def record_gate(
        self,
        gate: Mapping[str, Any],
        *,
        run_id: str,
        scheduled: bool,
        incident_id: str | None = None,
        redact: Callable[[str], str] = lambda text: text,
        location: str | None = None,
        suite: str | None = None,
        maintenance: str | None = None,
    ) -> None:
        """Store one finished run (a ``gate.json`` dict).  A run id already recorded is refused.

        ``maintenance`` names the window the run started in (:mod:`smokegate.ops.maintenance`): such a
        run is kept, labelled, but leaves streaks and availability alone.
        """
        target = gate_target(gate)
        started = parse_time(str(gate["started_at"]))
        finished = parse_time(str(gate.get("finished_at") or gate["started_at"]))
        counts = gate.get("counts", {})
        ts = finished.timestamp()
        run_row = (
            run_id,
            target,
            (gate.get("target") or {}).get("base_url"),
            gate.get("version"),
            gate.get("expected_version"),
            started.isoformat(timespec="seconds"),
            finished.isoformat(timespec="seconds"),
            ts,
            float(gate.get("duration_s") or (finished - started).total_seconds()),
            str(gate.get("verdict", "fail")),
            redact(str(gate["reason"])) if gate.get("reason") else None,
            int(scheduled),
            int(counts.get("passed", 0)),
            int(counts.get("failed", 0)),
            int(counts.get("skipped", 0)),
            int(counts.get("deselected", 0)),
            int(counts.get("flaky", 0)),
            int(counts.get("blocking", 0)),
            int(gate.get("requests_sent", 0)),
            highest_failed_severity(gate),
            incident_id,
            location,
            suite,
            maintenance,
        )
        check_rows = [self._check_row(run_id, target, ts, check, redact) for check in gate.get("checks", [])]
        self.record_rows([run_row], check_rows, _figure_rows(run_id, target, ts, gate.get("checks", [])))

    @staticmethod
    def _check_row(
        run_id: str, target: str, ts: float, check: Mapping[str, Any], redact: Callable[[str], str]
    ) -> tuple[Any, ...]:
        details = check.get("details") or {}
        message = check.get("message")
        return (
            run_id,
            target,
            ts,
            str(check["check"]),
            str(check.get("outcome", "failed")),
            str(check.get("severity", Severity.HIGH)),
            check.get("epic"),
            check.get("feature"),
            int(bool(check.get("blocking"))),
            _float_or_none(check.get("measured")),
            _float_or_none(check.get("budget")),
            check.get("unit"),
            check.get("failure_kind"),
            details.get("dependency") if isinstance(details, Mapping) else None,
            int(check.get("attempts") or 1),
            float(check.get("duration_s") or 0.0),
            redact(str(message))[:MESSAGE_LIMIT] if message else None,
        )

    def record_rows(self, runs: Sequence[tuple[Any, ...]], checks: Sequence[tuple[Any, ...]],
                    figures: Sequence[tuple[Any, ...]] = ()) -> None:
        """Store prepared rows in one transaction (used by :meth:`record_gate` and the benchmark).

        Run rows follow :data:`RUN_COLUMNS`; rows of the first 21 columns (no location, no
        suite) are accepted too.  A run id already recorded raises :class:`HistoryError` and stores
        nothing: two runs given one id (a reused ``--run-id``) must not pass for one.
        """
        padded = [run + (None,) * (len(RUN_COLUMNS) - len(run)) for run in runs]
        if any(len(run) != len(RUN_COLUMNS) for run in padded):
            raise ValueError(f"run rows have {LEGACY_RUN_COLUMNS} or {len(RUN_COLUMNS)} columns")
        insert = f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({_marks(len(RUN_COLUMNS))})"
        with self._lock:
            try:
                with self._b.transaction():
                    for run in padded:
                        earlier = self._b.execute("SELECT verdict, finished_at FROM runs WHERE run_id = ?", (run[0],))
                        if earlier:
                            raise _Duplicate(str(run[0]), str(earlier[0][0]), str(earlier[0][1]))
                    # A concurrent writer of the same id fails here, on the primary key, and rolls back.
                    self._b.executemany(insert, padded)
                    self._b.executemany(f"INSERT INTO checks ({', '.join(CHECK_COLUMNS)}) VALUES ({_marks(17)})",
                                        checks)
                    if figures:
                        self._b.executemany(
                            "INSERT INTO figures (run_id, target, ts, name, value) VALUES (?, ?, ?, ?, ?)", figures)
            except _Duplicate as duplicate:
                raise HistoryError(
                    f"{self.source}: run id {duplicate.run_id!r} is already recorded ({duplicate.verdict}, finished "
                    f"{duplicate.finished}); this run was not recorded: give each run its own --run-id"
                ) from None

    def record_notice(self, notice: Notice) -> None:
        with self._lock, self._b.transaction():
            self._b.execute(
                "INSERT INTO notifications"
                " (run_id, target, ts, channel, kind, status, incident_id, detail, location, suite)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    notice.run_id,
                    notice.target,
                    notice.ts,
                    notice.channel,
                    notice.kind,
                    notice.status,
                    notice.incident_id,
                    notice.detail,
                    notice.location,
                    notice.suite,
                ),
            )

    # -- reading ---------------------------------------------------------------------------

    def recent_runs(
        self,
        target: str,
        *,
        limit: int,
        before_ts: float | None = None,
        suite: str | None = None,
        location: str | None = None,
    ) -> list[RunRow]:
        """The stream's latest runs, newest first (optionally only those before ``before_ts``)."""
        stream, params = _stream(suite, location)
        # A run inside a maintenance window neither continues nor opens anything (smokegate.ops.maintenance).
        sql = f"SELECT {_RUN_FIELDS} FROM runs WHERE target = ?{stream} AND maintenance IS NULL"
        params = [target, *params]
        if before_ts is not None:
            sql += " AND ts < ?"
            params.append(before_ts)
        sql += f" ORDER BY ts DESC, {self._b.tiebreak} DESC LIMIT ?"
        params.append(limit)
        return [_run_row(row) for row in self.query(sql, params)]

    def failing_streak(
        self, target: str, *, upto_ts: float, suite: str | None = None, location: str | None = None
    ) -> list[RunRow]:
        """The unbroken run of failing runs ending at ``upto_ts``, newest first.

        Only ``pass`` ends a streak and only ``fail`` extends it: a run that could not judge the
        target (verdict ``error``) says nothing about it either way.
        """
        stream, params = _stream(suite, location)
        last_pass = self.query(
            f"SELECT MAX(ts) FROM runs WHERE target = ?{stream} AND verdict = 'pass' AND ts <= ?"
            " AND maintenance IS NULL",
            [target, *params, upto_ts],
        )[0][0]
        sql = (f"SELECT {_RUN_FIELDS} FROM runs WHERE target = ?{stream} AND verdict = 'fail' AND ts <= ?"
               " AND maintenance IS NULL")
        args: list[Any] = [target, *params, upto_ts]
        if last_pass is not None:
            sql += " AND ts > ?"
            args.append(last_pass)
        sql += f" ORDER BY ts DESC, {self._b.tiebreak} DESC"
        return [_run_row(row) for row in self.query(sql, args)]

    def notices(
        self,
        target: str,
        *,
        limit: int = 100,
        channel: str | None = None,
        suite: str | None = None,
        location: str | None = None,
    ) -> list[Notice]:
        """The stream's latest deliveries, newest first."""
        stream, params = _stream(suite, location)
        sql = (
            "SELECT run_id, target, ts, channel, kind, status, incident_id, detail, location, suite"
            f" FROM notifications WHERE target = ?{stream}"
        )
        params = [target, *params]
        if channel is not None:
            sql += " AND channel = ?"
            params.append(channel)
        sql += " ORDER BY ts DESC, id DESC LIMIT ?"
        params.append(limit)
        return [Notice(*row) for row in self.query(sql, params)]

    def last_started(self, target: str, *, suite: str, location: str | None) -> datetime | None:
        """When the stream's latest run started: a restarted watcher resumes its schedule from it."""
        stream, params = _stream(suite, location)
        rows = self.query(
            f"SELECT started_at FROM runs WHERE target = ?{stream} ORDER BY ts DESC, {self._b.tiebreak} DESC LIMIT 1",
            [target, *params],
        )
        return parse_time(rows[0][0]) if rows else None

    def availability(self, target: str, *, location: str | None, since_ts: float) -> tuple[int, int]:
        """(samples, passing) over the target's runs from ``location`` since ``since_ts``.

        Only runs that judged the target are samples: ``pass`` and ``fail``, never ``error``, and never
        a run inside a maintenance window.
        """
        where, params = _same("location", location)
        rows = self.query(
            "SELECT COUNT(*), COUNT(CASE WHEN verdict = 'pass' THEN 1 END) FROM runs"
            f" WHERE target = ? AND {where} AND ts >= ? AND verdict IN ('pass', 'fail') AND maintenance IS NULL",
            [target, *params, since_ts],
        )
        return int(rows[0][0]), int(rows[0][1])

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read-only SQL (``?`` placeholders) for the report; only this module knows the connection."""
        with self._lock:
            return self._b.execute(sql, params)

    def count_runs(self) -> int:
        return int(self.query("SELECT COUNT(*) FROM runs")[0][0])

    def schema_version(self) -> int:
        return int(self.query("SELECT MAX(version) FROM schema_migrations")[0][0])


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _float_or_none(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _figure_rows(run_id: str, target: str, ts: float, checks: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
    """``details.figures`` of every check: ``(run_id, target, ts, name, value)``, numbers only."""
    rows: dict[str, tuple[Any, ...]] = {}
    for check in checks:
        details = check.get("details") if isinstance(check, Mapping) else None
        figures = details.get("figures") if isinstance(details, Mapping) else None
        for name, value in (figures.items() if isinstance(figures, Mapping) else ()):
            number = _float_or_none(value)
            if isinstance(name, str) and number is not None and math.isfinite(number):
                rows[name] = (run_id, target, ts, name[:80], number)
    return list(rows.values())


def _run_row(row: tuple[Any, ...]) -> RunRow:
    run_id, target, ts, verdict, scheduled, incident_id, severity, version, reason = row
    return RunRow(run_id, target, ts, verdict, bool(scheduled), incident_id, severity, version, reason)
