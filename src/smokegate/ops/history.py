"""The run history: every run and every check result in one embedded SQLite file.

The history is what makes alerts stateful (how many runs in a row failed, when did we last page
someone) and what the daily health report is built from.  Three tables:

``runs``
    one row per run: id, target, URL, version, times, verdict, counts, incident id.
``checks``
    one row per check per run: outcome, severity, measured value and budget, failure kind.
``notifications``
    every webhook delivery attempted (alert, reminder, recovery, metrics) and how it went.

Two runs may finish at the same moment (a post-deploy gate and a scheduled run), so the file is
opened in WAL mode with a busy timeout and every write is one ``BEGIN IMMEDIATE`` transaction.
A corrupt file must never break a run: :meth:`History.open` moves it aside as
``<name>.corrupt-<timestamp>``, starts a new one and says so through ``notice``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:  # POSIX only; elsewhere corruption recovery simply runs without the cross-process lock.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
MESSAGE_LIMIT = 500
NO_TARGET = "(no target)"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    base_url TEXT,
    version TEXT,
    expected_version TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    ts REAL NOT NULL,
    duration_s REAL NOT NULL,
    verdict TEXT NOT NULL,
    reason TEXT,
    scheduled INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    deselected INTEGER NOT NULL,
    flaky INTEGER NOT NULL,
    blocking INTEGER NOT NULL,
    requests_sent INTEGER NOT NULL,
    severity TEXT,
    incident_id TEXT
);
CREATE INDEX IF NOT EXISTS runs_target_ts ON runs (target, ts);
CREATE INDEX IF NOT EXISTS runs_ts ON runs (ts);
CREATE INDEX IF NOT EXISTS runs_incident ON runs (incident_id);
CREATE TABLE IF NOT EXISTS checks (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    target TEXT NOT NULL,
    ts REAL NOT NULL,
    check_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    severity TEXT NOT NULL,
    epic TEXT,
    feature TEXT,
    blocking INTEGER NOT NULL,
    measured REAL,
    budget REAL,
    unit TEXT,
    failure_kind TEXT,
    dependency TEXT,
    attempts INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    message TEXT
);
CREATE INDEX IF NOT EXISTS checks_run ON checks (run_id);
CREATE INDEX IF NOT EXISTS checks_ts ON checks (ts);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    target TEXT NOT NULL,
    ts REAL NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    incident_id TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS notifications_target_ts ON notifications (target, ts);
"""


class HistoryError(Exception):
    """The history cannot be read or written; the message says which file and why."""


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
    """One stored webhook delivery."""

    run_id: str
    target: str
    ts: float
    channel: str
    kind: str
    status: str
    incident_id: str | None
    detail: str | None


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
    order = ("critical", "high", "medium", "low")
    candidates = [c for c in gate.get("checks", []) if c.get("outcome") == "failed"]
    if not candidates:
        candidates = [c for c in gate.get("checks", []) if c.get("blocking")]
    ranks = [order.index(c["severity"]) for c in candidates if c.get("severity") in order]
    return order[min(ranks)] if ranks else None


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    # "database is locked" is also a DatabaseError; only these two codes mean the file is bad.
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB")
    name = getattr(exc, "sqlite_errorname", "")
    if name:
        return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialise corruption recovery between processes so only one of them renames the file."""
    if fcntl is None:  # pragma: no cover - Windows
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class History:
    """An open run history.  Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, notice: Callable[[str], None] | None = None) -> History:
        """Open (or create) the history at ``path``, recovering from a missing or corrupt file.

        Raises :class:`HistoryError` only when the file cannot be used at all (for example the
        directory is not writable); a corrupt file is moved aside and replaced.
        """
        say = notice or (lambda _message: None)
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HistoryError(f"{path}: cannot create the history directory: {exc}") from None
        if not path.exists():
            say(f"no run history at {path}; starting a new one")
        try:
            return cls(path, cls._connect(path))
        except sqlite3.DatabaseError as exc:
            if not _is_corruption(exc):
                raise HistoryError(f"{path}: cannot open the run history: {exc}") from None
        with _file_lock(path):
            # Another process may have recovered the file while we waited for the lock.
            try:
                return cls(path, cls._connect(path))
            except sqlite3.DatabaseError as exc:
                if not _is_corruption(exc):
                    raise HistoryError(f"{path}: cannot open the run history: {exc}") from None
                aside = cls._move_aside(path)
                say(f"run history {path} is corrupt ({exc}); moved it to {aside.name} and started a new one")
            try:
                return cls(path, cls._connect(path))
            except sqlite3.DatabaseError as exc:
                raise HistoryError(f"{path}: cannot create a new run history: {exc}") from None

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE) so a writer takes the write
        # lock up front and waits for the other writer instead of failing half-way.
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA synchronous = NORMAL")
            row = db.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed: {row[0] if row else '?'}")
            with _transaction(db):
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        except BaseException:
            db.close()
            raise
        return db

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
        self._db.close()

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
    ) -> None:
        """Store one finished run (a ``gate.json`` dict).  Recording a run id again replaces it."""
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
        )
        check_rows = [self._check_row(run_id, target, ts, check, redact) for check in gate.get("checks", [])]
        self.record_rows([run_row], check_rows)

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
            str(check.get("severity", "high")),
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

    def record_rows(self, runs: Sequence[tuple[Any, ...]], checks: Sequence[tuple[Any, ...]]) -> None:
        """Store prepared rows in one transaction (used by :meth:`record_gate` and the benchmark)."""
        with _transaction(self._db):
            for run in runs:
                # Replacing a run id must not leave its old check rows behind.
                self._db.execute("DELETE FROM checks WHERE run_id = ?", (run[0],))
            self._db.executemany(f"INSERT OR REPLACE INTO runs VALUES ({_marks(21)})", runs)
            self._db.executemany(f"INSERT INTO checks VALUES ({_marks(17)})", checks)

    def record_notice(self, notice: Notice) -> None:
        with _transaction(self._db):
            self._db.execute(
                "INSERT INTO notifications (run_id, target, ts, channel, kind, status, incident_id, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    notice.run_id,
                    notice.target,
                    notice.ts,
                    notice.channel,
                    notice.kind,
                    notice.status,
                    notice.incident_id,
                    notice.detail,
                ),
            )

    # -- reading ---------------------------------------------------------------------------

    def recent_runs(self, target: str, *, limit: int, before_ts: float | None = None) -> list[RunRow]:
        """The target's latest runs, newest first (optionally only those before ``before_ts``)."""
        sql = (
            "SELECT run_id, target, ts, verdict, scheduled, incident_id, severity, version, reason"
            " FROM runs WHERE target = ?"
        )
        params: list[Any] = [target]
        if before_ts is not None:
            sql += " AND ts < ?"
            params.append(before_ts)
        sql += " ORDER BY ts DESC, rowid DESC LIMIT ?"
        params.append(limit)
        return [_run_row(row) for row in self._db.execute(sql, params)]

    def failing_streak(self, target: str, *, upto_ts: float) -> list[RunRow]:
        """The unbroken run of failing runs ending at ``upto_ts``, newest first."""
        last_pass = self._db.execute(
            "SELECT MAX(ts) FROM runs WHERE target = ? AND verdict = 'pass' AND ts <= ?", (target, upto_ts)
        ).fetchone()[0]
        rows = self._db.execute(
            "SELECT run_id, target, ts, verdict, scheduled, incident_id, severity, version, reason"
            " FROM runs WHERE target = ? AND ts <= ? AND ts > ? ORDER BY ts DESC, rowid DESC",
            (target, upto_ts, last_pass if last_pass is not None else float("-inf")),
        )
        return [_run_row(row) for row in rows]

    def notices(self, target: str, *, limit: int = 100, channel: str | None = None) -> list[Notice]:
        """The target's latest deliveries, newest first."""
        sql = (
            "SELECT run_id, target, ts, channel, kind, status, incident_id, detail FROM notifications WHERE target = ?"
        )
        params: list[Any] = [target]
        if channel is not None:
            sql += " AND channel = ?"
            params.append(channel)
        sql += " ORDER BY ts DESC, id DESC LIMIT ?"
        params.append(limit)
        return [Notice(*row) for row in self._db.execute(sql, params)]

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Read-only SQL for the report; kept here so only this module knows the connection."""
        return list(self._db.execute(sql, params))

    def count_runs(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _float_or_none(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _run_row(row: tuple[Any, ...]) -> RunRow:
    run_id, target, ts, verdict, scheduled, incident_id, severity, version, reason = row
    return RunRow(run_id, target, ts, verdict, bool(scheduled), incident_id, severity, version, reason)
