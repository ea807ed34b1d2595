"""The ops plugin inside a real pytest run: options, the run-finished hook, and network-only retries."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..conftest import OFFLINE_PROVIDERS

Factory = Callable[..., dict[str, Any]]

CONFTEST = """
import json
import pathlib

import pytest

from smokegate.config import Target

pytest_plugins = ["smokegate.plugin.operations"]


def pytest_addhooks(pluginmanager):
    # The main plugin is blocked (-p no:smokegate) to test this one alone; add its hook spec here.
    from smokegate.plugin import hookspecs
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser):
    # ... and the one options table the main plugin would have added.
    from smokegate.plugin import pytest_options
    pytest_options.add_options(parser)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    # Stand-in for the main plugin: the gate it would have written, then the hook it calls.
    gate = json.loads(pathlib.Path(__file__).with_name("gate.json").read_text())
    from smokegate.plugin import pytest_options

    target = Target(name="production", base_url="https://napoleonai.app", alerts={"timeout_s": 1.0})
    settings, problems = pytest_options.read(session.config)
    assert not problems, problems
    session.config.hook.pytest_smokegate_run_finished(
        config=session.config, gate=gate, reports_dir=pathlib.Path("reports"), target=target, settings=settings
    )
"""

TESTS = """
import pathlib

import httpx


class ReadTimeout(Exception):
    pass


def attempt(name):
    counter = pathlib.Path("attempts") / name
    counter.parent.mkdir(exist_ok=True)
    count = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(count))
    return count


def test_network_blip():
    if attempt("network_blip") == 1:
        raise httpx.ConnectError("[Errno 104] Connection reset by peer")


def test_unreachable_once():
    if attempt("unreachable_once") == 1:
        raise ReadTimeout("napoleonai.app did not answer in time")


def test_threshold_failure():
    attempt("threshold_failure")
    assert 2600 <= 2000, "page-home 2600 ms > budget 2000 ms (ConnectError mentioned only in the message)"
"""


def _suite(tmp_path: Path, gate: dict[str, object]) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_checks.py").write_text(textwrap.dedent(TESTS))
    (tmp_path / "gate.json").write_text(json.dumps(gate))
    return tmp_path


def _pytest(cwd: Path, *args: str, env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("SMOKEGATE_", "PYTEST_", "ALERT_", "MONITORING_"))
    }
    environment.update(OFFLINE_PROVIDERS)  # a failing run's incident reads no real status page
    environment.update(env)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:smokegate", "-p", "no:cacheprovider", "-rA", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )
    return done, time.monotonic() - started


def _attempts(cwd: Path) -> dict[str, int]:
    return {p.name: int(p.read_text()) for p in sorted((cwd / "attempts").iterdir())}


def test_network_errors_are_retried_once_and_assertions_never(
    tmp_path: Path, hanging_url: str, gate_factory: Factory, check_factory: Factory
) -> None:
    gate = gate_factory(checks=[check_factory("page-home", "failed", severity="critical")])
    cwd = _suite(tmp_path, gate)
    done, elapsed = _pytest(cwd, env={"SMOKEGATE_TARGET": "production", "ALERT_WEBHOOK_URL": hanging_url})
    output = done.stdout + done.stderr

    assert done.returncode == 1, output  # one real failure; the hook changed nothing
    assert _attempts(cwd) == {"network_blip": 2, "threshold_failure": 1, "unreachable_once": 2}
    assert "1 failed, 2 passed, 2 rerun" in output, output
    # The alert webhook hangs; the configured 1 s budget bounds it (plus two 1 s rerun pauses).
    assert "smokegate-ops: alert webhook (ALERT_WEBHOOK_URL): alert FAILED" in output, output
    assert hanging_url not in output
    # What bounds the hang is the delivery's own time, measured by the run (a hang past it would also
    # trip the subprocess's timeout); the whole run's wall time follows the machine's load (20.9 s of a
    # run whose delivery took its 1 s at load 10), so it is reported, not asserted.
    alerts = json.loads((cwd / "reports" / "alerts.json").read_text())
    assert alerts["deliveries"][0]["elapsed_s"] < 1.6, f"delivery took {alerts['deliveries'][0]['elapsed_s']} s " \
                                                       f"(whole run {elapsed:.1f} s)"
    assert (cwd / "reports" / "incident.md").is_file()
    with sqlite3.connect(cwd / "reports" / "history.sqlite") as db:
        assert db.execute("SELECT target, verdict, scheduled FROM runs").fetchall() == [("production", "fail", 0)]


def test_options_from_the_environment_and_no_network_retry(
    tmp_path: Path, gate_factory: Factory, check_factory: Factory
) -> None:
    gate = gate_factory(checks=[check_factory("page-home", "failed", severity="critical")])
    cwd = _suite(tmp_path, gate)
    history = tmp_path / "elsewhere" / "runs.sqlite"
    done, _ = _pytest(
        cwd,
        "--no-network-retry",
        "--run-id",
        "run-42",
        env={"SMOKEGATE_TARGET": "production", "SMOKEGATE_HISTORY": str(history), "SMOKEGATE_SCHEDULED": "1"},
    )
    output = done.stdout + done.stderr

    assert done.returncode == 1, output
    assert _attempts(cwd) == {"network_blip": 1, "threshold_failure": 1, "unreachable_once": 1}
    assert "smokegate-ops: alerting: no message (1 of 2 consecutive failing runs: alert held back)" in output
    assert f"smokegate-ops: run run-42 recorded in {history}" in output
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT run_id, scheduled FROM runs").fetchall() == [("run-42", 1)]


def test_retries_stay_off_when_no_target_is_chosen(tmp_path: Path, gate_factory: Factory) -> None:
    cwd = _suite(tmp_path, gate_factory())
    done, _ = _pytest(cwd, "--no-history", env={})
    assert done.returncode == 1
    assert _attempts(cwd) == {"network_blip": 1, "threshold_failure": 1, "unreachable_once": 1}
    assert not (cwd / "reports" / "history.sqlite").exists()


def test_help_lists_the_ops_options(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    listed = {
        flag
        for flag in ("--history", "--scheduled", "--run-id", "--no-network-retry", "--no-history")
        if flag in done.stdout
    }
    assert listed == {"--history", "--scheduled", "--run-id", "--no-network-retry", "--no-history"}
    for ini in ("smokegate_history", "smokegate_scheduled", "smokegate_run_id", "smokegate_no_network_retry"):
        assert ini in done.stdout
