"""Run the suite as a fresh pytest process without paying interpreter start-up for every run.

The fault matrix runs the suite dozens of times.  A plain ``python -m pytest`` pays for starting
Python and importing pytest's plugins, Playwright, sslyze… each time (about 2 s on a 2-core
machine).  Here a fork server imports all of that once; every run is a process forked from it
that calls ``pytest.main`` with the run's own working directory, environment and output file, and
exits.  Each run is still its own process, started clean from the same imported modules: what one
run does (environment, global scrubber, plugin state) cannot leak into the next.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# What every run imports anyway; importing it in the fork server makes each run's start-up cheap.
# smokegate's own pytest plugin modules are left out: pytest rewrites the asserts of the plugins it
# loads, which it can only do for modules not yet imported.  For the preloaded ones its warning
# ("already imported") is silenced in the run: it exists only because of the preloading.
PRELOAD = (
    "pytest", "_pytest.config", "smokegate.config", "smokegate.gate", "smokegate.probe", "smokegate.results",
    "smokegate.ops.finish", "smokegate.checks.tls", "smokegate.checks.webhooks", "smokegate.checks.jwt",
    "pytest_playwright.pytest_playwright", "pytest_html.plugin", "allure_pytest.plugin", "xdist.plugin",
    "pytest_rerunfailures", "pytest_timeout", "pytest_base_url.plugin", "pytest_metadata.plugin",
    "playwright.sync_api", "sslyze", "stripe", "svix.webhooks", "joserfc.jwt", "httpx", "jinja2",
)
_context: Any = None


class RunTimeout(Exception):
    """A run did not finish in time (it was killed)."""


def _fork_context() -> Any:
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([name for name in PRELOAD if _importable(name)])
        _context = context
    return _context


def _importable(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _child(args: list[str], env: dict[str, str], cwd: str, output: str) -> None:
    """In the forked process: become the run (directory, environment, output), run pytest, exit."""
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    import pytest

    try:
        code = int(pytest.main(["-W", "ignore:Module already imported:pytest.PytestAssertRewriteWarning", *args]))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def run_pytest(args: Sequence[str], *, cwd: Path, env: dict[str, str], output: Path, timeout: float) -> int:
    """``python -m pytest ARGS`` in ``cwd`` with exactly ``env``; its output goes to ``output``."""
    process = _fork_context().Process(target=_child, args=(list(args), dict(env), str(cwd), str(output)))
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
        raise RunTimeout(f"pytest {' '.join(args)} did not finish within {timeout:g} s")
    return int(process.exitcode if process.exitcode is not None else -1)
