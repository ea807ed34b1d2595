"""Start one pytest run of the suite in a child process, for ``smokegate watch``.

The watcher never judges anything itself: every run is ``pytest <suite> --target NAME ...``, the
same plugin, checks, gate and history as a run from a terminal or CI.  Two ways to start it:

``fork`` (the default)
    A fork server (:mod:`multiprocessing`'s ``forkserver``) imports pytest and the heavy
    libraries the suite uses (Playwright, sslyze, httpx, pydantic...) once; each run is a fork
    of it that calls ``pytest.main``, skipping the interpreter start and most of the imports that
    dominate a short health run's CPU (``bench/bench_watch.py --compare`` measures both).  Nothing that
    pytest rewrites (a pytest plugin's modules: smokegate's own, pytest-playwright's, anyio's)
    is imported by the server, and the child forgets the ``smokegate`` modules it needed to get
    going, so pytest imports and rewrites them exactly as in a fresh run.
``subprocess``
    ``python -m pytest ...`` in a fresh interpreter per run: slower, nothing shared.

Either way the child runs in its own process group (a terminal's Ctrl-C must not interrupt a run
half-way and record it as failed), with its output in a log file, and the watcher can stop the
whole group (pytest and any browser it started) when a run overstays its timeout.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for
from typing import Any, Protocol

RUNNERS = ("fork", "subprocess")

# Imported once by the fork server (smokegate.ops.warm): what a run imports anyway.  None of these
# is (or imports) a module that pytest marks for assertion rewriting (a pytest plugin's: smokegate,
# pytest-playwright, anyio...): importing one early would make pytest warn and not rewrite it.  A
# self-test checks this list against the installed plugins.
WARM_MODULES = (
    "pytest",
    "_pytest.assertion.rewrite",
    "asyncio",
    "playwright.sync_api",
    "svix",
    "httpx",
    "h11",
    "h2.connection",
    "pydantic",
    "sslyze",
    "cryptography.x509",
    "allure_commons",
    "trustme",
    "requests",
    "urllib3",
    "charset_normalizer",
    "certifi",
    "jinja2",
    "markupsafe",
    "slugify",
    "execnet",
    "packaging.version",
    "psycopg",
    "sqlite3",
    "tomllib",
    "xml.etree.ElementTree",
    "unittest",
    "doctest",
    "pdb",
    "difflib",
    "statistics",
    "werkzeug",
)


@dataclass(frozen=True)
class RunRequest:
    """One pytest run: its arguments, working directory, extra environment and log file."""

    args: tuple[str, ...]
    cwd: str
    log: str
    env: Mapping[str, str] = field(default_factory=dict)


class RunHandle(Protocol):
    pid: int

    def wait(self, timeout: float | None) -> int | None:
        """The exit code, or None if the run is still going after ``timeout`` seconds."""

    def stop(self, sig: int) -> None:
        """Send ``sig`` to the run's whole process group."""


class Runner(Protocol):
    name: str

    def start(self, request: RunRequest) -> RunHandle: ...

    def close(self) -> None: ...


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        # Not (yet) a group of its own: a forked child sets that up first thing.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


# -- a fresh interpreter per run -------------------------------------------------------------------


class _PopenHandle:
    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        self.pid = process.pid

    def wait(self, timeout: float | None) -> int | None:
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig: int) -> None:
        _signal_group(self.pid, sig)


class SubprocessRunner:
    name = "subprocess"

    def start(self, request: RunRequest) -> RunHandle:
        with open(request.log, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "pytest", *request.args],
                cwd=request.cwd,
                env={**os.environ, **request.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return _PopenHandle(process)

    def close(self) -> None:
        return None


# -- forks of a pre-warmed server ------------------------------------------------------------------


def _child_main(args: Sequence[str], cwd: str, env: Mapping[str, str], log: str) -> None:
    """Runs in the forked child: become a fresh pytest run and exit with its code."""
    os.setpgid(0, 0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # stopping runs is the watcher's decision
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the server ignores it (smokegate.ops.warm)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.chdir(cwd)
    os.environ.update(env)
    # Unpickling this function imported smokegate; pytest must import (and rewrite) it itself.
    for name in [n for n in sys.modules if n == "smokegate" or n.startswith("smokegate.")]:
        del sys.modules[name]
    code = 3
    try:
        import pytest

        code = int(pytest.main(list(args)))
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


class _ForkHandle:
    def __init__(self, process: Any, lock: threading.Lock) -> None:
        self._process = process
        self._lock = lock
        self.pid = int(process.pid)

    def wait(self, timeout: float | None) -> int | None:
        # Wait on the sentinel (it does not consume the exit status), then read the status under
        # the runner's lock: multiprocessing polls every child from whichever thread starts one.
        if not wait_for([self._process.sentinel], timeout):
            return None
        with self._lock:
            code = self._process.exitcode
            self._process.close()
        return int(code) if code is not None else 255

    def stop(self, sig: int) -> None:
        _signal_group(self.pid, sig)


class ForkRunner:
    name = "fork"

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("forkserver")
        # "__main__" too: the server imports the main script once, so the forks need not re-run it.
        self._context.set_forkserver_preload(["__main__", "smokegate.ops.warm"])
        self._lock = threading.Lock()
        # Start (and warm) the server now, not on the first run: its import time is paid once.
        from multiprocessing import forkserver

        forkserver.ensure_running()

    def start(self, request: RunRequest) -> RunHandle:
        with self._lock:
            process = self._context.Process(
                target=_child_main,
                args=(request.args, request.cwd, dict(request.env), request.log),
                daemon=False,
            )
            process.start()
        return _ForkHandle(process, self._lock)

    def close(self) -> None:
        return None  # the fork server exits with the watcher


def make_runner(name: str) -> Runner:
    if name == "fork":
        return ForkRunner()
    if name == "subprocess":
        return SubprocessRunner()
    raise ValueError(f"unknown runner {name!r} (one of: {', '.join(RUNNERS)})")
