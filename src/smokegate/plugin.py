"""The pytest plugin: target selection, the safety guard, reachability, reports and the gate.

It stays inert until a target is chosen (``--target``, ``--base-url`` or their env/ini keys), so
it can be installed next to other test suites.  On the controller it resolves the target once,
probes it once, decides what to deselect, gathers every check's result and writes gate.json;
xdist workers receive the resolved target instead of re-reading the config.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from smokegate import hookspecs, options
from smokegate.config import SEVERITIES, ConfigError, Target, resolve_target
from smokegate.gate import Deselected, GateReport, write_json_atomic
from smokegate.probe import Probe
from smokegate.reach import Reachability, probe_target
from smokegate.reporting import PROPERTY, ResultCollector, scrub_reports, write_summary

pytest_plugins: list[str] = ["smokegate.browser", "smokegate.security.plugin", "smokegate.ops.plugin"]

EPICS = ("smoke", "synthetic", "security")
REACHABILITY_TEST = "test_target_is_reachable"
MARKERS = (
    "check(severity, feature='', required=False, diagnoses=None): a smokegate check; severity is critical, "
    "high, medium or low (the incident scale); required checks block the gate when skipped; "
    "diagnoses='tls' checks still run when the target is unreachable because its TLS handshake fails",
    "safe: a read-only check, fine against production",
    "intrusive: a check that sends load or malformed input; deselected on targets that forbid it",
)
RUN_KEY = pytest.StashKey["SmokegateRun"]()


@dataclass
class SmokegateRun:
    """State of one smokegate run on one process (controller or worker)."""

    target: Target
    gate: GateReport
    reports_dir: Path
    reach: Reachability | None = None
    requests: int = 0
    deselected: list[Deselected] = field(default_factory=list)
    collector: ResultCollector | None = None

    def count_request(self) -> None:
        self.requests += 1


class CheckRecord:
    """What a check measured, for the reports and gate.json; given to tests as ``check_record``."""

    def __init__(self, run: SmokegateRun) -> None:
        self._run = run
        self._start = run.requests
        self.extra_requests = 0
        self.measured: float | None = None
        self.budget: float | None = None
        self.unit: str | None = None
        self.details: dict[str, Any] = {}

    def measure(self, measured: float, budget: float | None, unit: str = "ms", **details: Any) -> None:
        self.measured, self.budget, self.unit = float(measured), budget, unit
        self.details.update(details)
        _allure_attach(
            "measurement",
            {"measured": self.measured, "budget": budget, "unit": unit, **details},
        )

    def add_requests(self, count: int) -> None:
        self.extra_requests += count

    def detail(self, key: str, value: Any) -> None:
        self.details[key] = value

    @property
    def requests(self) -> int:
        return self._run.requests - self._start + self.extra_requests


def _allure_attach(name: str, data: dict[str, Any]) -> None:
    try:
        import allure
    except ImportError:
        return
    allure.attach(json.dumps(data, indent=2, default=str), name=name,
                  attachment_type=allure.attachment_type.JSON)


def _run(config: pytest.Config) -> SmokegateRun | None:
    return config.stash.get(RUN_KEY, None)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


# -- options and configuration ------------------------------------------------------------------


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


def _selected(config: pytest.Config) -> bool:
    return bool(options.resolve(config, "--target") or config.getoption("base_url", None)
                or config.getini("base_url"))


def _fail_before_testing(config: pytest.Config, reason: str, target: Target | None) -> None:
    """Write the verdict of a run that could not start, then stop with one usage error."""
    reports = options.reports_dir(config)
    gate = GateReport(gate_on=options.resolve(config, "--gate-on") or "high", reason=reason,
                      target_name=options.resolve(config, "--target"),
                      base_url=config.getoption("base_url", None))
    gate.finalize()
    reports.mkdir(parents=True, exist_ok=True)
    data = gate.as_dict()
    write_json_atomic(reports / "gate.json", data)
    write_summary(gate, reports)
    config.hook.pytest_smokegate_run_finished(config=config, gate=data, reports_dir=reports, target=target)
    raise pytest.UsageError(reason)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    for marker in MARKERS:
        config.addinivalue_line("markers", marker)
    if _is_worker(config):
        data = config.workerinput.get("smokegate")  # type: ignore[attr-defined]
        if data:
            target = Target.model_validate(data["target"])
            run = SmokegateRun(target=target, gate=GateReport(), reports_dir=Path(data["reports_dir"]))
            run.reach = Reachability.from_dict(data["reach"]) if data.get("reach") else None
            config.stash[RUN_KEY] = run
        return
    if not _selected(config):
        return
    path = options.config_path(config)
    base_url = config.getoption("base_url", None) or config.getini("base_url") or None
    try:
        target = resolve_target(path, options.resolve(config, "--target"), base_url)
        ca_bundle = options.resolve(config, "--ca-bundle")
        if ca_bundle:
            ca_path = "system" if ca_bundle == "system" else str(Path(ca_bundle).resolve())
            target = target.model_copy(update={"ca_bundle": ca_path})
        if target.ca_bundle != "system" and not Path(target.ca_bundle).is_file():
            raise ConfigError(f"{path}: targets.{target.name}.ca_bundle: file not found: {target.ca_bundle}")
    except ConfigError as exc:
        _fail_before_testing(config, str(exc), None)
        return
    reports = options.reports_dir(config)
    reports.mkdir(parents=True, exist_ok=True)
    gate = GateReport(
        gate_on=options.resolve(config, "--gate-on") or "high",
        target_name=target.name,
        base_url=target.base_url,
        expected_version=options.resolve(config, "--expect-version"),
    )
    run = SmokegateRun(target=target, gate=gate, reports_dir=reports)
    run.collector = ResultCollector(gate)
    config.pluginmanager.register(run.collector, "smokegate-results")
    config.stash[RUN_KEY] = run
    # pytest-base-url, pytest-playwright and pytest-html all read the URL from here.
    config.option.base_url = target.base_url
    if not config.getoption("htmlpath", None):
        config.option.htmlpath = str(reports / "report.html")
        config.option.self_contained_html = True
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(reports / "junit.xml")
    if hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
        config.option.allure_report_dir = str(reports / "allure-results")
        config.option.clean_alluredir = True
    try:
        from pytest_metadata.plugin import metadata_key

        config.stash[metadata_key]["Target"] = f"{target.name} ({target.base_url})"
        config.stash[metadata_key]["Gate on"] = gate.gate_on
    except (ImportError, KeyError):
        pass
    if config.pluginmanager.hasplugin("html"):
        from smokegate import html_columns

        config.pluginmanager.register(html_columns, "smokegate-html-columns")


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = _run(config)
    if run is None or _is_worker(config):
        return []
    target = run.target
    lines = [
        f"smokegate target: {target.name} {target.base_url} (CA: {target.ca_bundle}; "
        f"intrusive checks {'allowed' if target.intrusive else 'NOT allowed'}); gate on {run.gate.gate_on}",
    ]
    if run.gate.expected_version:
        lines.append(f"smokegate expected version: {run.gate.expected_version}")
    return lines


def pytest_sessionstart(session: pytest.Session) -> None:
    run = _run(session.config)
    if run is None or _is_worker(session.config) or session.config.option.collectonly:
        return
    run.reach = probe_target(run.target)
    run.gate.extra_requests += run.reach.requests
    run.gate.version = run.reach.version
    if not run.reach.reachable:
        run.gate.reason = f"target unreachable: {run.reach.reason}"
        if run.collector is not None:
            run.collector.unreachable = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand the resolved target and the reachability result to each worker."""
    run = _run(node.config)
    if run is not None:
        node.workerinput["smokegate"] = {
            "target": run.target.model_dump(mode="json"),
            "reports_dir": str(run.reports_dir),
            "reach": run.reach.as_dict() if run.reach else None,
        }


# -- collection: markers and the production-safety guard --------------------------------------


def _epic(item: pytest.Item) -> str | None:
    parts = item.path.parts
    for epic in EPICS:
        if epic in parts and "tests" in parts:
            return epic
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    checks = [item for item in items if _epic(item) is not None]
    if not checks:
        return
    # Reachability first: if it fails, its message is the first thing a reader sees.
    items.sort(key=lambda item: getattr(item, "originalname", "") != REACHABILITY_TEST)
    run = _run(config)
    if run is None:
        raise pytest.UsageError(
            "no target chosen: pass --target NAME (from smokegate.toml) or --base-url URL "
            "(env SMOKEGATE_TARGET / PYTEST_BASE_URL)"
        )
    problems = []
    for item in checks:
        marker = item.get_closest_marker("check")
        safety = [m for m in ("safe", "intrusive") if item.get_closest_marker(m)]
        if marker is None:
            problems.append(f"{item.nodeid}: no @pytest.mark.check(severity=...) marker")
        elif marker.kwargs.get("severity") not in SEVERITIES:
            problems.append(f"{item.nodeid}: severity must be one of {', '.join(SEVERITIES)}")
        if len(safety) != 1:
            problems.append(f"{item.nodeid}: needs exactly one of @pytest.mark.safe / @pytest.mark.intrusive")
    if problems:
        raise pytest.UsageError("checks without the markers smokegate needs:\n  " + "\n  ".join(problems))
    if run.target.intrusive:
        return
    reason = f"intrusive checks are not allowed on target {run.target.name}"
    dropped = [item for item in checks if item.get_closest_marker("intrusive")]
    if dropped:
        keep = [item for item in items if item not in dropped]
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        run.deselected = [Deselected(item.nodeid.split("tests/", 1)[-1], reason) for item in dropped]


def pytest_collection_finish(session: pytest.Session) -> None:
    run = _run(session.config)
    if run is None or not run.deselected:
        return
    if _is_worker(session.config):
        session.config.workeroutput["smokegate_deselected"] = [  # type: ignore[attr-defined]
            {"check": d.check, "reason": d.reason} for d in run.deselected
        ]
    else:
        run.gate.deselected = list(run.deselected)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    run = _run(node.config)
    output = getattr(node, "workeroutput", {}) or {}
    if run is not None and output.get("smokegate_deselected") and not run.gate.deselected:
        run.gate.deselected = [Deselected(**d) for d in output["smokegate_deselected"]]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``site_page`` and ``api_endpoint`` over the target config, with readable ids."""
    run = _run(metafunc.config)
    if run is None:
        return
    for name, entries in (("site_page", run.target.pages), ("api_endpoint", run.target.api)):
        if name in metafunc.fixturenames:
            metafunc.parametrize(name, entries, ids=[entry.name for entry in entries])


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = _run(config)
    if run is None or _is_worker(config):
        return
    gate = run.gate
    if gate.deselected:
        terminalreporter.write_line(
            f"smokegate: {len(gate.deselected)} intrusive checks deselected "
            f"({gate.deselected[0].reason}): " + ", ".join(d.check for d in gate.deselected[:8])
            + (" ..." if len(gate.deselected) > 8 else "")
        )
    verdict = gate.verdict.upper()
    reason = f" — {gate.reason}" if gate.reason else ""
    blocking = len(gate.blocking)
    terminalreporter.write_sep(
        "=", f"smokegate verdict: {verdict}{reason} ({blocking} blocking, gate on {gate.gate_on})",
        green=gate.verdict == "pass", red=gate.verdict != "pass", bold=True,
    )
    terminalreporter.write_line(f"reports: {run.reports_dir / 'report.html'} (gate.json, summary.md beside it)")


# -- running checks ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def smokegate_run(pytestconfig: pytest.Config) -> SmokegateRun:
    run = _run(pytestconfig)
    if run is None:
        raise pytest.UsageError("no target chosen: pass --target NAME or --base-url URL")
    return run


@pytest.fixture(scope="session")
def target(smokegate_run: SmokegateRun) -> Target:
    """The target under test, validated from the config (and --base-url / --ca-bundle)."""
    return smokegate_run.target


@pytest.fixture(scope="session")
def probe(smokegate_run: SmokegateRun) -> Iterator[Probe]:
    """A timed, counted HTTP client for the target, shared by the checks of one worker."""
    with Probe(smokegate_run.target, on_request=smokegate_run.count_request) as client:
        yield client


@pytest.fixture(scope="session")
def reachability(smokegate_run: SmokegateRun) -> Reachability:
    if smokegate_run.reach is None:
        smokegate_run.reach = probe_target(smokegate_run.target)
    return smokegate_run.reach


@pytest.fixture
def check_record(request: pytest.FixtureRequest) -> CheckRecord:
    """Record measured vs budget (and details) for the reports and gate.json."""
    record: CheckRecord = request.node.stash[_RECORD_KEY]
    return record


_RECORD_KEY = pytest.StashKey[CheckRecord]()
_ALLURE_SEVERITY = {"critical": "blocker", "high": "critical", "medium": "normal", "low": "minor"}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    run = _run(item.config)
    if run is None or _epic(item) is None:
        return
    item.stash[_RECORD_KEY] = CheckRecord(run)
    marker = item.get_closest_marker("check")
    try:
        import allure

        dynamic: Any = allure.dynamic
        if marker is not None:
            dynamic.severity(_ALLURE_SEVERITY[marker.kwargs["severity"]])
            dynamic.feature(marker.kwargs.get("feature") or item.path.stem.removeprefix("test_"))
        dynamic.epic(_epic(item) or "")
    except (ImportError, KeyError):
        pass
    reach = run.reach
    if reach is not None and not reach.reachable and item.originalname != REACHABILITY_TEST:  # type: ignore[attr-defined]
        # Checks that diagnose the TLS setup itself (sslyze) still run when the handshake is what failed.
        diagnoses_tls = marker is not None and marker.kwargs.get("diagnoses") == "tls"
        if not (diagnoses_tls and (reach.reason or "").startswith("TLS handshake failed")):
            pytest.skip(f"target unreachable: {reach.reason}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    run = _run(item.config)
    epic = _epic(item)
    if run is None or epic is None:
        return report
    marker = item.get_closest_marker("check")
    kwargs = marker.kwargs if marker is not None else {}
    record = item.stash.get(_RECORD_KEY, None)
    info: dict[str, Any] = {
        "is_check": True,
        "severity": kwargs.get("severity", "high"),
        "feature": kwargs.get("feature") or item.path.stem.removeprefix("test_"),
        "required": bool(kwargs.get("required", False)),
        "epic": epic,
    }
    if record is not None:
        info.update(measured=record.measured, budget=record.budget, unit=record.unit,
                    requests=record.requests, details=record.details)
    # A fresh list: pytest shares item.user_properties between the reports of one test.
    report.user_properties = [*((n, v) for n, v in report.user_properties if n != PROPERTY), (PROPERTY, info)]
    return report


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Generator[None, None, None]:
    yield
    config = session.config
    run = _run(config)
    if run is None or _is_worker(config) or config.option.collectonly:
        return  # a collect-only run tested nothing: no verdict, no history, no alert
    gate = run.gate
    if gate.reason is None:
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            gate.reason = "run interrupted (or checks failed to collect)"
        elif exitstatus == pytest.ExitCode.INTERNAL_ERROR:
            gate.reason = "internal error in the test run"
        elif not gate.checks:
            gate.reason = "no checks ran"
    gate.finalize()
    data = gate.as_dict()
    write_json_atomic(run.reports_dir / "gate.json", data)
    write_summary(gate, run.reports_dir)
    secrets = [value for name in run.target.secret_env if (value := run.target.secret(name))]
    scrub_reports(run.reports_dir, secrets)
    config.hook.pytest_smokegate_run_finished(config=config, gate=data, reports_dir=run.reports_dir,
                                              target=run.target)
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = gate.exit_code()
