"""The providers' answers judged without a network: status pages, environment variables, migrations,
backups, payments (smokegate.checks.provider_status, smokegate.checks.provider_state)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from smokegate.checks.provider_state import (
    backup_state,
    endpoint_for,
    env_names_for,
    migration_state,
    missing_env,
    payment_counts,
    repository_migrations,
)
from smokegate.checks.provider_status import hint_lines, read_statuspage, read_stripe

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _summary(database_status: str = "operational", *, incident: bool = True) -> dict[str, Any]:
    """A Statuspage summary.json shaped like Supabase's: services as groups, regions inside them."""
    children = [
        {"id": "db-eu", "name": "eu-west-1", "status": database_status, "group_id": "db", "group": False,
         "updated_at": "2026-12-06T11:30:00.000Z"},
        {"id": "db-us", "name": "us-east-1", "status": "operational", "group_id": "db", "group": False},
        {"id": "auth-eu", "name": "eu-west-1", "status": "operational", "group_id": "auth", "group": False},
    ]
    components = [
        {"id": "db", "name": "Database", "status": database_status, "group_id": None, "group": True,
         "components": ["db-eu", "db-us"]},
        {"id": "auth", "name": "Auth", "status": "operational", "group_id": None, "group": True},
        {"id": "api", "name": "Management API", "status": "operational", "group_id": None, "group": False},
        *children,
    ]
    incidents = [{"name": "Degraded connectivity in eu-west-1", "status": "identified", "impact": "major",
                  "created_at": "2026-12-06T10:42:10.000Z", "started_at": "2026-12-06T10:42:00.000Z",
                  "components": [children[0]]}] if incident and database_status != "operational" else []
    return {"page": {"id": "p"}, "components": components, "incidents": incidents, "status": {"indicator": "major"}}


def test_a_partial_outage_in_a_group_reads_as_the_incident_says() -> None:
    report = read_statuspage("Supabase", "u", _summary("partial_outage"),
                             ["Database/eu-west-1", "Auth/eu-west-1", "Management API"])
    assert [(c.shown, c.status) for c in report.components] == [
        ("Database in eu-west-1", "partial_outage"), ("Auth in eu-west-1", "operational"),
        ("Management API", "operational")]
    assert report.major == [] and not report.missing and report.unreadable is None
    assert hint_lines([report], NOW) == [
        "Supabase reports a partial outage of Database in eu-west-1 since 10:42 UTC "
        "(incident: Degraded connectivity in eu-west-1)"]


def test_a_major_outage_is_major_and_since_falls_back_to_the_component() -> None:
    report = read_statuspage("Supabase", "u", _summary("major_outage", incident=False), ["Database/eu-west-1"])
    assert [c.shown for c in report.major] == ["Database in eu-west-1"]
    assert hint_lines([report], NOW) == ["Supabase reports a major outage of Database in eu-west-1 since 11:30 UTC"]


def test_the_same_region_in_another_group_is_not_confused() -> None:
    report = read_statuspage("Supabase", "u", _summary("major_outage"), ["Auth/eu-west-1"])
    assert [(c.shown, c.status) for c in report.components] == [("Auth in eu-west-1", "operational")]


@pytest.mark.parametrize("body", [{}, {"components": "none"}, [], "down", {"components": [1, 2]}])
def test_an_unknown_page_is_never_read_as_healthy(body: Any) -> None:
    report = read_statuspage("Vercel", "u", body, ["Edge Network"])
    assert report.unreadable and not report.components
    assert hint_lines([report], NOW) == [f"Vercel's status page could not be read ({report.unreadable})"]


def test_a_component_the_page_does_not_list_is_reported_missing() -> None:
    report = read_statuspage("Supabase", "u", _summary(), ["Database/eu-central-1", "Realtime"])
    assert report.missing == ["Database/eu-central-1", "Realtime"]


def test_an_unknown_component_status_makes_the_page_unreadable() -> None:
    body = _summary()
    body["components"][2]["status"] = "on_fire"
    report = read_statuspage("Supabase", "u", body, ["Management API"])
    assert "unknown status 'on_fire'" in (report.unreadable or "")


def test_stripes_current_format() -> None:
    body = {"statuses": {"api": "down", "webhooks": "degraded", "dashboard": "up"}, "largestatus": "down",
            "message": "API requests failing", "time": "2026-12-06T11:05:00.000Z"}
    report = read_stripe("Stripe", "u", body, ["api", "webhooks", "dashboard", "emails"])
    assert [(c.wanted, c.status) for c in report.components] == [
        ("api", "major_outage"), ("webhooks", "degraded_performance"), ("dashboard", "operational")]
    assert report.missing == ["emails"]
    assert hint_lines([report], NOW)[0] == (
        "Stripe reports a major outage of api since 11:05 UTC (incident: API requests failing)")
    assert read_stripe("Stripe", "u", {"largestatus": "up"}, ["api"]).unreadable


def test_no_problem_says_so_and_names_the_providers() -> None:
    reports = [read_statuspage("Supabase", "u", _summary(), ["Management API"]),
               read_stripe("Stripe", "u", {"statuses": {"api": "up"}}, ["api"])]
    assert hint_lines(reports, NOW) == [
        "no provider reports a problem with a component the platform uses (Supabase, Stripe)"]
    yesterday = read_statuspage("Supabase", "u", _summary("degraded_performance", incident=False),
                                ["Database/eu-west-1"])
    assert "since 2026-12-06 11:30 UTC" in hint_lines([yesterday], NOW + timedelta(days=1))[0]


# -- environment variables ------------------------------------------------------------------------------


ENVS = [
    {"key": "A", "target": ["production", "preview"], "type": "encrypted", "value": "cipher"},
    {"key": "B", "target": "production", "type": "sensitive", "value": ""},
    {"key": "C", "target": ["preview"], "gitBranch": "feature-x", "type": "plain", "value": "x"},
    {"key": "D", "target": [], "customEnvironmentIds": ["env_staging1"], "type": "encrypted", "value": "y"},
    {"target": ["production"]}, "garbage",
]


def test_env_names_apply_to_their_targets_only() -> None:
    assert env_names_for(ENVS, "production") == {"A", "B"}
    assert env_names_for(ENVS, "preview") == {"A"}, "a variable bound to one branch is not the preview's"
    assert env_names_for(ENVS, "env_staging1") == {"D"}
    assert missing_env(ENVS, ["A", "B", "D"], "production") == ["D"]
    assert missing_env({"envs": ENVS}, ["A"], "production") == ["A"], "not a list: nothing is known to exist"


# -- migrations ------------------------------------------------------------------------------------------


def test_migrations_pending_and_unknown(tmp_path: Path) -> None:
    for name in ("20261014093000_create_profiles.sql", "20261021150000_inbox.sql", "README.md", "seed.sql"):
        (tmp_path / name).write_text("--")
    repository = repository_migrations(tmp_path)
    assert repository == {"20261014093000": "create_profiles", "20261021150000": "inbox"}
    state = migration_state(repository, [{"version": "20261014093000", "name": "create_profiles"},
                                         {"version": "20250101000000", "name": "by_hand"}, {"name": "x"}])
    assert state.applied == 2
    assert state.pending == ["20261021150000_inbox"]
    assert state.unknown == ["20250101000000_by_hand"]
    assert migration_state(repository, {"error": 1}).pending == sorted(f"{v}_{n}" for v, n in repository.items())


# -- backups ---------------------------------------------------------------------------------------------


def _backups(*ages_h: float, status: str = "COMPLETED", pitr: bool = False, window_h: tuple[float, float] | None = None
             ) -> dict[str, Any]:
    body: dict[str, Any] = {"pitr_enabled": pitr, "backups": [
        {"status": status, "inserted_at": (NOW - timedelta(hours=h)).isoformat()} for h in ages_h]}
    if window_h is not None:
        body["physical_backup_data"] = {
            "earliest_physical_backup_date_unix": int((NOW - timedelta(hours=window_h[0])).timestamp()),
            "latest_physical_backup_date_unix": int((NOW - timedelta(hours=window_h[1])).timestamp())}
    return body


def test_backup_age_and_retention_from_daily_backups() -> None:
    state = backup_state(_backups(3, 27, 51, 171), NOW)
    assert state.newest_age_h == pytest.approx(3) and state.retention_days == pytest.approx(171 / 24)
    assert state.pitr_enabled is False and state.completed == 4


def test_failed_backups_do_not_count_and_none_is_none() -> None:
    assert backup_state(_backups(1, status="FAILED"), NOW).newest is None
    assert backup_state({"backups": "x"}, NOW).newest_age_h is None
    assert backup_state(None, NOW).retention_days is None


def test_the_pitr_window_counts_only_when_pitr_is_on() -> None:
    on = backup_state(_backups(20, pitr=True, window_h=(200, 0.05)), NOW)
    assert on.newest_age_h == pytest.approx(0.05, abs=0.01) and on.retention_days == pytest.approx(200 / 24)
    off = backup_state(_backups(20, pitr=False, window_h=(200, 0.05)), NOW)
    assert off.newest_age_h == pytest.approx(20)


# -- payments ----------------------------------------------------------------------------------------------


def test_payments_are_counted_by_status() -> None:
    counts = payment_counts([{"status": "succeeded"}] * 9 + [{"status": "failed"}, {"status": "pending"}, "x"])
    assert (counts.succeeded, counts.failed, counts.pending, counts.attempts) == (9, 1, 1, 10)
    assert counts.ratio == pytest.approx(0.9)
    assert payment_counts([]).ratio is None


def test_the_endpoint_is_found_by_its_url() -> None:
    endpoints = [{"url": "https://old.example/hook", "status": "disabled"},
                 {"url": "https://napoleonai.app/api/webhooks/stripe/", "status": "enabled"}]
    assert endpoint_for(endpoints, "https://napoleonai.app/api/webhooks/stripe") == endpoints[1]
    assert endpoint_for(endpoints, "https://napoleonai.app/api/webhooks/clerk") is None
