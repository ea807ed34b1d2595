"""The providers suite against the testbed's stand-ins: skipped without tokens, status pages read once a
minute, and every incident quoting what the providers say, as a hint that never changes a verdict.

(Each check passing healthy and failing on its fault is the fault matrix's: the catalog's PROVIDERS.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from smokegate.testbed.control import RunningTestbed
from smokegate.testbed.providers import TOKENS

from .conftest import ROOT, cli_for, env_for, run_suite

pytestmark = pytest.mark.selftest_slow

HINT = "## Provider status at detection time (a hint, not the cause)"
PARTIAL = "Supabase reports a partial outage of Database in eu-west-1 since "


def _requests(testbed: RunningTestbed) -> list[dict[str, Any]]:
    return [e for e in testbed.events() if e["kind"] == "provider-request"]


def test_without_tokens_each_check_is_skipped_with_one_reason_and_nothing_is_asked(
        healthy_testbed: RunningTestbed, tmp_path: Path) -> None:
    env = {k: v for k, v in env_for(healthy_testbed).items() if k not in (*TOKENS, "CLERK_SECRET_KEY")}
    run = run_suite(["tests/providers", *cli_for(healthy_testbed)], tmp_path, env=env)
    skipped = {c["check"]: c["message"] for c in run.gate["checks"] if c["outcome"] == "skipped"}
    reasons = {check.split("::")[0]: message for check, message in skipped.items()}
    assert "VERCEL_TOKEN is not set: Vercel's REST API cannot be asked" in reasons["providers/test_environment.py"]
    assert "SUPABASE_ACCESS_TOKEN is not set" in reasons["providers/test_database.py"]
    assert "STRIPE_READ_KEY is not set" in reasons["providers/test_payments.py"]
    assert "CLERK_SECRET_KEY is not set" in reasons["providers/test_user_activity.py"]
    assert len(skipped) == 9, skipped
    # The status pages need no token: they were read, and nothing else was asked of any provider.
    assert {c for c, o in run.outcomes.items() if o == "passed"} == {
        f"providers/test_status.py::test_provider_reports_no_major_outage[{p}]"
        for p in ("vercel", "supabase", "openai", "stripe", "clerk")}
    assert {(r["provider"], r["path"]) for r in _requests(healthy_testbed)} == {
        ("vercel", "/api/v2/summary.json"), ("supabase", "/api/v2/summary.json"), ("openai", "/api/v2/summary.json"),
        ("clerk", "/api/v2/summary.json"), ("stripe", "/current")}
    assert run.gate["verdict"] == "pass", run.output[-2000:]


def test_a_status_page_is_read_at_most_once_a_minute(healthy_testbed: RunningTestbed, tmp_path: Path) -> None:
    config = (ROOT / "smokegate.toml").read_text().replace("cache_s = 0 ", "cache_s = 60 ")
    assert "cache_s = 60" in config
    config = config.replace('migrations_dir = "src/', f'migrations_dir = "{ROOT}/src/')
    (tmp_path / "smokegate.toml").write_text(config)
    env = {**env_for(healthy_testbed), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    args = ["tests/providers/test_status.py", *cli_for(healthy_testbed), "--smokegate-config",
            str(tmp_path / "smokegate.toml")]
    first = run_suite(args, tmp_path / "first", env=env)
    reads = len(_requests(healthy_testbed))
    # Within the minute a provider's new trouble is not seen yet: that is what the cache costs.
    healthy_testbed.set_faults(["status-major-outage"])
    second = run_suite(args, tmp_path / "second", env=env)
    assert first.gate["verdict"] == second.gate["verdict"] == "pass", second.output[-2000:]
    assert reads == 5 and not _requests(healthy_testbed), "the second run asked the status pages again"


def test_the_incident_and_the_alert_name_what_the_status_page_reports_and_nothing_else_changes(
        testbed: RunningTestbed, tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/alert", method="POST").respond_with_data("ok")
    args = ["tests/smoke/test_health.py", *cli_for(testbed)]
    env = {**env_for(testbed), "ALERT_WEBHOOK_URL": httpserver.url_for("/alert")}
    try:
        testbed.set_faults(["health-db-down"])
        alone = run_suite(args, tmp_path / "alone", env=env)
        testbed.set_faults(["health-db-down", "status-partial-outage"])
        hinted = run_suite(args, tmp_path / "hinted", env=env)
    finally:
        testbed.set_faults([])
    # A hint is never a verdict: the same checks fail with the same kinds, whatever the providers say.
    assert alone.gate["verdict"] == hinted.gate["verdict"] == "fail"
    assert alone.outcomes == hinted.outcomes
    assert [c["failure_kind"] for c in alone.gate["checks"]] == [c["failure_kind"] for c in hinted.gate["checks"]]

    incident = (hinted.reports_dir / "incident.md").read_text()
    section = incident.split(HINT, 1)[1]
    assert PARTIAL in section and "(incident: Degraded connectivity to databases in eu-west-1)" in section
    quiet = (alone.reports_dir / "incident.md").read_text().split(HINT, 1)[1]
    assert "no provider reports a problem with a component the platform uses" in quiet

    payloads = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert len(payloads) == 2
    hint_block = next(b for b in payloads[1]["blocks"] if "a hint, not the cause" in json.dumps(b))
    assert PARTIAL in hint_block["text"]["text"]
    assert PARTIAL not in payloads[1]["text"], "the notification's first line stays the gate's"


def test_the_stand_ins_environment_for_a_shell(testbed: RunningTestbed, capsys: pytest.CaptureFixture[str]) -> None:
    from smokegate.testbed.providers.__main__ import main

    assert main(["--state-dir", str(testbed.state_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"export SMOKEGATE_VERCEL_API_URL={testbed.provider_urls['vercel']}" in lines
    assert any(line.startswith("export STRIPE_READ_KEY=") for line in lines)
    assert main(["--state-dir", str(testbed.state_dir / "elsewhere")]) == 1
