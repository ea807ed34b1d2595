"""One smokegate run as pytest hooks: options, the safety guard, reachability, the gate around the checks.

It stays inert until a target is chosen (``--target`` or its env/ini key), so it can be installed
next to other test suites.  On the controller it validates every input before anything is sent
(:mod:`smokegate.preflight`), probes the target once, deselects what the target forbids, gathers
every check's result and writes the one verdict (:mod:`smokegate.gate`); xdist workers receive the
resolved run instead of re-reading files.  The run's state lives in :mod:`smokegate.plugin.run`.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from smokegate import shared
from smokegate.gate import Deselected, GateReport, new_run_id, write_json_atomic
from smokegate.options import Settings
from smokegate.plugin import foreign_options, hookspecs, markers, pytest_options, stopped
from smokegate.plugin import run as runs
from smokegate.plugin.results import PROPERTY, ResultCollector, raised
from smokegate.plugin.run import SmokegateRun
from smokegate.scrub import REPORT_SUFFIXES, SCRUBBER
from smokegate.summary import write_summary

if TYPE_CHECKING:  # the config model (pydantic) loads only when a target is chosen
    from smokegate.config import Target

_ALLURE_SEVERITY = {"critical": "blocker", "high": "critical", "medium": "normal", "low": "minor"}


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    pytest_options.add_options(parser)
    # pytest parses the command line after this; if it refuses it, no other hook of ours runs.
    stopped.watch_command_line(pluginmanager)


# -- configuration: every input checked before anything is sent ---------------------------------


def _stop(config: pytest.Config, settings: Settings, problems: list[str], target: Target | None) -> None:
    """End a run that cannot judge anything: verdict ``error``, gate.json when the reports dir is usable."""
    from smokegate import preflight

    reason = problems[0] if len(problems) == 1 else "\n  ".join(["invalid input:", *problems])
    reports = Path(settings.reports_dir)
    if preflight.reports_dir_problem(reports) is None:
        gate = GateReport(gate_on=settings.gate_on, run_id=settings.run_id or new_run_id(settings.target),
                          target_name=target.name if target else settings.target,
                          base_url=target.base_url if target else settings.base_url,
                          expected_version=settings.expect_version)
        gate.fail_usage(reason)
        html = _html_report_path(config) if foreign_options.html_path(config) else None
        data = stopped.write_stopped(gate, reports, html)
        config.hook.pytest_smokegate_run_finished(config=config, gate=data, reports_dir=reports, target=target,
                                                  settings=settings)
    raise pytest.UsageError(reason)


def _html_report_path(config: pytest.Config) -> Path:
    from smokegate.plugin import html_report

    return html_report.report_path(config)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    stopped.configured(config)
    for marker in markers.MARKERS:
        config.addinivalue_line("markers", marker)
    if runs.is_worker(config):
        data = config.workerinput.get("smokegate")  # type: ignore[attr-defined]
        if data:
            runs.start(config, SmokegateRun.for_worker(data))
            _add_secrets(runs.current(config))
        return
    if not pytest_options.selected(config) or pytest_options.help_only(config):
        return
    from smokegate import preflight

    # Listing checks or fixtures needs the config (its parameters), and is no run: no reports.
    listing = pytest_options.listing(config)
    settings, problems = pytest_options.read(config)
    reports_problem = None if listing else preflight.reports_dir_problem(Path(settings.reports_dir))
    if reports_problem:
        raise pytest.UsageError("\n  ".join([reports_problem, *problems]))
    target: Target | None = None
    if not problems and not listing:
        # First: pytest derives the rootdir, where the config is looked for, from these paths.
        problems = preflight.path_problems(config.args, Path(config.invocation_params.dir),
                                           pyargs=bool(config.option.pyargs))
    if not problems:
        target, problems = preflight.prepare(settings)
    if problems and listing:
        raise pytest.UsageError(problems[0] if len(problems) == 1 else "\n  ".join(["invalid input:", *problems]))
    if problems or target is None:
        _stop(config, settings, problems, target)
        return
    settings = dataclasses.replace(settings, run_id=settings.run_id or new_run_id(target.name))
    gate = GateReport(gate_on=settings.gate_on, run_id=settings.run_id, target_name=target.name,
                      base_url=target.base_url, expected_version=settings.expect_version)
    run = SmokegateRun(settings=settings, target=target, gate=gate,
                       shared_dir=None if listing else shared.make_dir())
    runs.start(config, run)
    if listing:
        return
    config.pluginmanager.register(ResultCollector(gate), "smokegate-results")
    _add_secrets(run)
    _route_reports(config, run)


def _add_secrets(run: SmokegateRun | None) -> None:
    from smokegate.preflight import WEBHOOK_ENVS

    if run is not None:
        SCRUBBER.add_env(*run.target.secret_env, *WEBHOOK_ENVS)
        if run.target.vercel_bypass_env:
            SCRUBBER.add_env(run.target.vercel_bypass_env)


def _route_reports(config: pytest.Config, run: SmokegateRun) -> None:
    """Every report goes to the reports dir unless the user named its path."""
    foreign_options.route_reports(config, run.reports_dir, run.target.base_url,
                                  {"Target": f"{run.target.name} ({run.target.base_url})", "Gate on": run.gate.gate_on})
    if config.pluginmanager.hasplugin("html"):
        from smokegate.plugin import html_report

        html_report.register(config)


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = runs.current(config)
    if run is None or runs.is_worker(config):
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
    run = runs.current(session.config)
    if run is None or runs.is_worker(session.config) or pytest_options.listing(session.config):
        return
    from smokegate.reach import probe_target

    run.reach = probe_target(run.target)
    run.gate.extra_requests += run.reach.requests
    run.gate.version = run.reach.version
    if not run.reach.reachable:
        run.gate.fail_unreachable(run.reach.summary)
    elif run.reach.protection or run.reach.challenge:
        # Vercel's login page or a bot challenge, not the app: nothing can be judged; one message,
        # verdict error, no outage.
        run.gate.fail_usage(_protected_reason(run))


def _protected_reason(run: SmokegateRun) -> str:
    from smokegate import vercel_protection as vercel

    reach, target = run.reach, run.target
    assert reach is not None
    if reach.challenge is not None:
        return (f"{reach.challenge} answered GET {target.health.path} ({reach.status}) instead of the app: no "
                "check can be determined; let the runner through (a firewall rule that skips the challenge for "
                "its address or user agent, or a bypass token)")
    assert reach.protection is not None
    return vercel.protected_reason(reach.protection, target.health.path, target.vercel_bypass_env, reach.bypass_sent)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand the validated run and the reachability result to each worker."""
    run = runs.current(node.config)
    if run is not None:
        node.workerinput["smokegate"] = run.worker_input()


# -- collection: markers and the production-safety guard --------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run = runs.current(config)
    if run is None:
        # Listing fixtures or checks needs no target; running checks does.
        checks = any(markers.check_info(item) for item in items)
        if checks and not pytest_options.listing(config) and not runs.is_worker(config):
            settings, _ = pytest_options.read(config)
            _stop(config, settings, ["no target chosen: pass --target NAME (a target of smokegate.toml; "
                                     "env SMOKEGATE_TARGET)"], None)
        return
    # Each check's metadata is read from its markers here, once, and kept on the item (markers.check_info).
    problems = [problem for item in items for problem in markers.problems(item)]
    if problems:
        raise pytest.UsageError("checks without the markers smokegate needs:\n  " + "\n  ".join(problems))
    # Reachability first: if it fails, its message is the first thing a reader sees.
    items.sort(key=lambda item: not markers.is_reachability(item))
    if run.target.intrusive:
        return
    reason = f"intrusive checks are not allowed on target {run.target.name}"
    dropped = [item for item in items if item.get_closest_marker("intrusive")]
    if dropped and len(dropped) == len(items):
        # Asked for intrusive checks only (pytest tests/load --target production): one message, no verdict
        # about the target, nothing intrusive sent.
        reason = (f"every selected check is intrusive ({len(dropped)}: {_modules(dropped)}) and target "
                  f"{run.target.name} does not allow intrusive checks (intrusive = false in its config): nothing "
                  "intrusive was sent; run them against a target that allows them (staging)")
        run.gate.fail_usage(reason)
        raise pytest.UsageError(reason)
    if dropped:
        keep = [item for item in items if item not in dropped]
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        run.deselected = [
            Deselected(info.id, reason)
            for item in dropped if (info := markers.check_info(item)) is not None
        ]


def _modules(items: list[pytest.Item]) -> str:
    return ", ".join(sorted({item.nodeid.split("::", 1)[0] for item in items}))


def pytest_collection_finish(session: pytest.Session) -> None:
    run = runs.current(session.config)
    if run is None or not run.deselected:
        return
    if runs.is_worker(session.config):
        session.config.workeroutput["smokegate_deselected"] = [  # type: ignore[attr-defined]
            {"check": d.check, "reason": d.reason} for d in run.deselected
        ]
    else:
        run.gate.deselected = list(run.deselected)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    run = runs.current(node.config)
    output = getattr(node, "workeroutput", {}) or {}
    if run is not None and output.get("smokegate_deselected") and not run.gate.deselected:
        run.gate.deselected = [Deselected(**d) for d in output["smokegate_deselected"]]


# -- running checks ----------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    run = runs.current(item.config)
    info = markers.check_info(item)
    if run is None or info is None:
        return
    runs.open_record(item, run)
    try:
        import allure

        dynamic: Any = allure.dynamic
        dynamic.severity(_ALLURE_SEVERITY.get(info.severity, "normal"))
        dynamic.feature(info.feature)
        dynamic.epic(info.epic)
        # Matches the Allure result to its check when the run's failure kinds are added (allure_results).
        dynamic.label("smokegate_check", info.id)
    except ImportError:
        pass
    reach = run.reach
    if reach is not None and (reach.protection or reach.challenge):
        pytest.skip(_protected_reason(run))
    if reach is None or reach.reachable or markers.is_reachability(item):
        return
    # Checks that diagnose the TLS setup itself (sslyze) still run when the handshake is what failed.
    if not (info.diagnoses == "tls" and (reach.reason or "").startswith("TLS handshake failed")):
        pytest.skip(reach.summary)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    """A check that measures the target (``measures=True``) holds the run's measuring lock while it
    sets up and runs, so no burst of another check, in any process of the run, lands in its timings."""
    run = runs.current(item.config)
    info = markers.check_info(item)
    if run is None or info is None or not info.measures:
        return (yield)
    with run.locks.measuring(item.name, best_effort=True):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    run = runs.current(item.config)
    info = markers.check_info(item)
    if run is None or info is None:
        return report
    record = runs.record_of(item)
    data: dict[str, Any] = {
        "check": info.id,
        "severity": info.severity,
        "feature": info.feature,
        "required": info.required,
        "epic": info.epic,
    }
    if record is not None:
        data.update(measured=record.measured, budget=record.budget, unit=record.unit,
                    requests=record.requests, details=record.details)
    if report.failed and call.excinfo is not None:
        data["raised"] = raised(call.excinfo.value)
    # A fresh list: pytest shares item.user_properties between the reports of one test.
    report.user_properties = [*((n, v) for n, v in report.user_properties if n != PROPERTY), (PROPERTY, data)]
    return report


# -- the verdict ---------------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Generator[None, None, None]:
    config = session.config
    run = runs.current(config)
    if run is not None and exitstatus == pytest.ExitCode.USAGE_ERROR and run.gate.error_kind is None:
        # pytest refused an argument while collecting (an -m expression, say): a usage error, said once.
        # Before the other plugins' hooks: the HTML report states the verdict from the same gate.
        error = sys.exc_info()[1]  # pytest calls this hook while that UsageError unwinds
        run.gate.fail_usage(str(error) if isinstance(error, pytest.UsageError) else "pytest refused the command line")
    yield
    if run is None or runs.is_worker(config) or pytest_options.listing(config):
        return  # a listing tested nothing: no verdict, no history, no alert
    gate = run.gate
    runs.settle(gate, exitstatus)
    gate.finalize()
    data = gate.as_dict()
    write_json_atomic(run.reports_dir / "gate.json", data)
    write_summary(gate, run.reports_dir)
    config.hook.pytest_smokegate_run_finished(config=config, gate=data, reports_dir=run.reports_dir,
                                              target=run.target, settings=run.settings)
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = gate.exit_code()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Last line of defence, after pytest-html, JUnit and Allure have written: no secret in any report."""
    run = runs.current(config)
    if run is not None and not runs.is_worker(config) and not pytest_options.listing(config):
        SCRUBBER.tree(run.reports_dir, REPORT_SUFFIXES)
        shared.remove_dir(run.shared_dir)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = runs.current(config)
    if run is None or runs.is_worker(config) or pytest_options.listing(config):
        return
    gate = run.gate
    if gate.deselected:
        terminalreporter.write_line(
            f"smokegate: {len(gate.deselected)} intrusive checks deselected "
            f"({gate.deselected[0].reason}): " + ", ".join(d.check for d in gate.deselected[:8])
            + (" ..." if len(gate.deselected) > 8 else "")
        )
    verdict = gate.verdict
    reason = gate.explanation
    terminalreporter.write_sep(
        "=", f"smokegate verdict: {verdict.upper()}{' — ' + reason if reason else ''} "
             f"({len(gate.blocking)} blocking, gate on {gate.gate_on})",
        green=verdict == "pass", red=verdict == "fail", yellow=verdict == "error", bold=True,
    )
    terminalreporter.write_line(f"reports: {run.reports_dir / 'report.html'} (gate.json, summary.md beside it)")
