"""Database access restricted (ops guide's security checklist): what the public Supabase anon key reaches.

Every visitor's browser holds the project's URL and anon key, so these checks ask with exactly that:
the private tables, their writes (intrusive: staging only), the private buckets, the auth settings and
the schema.  Reads ask for one row and keep none: a finding says how many rows and which columns,
never a value.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from smokegate.checks import supabase
from smokegate.failures import CheckFailure, FailureKind
from smokegate.security.config import SecurityConfig
from smokegate.security.supabase_access import SupabaseAccess

pytestmark = [pytest.mark.check(epic="security", feature="database-access")]


def _where(access: SupabaseAccess, check_record: Any) -> None:
    project = access.project
    check_record.detail("supabase", {"url": project.url, "url_from": project.url_from, "key_from": project.key_from})


@pytest.mark.safe
@pytest.mark.check(severity="critical")
def test_private_table_not_readable(supabase_access: SupabaseAccess, private_table: str, check_record: Any) -> None:
    _where(supabase_access, check_record)
    answer = supabase_access.request(
        "GET", f"/rest/v1/{private_table}", params={"select": "*", "limit": "1"},
        headers={"range": "0-0", "range-unit": "items", "prefer": "count=exact"},
    )
    read = supabase.judge_read(answer.status, answer.headers, answer.text)
    check_record.detail("answer", f"{answer.status} content-range {answer.headers.get('content-range', '-')}"
                        + (f"; refused: {read.refused}" if read.refused else ""))
    if read.missing:
        pytest.fail(f"security.supabase.private_tables names `{private_table}`, which the project does not have "
                    f"({read.refused}): a wrong name protects nothing", pytrace=False)
    assert not read.readable, (
        f"anyone holding the public anon key reads `{private_table}`: {read.rows} row(s)"
        + (f" (columns {', '.join(read.columns)})" if read.columns else "")
        + f" from {supabase_access.url}/rest/v1/{private_table}; enable row level security "
        f"(alter table {private_table} enable row level security) and give anon no select policy"
    )


@pytest.mark.intrusive
@pytest.mark.check(severity="high")
def test_private_table_refuses_writes(
    supabase_access: SupabaseAccess, private_table: str, security: SecurityConfig, check_record: Any
) -> None:
    # Writes that cannot change anything: filtered on a value no row has, the answer kept minimal.
    column = security.supabase.write_probe_column
    # A fresh UUID: a valid value for a uuid or text column, held by no row.
    nothing = f"eq.{uuid.uuid4()}"
    accepted = []
    for method, body in (("PATCH", {column: None}), ("DELETE", None)):
        answer = supabase_access.request(
            method, f"/rest/v1/{private_table}", params={column: nothing},
            headers={"prefer": "return=minimal", "content-type": "application/json"},
            **({"json": body} if body is not None else {}),
        )
        check_record.detail(method, f"{answer.status} {supabase.error_code(answer.text)}".strip())
        if answer.status == 400:
            # The filter itself was refused (no such column, not a uuid or text column): nothing was judged.
            raise CheckFailure(FailureKind.TEST_SETUP, (
                f"{method} /rest/v1/{private_table}?{column}={nothing} answered 400 "
                f"({supabase.error_code(answer.text)[:120]}): set security.supabase.write_probe_column to a "
                "uuid or text column of the table"))
        if not supabase.write_refused(answer.status):
            accepted.append(f"{method} ({answer.status})")
    assert not accepted, (
        f"the anon key may write `{private_table}`: {' and '.join(accepted)} of a row that does not exist "
        "were accepted, not refused (401/403); only its row level security policies stand between every "
        f"visitor and its rows: revoke insert, update, delete on {private_table} from anon"
    )


@pytest.mark.safe
@pytest.mark.check(severity="critical")
def test_private_bucket_not_listable(
    supabase_access: SupabaseAccess, private_bucket: str, check_record: Any
) -> None:
    listing = supabase_access.request("GET", "/storage/v1/bucket")
    visible = supabase.buckets(listing.status, listing.text)
    answer = supabase_access.request(
        "POST", f"/storage/v1/object/list/{private_bucket}",
        json={"prefix": "", "limit": 1, "offset": 0, "sortBy": {"column": "name", "order": "asc"}},
    )
    objects = supabase.listed_objects(answer.status, answer.text)
    check_record.detail("buckets_visible", sorted(visible))
    check_record.detail("object_list", f"{answer.status}: {objects if objects is not None else 'refused'}")
    problems = []
    if objects:
        problems.append(f"the anon key lists its objects ({objects} shown of a 1-object page)")
    if visible.get(private_bucket):
        problems.append("it is a public bucket: every object is served to whoever has its URL")
    assert not problems, (
        f"private bucket `{private_bucket}` is open: {'; '.join(problems)}; make it private and give anon no "
        "select policy on storage.objects for it"
    )


@pytest.mark.safe
@pytest.mark.check(severity="high")
def test_auth_settings_as_expected(
    supabase_access: SupabaseAccess, security: SecurityConfig, check_record: Any
) -> None:
    answer = supabase_access.request("GET", "/auth/v1/settings")
    expected = security.supabase.auth.model_dump()
    try:
        mismatches = supabase.auth_mismatches(answer.json(), expected)
    except ValueError:
        pytest.fail(f"{supabase_access.url}/auth/v1/settings answered {answer.status} without GoTrue's settings: "
                    f"{supabase.error_code(answer.text)[:120]}", pytrace=False)
    check_record.detail("expected", {k: v for k, v in expected.items() if v is not None})
    assert not mismatches, (
        f"Supabase Auth at {supabase_access.url} is not set as expected: " + "; ".join(mismatches)
        + " (security.supabase.auth; the project's Authentication settings)"
    )


@pytest.mark.safe
@pytest.mark.check(severity="medium")
def test_schema_not_exposed(supabase_access: SupabaseAccess, check_record: Any) -> None:
    answer = supabase_access.request("GET", "/rest/v1/", headers={"accept": "application/openapi+json"})
    tables = supabase.schema_tables(answer.status, answer.text)
    check_record.detail("answer", f"{answer.status} {supabase.error_code(answer.text)[:80]}" if tables is None
                        else f"{answer.status}: {len(tables)} table(s)")
    assert tables is None, (
        f"the anon key reads the database schema at {supabase_access.url}/rest/v1/ (PostgREST's OpenAPI): "
        f"{len(tables)} table(s) and their columns are listed to anyone ({', '.join(tables[:8])}"
        f"{'…' if len(tables) > 8 else ''}); Supabase refuses it to the anon key since 2026: "
        "update the project or turn the OpenAPI mode off"
    )
