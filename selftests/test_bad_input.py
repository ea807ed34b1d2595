"""Bad input, the way a new user writes it: every case is one clear message, verdict ``error``, no outage.

Each case runs the smoke suite in a fresh process, as CI and QA do, and asserts: the exit code,
exactly one error message naming where the bad value was written (option, environment variable, or
file and key), no traceback, gate.json's verdict when the reports dir is usable, nothing recorded or
paged as an outage, and a wall time far under the run's own timeout.  Network-side cases (DNS,
refused, stalls, endless bodies) live in ``test_bad_network.py``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from smokegate.testbed.control import RunningTestbed

from .conftest import ROOT, SuiteRun, cli_for, run_suite

USAGE = 4


@dataclass
class Case:
    """One bad invocation: what to change, and the message that must name the culprit."""

    message: str
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    config: str | None = None  # text appended to smokegate.toml
    files: dict[str, str | None] = field(default_factory=dict)  # name -> content (None: a directory)
    gate_json: bool = True
    drop: tuple[str, ...] = ()  # options of the healthy invocation to leave out


CASES: dict[str, Case] = {
    "ca-not-pem": Case("--ca-bundle: {tmp}/notpem.pem is not a PEM file of certificates",
                       ["--ca-bundle", "{tmp}/notpem.pem"], files={"notpem.pem": "hello, I am not a certificate\n"}),
    "ca-empty": Case("--ca-bundle: {tmp}/empty.pem is not a PEM file of certificates",
                     ["--ca-bundle", "{tmp}/empty.pem"], files={"empty.pem": ""}),
    "ca-directory": Case("--ca-bundle: {tmp}/cadir is not a file", ["--ca-bundle", "{tmp}/cadir"],
                         files={"cadir": None}),
    "ca-missing-env": Case("env SMOKEGATE_CA_BUNDLE: CA file not found: {tmp}/nowhere.pem",
                           env={"SMOKEGATE_CA_BUNDLE": "{tmp}/nowhere.pem"}, drop=("--ca-bundle",)),
    "ca-missing-config": Case("smokegate.toml: targets.local.ca_bundle: CA file not found",
                              config='ca_bundle = "/nonexistent/ca.pem"', drop=("--ca-bundle",)),
    "reports-dir-is-a-file": Case("--reports-dir / env SMOKEGATE_REPORTS_DIR: {tmp}/afile exists and is not a "
                                  "directory", ["--reports-dir", "{tmp}/afile"], files={"afile": "x"},
                                  gate_json=False),
    "reports-dir-unwritable": Case("--reports-dir / env SMOKEGATE_REPORTS_DIR: cannot write reports to "
                                   "/proc/1/smokegate-reports", ["--reports-dir", "/proc/1/smokegate-reports"],
                                   gate_json=False),
    "config-is-a-directory": Case("{tmp}/cfgdir: is a directory, not a target config file",
                                  ["--smokegate-config", "{tmp}/cfgdir"], files={"cfgdir": None}),
    "config-missing": Case("{tmp}/absent.toml: target config file not found",
                           ["--smokegate-config", "{tmp}/absent.toml"]),
    "expect-version-empty": Case("--expect-version: empty value", ["--expect-version", ""],
                                 drop=("--expect-version",)),
    "expect-version-empty-env": Case("env SMOKEGATE_EXPECT_VERSION: empty value",
                                     env={"SMOKEGATE_EXPECT_VERSION": ""}, drop=("--expect-version",)),
    "base-url-empty": Case("--base-url: empty value", ["--base-url", ""], drop=("--base-url",)),
    "base-url-empty-env": Case("env PYTEST_BASE_URL: empty value", env={"PYTEST_BASE_URL": ""},
                               drop=("--base-url",)),
    "base-url-not-http": Case("--base-url: not an absolute http(s) URL", ["--base-url", "ftp://example.test"],
                              drop=("--base-url",)),
    "gate-on-bogus": Case("--gate-on: 'bogus' is not one of critical, high, medium, low", ["--gate-on", "bogus"]),
    "gate-on-bogus-env": Case("env SMOKEGATE_GATE_ON: 'bogus' is not one of", env={"SMOKEGATE_GATE_ON": "bogus"}),
    "unknown-target": Case("--target: unknown target 'nosuch'", ["--target", "nosuch"], drop=("--target",)),
    "no-target": Case("no target chosen: pass --target NAME", drop=("--target", "--base-url")),
    "base-url-without-target": Case("--base-url given without --target", drop=("--target",)),
    "typo-under-defaults": Case("smokegate.toml: defaults.timeout_ss: unknown key", config="@defaults timeout_ss = 3"),
    "intrusive-yes": Case("smokegate.toml: targets.local.intrusive: Input should be a valid boolean",
                          config='intrusive = "yes"'),
    "monitoring-webhook-malformed": Case("env MONITORING_WEBHOOK_URL: the value is not", env={
        "MONITORING_WEBHOOK_URL": "::::"}),
    "alert-webhook-trailing-newline": Case("env ALERT_WEBHOOK_URL: the value contains whitespace or a line break",
                                           env={"ALERT_WEBHOOK_URL": "https://hooks.example.test/T000/B000\n"}),
    "no-history-not-a-boolean": Case("env SMOKEGATE_NO_HISTORY: 'maybe' is not a boolean",
                                     env={"SMOKEGATE_NO_HISTORY": "maybe"}),
    "http-url-not-a-url": Case("--http-url / env SMOKEGATE_HTTP_URL: 'localhost:80' is not an absolute http(s) URL",
                               ["--http-url", "localhost:80"], drop=("--http-url",)),
    "load-processes-zero": Case("--load-processes: '0' is not a whole number from 1 to 256", ["--load-processes", "0"]),
    "load-workers-not-a-number": Case("env SMOKEGATE_LOAD_WORKERS: 'two' is not a whole number from 0 to 10000",
                                      env={"SMOKEGATE_LOAD_WORKERS": "two"}),
    "load-processes-and-workers": Case("--load-processes and --load-workers: choose one",
                                       ["--load-processes", "2", "--load-workers", "2"]),
}


def _config_with(tmp_path: Path, extra: str) -> Path:
    text = (ROOT / "smokegate.toml").read_text()
    if extra.startswith("@defaults "):
        text = text.replace("[defaults]\n", f"[defaults]\n{extra.removeprefix('@defaults ')}\n", 1)
    else:
        head, local = text.split("[targets.local]\n", 1)
        key = extra.split("=", 1)[0].strip()
        # Replace the key the local target already sets, rather than writing it twice.
        local = "\n".join(line for line in local.split("\n") if not line.startswith(f"{key} ="))
        text = f"{head}[targets.local]\n{extra}\n{local}"
    path = tmp_path / "smokegate.toml"
    path.write_text(text)
    return path


def _invocation(testbed: RunningTestbed, case: Case, tmp: Path) -> list[str]:
    args = cli_for(testbed)
    kept: list[str] = []
    for flag, value in zip(args[::2], args[1::2], strict=True):
        if flag not in case.drop:
            kept += [flag, value]
    if case.config is not None:
        kept += ["--smokegate-config", str(_config_with(tmp, case.config))]
    return [*kept, *(a.replace("{tmp}", str(tmp)) for a in case.args)]


@pytest.fixture
def alert_receiver(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/alert", method="POST").respond_with_data("ok")
    return httpserver


def _assert_no_outage(run: SuiteRun) -> None:
    reports = run.reports_dir
    assert not (reports / "incident.md").exists(), "a usage error wrote an incident"
    assert not (reports / "history.sqlite").exists(), "a usage error was recorded as a run of the target"
    alerts = reports / "alerts.json"
    if alerts.exists():
        decision = json.loads(alerts.read_text())["decision"]
        assert decision["kind"] in (None, "notice"), decision


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_clear_usage_error(name: str, healthy_testbed: RunningTestbed, tmp_path: Path) -> None:
    case = CASES[name]
    tmp = tmp_path / "inputs"
    tmp.mkdir()
    for file, content in case.files.items():
        if content is None:
            (tmp / file).mkdir()
        else:
            (tmp / file).write_text(content)
    env = {k: v.replace("{tmp}", str(tmp)) for k, v in case.env.items()}
    reports = tmp_path / "reports"
    args = _invocation(healthy_testbed, case, tmp)
    if "--reports-dir" in case.args:
        reports = Path(args[args.index("--reports-dir") + 1])
    started = time.monotonic()
    run = run_suite(["tests/smoke", *args], reports, env=env, timeout=120,
                    reports_flag="--reports-dir" not in case.args)
    elapsed = time.monotonic() - started
    message = case.message.replace("{tmp}", str(tmp))
    output = run.output
    assert run.returncode == USAGE, output[-2000:]
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, output[-2000:]
    assert message in output, f"expected {message!r} in:\n{output[-2000:]}"
    assert "Traceback" not in output and "INTERNALERROR" not in output
    for secret in env.values():
        if "hooks.example.test" in secret or secret == "::::":
            assert secret.strip() not in output, "a webhook URL (a secret) was echoed"
    if case.gate_json:
        assert run.gate.get("verdict") == "error" and run.gate.get("error_kind") == "usage", run.gate
        assert message in run.gate["reason"]
        _assert_no_outage(run)
    else:
        assert run.gate == {}
    assert elapsed < 60, f"a usage error took {elapsed:.1f} s"
    # Nothing was sent to the target: the testbed answered no request during this run.
    assert healthy_testbed.served() == 0, "a run with bad input sent requests to the target"


def test_a_usage_error_leaves_no_earlier_runs_outputs_behind(healthy_testbed: RunningTestbed, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    first = run_suite(["tests/smoke", *cli_for(healthy_testbed)], reports)
    assert first.returncode == 0 and (reports / "junit.xml").exists() and (reports / "allure-results").is_dir()
    stopped = run_suite(["tests/smoke", *cli_for(healthy_testbed), "--gate-on", "bogus"], reports)
    assert stopped.gate["verdict"] == "error"
    assert not (reports / "junit.xml").exists() and not (reports / "allure-results").exists()
    assert "[report.html](report.html)" in (reports / "summary.md").read_text()
    assert 'data-verdict="error"' in (reports / "report.html").read_text()


def test_a_usage_error_sends_one_labelled_notice_never_an_alert(
    healthy_testbed: RunningTestbed, tmp_path: Path, alert_receiver: HTTPServer
) -> None:
    env = {"ALERT_WEBHOOK_URL": alert_receiver.url_for("/alert"), "SMOKEGATE_RUN_KIND": "post-deploy"}
    run = run_suite(["tests/smoke", *cli_for(healthy_testbed), "--gate-on", "bogus"], tmp_path / "reports", env=env)
    assert run.returncode == USAGE and run.gate["verdict"] == "error"
    posts = [json.loads(request.get_data()) for request, _ in alert_receiver.log]
    assert len(posts) == 1, posts
    assert posts[0]["text"].startswith("NOTICE (not an outage): smokegate could not judge local: --gate-on")
    _assert_no_outage(run)


def test_empty_secret_variables_mean_not_set(healthy_testbed: RunningTestbed, tmp_path: Path) -> None:
    """GitHub Actions passes an unset secret as an empty string: that is "not configured", not an error."""
    env = {"ALERT_WEBHOOK_URL": "", "MONITORING_WEBHOOK_URL": "", "CLERK_SECRET_KEY": "", "STRIPE_SECRET_KEY": ""}
    run = run_suite(["tests/smoke", *cli_for(healthy_testbed)], tmp_path / "reports", env=env)
    assert run.returncode == 0, run.output[-2000:]
    assert run.gate["verdict"] == "pass"


def test_pytest_flags_behave_as_pytest_users_expect(healthy_testbed: RunningTestbed, tmp_path: Path) -> None:
    """The self-tests' settings do not govern live runs: --lf works, warnings are not errors."""
    cache = ["-p", "cacheprovider", "-o", f"cache_dir={tmp_path / 'cache'}"]
    first = run_suite(["tests/smoke", *cli_for(healthy_testbed), *cache], tmp_path / "r1", no_cache=False)
    assert first.returncode == 0, first.output[-2000:]
    again = run_suite(["tests/smoke", *cli_for(healthy_testbed), *cache, "--lf"], tmp_path / "r2", no_cache=False)
    assert again.returncode == 0, again.output[-2000:]
    assert "unrecognized arguments" not in again.output
