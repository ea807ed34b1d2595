"""Where a run history lives, checked before anything runs: an SQLite file or a ``postgresql://`` URL.

:func:`parse_source` reads what the user wrote (``--history``, ``SMOKEGATE_HISTORY``), keeping a
URL's password out of every message (:class:`PostgresURL`); :func:`sqlite_file_problem` refuses a file
that is not a smokegate history, leaving it as it is; :func:`recorded_run` reads one run without
opening the history for writing.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# How long a reader waits for a writer of the same SQLite file.
BUSY_TIMEOUT_S = 30.0
POSTGRES_SCHEMES = ("postgresql", "postgres")


class HistoryError(Exception):
    """The history cannot be read or written; the message says which one and why."""


@dataclass(frozen=True)
class PostgresURL:
    """A PostgreSQL connection URL.  ``str()`` never shows its password; ``url`` is the real one."""

    url: str

    def __str__(self) -> str:
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        netloc = f"{parts.username}@{host}" if parts.username else host
        if parts.port:
            netloc += f":{parts.port}"
        query = urlencode([(k, "[redacted]" if k == "password" else v) for k, v in parse_qsl(parts.query)], safe="/[]")
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))

    @property
    def has_password(self) -> bool:
        parts = urlsplit(self.url)
        return parts.password is not None or any(k == "password" for k, _ in parse_qsl(parts.query))


HistorySource = Path | PostgresURL


def is_postgres_url(text: str) -> bool:
    return text.strip().lower().startswith(tuple(f"{scheme}://" for scheme in POSTGRES_SCHEMES))


def parse_source(text: str | os.PathLike[str], *, origin: str = "") -> HistorySource:
    """A ``--history`` value as a file path or a :class:`PostgresURL`.

    ``origin`` says where the value was written (``"--history"``, ``"SMOKEGATE_HISTORY"``,
    ``"ini smokegate_history"``): a URL may carry a password, so one written in a file is
    refused, and so is a password on the command line (any user can read a process's
    arguments); the environment (``SMOKEGATE_HISTORY``, or ``PGPASSWORD`` / ``~/.pgpass`` next to
    a URL without a password) is where it belongs.
    """
    if isinstance(text, os.PathLike):
        return Path(text)
    value = text.strip()
    if not value:
        raise HistoryError(f"{origin or 'history'}: empty value")
    if not is_postgres_url(value):
        return Path(value)
    url = PostgresURL(value)
    parts = urlsplit(value)
    if not parts.hostname and "host=" not in parts.query:
        raise HistoryError(f"{origin or 'history'}: {url}: a PostgreSQL URL needs a host")
    if origin.startswith("ini"):
        raise HistoryError(
            f"{origin}: a PostgreSQL history URL is not read from a file (it may carry a password); "
            "set SMOKEGATE_HISTORY in the environment instead"
        )
    if origin.startswith("--") and url.has_password:
        raise HistoryError(
            f"{origin}: {url}: do not put a password on the command line (other users can read it); "
            "set SMOKEGATE_HISTORY, or PGPASSWORD / ~/.pgpass, in the environment instead"
        )
    return url


SQLITE_HEADER = b"SQLite format 3\x00"
# Tables only a smokegate history has (the two every schema version holds).
_OUR_TABLES = {"runs", "schema_migrations"}


def _read_only(path: Path) -> sqlite3.Connection:
    """A connection that leaves the file and its directory as they were.  Without a write-ahead log
    beside it, everything is in the file: opened as immutable, SQLite creates no -wal or -shm file
    (a read-only connection to a WAL database would, and leave them behind)."""
    wal = path.with_name(path.name + "-wal").exists()
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("" if wal else "&immutable=1")
    return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)


def _tables(path: Path) -> set[str] | None:
    """The tables of an SQLite file, read without changing it; None when they cannot be read."""
    try:
        db = _read_only(path)
    except sqlite3.Error:
        return None
    try:
        return {str(row[0]) for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error:
        return None
    finally:
        db.close()


def sqlite_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot hold a smokegate run history, found without changing anything; None when it can.

    A missing or empty file becomes a new history, and an SQLite database holding smokegate's tables
    is one.  A directory, a file that is not SQLite, another program's database, or one whose tables
    cannot be read at all (nothing says it is ours) is somebody's else: it is refused, never renamed.
    """
    if path.is_dir():
        return f"{path} is a directory (a run history is an SQLite file, or a postgresql:// URL)"
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path}: cannot read it ({exc.strerror or exc})"
    keep = "it was left as it is: name another file, or move it away yourself"
    if not head:
        return None
    if head != SQLITE_HEADER:
        return f"{path} is not a smokegate run history (not an SQLite database); {keep}"
    tables = _tables(path)
    if tables is None:
        return f"{path} is an SQLite database whose tables cannot be read (damaged?); {keep}"
    if tables and not tables & _OUR_TABLES:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        return f"{path} is an SQLite database but not a smokegate run history (its tables: {shown}); {keep}"
    return None


def checked_source(text: str, *, origin: str) -> HistorySource:
    """A history named by the user (``--history``, ``SMOKEGATE_HISTORY``...), checked before anything runs:
    :func:`parse_source`, then :func:`sqlite_file_problem` for a file.  Raises :class:`HistoryError`
    with a message that starts with ``origin``."""
    source = parse_source(text, origin=origin)
    if isinstance(source, Path):
        problem = sqlite_file_problem(source)
        if problem:
            raise HistoryError(f"{origin}: {problem}")
    return source


def recorded_run(path: Path, run_id: str) -> tuple[str, str] | None:
    """(verdict, finished_at) of the run ``run_id`` in an SQLite history, read without changing it."""
    if not path.is_file() or _tables(path) is None:
        return None
    try:
        db = _read_only(path)
    except sqlite3.Error:
        return None
    try:
        row = db.execute("SELECT verdict, finished_at FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    return (str(row[0]), str(row[1])) if row else None
