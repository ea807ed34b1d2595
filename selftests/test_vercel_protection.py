"""Vercel Deployment Protection: the bypass goes to the target's origin only, and a protected deployment
without it is one usage error, not a finding per check.

Unit tests pin where the header may go and what counts as Vercel's protection; the runs against a
protected testbed prove it end to end (the testbed records any request reaching its other origin
with the bypass).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from smokegate import preflight
from smokegate import vercel_protection as vercel
from smokegate.config import Target
from smokegate.probe import Probe
from smokegate.reach import probe_target
from smokegate.testbed.control import RunningTestbed

from .conftest import cli_for, env_for, run_suite

SECRET = "b7Qy2vX9kLmN4pRs8tUw1zAc3dEf5gHj"
ENV = "VERCEL_AUTOMATION_BYPASS_SECRET"


def _target(base_url: str = "https://preview-abc.vercel.app", ca: str = "system") -> Target:
    return Target(name="t", base_url=base_url, ca_bundle=ca, vercel_bypass_env=ENV)


@pytest.mark.parametrize(("url", "sent"), [
    ("https://preview-abc.vercel.app/api/health", True),
    ("https://preview-abc.vercel.app:443/", True),
    ("https://PREVIEW-abc.vercel.app/x?y=1", True),
    ("http://preview-abc.vercel.app/", False),            # plain HTTP: never in clear text
    ("https://preview-abc.vercel.app:8443/", False),      # another port is another origin
    ("https://accounts.google.com/o/oauth2/v2/auth", False),
    ("https://preview-abc.vercel.app.evil.example/", False),
    ("https://cdn.vercel-insights.com/v1/script.js", False),
])
def test_the_secret_goes_to_the_target_origin_only(url: str, sent: bool) -> None:
    bypass = vercel.Bypass.for_target("https://preview-abc.vercel.app", ENV, {ENV: SECRET})
    assert bypass is not None
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    # A check that set the header itself on another origin's request still must not send it.
    with httpx.Client(transport=httpx.MockTransport(answer), event_hooks={"request": [bypass.request_hook()]}) as c:
        c.get(url, headers={} if sent else {vercel.HEADER: SECRET})
    assert (seen[0].headers.get(vercel.HEADER) == SECRET) is sent
    assert (vercel.HEADER in seen[0].headers) is sent


@pytest.mark.parametrize(("origin", "environ"), [
    ("https://preview-abc.vercel.app", {}),
    ("https://preview-abc.vercel.app", {ENV: ""}),          # an empty CI secret is no secret
    ("http://preview-abc.vercel.app", {ENV: SECRET}),       # never over plain HTTP
])
def test_no_bypass_without_a_secret_or_over_http(origin: str, environ: dict[str, str]) -> None:
    assert vercel.Bypass.for_target(origin, ENV, environ) is None


@pytest.mark.parametrize(("status", "headers", "body", "protected"), [
    (401, {"set-cookie": "_vercel_sso_nonce=abc; Path=/; HttpOnly"}, "<title>Authentication Required</title>", True),
    (401, {}, '<a href="https://vercel.com/sso-api?url=x&amp;nonce=y">Log in</a>', True),
    (302, {"location": "https://vercel.com/sso-api?url=https%3A%2F%2Fp.vercel.app%2F&nonce=n"}, "", True),
    (307, {"location": "https://vercel.com/login?next=%2Fsso-api"}, "", True),
    (302, {"location": "https://vercel.com.evil.example/sso-api"}, "", False),
    (302, {"location": "https://vercel.com/docs"}, "", False),
    (307, {"location": "/sign-in?redirect_url=%2Fdashboard"}, "", False),  # the app's own redirect
    (401, {"content-type": "application/json"}, '{"error":"Unauthorized"}', False),  # the app's own 401
    (200, {}, '<a href="https://vercel.com/sso-api">docs</a>', False),
])
def test_vercel_protection_is_recognised_by_its_markers_only(
    status: int, headers: dict[str, str], body: str, protected: bool
) -> None:
    assert (vercel.protection_of(status, httpx.Headers(headers), body) is not None) is protected
    assert (vercel.protection_of(status, headers, body) is not None) is protected  # Playwright's plain dict


def test_the_message_names_the_variable_never_the_secret() -> None:
    missing = vercel.protected_reason("401 with Vercel's login page", "/api/health", ENV, secret_sent=False)
    refused = vercel.protected_reason("401 with Vercel's login page", "/api/health", ENV, secret_sent=True)
    assert "provide the bypass secret in VERCEL_AUTOMATION_BYPASS_SECRET" in missing
    assert "refused the bypass secret from VERCEL_AUTOMATION_BYPASS_SECRET" in refused
    assert "vercel_bypass_env" in vercel.protected_reason("302 redirect", "/", None, secret_sent=False)


@pytest.mark.parametrize(("value", "origin", "problem"), [
    (SECRET, "https://preview-abc.vercel.app", None),
    (SECRET + "\n", "https://preview-abc.vercel.app", "line break"),
    ("two words", "https://preview-abc.vercel.app", "whitespace"),
    (SECRET, "http://preview-abc.vercel.app", "only ever sent over HTTPS"),
])
def test_preflight_checks_the_secret_without_echoing_it(value: str, origin: str, problem: str | None) -> None:
    found = preflight.bypass_problems(_target(origin), "smokegate.toml: defaults.vercel_bypass_env", {ENV: value})
    if problem is None:
        assert found == []
    else:
        assert len(found) == 1 and problem in found[0] and ENV in found[0], found
        assert value.strip() not in found[0]


# -- against the testbed ---------------------------------------------------------------------------------


@pytest.fixture
def protected_testbed(testbed: RunningTestbed) -> Iterator[RunningTestbed]:
    testbed.set_faults([])  # also clears its events
    testbed.set_protection(True)
    try:
        yield testbed
    finally:
        testbed.set_protection(False)


def _bypass_seen(testbed: RunningTestbed) -> list[dict[str, object]]:
    return [e for e in testbed.events() if e["kind"] == "bypass-seen-by-other-origin"]


def test_the_probe_passes_protection_and_never_hands_the_secret_on(
    protected_testbed: RunningTestbed, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = _target(protected_testbed.url, protected_testbed.ca_file)
    other = str(protected_testbed.info["idp_url"])
    monkeypatch.delenv(ENV, raising=False)
    blocked = probe_target(target)
    assert blocked.protection and not blocked.bypass_sent and blocked.status == 401, blocked
    monkeypatch.setenv(ENV, protected_testbed.bypass_secret)
    with Probe(target) as probe:
        assert probe.get("/api/health").status == 200
        assert probe.get(other + "/.well-known/openid-configuration").status == 200
        assert probe.get(protected_testbed.http_url + "/").status == 308  # plain HTTP: no secret in clear
    assert probe_target(target).protection is None
    assert not _bypass_seen(protected_testbed)
    monkeypatch.setenv(ENV, "not-the-secret-of-this-project")
    refused = probe_target(target)
    assert refused.protection and refused.bypass_sent


@pytest.mark.selftest_slow
def test_protected_deployment_without_the_secret_is_one_usage_error(
    protected_testbed: RunningTestbed, tmp_path: Path
) -> None:
    env = {k: v for k, v in env_for(protected_testbed).items() if k != ENV}
    run = run_suite(["tests/smoke", "tests/security", "tests/synthetic", *cli_for(protected_testbed)], tmp_path,
                    env={**env, ENV: ""})
    gate = run.gate
    assert gate["verdict"] == "error" and gate["error_kind"] == "usage" and run.returncode == 4, run.output[-3000:]
    assert "protected by Vercel Deployment Protection" in gate["reason"] and ENV in gate["reason"], gate["reason"]
    assert gate["counts"]["failed"] == 0 and gate["counts"]["passed"] == 0, gate["counts"]
    assert {c["message"] for c in gate["checks"]} == {gate["reason"]}, "every check skipped with that one reason"
    assert gate["requests_sent"] == 1, "recognised by one request, not by every check"
    summary = (tmp_path / "summary.md").read_text()
    assert summary.count("protected by Vercel Deployment Protection") == 1, summary


@pytest.mark.selftest_slow
def test_protected_deployment_refusing_the_secret_says_so(protected_testbed: RunningTestbed, tmp_path: Path) -> None:
    env = {**env_for(protected_testbed), ENV: "regenerated-" + protected_testbed.bypass_secret[:12]}
    run = run_suite(["tests/smoke", *cli_for(protected_testbed)], tmp_path, env=env)
    assert run.gate["verdict"] == "error" and run.returncode == 4, run.output[-3000:]
    assert "refused the bypass secret from VERCEL_AUTOMATION_BYPASS_SECRET" in run.gate["reason"]
    assert env[ENV] not in run.output and env[ENV] not in (tmp_path / "gate.json").read_text()

