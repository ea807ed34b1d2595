"""Supabase's Management API (``api.supabase.com``) for the platform's project, as Supabase documents it.

A personal access token as bearer token (wrong or missing: 401 ``{"message": "Unauthorized"}``);
an unknown project ref: 404 ``{"message": "Project not found"}``.

- ``GET /v1/projects/{ref}/database/migrations``: ``[{"version", "name"}]``, the migrations the
  database has applied: all of the platform repository's ``supabase/migrations`` (the stand-in's
  copy of that folder, ``platform_repo/``).
- ``GET /v1/projects/{ref}/database/backups``: ``region``, ``walg_enabled``, ``pitr_enabled``,
  ``backups`` (daily, ``status`` ``COMPLETED``, ``inserted_at``), ``physical_backup_data`` (the
  point-in-time window, Unix seconds).

Faults: ``supabase-migration-pending`` (the newest migration of the repository was never pushed),
``supabase-backups-stale`` (backups and WAL archiving stopped three days ago),
``supabase-pitr-off`` (point-in-time recovery was switched off: daily backups only),
``supabase-retention-short`` (the project was moved to a plan that keeps three days).
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from smokegate.checks.provider_state import repository_migrations

if TYPE_CHECKING:
    from smokegate.testbed.context import Testbed

PROJECT_REF = "napoleontestbed"
MIGRATIONS = Path(__file__).resolve().parent / "platform_repo" / "supabase" / "migrations"
PENDING = "supabase-migration-pending"
STALE = "supabase-backups-stale"
PITR_OFF = "supabase-pitr-off"
SHORT = "supabase-retention-short"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def backups(tb: Testbed, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    on = tb.state.on
    stopped = now - timedelta(days=3) if on(STALE) else now
    days = 3 if on(SHORT) else 8
    # Daily backups at 02:10 UTC, the newest before ``stopped``.
    last = stopped.replace(hour=2, minute=10, second=0, microsecond=0)
    if last > stopped:
        last -= timedelta(days=1)
    daily = [last - timedelta(days=n) for n in range(days)]
    pitr = not on(PITR_OFF)
    window = {"earliest_physical_backup_date_unix": int((now - timedelta(days=days - 0.5)).timestamp()),
              "latest_physical_backup_date_unix": int((stopped - timedelta(seconds=90)).timestamp())}
    return {
        "region": "eu-west-1", "walg_enabled": True, "pitr_enabled": pitr,
        "backups": [{"is_physical_backup": True, "status": "COMPLETED", "inserted_at": _iso(at)} for at in daily],
        "physical_backup_data": window if pitr else {},
    }


def routes(tb: Testbed, token: str) -> list[Route]:
    def refused(request: Request) -> Response | None:
        given = request.headers.get("authorization", "")
        if not given.startswith("Bearer ") or not hmac.compare_digest(given[7:].encode(), token.encode()):
            return JSONResponse({"message": "Unauthorized"}, status_code=401)
        if request.path_params["ref"] != PROJECT_REF:
            return JSONResponse({"message": "Project not found"}, status_code=404)
        return None

    async def migrations(request: Request) -> Response:
        problem = refused(request)
        if problem is not None:
            return problem
        applied = sorted(repository_migrations(MIGRATIONS).items())
        if tb.state.on(PENDING):
            applied = applied[:-1]
        return JSONResponse([{"version": version, "name": name} for version, name in applied])

    async def backup_list(request: Request) -> Response:
        problem = refused(request)
        if problem is not None:
            return problem
        return JSONResponse(backups(tb))

    return [
        Route("/v1/projects/{ref}/database/migrations", migrations),
        Route("/v1/projects/{ref}/database/backups", backup_list),
    ]
