"""Self-test fixtures: a testbed per xdist worker, a runner for the suite against it, and the loopback guard.

Every self-test process, and every suite run it makes, runs under the loopback guard
(:mod:`smokegate.testbed.loopback`): a lookup or connection past loopback is refused, and the test
during which it happened fails, naming it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smokegate.testbed import control, loopback
from smokegate.testbed.control import RunningTestbed

from .suite_runner import run_pytest

ROOT = Path(__file__).resolve().parent.parent
SUITES = ("smoke", "security", "synthetic", "providers", "load")
# No self-test reaches a real provider.  A failing run reads the providers' status pages for its incident
# (smokegate.ops.attribution), and a config without a [providers] section names the real ones: every run
# a self-test starts gets these loopback addresses, where nothing listens, unless it is given the testbed's
# stand-ins (env_for).  Set here for the in-process runs too (pytester).
OFFLINE_PROVIDERS = {
    **{f"SMOKEGATE_STATUS_{name}_URL": f"https://127.0.0.1:1/{name.lower()}"
       for name in ("VERCEL", "SUPABASE", "OPENAI", "STRIPE", "CLERK")},
    **{f"SMOKEGATE_{name}_API_URL": "https://127.0.0.1:1" for name in ("VERCEL", "SUPABASE", "STRIPE")},
}
os.environ.update(OFFLINE_PROVIDERS)


@dataclass
class SuiteRun:
    """One run of the suite: its exit code, output, and gate.json."""

    returncode: int
    output: str
    gate: dict[str, Any]
    reports_dir: Path

    @property
    def outcomes(self) -> dict[str, str]:
        return {check["check"]: check["outcome"] for check in self.gate.get("checks", [])}

    def with_outcome(self, outcome: str) -> set[str]:
        return {check for check, result in self.outcomes.items() if result == outcome}

    def message(self, check: str) -> str:
        return next((c["message"] or "" for c in self.gate["checks"] if c["check"] == check), "")


def run_suite(
    args: Sequence[str], reports_dir: Path, *, env: dict[str, str] | None = None, timeout: float = 600,
    reports_flag: bool = True, no_cache: bool = True,
) -> SuiteRun:
    """Run pytest on the suite in a fresh process, as CI and QA do, and read its gate.json.

    The process is forked from a server that has already imported pytest and the suite's
    libraries (``suite_runner``), so a run costs what the checks cost, not a Python start-up.
    """
    command = ["-q", *(["-p", "no:cacheprovider"] if no_cache else []), "-p", "smokegate.testbed.loopback",
               *(["--reports-dir", str(reports_dir)] if reports_flag else []), *args]
    # The run sees only what the test gives it: no smokegate, pytest, webhook or CI settings of ours.
    ignored = ("SMOKEGATE_", "PYTEST_", "ALERT_", "MONITORING_", "GITHUB_")
    base = {**{k: v for k, v in os.environ.items() if not k.startswith(ignored)}, **OFFLINE_PROVIDERS}
    with tempfile.NamedTemporaryFile(prefix="smokegate-run-", suffix=".log", delete=False) as log:
        output = Path(log.name)
    try:
        code = run_pytest(command, cwd=ROOT, env=dict(env or {}), output=output, timeout=timeout, base=base)
        text = output.read_text(errors="replace")
    finally:
        output.unlink(missing_ok=True)
    gate_file = reports_dir / "gate.json"
    gate = json.loads(gate_file.read_text()) if gate_file.exists() else {}
    return SuiteRun(code, text, gate, reports_dir)


def pytest_configure(config: pytest.Config) -> None:
    # One log per process (each xdist worker its own): the suite runs a worker forks inherit it.
    os.environ[loopback.LOG_ENV] = str(Path(tempfile.gettempdir()) / f"smokegate-loopback-{os.getpid()}.jsonl")
    Path(os.environ[loopback.LOG_ENV]).unlink(missing_ok=True)
    loopback.install()


@pytest.fixture(autouse=True)
def stays_on_loopback() -> Iterator[None]:
    """Fails the test during which this process, or a suite run it made, reached past loopback."""
    path = os.environ[loopback.LOG_ENV]
    _, offset = loopback.read_log(path)
    yield
    refused, _ = loopback.read_log(path, offset)
    if refused:
        pytest.fail("reached past loopback: " + "; ".join(f"{r['event']} {r['target']} from {r['where'][-1:]}"
                                                          for r in refused[:5]), pytrace=False)


def start_testbed_script(script: str, state: Path, log: Path,
                         timeout_s: float) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    """Run ``script`` (``python -c``: a testbed's main with something patched) on ``state`` with free ports,
    its output in ``log``, and wait for the testbed.json it writes once up; the caller stops the process."""
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-c", script, "--state-dir", str(state),
                                    "--https-port", "0", "--http-port", "0"], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while (info := control.read_json(state / control.STATE_FILE)) is None:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(timeout=10)
            pytest.fail(f"the testbed did not start: {log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.05)
    return process, info


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port where a connection is refused, for the whole test: bound and never listening. Closed
    at once, its number could be given to another process's bind(0) or outgoing connection meanwhile (a
    testbed's, a run's), and the 'refused' test then met an answer."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


@pytest.fixture(scope="module")
def report_browser() -> Iterator[Any]:
    """A system Chromium, to open the reports the way a reader does (render self-tests)."""
    from smokegate.synthetic.browser import NoBrowser

    from .render_checks import CHROMIUM_ARGS, chromium

    try:
        executable = chromium()
    except NoBrowser as missing:
        pytest.skip(str(missing))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTestbed]:
    """One testbed per xdist worker; tests switch its faults and must leave them off."""
    with RunningTestbed.start(tmp_path_factory.mktemp("testbed")) as running:
        yield running


@pytest.fixture
def healthy_testbed(testbed: RunningTestbed) -> Iterator[RunningTestbed]:
    testbed.set_faults([])
    yield testbed
    testbed.set_faults([])


@pytest.fixture(scope="session")
def next_testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTestbed]:
    """One real Next.js testbed (next start behind nginx) per xdist worker that asks for it."""
    from smokegate.testbed import realnext

    problem = realnext.not_ready()
    if problem:
        pytest.fail(f"the real Next.js testbed cannot start: {problem}", pytrace=False)
    with RunningTestbed.start(tmp_path_factory.mktemp("nextjs-testbed"), kind="next", timeout_s=90) as running:
        yield running


@pytest.fixture
def healthy_next_testbed(next_testbed: RunningTestbed) -> Iterator[RunningTestbed]:
    next_testbed.set_faults([])
    yield next_testbed
    next_testbed.set_faults([])


def cli_for(testbed: RunningTestbed) -> list[str]:
    target = "local-next" if testbed.kind == "next" else "local"
    return ["--target", target, "--base-url", testbed.url, "--ca-bundle", testbed.ca_file,
            "--http-url", testbed.http_url, "--expect-version", testbed.version]


def env_for(testbed: RunningTestbed) -> dict[str, str]:
    """The environment a run against the testbed needs: fake secrets (canaries, webhook keys, Clerk's secret
    key), test account, Vercel's bypass secret, where the testbed's Clerk Backend API and OSV stand-in answer,
    and the provider stand-ins' tokens and URLs.

    The real Next.js testbed has no Clerk, identity provider or Vercel protection: its runs get the
    secrets without Clerk's secret key, and no account or bypass secret (smokegate.toml, local-next);
    nor the provider stand-ins (their checks are judged on the Python testbed); its OSV stand-in's URL."""
    from smokegate.testbed import fake_secrets, idp
    from smokegate.testbed import providers as provider_apis

    if testbed.kind == "next":
        return {**{k: v for k, v in fake_secrets.env().items() if k != "CLERK_SECRET_KEY"},
                "OSV_API_URL": str(testbed.info["osv_api_url"])}
    return {**fake_secrets.env(), **idp.account_env(), "VERCEL_AUTOMATION_BYPASS_SECRET": testbed.bypass_secret,
            "CLERK_API_URL": testbed.clerk_api_url, "OSV_API_URL": testbed.clerk_api_url,
            **provider_apis.environment(testbed.provider_urls)}


def suite_paths(suites: Sequence[str]) -> list[str]:
    return [f"tests/{suite}" for suite in suites if (ROOT / "tests" / suite).is_dir() and any(
        (ROOT / "tests" / suite).glob("test_*.py"))]


def sends_load_peak(nodeid: str) -> bool:
    """The self-tests that send the load check's peak (each takes load_turn): the load check's own runs, its
    healthy run, and the load faults of the fault matrix."""
    from smokegate.testbed import faults

    name = nodeid.rsplit("/", 1)[-1]
    load_faults = {f.name for f in faults.CATALOG.values() if any(c.startswith("load/") for c in f.catches)}
    return (name.startswith("test_load_run.py::")
            or name == "test_fault_matrix.py::test_healthy_testbed_passes_the_load_check"
            or any(name == f"test_fault_matrix.py::test_fault_fails_exactly_its_checks[{f}]" for f in load_faults))


# Modules whose tests read one costly module-scoped run: sent whole to one worker, or each worker that got one
# of their tests would make the run again (the traced run behind protection is a whole suite with tracing).
ONE_UNIT_MODULES = ("synthetic/test_no_secret_in_artifacts.py", "test_bad_network.py")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under xdist (make selftest: -n), the self-tests sending the load peak are one unit of work that one worker
    runs from the start, one after the other, while the others go on; every other self-test is sent on its own
    to whichever worker is free.  Without it three workers could wait on load_turn's lock at once, and the
    last peaks run alone at the end of the run.  (xdist's own ``--dist loadgroup`` learns groups from a node
    id suffix pytest 9 no longer lets it write: smokegate.plugin.distribute.)"""
    if config.getvalue("dist") not in ("load", "loadgroup"):
        return None
    from xdist.scheduler.loadscope import LoadScopeScheduling

    class SelftestScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            # xdist orders units by their number of tests, largest first: these units start first.
            if sends_load_peak(nodeid):
                return "load-peak"
            module = nodeid.split("::", 1)[0]
            return module if module.endswith(ONE_UNIT_MODULES) else nodeid

    return SelftestScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The self-tests that run whole suites first (longest first keeps a run's tail short on few cores;
    the short ones fill the gaps at the end).  A stable sort: a module's tests stay together."""
    items.sort(key=lambda item: item.get_closest_marker("selftest_slow") is None)


@contextlib.contextmanager
def load_turn() -> Iterator[None]:
    """One self-test that sends the load check's peak at a time, across the xdist workers (other self-tests go
    on meanwhile): two peaks at once on two cores slow each other's testbed, and the p95 checks would
    measure that, not the fault.  (Under xdist they are one unit of work already, sends_load_peak; the lock
    holds for any other way of running them.)"""
    lock = Path(tempfile.gettempdir()) / f"smokegate-selftest-load-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:8]}"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
