"""Database access (checks/supabase.py): finding the project where the browser does, judging PostgREST,
Storage and GoTrue answers as they are documented, and never keeping a row's values."""

from __future__ import annotations

import json

import pytest

from smokegate.checks import supabase
from smokegate.testbed.fake_secrets import FAKE_SECRETS, SUPABASE_ANON_KEY

SERVICE = FAKE_SECRETS["SUPABASE_SERVICE_ROLE_KEY"]
PUBLISHABLE = "sb_" + "publishable_AbCdEfGhIjKlMnOpQrStUv012345"


def test_url_and_key_from_the_browser_client_call() -> None:
    chunk = f'var r=n(8120);t.supabase=(0,r.createBrowserClient)("https://abcdefghijklmnopqrst.supabase.co","{SUPABASE_ANON_KEY}")'
    found = supabase.find_project([("page.html", "<html></html>"), ("/_next/static/chunks/5121.js", chunk)])
    assert found.url == "https://abcdefghijklmnopqrst.supabase.co" and found.key == SUPABASE_ANON_KEY
    assert "5121" in found.url_from and "5121" in found.key_from


def test_a_custom_domain_is_found_beside_the_key() -> None:
    chunk = f"createClient('https://db.napoleonai.app/', '{PUBLISHABLE}', {{auth: {{}}}})"
    found = supabase.find_project([("c.js", chunk)])
    assert (found.url, found.key) == ("https://db.napoleonai.app", PUBLISHABLE)


def test_service_role_key_is_never_taken_for_the_anon_key() -> None:
    found = supabase.find_project([("c.js", f'createClient("https://x.example","{SERVICE}")')])
    assert found.key is None
    assert supabase.is_anon_key(SUPABASE_ANON_KEY) and not supabase.is_anon_key(SERVICE)


def test_hosted_url_without_a_key() -> None:
    found = supabase.find_project([("c.js", 'fetch("https://abcdefghijklmnopqrst.supabase.co/rest/v1/plans")')])
    assert found.url == "https://abcdefghijklmnopqrst.supabase.co" and found.key is None


@pytest.mark.parametrize(("status", "content_range", "body", "readable", "rows"), [
    (206, "0-0/57", [{"id": "1", "email": "a@b.c"}], True, 57),    # RLS off: one row of 57
    (200, "0-0/1", [{"id": "1"}], True, 1),
    (200, "*/0", [], False, 0),                                      # RLS on, no policy: nothing visible
    (200, "0-0/*", [{"id": "1"}], True, 1),                          # no count: the row itself
])
def test_table_reads(status: int, content_range: str, body: list[dict[str, str]], readable: bool, rows: int) -> None:
    read = supabase.judge_read(status, {"content-range": content_range}, json.dumps(body))
    assert (read.readable, read.rows) == (readable, rows)
    assert "a@b.c" not in repr(read)  # column names only, never a value


def test_refusals_and_missing_tables() -> None:
    denied = supabase.judge_read(401, {}, '{"code":"42501","details":null,"hint":null,'
                                 '"message":"permission denied for table profiles"}')
    assert not denied.readable and "42501" in denied.refused and not denied.missing
    missing = supabase.judge_read(404, {}, '{"code":"PGRST205","message":"Could not find the table"}')
    assert missing.missing
    gateway = supabase.judge_read(401, {}, '{"message":"Invalid API key"}')
    assert not gateway.readable and "Invalid API key" in gateway.refused


def test_writes_storage_and_schema() -> None:
    assert supabase.write_refused(401) and supabase.write_refused(403) and not supabase.write_refused(204)
    assert supabase.listed_objects(200, "[]") == 0 and supabase.listed_objects(200, '[{"name":"a.pdf"}]') == 1
    assert supabase.listed_objects(400, '{"error":"Bucket not found"}') is None
    assert supabase.buckets(200, '[{"id":"avatars","public":true},{"id":"invoices","public":false}]') == {
        "avatars": True, "invoices": False}
    openapi = {"swagger": "2.0", "paths": {"/": {}, "/profiles": {}, "/rpc/hello": {}, "/plans": {}}}
    assert supabase.schema_tables(200, json.dumps(openapi)) == ["plans", "profiles"]
    assert supabase.schema_tables(401, '{"message":"Access to schema is forbidden"}') is None


def test_auth_settings() -> None:
    settings = {"disable_signup": False, "mailer_autoconfirm": False, "external": {"anonymous_users": True}}
    found = supabase.auth_mismatches(settings, {"signups": False, "email_autoconfirm": False,
                                                "anonymous_sign_ins": None})
    assert len(found) == 1 and found[0].startswith("signups: on, expected off")
    assert supabase.auth_mismatches({"disable_signup": True}, {"signups": False}) == []
    with pytest.raises(ValueError):
        supabase.auth_mismatches({"message": "Invalid API key"}, {"signups": False})


@pytest.mark.parametrize(("section", "message"), [
    ({"private_tables": ["profiles; drop table x"]}, "not a table name"),
    ({"private_buckets": ["../etc"]}, "not a bucket name"),
    ({"url": "https://abc.supabase.co/rest/v1"}, "not an origin"),
    ({"auth": {"signups": "no"}}, "valid boolean"),
])
def test_config_refuses_what_it_could_not_probe_safely(section: dict[str, object], message: str) -> None:
    from pydantic import ValidationError

    from smokegate.security.config import SecurityConfig

    with pytest.raises(ValidationError, match=message):
        SecurityConfig.model_validate({"supabase": section})
