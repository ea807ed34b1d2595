"""Bad input, the way a new user writes it: every case is one clear message, verdict ``error``, no outage.

Each case runs the smoke suite in a fresh process, as CI and QA do, over the reports of an earlier
passing run, and asserts: the exit code, exactly one error message naming where the bad value was
written (option, environment variable, or file and key), no traceback, a gate.json of *this*
invocation (its run id; the earlier PASS gone, and ``python -m smokegate.ci`` deciding ``error``)
when the reports dir is usable, nothing sent to the target, nothing recorded, nothing posted to the
webhooks, no file of the user's renamed or changed, and a wall time far under the run's own timeout.
Invocations that are not runs (``--fixtures``, ``--collect-only``) and inputs that are not errors
(space around a URL, an empty list) follow the matrix.  The ``smokegate`` command's and the
testbed's bad input is in ``test_bad_input_cli.py``; network-side cases (DNS, refused, stalls,
endless bodies, a plain-HTTP port behind an https:// URL) in ``test_bad_network.py``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from smokegate import ci
from smokegate.ops.history import History
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
    paths: tuple[str, ...] = ("tests/smoke",)
    history_runs: tuple[str, ...] = ()  # run ids already recorded in {tmp}/history.sqlite
    secret: str | None = None  # a value that must appear nowhere in the output
    once: bool = False  # the message appears exactly once (not once per target)


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
    "provider-api-url-plain-http": Case("env SMOKEGATE_STRIPE_API_URL (providers.stripe.api_url_env): provider APIs "
                                        "and status pages are only read over HTTPS",
                                        env={"SMOKEGATE_STRIPE_API_URL": "http://127.0.0.1:9"}),
    "provider-token-with-a-newline": Case("env VERCEL_TOKEN (providers.vercel.token_env): the value contains "
                                          "whitespace", env={"VERCEL_TOKEN": "abc123def456\n"}),
    # Issue 24: pytest's own parser refuses these before any plugin configures.
    "expect-version-without-value": Case("argument --expect-version: expected one argument", ["--expect-version"],
                                         drop=("--expect-version",)),
    "option-misspelt": Case("unrecognized arguments: --targte local", ["--targte", "local"]),
    "test-file-missing": Case("file or directory not found: tests/smoke/does_not_exist.py",
                              paths=("tests/smoke/does_not_exist.py",)),
    "history-not-a-history": Case("--history: {tmp}/notpem.pem is not a smokegate run history (not an SQLite "
                                  "database); it was left as it is", ["--history", "{tmp}/notpem.pem"],
                                  files={"notpem.pem": "-----BEGIN CERTIFICATE-----\nnot a history\n"}),
    "history-directory": Case("--history: {tmp}/histdir is a directory", ["--history", "{tmp}/histdir"],
                              files={"histdir": None}),
    "history-empty": Case("--history: empty value", ["--history", ""]),
    "history-password-on-command-line": Case(
        "--history: postgresql://smokegate@db.example.test/h: do not put a password on the command line",
        ["--history", "postgresql://smokegate:hunter22@db.example.test/h"], secret="hunter22"),
    "run-id-reused": Case("'taken' is the id of a run already recorded in {tmp}/history.sqlite (pass",
                          ["--history", "{tmp}/history.sqlite", "--run-id", "taken"], history_runs=("taken",)),
    "base-url-port-in-config": Case("targets.local.base_url: not a valid URL: 'https://localhost:84x3'",
                                    config='base_url = "https://localhost:84x3"'),
    "duplicate-pages-under-defaults": Case("defaults.pages: duplicate name(s): landing", once=True,
                                           config='@append [[defaults.pages]]\nname = "landing"\npath = "/again"\n'
                                                  'text = "again"'),
    "alert-webhook-not-a-url": Case("env ALERT_WEBHOOK_URL: the value is not an absolute http(s) URL",
                                    env={"ALERT_WEBHOOK_URL": "not-a-url"}),
    "load-processes-zero": Case("--load-processes: '0' is not a whole number from 1 to 256", ["--load-processes", "0"]),
    "load-workers-not-a-number": Case("env SMOKEGATE_LOAD_WORKERS: 'two' is not a whole number from 0 to 10000",
                                      env={"SMOKEGATE_LOAD_WORKERS": "two"}),
    "load-processes-and-workers": Case("--load-processes and --load-workers: choose one",
                                       ["--load-processes", "2", "--load-workers", "2"]),
}


def _config_with(tmp_path: Path, extra: str) -> Path:
    text = (ROOT / "smokegate.toml").read_text()
    if extra.startswith("@append "):
        text += "\n" + extra.removeprefix("@append ") + "\n"
    elif extra.startswith("@defaults "):
        text = text.replace("[defaults]\n", f"[defaults]\n{extra.removeprefix('@defaults ')}\n", 1)
    else:
        head, local = text.split("[targets.local]\n", 1)
        key = extra.split("=", 1)[0].strip()
        # Replace the key the local target already sets (in its own table only, not in the tables of the
        # targets after it), rather than writing it twice.
        own, sep, rest = local.partition("\n[")
        own = "\n".join(line for line in own.split("\n") if not line.startswith(f"{key} ="))
        text = f"{head}[targets.local]\n{extra}\n{own}{sep}{rest}"
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
        data = json.loads(alerts.read_text())
        assert data["decision"]["kind"] is None and data["deliveries"] == [], data


def _earlier_pass(reports: Path) -> None:
    """What an earlier passing run left in the reports dir."""
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "gate.json").write_text(json.dumps({"schema": 2, "run_id": "an-earlier-run", "verdict": "pass",
                                                   "counts": {"passed": 1}, "failed": []}))
    (reports / "report.html").write_text('<html data-verdict="pass">PASS</html>')
    (reports / "junit.xml").write_text("<testsuites/>")


def _files(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` and its content (None for a directory): nothing may be renamed or changed."""
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes() for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_clear_usage_error(
    name: str, healthy_testbed: RunningTestbed, tmp_path: Path, alert_receiver: HTTPServer
) -> None:
    case = CASES[name]
    tmp = tmp_path / "inputs"
    tmp.mkdir()
    for file, content in case.files.items():
        if content is None:
            (tmp / file).mkdir()
        else:
            (tmp / file).write_text(content)
    if case.history_runs:
        with History.open(tmp / "history.sqlite") as history:
            for run_id in case.history_runs:
                history.record_gate({"verdict": "pass", "target": {"name": "local"}, "started_at": "2026-01-01T00:00Z",
                                     "checks": []}, run_id=run_id, scheduled=False)
    env = {k: v.replace("{tmp}", str(tmp)) for k, v in case.env.items()}
    # Every webhook this case does not spoil points at a receiver: a usage error posts to none of them.
    for variable, path in (("ALERT_WEBHOOK_URL", "/alert"), ("MONITORING_WEBHOOK_URL", "/alert")):
        env.setdefault(variable, alert_receiver.url_for(path))
    reports = tmp_path / "reports"
    args = _invocation(healthy_testbed, case, tmp)
    inputs = _files(tmp)
    run_id = args[args.index("--run-id") + 1] if "--run-id" in args else f"bad-input-{name}"
    env.setdefault("SMOKEGATE_RUN_ID", run_id)
    if "--reports-dir" in case.args:
        reports = Path(args[args.index("--reports-dir") + 1])
    if case.gate_json:
        _earlier_pass(reports)
    started = time.monotonic()
    run = run_suite([*case.paths, *args], reports, env=env, timeout=120,
                    reports_flag="--reports-dir" not in case.args)
    elapsed = time.monotonic() - started
    message = case.message.replace("{tmp}", str(tmp))
    output = run.output
    assert run.returncode == USAGE, output[-2000:]
    errors = [line for line in output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, output[-2000:]
    assert message in output, f"expected {message!r} in:\n{output[-2000:]}"
    if case.once:
        assert output.count(message) == 1, output[-2000:]
    assert "Traceback" not in output and "INTERNALERROR" not in output
    for secret in [*env.values(), case.secret]:
        if secret and ("hooks.example.test" in secret or secret in ("::::", "hunter22", "not-a-url")):
            assert secret.strip() not in output, "a secret was echoed"
    if case.gate_json:
        # This invocation's verdict, over the earlier run's PASS: the CI decision cannot take the old one.
        assert run.gate.get("verdict") == "error" and run.gate.get("error_kind") == "usage", run.gate
        assert run.gate["run_id"] == run_id
        assert message in run.gate["reason"]
        assert 'data-verdict="pass"' not in (reports / "report.html").read_text()
        assert not (reports / "junit.xml").exists()
        assert ci.decide(reports, run_id)[0] == "error"
        _assert_no_outage(run)
    else:
        assert run.gate == {}
    assert alert_receiver.log == [], "a usage error posted to a webhook"
    assert _files(tmp) == inputs, "a usage error renamed, changed or created a file of the user's"
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


def test_a_usage_error_of_a_post_deploy_gate_sends_nothing(
    healthy_testbed: RunningTestbed, tmp_path: Path, alert_receiver: HTTPServer
) -> None:
    """Not a notice either: the job's exit code and gate.json say it; the webhook may be what was wrong."""
    env = {"ALERT_WEBHOOK_URL": alert_receiver.url_for("/alert"), "MONITORING_WEBHOOK_URL": alert_receiver.url_for(
        "/alert"), "SMOKEGATE_RUN_KIND": "post-deploy"}
    run = run_suite(["tests/smoke", *cli_for(healthy_testbed), "--gate-on", "bogus"], tmp_path / "reports", env=env)
    assert run.returncode == USAGE and run.gate["verdict"] == "error"
    assert alert_receiver.log == []
    assert "notice" not in run.output
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


# -- not runs, and inputs that are not errors ----------------------------------------------------------


@pytest.mark.parametrize("listing", [["--fixtures"], ["--collect-only"], ["--fixtures-per-test"]])
def test_listing_fixtures_or_checks_is_not_a_run(
    listing: list[str], healthy_testbed: RunningTestbed, tmp_path: Path, alert_receiver: HTTPServer
) -> None:
    """The README suggests --fixtures: it sends nothing, records nothing, posts nothing, replaces no report."""
    reports = tmp_path / "reports"
    _earlier_pass(reports)
    before = _files(reports)
    env = {"ALERT_WEBHOOK_URL": alert_receiver.url_for("/alert"), "MONITORING_WEBHOOK_URL": alert_receiver.url_for(
        "/alert")}
    run = run_suite([*listing, "tests", *cli_for(healthy_testbed)], reports, env=env, timeout=120)
    assert run.returncode == 0, run.output[-2000:]
    assert "site_page" in run.output or "test_page_answers_200[landing]" in run.output  # the config's parameters
    assert "smokegate verdict" not in run.output and "smokegate-ops" not in run.output
    assert _files(reports) == before, "a listing replaced or added reports"
    assert alert_receiver.log == []
    assert healthy_testbed.served() == 0


def test_a_refused_command_line_without_a_target_still_replaces_a_smokegate_verdict(tmp_path: Path) -> None:
    """--targte for --target: no target was chosen, but the reports dir holds smokegate's PASS, which must go."""
    reports = tmp_path / "reports"
    _earlier_pass(reports)
    run = run_suite(["tests/smoke", "--targte", "local"], reports, timeout=120)
    assert run.returncode == USAGE
    assert run.gate["verdict"] == "error" and run.gate["error_kind"] == "usage"
    assert run.gate["reason"] == "pytest refused the command line: unrecognized arguments: --targte local"
    assert run.gate["run_id"] != "an-earlier-run"
    assert 'data-verdict="error"' in (reports / "report.html").read_text()


def test_a_refused_command_line_of_another_suite_writes_nothing(tmp_path: Path) -> None:
    """No target and no smokegate verdict in the reports dir: another suite's parse error is not ours."""
    reports = tmp_path / "reports"
    run = run_suite(["tests/smoke", "--no-such-option"], reports, timeout=120)
    assert run.returncode == USAGE
    assert not reports.exists()


def test_space_around_the_config_url_is_dropped_as_on_the_command_line(
    healthy_testbed: RunningTestbed, tmp_path: Path
) -> None:
    config = _config_with(tmp_path, f'base_url = "{healthy_testbed.url} "')
    args = [a for a in cli_for(healthy_testbed) if a not in ("--base-url", healthy_testbed.url)]
    run = run_suite(["tests/smoke/test_reachability.py", *args, "--smokegate-config", str(config)],
                    tmp_path / "reports", timeout=120)
    assert run.returncode == 0, run.output[-2000:]
    assert run.gate["target"]["base_url"] == healthy_testbed.url
    assert "INTERNALERROR" not in run.output


def test_an_empty_list_of_pages_is_skipped_with_its_key(healthy_testbed: RunningTestbed, tmp_path: Path) -> None:
    """Not pytest's 'got empty parameter set': each page check says which key of the config is empty."""
    config = _config_with(tmp_path, "pages = []")
    run = run_suite(["tests/smoke/test_pages.py", *cli_for(healthy_testbed), "--smokegate-config", str(config)],
                    tmp_path / "reports", timeout=120)
    page_checks = {c["check"]: c for c in run.gate["checks"] if "test_pages.py" in c["check"]}
    assert len(page_checks) == 4, run.output[-2000:]
    for check in page_checks.values():
        assert check["check"].endswith("[none-configured]")
        assert check["outcome"] == "skipped"
        assert check["message"] == "not run: the config of target local lists nothing in pages"
    assert "empty parameter set" not in run.output + json.dumps(run.gate)


def test_an_argument_pytest_refuses_while_collecting_is_a_usage_error(
    healthy_testbed: RunningTestbed, tmp_path: Path
) -> None:
    """A -m expression pytest cannot parse stops it while it collects: the verdict says so, not 'no checks ran'."""
    run = run_suite(["tests/smoke", *cli_for(healthy_testbed), "-m", "check("], tmp_path / "reports", timeout=120)
    assert run.returncode == USAGE
    assert (run.gate["verdict"], run.gate["error_kind"]) == ("error", "usage")
    assert run.gate["reason"].startswith("Wrong expression passed to '-m': check(")
    assert 'data-verdict="error"' in (tmp_path / "reports" / "report.html").read_text()
    _assert_no_outage(run)
