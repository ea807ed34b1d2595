"""The load check against the testbed, beyond the fault matrix: production refused before any load, the same
verdict from two generator processes and from workers over the network, a starved generator inconclusive
rather than a finding, and the load report and Locust's own evidence linked from the gate report.

The local target's shape is short (``[targets.local.load]``: 23 s at 5 rps up to 50), so each run is about
half a minute, most of it waiting."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smokegate.load.engine import PID_FILE
from smokegate.ports import free_port
from smokegate.testbed import fake_secrets, faults
from smokegate.testbed.control import RunningTestbed

from .conftest import ROOT, SuiteRun, cli_for, env_for, load_turn, run_suite
from .render_checks import local_links, resolve, secret_hits

pytestmark = pytest.mark.selftest_slow
LOAD = "tests/load"


@pytest.fixture
def one_load_at_a_time() -> Iterator[None]:
    """These runs load the machine as well as the testbed: one at a time (conftest.load_turn)."""
    with load_turn():
        yield


def _failed_exactly(fault: str, run: SuiteRun) -> None:
    expected = set(faults.CATALOG[fault].catches)
    failed = run.with_outcome("failed")
    assert failed == expected, (f"{fault}: missed {sorted(expected - failed)}, false alarms "
                                f"{sorted(failed - expected)}\n{run.output[-3000:]}")
    assert run.gate["verdict"] == "fail", run.gate
    broke = [c["message"] for c in run.gate["failed"] if "it broke " in (c["message"] or "")]
    assert broke, "no failed check named the step where it broke"


def _generator_processes(run: SuiteRun) -> int:
    return max(c["details"].get("generator", {}).get("processes", 0) for c in run.gate["checks"])


def test_production_refuses_the_load_check_before_any_load(healthy_testbed: RunningTestbed, tmp_path: Path) -> None:
    args = ["--target", "production", "--base-url", healthy_testbed.url, "--ca-bundle", healthy_testbed.ca_file]
    run = run_suite([LOAD, *args], tmp_path / "reports", env=env_for(healthy_testbed), timeout=120)
    assert run.returncode == 4, run.output[-2000:]
    assert run.gate["verdict"] == "error" and run.gate["error_kind"] == "usage", run.gate
    assert "every selected check is intrusive" in run.gate["reason"]
    assert "target production does not allow intrusive checks" in run.gate["reason"]
    errors = [line for line in run.output.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, run.output[-2000:]
    assert not (tmp_path / "reports" / "load").exists()
    # The reachability probe's read of /api/health, and nothing of the load.
    assert healthy_testbed.served() <= 2


def test_two_generator_processes_give_the_fault_s_verdict_and_link_their_evidence(
    testbed: RunningTestbed, tmp_path: Path, one_load_at_a_time: None, report_browser: Any
) -> None:
    reports = tmp_path / "reports"
    testbed.set_faults(["load-pool-exhausted"])
    try:
        run = run_suite([LOAD, *cli_for(testbed), "--load-processes", "2"], reports, env=env_for(testbed),
                        timeout=240)
    finally:
        testbed.set_faults([])
    _failed_exactly("load-pool-exhausted", run)
    assert _generator_processes(run) == 3  # the master and two workers reported
    load_dir = reports / "load"
    for name in ("report.html", "locust.html", "locust_stats.csv", "locust_stats_history.csv", "timeline.json"):
        assert (load_dir / name).is_file(), name
    page = (load_dir / "report.html").read_text()
    assert 'data-state="fail"' in page and "it broke " in page
    # Every check's row links the load report and Locust's own, passed or failed, and the links resolve.
    for html, base in ((reports / "report.html", reports), (load_dir / "report.html", load_dir)):
        tab = report_browser.new_page()
        try:
            tab.goto(html.as_uri())
            links = local_links(tab)
        finally:
            tab.close()
        assert all(resolve(href, base).exists() for href in links), links
        if html.parent == reports:
            assert {"load/report.html", "load/locust.html"} <= set(links), links
    # Locust's own report still draws after the run's scrubbing (its bundled script is left whole).
    tab = report_browser.new_page()
    try:
        tab.goto((load_dir / "locust.html").as_uri())
        tab.wait_for_selector("text=page-landing", timeout=15_000)
    finally:
        tab.close()
    issued = [e["token"] for e in testbed.events() if e.get("kind") == "clerk-token-issued"]
    assert not secret_hits([reports], [*issued, *fake_secrets.env().values()])


def test_workers_over_the_network_give_the_fault_s_verdict(testbed: RunningTestbed, tmp_path: Path,
                                                           one_load_at_a_time: None) -> None:
    port = free_port()
    text = (ROOT / "smokegate.toml").read_text().replace(
        "[targets.local.load]\n", f'[targets.local.load]\nmaster_bind_host = "127.0.0.1"\nmaster_bind_port = {port}\n')
    config = tmp_path / "smokegate.toml"
    config.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    workers = [subprocess.Popen([sys.executable, "-m", "smokegate.load.worker", "--master-host", "127.0.0.1",
                                 "--master-port", str(port)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL) for _ in range(2)]
    testbed.set_faults(["load-degrades"])
    try:
        run = run_suite([LOAD, *cli_for(testbed), "--smokegate-config", str(config), "--load-workers", "2"],
                        tmp_path / "reports", env=env_for(testbed), timeout=240)
    finally:
        testbed.set_faults([])
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
        for worker in workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
    _failed_exactly("load-degrades", run)
    assert _generator_processes(run) == 3  # the master and the two workers that connected to it


def test_a_starved_generator_is_inconclusive_never_a_finding(testbed: RunningTestbed, tmp_path: Path,
                                                            one_load_at_a_time: None) -> None:
    """The generator gets the CPU 300 ms of every second (as a CPU-throttled container does) while the target
    degrades under the load: the times over budget may be the generator's own stalls, so they are not
    blamed on the target (a single generator that keeps up fails the same target: the fault matrix)."""
    reports = tmp_path / "reports"
    result: list[SuiteRun] = []
    testbed.set_faults(["load-degrades"])
    runner = threading.Thread(target=lambda: result.append(run_suite(
        [LOAD, *cli_for(testbed)], reports, env=env_for(testbed), timeout=240)))
    runner.start()
    pid_file = reports / "load" / PID_FILE
    stalls = 0
    try:
        while runner.is_alive():
            if not pid_file.exists():
                time.sleep(0.05)
                continue
            with contextlib.suppress(ProcessLookupError, ValueError):
                pid = int(pid_file.read_text())
                os.kill(pid, signal.SIGSTOP)
                time.sleep(0.7)
                os.kill(pid, signal.SIGCONT)
                stalls += 1
            time.sleep(0.3)
        runner.join()
    finally:
        testbed.set_faults([])
    run = result[0]
    assert stalls > 10, run.output[-2000:]
    assert run.gate["verdict"] == "error" and run.gate["error_kind"] == "inconclusive", \
        f"{run.gate.get('verdict')}: {run.outcomes}\n{run.output[-3000:]}"
    assert not [c for c in run.gate["checks"] if c["outcome"] == "failed" and not c["inconclusive"]]
    saturated = [c for c in run.gate["checks"] if c["inconclusive"]]
    assert saturated and all("could not be determined: the load generator saturated: " in c["message"]
                             for c in saturated), saturated
    assert {c["check"] for c in saturated} >= {"load/test_load.py::test_route_p95_within_budget_at_peak[api-plans]"}
