"""The run history: every run and every check result, in an embedded SQLite file or in PostgreSQL.

One import path for its users (``from smokegate.ops.history import History``); the parts live in
modules named for what they hold:

``source``      where the history lives: parsing ``--history`` / ``SMOKEGATE_HISTORY``, the SQLite
                file checks, :class:`HistoryError`
``schema``      the numbered schema steps and the routine that applies them
``backends``    the two engines (SQLite, PostgreSQL) behind one connection protocol
``store``       :class:`History` itself (the tables, the alert streams, recording and reading runs),
                its row types and the helpers alerting and the report share
"""

from __future__ import annotations

from smokegate.ops.history.schema import Migration, migrations
from smokegate.ops.history.source import (
    BUSY_TIMEOUT_S,
    POSTGRES_SCHEMES,
    SQLITE_HEADER,
    HistoryError,
    HistorySource,
    PostgresURL,
    checked_source,
    is_postgres_url,
    parse_source,
    recorded_run,
    sqlite_file_problem,
)
from smokegate.ops.history.store import (
    CHECK_COLUMNS,
    LEGACY_RUN_COLUMNS,
    MESSAGE_LIMIT,
    NO_TARGET,
    RUN_COLUMNS,
    History,
    Notice,
    RunRow,
    gate_target,
    highest_failed_severity,
    parse_time,
)

__all__ = [
    "BUSY_TIMEOUT_S", "CHECK_COLUMNS", "LEGACY_RUN_COLUMNS", "MESSAGE_LIMIT", "NO_TARGET", "POSTGRES_SCHEMES",
    "RUN_COLUMNS", "SQLITE_HEADER", "History", "HistoryError", "HistorySource", "Migration", "Notice",
    "PostgresURL", "RunRow", "checked_source", "gate_target", "highest_failed_severity", "is_postgres_url",
    "migrations", "parse_source", "parse_time", "recorded_run", "sqlite_file_problem",
]
