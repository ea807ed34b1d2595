"""The deployment checklist and the daily report, judged from the providers' answers (pure, no network).

Each function takes what a provider API answered (already parsed JSON) and returns what is wrong,
or the figures the daily report keeps.  None of them keeps a value that could identify a person:
environment variables are read by name and target only (never their values), charges and events
are counted, users and sessions are counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# -- environment variables (Vercel) ------------------------------------------------------------------

BUILT_IN_TARGETS = ("production", "preview", "development")


def env_names_for(envs: Any, environment: str) -> set[str]:
    """Names of the project's variables that apply to ``environment`` (a built-in target, or a
    custom environment's id); a preview variable bound to one git branch does not count for all."""
    names: set[str] = set()
    for env in envs if isinstance(envs, list) else []:
        if not isinstance(env, Mapping) or not isinstance(env.get("key"), str):
            continue
        targets = env.get("target")
        targets = [targets] if isinstance(targets, str) else (targets if isinstance(targets, list) else [])
        if environment in BUILT_IN_TARGETS:
            applies = environment in targets and not (environment == "preview" and env.get("gitBranch"))
        else:
            applies = environment in (env.get("customEnvironmentIds") or [])
        if applies:
            names.add(str(env["key"]))
    return names


def missing_env(envs: Any, required: Iterable[str], environment: str) -> list[str]:
    present = env_names_for(envs, environment)
    return [name for name in required if name not in present]


# -- migrations (Supabase) -----------------------------------------------------------------------

_MIGRATION_FILE = re.compile(r"^(\d+)_([A-Za-z0-9_.-]+)\.sql$")


def repository_migrations(folder: Path) -> dict[str, str]:
    """``version -> name`` of the migration files in a Supabase project's ``supabase/migrations``."""
    found: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        match = _MIGRATION_FILE.match(path.name)
        if match and path.is_file():
            found[match.group(1)] = match.group(2)
    return found


@dataclass(frozen=True)
class MigrationState:
    applied: int
    pending: list[str]  # "<version>_<name>" in the repository, not applied to the database
    unknown: list[str]  # applied to the database, not in the repository (a rollback, or applied by hand)


def migration_state(repository: Mapping[str, str], applied: Any) -> MigrationState:
    rows = [a for a in applied if isinstance(a, Mapping) and a.get("version") is not None] \
        if isinstance(applied, list) else []
    versions = {str(a["version"]): str(a.get("name") or "") for a in rows}
    pending = [f"{v}_{n}" for v, n in sorted(repository.items()) if v not in versions]
    unknown = [f"{v}_{n}".rstrip("_") for v, n in sorted(versions.items()) if v not in repository]
    return MigrationState(len(versions), pending, unknown)


# -- backups (Supabase) ------------------------------------------------------------------------------


@dataclass
class BackupState:
    newest: datetime | None
    oldest: datetime | None
    pitr_enabled: bool | None
    completed: int
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def newest_age_h(self) -> float | None:
        return None if self.newest is None else (self.now - self.newest).total_seconds() / 3600

    @property
    def retention_days(self) -> float | None:
        return None if self.oldest is None else (self.now - self.oldest).total_seconds() / 86400


def _iso(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _unix(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC)


def backup_state(body: Any, now: datetime | None = None) -> BackupState:
    """From ``GET /v1/projects/{ref}/database/backups``: the newest and oldest restorable points.

    Completed daily backups count, and with point-in-time recovery on, the physical window too
    (``physical_backup_data``: any moment between its earliest and latest point can be restored).
    """
    now = now or datetime.now(UTC)
    data = body if isinstance(body, Mapping) else {}
    points = [_iso(b.get("inserted_at")) for b in data.get("backups") or []
              if isinstance(b, Mapping) and str(b.get("status", "")).upper() == "COMPLETED"]
    dated = [p for p in points if p is not None]
    pitr = data.get("pitr_enabled") if isinstance(data.get("pitr_enabled"), bool) else None
    found = data.get("physical_backup_data")
    window: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    if pitr:
        dated += [p for p in (_unix(window.get("earliest_physical_backup_date_unix")),
                              _unix(window.get("latest_physical_backup_date_unix"))) if p is not None]
    return BackupState(max(dated) if dated else None, min(dated) if dated else None, pitr, len(points), now)


# -- payments (Stripe) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentCounts:
    succeeded: int
    failed: int
    pending: int
    more: bool  # the list was cut at the page limit: the counts are lower bounds

    @property
    def attempts(self) -> int:
        return self.succeeded + self.failed

    @property
    def ratio(self) -> float | None:
        return self.succeeded / self.attempts if self.attempts else None


def payment_counts(charges: Sequence[Any], more: bool = False) -> PaymentCounts:
    """Counted by ``status`` only (no amount, customer or card is read)."""
    statuses = [c.get("status") for c in charges if isinstance(c, Mapping)]
    return PaymentCounts(statuses.count("succeeded"), statuses.count("failed"), statuses.count("pending"), more)


def endpoint_for(endpoints: Sequence[Any], url: str) -> Mapping[str, Any] | None:
    """The webhook endpoint registered for ``url`` (trailing slash ignored), or None."""
    wanted = url.rstrip("/")
    for endpoint in endpoints:
        if isinstance(endpoint, Mapping) and str(endpoint.get("url", "")).rstrip("/") == wanted:
            return endpoint
    return None


def figures_line(figures: Mapping[str, float | None]) -> str:
    return ", ".join(f"{name} {value:g}" for name, value in figures.items() if value is not None)
