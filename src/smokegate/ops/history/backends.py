"""The two engines of the run history, behind one :class:`~smokegate.ops.history.schema.Backend`:
an embedded SQLite file (WAL, a busy timeout, ``BEGIN IMMEDIATE`` writes, corruption told apart from
a busy lock) and PostgreSQL through psycopg 3 (autocommit with explicit transactions, a deadline on
connecting and on every statement, errors as :class:`~smokegate.ops.history.source.HistoryError`).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from smokegate.ops.history.schema import Backend, migrate
from smokegate.ops.history.source import BUSY_TIMEOUT_S, HistoryError, PostgresURL

try:  # POSIX only; elsewhere corruption recovery simply runs without the cross-process lock.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

PG_CONNECT_TIMEOUT_S = 10
PG_STATEMENT_TIMEOUT_MS = 30_000
# Any constant will do: every smokegate process migrating a PostgreSQL history takes this lock.
PG_MIGRATION_LOCK = 0x736D6F6B65  # "smoke"

__all__ = ["Backend", "Postgres", "SQLite", "file_lock", "is_corruption"]


# -- SQLite ------------------------------------------------------------------------------------------


def is_corruption(exc: sqlite3.DatabaseError) -> bool:
    # "database is locked" is also a DatabaseError; only these two codes mean the file is bad.
    if isinstance(exc, sqlite3.OperationalError):
        return getattr(exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB")
    name = getattr(exc, "sqlite_errorname", "")
    if name:
        return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
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


class SQLite:
    engine = "sqlite"
    tiebreak = "rowid"

    def __init__(self, path: Path) -> None:
        # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE) so a writer takes the write
        # lock up front and waits for the other writer instead of failing half-way.  One History
        # may be shared by threads (the watcher's); it serialises its own use of the connection.
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._db.execute("PRAGMA synchronous = NORMAL")
            row = self._db.execute("PRAGMA quick_check").fetchone()
            if row is None or row[0] != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed: {row[0] if row else '?'}")
            migrate(self, lambda: None)  # BEGIN IMMEDIATE already holds the only write lock
        except BaseException:
            self._db.close()
            raise

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._db.execute(sql, params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


# -- PostgreSQL ----------------------------------------------------------------------------------------


class Postgres:
    engine = "postgresql"
    tiebreak = "run_id"

    def __init__(self, url: PostgresURL) -> None:
        try:
            import psycopg
        except ImportError:  # pragma: no cover - psycopg is a declared dependency
            raise HistoryError(f"{url}: PostgreSQL histories need psycopg (pip install 'psycopg[binary]')") from None
        self._url = url
        self._error: type[Exception] = psycopg.Error
        try:
            # Autocommit with explicit transaction blocks, as for SQLite; a history that hangs must
            # not hang the run, so connecting and every statement have a deadline.
            self._db = psycopg.connect(
                url.url,
                autocommit=True,
                connect_timeout=PG_CONNECT_TIMEOUT_S,
                application_name="smokegate",
                options=f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS}",
            )
        except psycopg.Error as exc:
            raise HistoryError(f"{url}: cannot connect to the run history: {_first_line(exc)}") from None
        try:
            lock = lambda: self.execute("SELECT pg_advisory_xact_lock(?)", (PG_MIGRATION_LOCK,))  # noqa: E731
            migrate(self, lock)
        except BaseException:
            self._db.close()
            raise

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            cursor = self._db.execute(self._sql(sql), tuple(params))
            return list(cursor.fetchall()) if cursor.description is not None else []
        except self._error as exc:
            raise HistoryError(f"{self._url}: {_first_line(exc)}") from None

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        try:
            with self._db.cursor() as cursor:
                cursor.executemany(self._sql(sql), [tuple(row) for row in rows])
        except self._error as exc:
            raise HistoryError(f"{self._url}: {_first_line(exc)}") from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            with self._db.transaction():
                yield
        except self._error as exc:
            raise HistoryError(f"{self._url}: {_first_line(exc)}") from None

    def close(self) -> None:
        self._db.close()


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
