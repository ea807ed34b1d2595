"""Self-test fixtures: a testbed per xdist worker, and a runner for the suite against it."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smokegate.testbed.control import RunningTestbed

from .suite_runner import run_pytest

ROOT = Path(__file__).resolve().parent.parent
SUITES = ("smoke", "security", "synthetic", "load")


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
    command = ["-q", *(["-p", "no:cacheprovider"] if no_cache else []),
               *(["--reports-dir", str(reports_dir)] if reports_flag else []), *args]
    # The run sees only what the test gives it: no smokegate, pytest, webhook or CI settings of ours.
    ignored = ("SMOKEGATE_", "PYTEST_", "ALERT_", "MONITORING_", "GITHUB_")
    base = {k: v for k, v in os.environ.items() if not k.startswith(ignored)}
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


@pytest.fixture(scope="module")
def report_browser() -> Iterator[Any]:
    """The system Chromium, to open the reports the way a reader does (render self-tests)."""
    from .render_checks import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip(f"no system Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
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


def cli_for(testbed: RunningTestbed) -> list[str]:
    return ["--target", "local", "--base-url", testbed.url, "--ca-bundle", testbed.ca_file,
            "--http-url", testbed.http_url, "--expect-version", testbed.version]


def env_for(testbed: RunningTestbed) -> dict[str, str]:
    """The environment a run against the testbed needs: fake secrets (canaries, webhook keys, Clerk's secret
    key), test account, Vercel's bypass secret and where the testbed's Clerk Backend API answers."""
    from smokegate.testbed import fake_secrets, idp

    return {**fake_secrets.env(), **idp.account_env(), "VERCEL_AUTOMATION_BYPASS_SECRET": testbed.bypass_secret,
            "CLERK_API_URL": testbed.clerk_api_url}


def suite_paths(suites: Sequence[str]) -> list[str]:
    return [f"tests/{suite}" for suite in suites if (ROOT / "tests" / suite).is_dir() and any(
        (ROOT / "tests" / suite).glob("test_*.py"))]
