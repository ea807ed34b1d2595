"""The plugin's behaviour, checked with pytester on tiny suites against the healthy testbed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smokegate.testbed.control import RunningTestbed

pytest_plugins = ["pytester"]


@pytest.fixture
def suite(pytester: pytest.Pytester, healthy_testbed: RunningTestbed) -> pytest.Pytester:
    pytester.makefile(".toml", smokegate=f"""
[targets.prod]
base_url = "{healthy_testbed.url}"
ca_bundle = "{healthy_testbed.ca_file}"
intrusive = false
[targets.stage]
base_url = "{healthy_testbed.url}"
ca_bundle = "{healthy_testbed.ca_file}"
intrusive = true
""")
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    return pytester


def write_checks(pytester: pytest.Pytester, body: str, folder: str = "tests/smoke") -> None:
    (pytester.path / folder).mkdir(parents=True, exist_ok=True)
    (pytester.path / folder / "test_checks.py").write_text(
        'import pytest\npytestmark = pytest.mark.check(epic="smoke")\n' + body)


def gate_json(pytester: pytest.Pytester) -> dict:
    return json.loads((pytester.path / "reports" / "gate.json").read_text())


CHECKS = """
@pytest.mark.safe
@pytest.mark.check(severity="critical")
def test_read_only(probe):
    assert probe.get("/api/health").status == 200

@pytest.mark.intrusive
@pytest.mark.check(severity="high")
def test_burst(probe):
    assert probe.get("/").status == 200

@pytest.mark.safe
@pytest.mark.check(severity="medium")
def test_medium_fails(check_record):
    check_record.measure(2600, 2000)
    assert False, "took 2600 ms > budget 2000 ms"
"""


def test_intrusive_checks_are_deselected_and_reported_on_a_target_that_forbids_them(suite: pytest.Pytester) -> None:
    write_checks(suite, CHECKS)
    result = suite.runpytest_subprocess("--target", "prod", "tests")
    result.assert_outcomes(passed=1, failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*intrusive checks NOT allowed*", "*1 intrusive checks deselected*test_burst*"])
    data = gate_json(suite)
    assert data["deselected"] == [{"check": "smoke/test_checks.py::test_burst",
                                   "reason": "intrusive checks are not allowed on target prod"}]
    assert data["counts"]["deselected"] == 1
    assert "1 intrusive checks deselected</strong>" in (suite.path / "reports" / "report.html").read_text()


def test_exit_code_follows_the_gate_level_not_pytest(suite: pytest.Pytester) -> None:
    write_checks(suite, CHECKS)
    below = suite.runpytest_subprocess("--target", "stage", "tests")
    assert below.ret == 0, "a medium failure must not block a gate on high"
    assert gate_json(suite)["verdict"] == "pass"
    failed = gate_json(suite)["failed"]
    assert failed[0]["measured"] == 2600 and failed[0]["budget"] == 2000
    at = suite.runpytest_subprocess("--target", "stage", "--gate-on", "medium", "tests")
    assert at.ret == 1
    assert gate_json(suite)["verdict"] == "fail"


def test_every_option_has_an_environment_equivalent(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    write_checks(suite, CHECKS)
    monkeypatch.setenv("SMOKEGATE_TARGET", "stage")
    monkeypatch.setenv("SMOKEGATE_GATE_ON", "medium")
    monkeypatch.setenv("SMOKEGATE_REPORTS_DIR", "out")
    result = suite.runpytest_subprocess("tests")
    assert result.ret == 1
    assert json.loads((suite.path / "out" / "gate.json").read_text())["gate_on"] == "medium"


def test_a_check_without_markers_is_a_usage_error(suite: pytest.Pytester) -> None:
    write_checks(suite, "def test_unmarked():\n    pass\n")
    (suite.path / "tests" / "test_plain.py").write_text("def test_plain():\n    pass\n")
    result = suite.runpytest_subprocess("--target", "stage", "tests")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_plain: not a smokegate check (no @pytest.mark.check*"])
    result.stderr.fnmatch_lines(["*test_unmarked: check severity must be one of*",
                                 "*test_unmarked: needs exactly one of*safe*intrusive*"])


def test_a_check_is_known_by_its_marker_not_its_folder(suite: pytest.Pytester) -> None:
    write_checks(suite, CHECKS, folder="checks/anywhere")
    result = suite.runpytest_subprocess("--target", "stage", "checks")
    assert result.ret == 0
    ids = {c["check"] for c in gate_json(suite)["checks"]}
    assert ids == {"smoke/test_checks.py::test_read_only", "smoke/test_checks.py::test_burst",
                   "smoke/test_checks.py::test_medium_fails"}


def test_no_target_is_a_usage_error(suite: pytest.Pytester) -> None:
    write_checks(suite, CHECKS)
    result = suite.runpytest_subprocess("tests")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no target chosen: pass --target NAME*"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nope"], "*--target: unknown target 'nope' in *smokegate.toml (known targets: prod, stage)*"),
        (["--target", "prod", "--base-url", "ftp://x"], "*--base-url: not an absolute http(s) URL*"),
        (["--target", "prod", "--gate-on", "severe"], "*--gate-on: 'severe' is not one of critical, high, *"),
    ],
    ids=["unknown-target", "bad-base-url", "bad-gate-level"],
)
def test_bad_invocation_gives_one_clear_error(suite: pytest.Pytester, args: list[str], message: str) -> None:
    write_checks(suite, CHECKS)
    result = suite.runpytest_subprocess(*args, "tests")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_bad_config_writes_a_failing_gate_json_and_no_traceback(suite: pytest.Pytester) -> None:
    write_checks(suite, CHECKS)
    (suite.path / "smokegate.toml").write_text('[targets.prod]\nbase_url = "https://x.test"\ntimeout_s = "soon"\n')
    result = suite.runpytest_subprocess("--target", "prod", "tests")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.startswith("ERROR")]
    assert len(errors) == 1, result.stderr.str()
    assert "smokegate.toml: targets.prod.timeout_s" in result.stderr.str()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    data = gate_json(suite)
    assert data["verdict"] == "error" and data["error_kind"] == "usage"
    assert "targets.prod.timeout_s" in data["reason"]


def test_reports_are_written_with_measured_vs_budget(suite: pytest.Pytester) -> None:
    write_checks(suite, CHECKS)
    suite.runpytest_subprocess("--target", "stage", "tests")
    reports = suite.path / "reports"
    html = (reports / "report.html").read_text()
    assert "2600 ms / budget 2000 ms" in html and "Severity" in html
    assert (reports / "junit.xml").exists()
    assert list((reports / "allure-results").glob("*-result.json"))
    summary = (reports / "summary.md").read_text()
    assert "`smoke/test_checks.py::test_medium_fails`" in summary and "2600 ms / budget 2000 ms" in summary
    results = [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]
    labels = {(lbl["name"], lbl["value"]) for r in results for lbl in r["labels"]}
    assert {("epic", "smoke"), ("severity", "blocker"), ("severity", "normal")} <= labels


def test_github_step_summary_gets_the_summary(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    write_checks(suite, CHECKS)
    step_summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    suite.runpytest_subprocess("--target", "stage", "tests")
    assert "smokegate: PASS" in step_summary.read_text()


def test_a_check_retried_after_a_network_error_is_one_flaky_result(suite: pytest.Pytester) -> None:
    write_checks(suite, """
import pathlib
import httpx

@pytest.mark.safe
@pytest.mark.check(severity="high")
def test_blip():
    marker = pathlib.Path("attempted")
    if not marker.exists():
        marker.write_text("1")
        raise httpx.ConnectError("[Errno 104] Connection reset by peer")
""")
    result = suite.runpytest_subprocess("--target", "stage", "tests")
    assert result.ret == 0, result.stdout.str()
    checks = gate_json(suite)["checks"]
    assert [(c["check"], c["outcome"], c["attempts"]) for c in checks] == [
        ("smoke/test_checks.py::test_blip", "passed", 2)]
    assert checks[0]["details"]["flaky"] is True and gate_json(suite)["counts"]["flaky"] == 1


LEAN_CHECKS = """
import gc

@pytest.mark.safe
@pytest.mark.check(severity="low")
def test_http_check(probe, request):
    assert "_pw_trace_api_requests" not in request.fixturenames, "browser bookkeeping on an HTTP check"
    assert gc.get_freeze_count() > 0, "the run's long-lived objects were not frozen"

@pytest.mark.safe
@pytest.mark.check(severity="low")
def test_browser_check(playwright, request):
    assert "_pw_trace_api_requests" in request.fixturenames, "a browser check lost pytest-playwright's tracing"
"""


def test_a_run_skips_only_work_that_changes_no_result(suite: pytest.Pytester) -> None:
    """smokegate.plugin.lean: HTTP checks lose pytest-playwright's inert fixture, browser checks keep it;
    the heap frozen for the run is unfrozen by the time pytest returns, and frozen again for the
    interpreter's teardown at exit."""
    write_checks(suite, LEAN_CHECKS)
    suite.makeconftest("""
import atexit, gc, pathlib

def record(name):
    return lambda: pathlib.Path(name).write_text(str(gc.get_freeze_count()))

# Exit handlers run last registered first: this one after smokegate's (registered after collection)...
atexit.register(record("frozen-at-teardown"))

def pytest_sessionfinish(session):
    # ...and this one before it, when pytest has returned and cleaned up.
    atexit.register(record("frozen-after-pytest"))
""")
    result = suite.runpytest_subprocess("--target", "prod", "tests")
    result.assert_outcomes(passed=2)
    assert (suite.path / "frozen-after-pytest").read_text() == "0", "the run left the heap frozen"
    assert int((suite.path / "frozen-at-teardown").read_text()) > 0, "the heap was not frozen for the teardown"


def test_a_checks_metadata_is_read_once_and_kept_on_the_item(pytester: pytest.Pytester,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every hook after collection gets the same CheckInfo from the item; the markers are read once."""
    from smokegate.plugin import markers

    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider -p no:smokegate\n")
    items = pytester.getitems(
        'import pytest\n@pytest.mark.check(epic="smoke")\n'
        '@pytest.mark.check(severity="high", feature="health")\ndef test_health():\n    pass\n'
        'def test_not_a_check():\n    pass\n')
    reads: list[str] = []
    read = markers._read_markers

    def counted(item: pytest.Item) -> markers.CheckInfo | None:
        reads.append(item.name)
        return read(item)

    monkeypatch.setattr(markers, "_read_markers", counted)
    first = [markers.check_info(item) for item in items]
    again = [markers.check_info(item) for item in items]
    assert reads == ["test_health", "test_not_a_check"]
    assert first == again and first[0] is again[0]
    assert first[0] is not None and first[1] is None
    assert (first[0].severity, first[0].epic, first[0].feature) == ("high", "smoke", "health")
    assert first[0].id == f"smoke/{items[0].path.name}::test_health"
