"""Database migrations applied (deployment checklist) and backups verified (weekly maintenance), from
Supabase's Management API: the migrations the database reports against the repository's
``supabase/migrations/`` folder, the newest backup's age, point-in-time recovery, and retention.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from smokegate.config import Target
from smokegate.failures import CheckFailure, FailureKind

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="providers")]


@pytest.fixture(scope="session")
def migrations_folder(target: Target, pytestconfig: pytest.Config) -> Path:
    """The repository's migrations folder (``providers.supabase.migrations_dir``, relative to the config)."""
    from smokegate.plugin import run as runs

    run = runs.current(pytestconfig)
    assert run is not None
    folder = Path(target.providers.supabase.migrations_dir)
    if not folder.is_absolute():
        folder = Path(run.settings.config_path).resolve().parent / folder
    if not folder.is_dir():
        raise CheckFailure(FailureKind.TEST_SETUP, (
            f"no migrations folder at {folder} (providers.supabase.migrations_dir): name the repository's "
            "supabase/migrations folder, relative to the target config"))
    return folder


@pytest.fixture(scope="session")
def supabase_backups(target: Target, supabase_management: Any) -> Any:
    from smokegate.checks.provider_state import backup_state
    from smokegate.providers.apis import supabase_backups as read

    return backup_state(read(supabase_management, target.providers.supabase), datetime.now(UTC))


@pytest.mark.check(severity="high", feature="migrations")
def test_migrations_applied(target: Target, supabase_management: Any, migrations_folder: Path,
                           check_record: Any) -> None:
    from smokegate.checks.provider_state import migration_state, repository_migrations
    from smokegate.providers.apis import supabase_migrations

    repository = repository_migrations(migrations_folder)
    state = migration_state(repository, supabase_migrations(supabase_management, target.providers.supabase))
    check_record.detail("repository", len(repository))
    check_record.detail("unknown_to_repository", state.unknown[:10])
    check_record.detail("figures", {"migrations.applied": state.applied, "migrations.pending": len(state.pending)})
    assert not state.pending, (
        f"{len(state.pending)} migration(s) of {migrations_folder.name}/ not applied to the database: "
        f"{', '.join(state.pending[:5])}{' …' if len(state.pending) > 5 else ''} (the database reports "
        f"{state.applied}): the deployed code expects a schema the database does not have yet "
        "(guide: Database migrations applied); run supabase db push"
    )


@pytest.mark.check(severity="medium", feature="backups")
def test_newest_backup_is_recent(target: Target, supabase_backups: Any, check_record: Any) -> None:
    cfg = target.providers.supabase
    age = supabase_backups.newest_age_h
    check_record.detail("figures", {"backups.newest_age_h": age, "backups.completed": supabase_backups.completed})
    assert age is not None, (
        f"Supabase lists no completed backup of project {cfg.project_ref} (guide: Backup Verification): "
        "nothing could be restored")
    assert age <= cfg.backup_max_age_h, (
        f"the newest completed backup of project {cfg.project_ref} is {age:.1f} h old > "
        f"{cfg.backup_max_age_h:g} h (providers.supabase.backup_max_age_h): daily backups have stopped "
        "(guide: Backup Verification)"
    )


@pytest.mark.check(severity="medium", feature="backups")
def test_point_in_time_recovery_as_configured(target: Target, supabase_backups: Any, check_record: Any) -> None:
    cfg = target.providers.supabase
    enabled = supabase_backups.pitr_enabled
    check_record.detail("figures", {"backups.pitr": None if enabled is None else float(enabled)})
    if cfg.pitr is None:
        pytest.skip("providers.supabase.pitr is not set: point-in-time recovery is not required either way")
    assert enabled is cfg.pitr, (
        f"point-in-time recovery of project {cfg.project_ref} is {'on' if enabled else 'off'}"
        f"{' (not reported)' if enabled is None else ''}, the config says {'on' if cfg.pitr else 'off'} "
        "(providers.supabase.pitr)" + (": a failure could only be restored to last night's backup" if cfg.pitr
                                       else "")
    )


@pytest.mark.check(severity="medium", feature="backups")
def test_backup_retention_is_long_enough(target: Target, supabase_backups: Any, check_record: Any) -> None:
    cfg = target.providers.supabase
    days = supabase_backups.retention_days
    check_record.detail("figures", {"backups.retention_days": days})
    assert days is not None and days >= cfg.retention_days, (
        f"the oldest restorable point of project {cfg.project_ref} is "
        f"{'missing' if days is None else f'{days:.1f} days old'}, the config wants {cfg.retention_days:g} days "
        "(providers.supabase.retention_days): backups are kept for less than the retention promised "
        "(guide: check backup retention)"
    )
