"""The history's schema: numbered SQL steps per engine (``ops/migrations/<engine>/``) and the one
routine that applies the missing ones, under the engine's writer lock, so processes racing to open a
new history apply each step once.  :class:`Backend` is what both engines offer the history.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Protocol

from smokegate.ops.history.source import HistoryError


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


def migrations(engine: str) -> list[Migration]:
    """The numbered steps of ``ops/migrations/<engine>/``, in order."""
    folder = resources.files("smokegate.ops").joinpath("migrations", engine)
    steps = []
    for entry in folder.iterdir():
        match = _MIGRATION_FILE.match(entry.name)
        if match is None:
            continue
        text = entry.read_text(encoding="utf-8")
        body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
        statements = tuple(s.strip() for s in re.split(r";\s*$", body, flags=re.M) if s.strip())
        steps.append(Migration(int(match.group(1)), match.group(2), statements))
    steps.sort(key=lambda step: step.version)
    if [step.version for step in steps] != list(range(1, len(steps) + 1)):
        raise HistoryError(f"migrations for {engine} are not numbered 0001, 0002, ...: {[s.name for s in steps]}")
    return steps


class Backend(Protocol):
    """One open connection; SQL is written with ``?`` placeholders for both engines."""

    engine: str
    tiebreak: str  # orders rows with the same ``ts``

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def transaction(self) -> contextlib.AbstractContextManager[None]: ...

    def close(self) -> None: ...


def migrate(backend: Backend, lock: Callable[[], object]) -> None:
    """Apply the missing steps, each in its own transaction, under the engine's writer lock."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    try:  # the common case, everything applied, costs one read and no write lock
        applied = {int(row[0]) for row in backend.execute("SELECT version FROM schema_migrations")}
    except (sqlite3.Error, HistoryError):  # no such table yet
        applied = set()
    for step in migrations(backend.engine):
        if step.version in applied:
            continue
        with backend.transaction():
            lock()
            backend.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            # Read inside the lock: another process may have applied this step while we waited.
            done = backend.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (step.version,))
            if done:
                continue
            for statement in step.statements:
                backend.execute(statement)
            backend.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (step.version, step.name, now),
            )
            backend.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(step.version),),
            )
