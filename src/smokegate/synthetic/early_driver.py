"""Playwright's Node driver, started while pytest still gets ready, for a run that will open a browser.

The driver is a Node program; starting it takes 0.27-0.3 s on 2 cores, and the browser checks'
first fixture (``playwright``) starts it only when the first of them begins.  Started as soon as the
run knows its target (and with it the CA the driver's own HTTP client must trust), it comes up on
the other core while pytest still probes the target and collects the checks, and the ``playwright``
fixture finds it ready.

Whether a run will open a browser is known only after collection, so the guess is the last run's
with the same selection (the same paths, ``-m`` and ``-k``), kept as a file per selection in
smokegate's cache.  A wrong guess costs a driver stopped at the end of collection, or the usual
start.  The fixture hands the started driver to Playwright through Playwright's own pipe transport
(:class:`AdoptingTransport`); where this Playwright's internals are not the ones expected, or the
driver died meanwhile, Playwright starts its own as usual and the early one is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import pytest
from playwright._impl import out_of_process
from playwright._impl._driver import compute_driver_executable, get_driver_env
from playwright._impl.transport import PipeTransport

from smokegate.cache import cache_dir
from smokegate.cpus import usable_cpus
from smokegate.run import is_worker

if TYPE_CHECKING:
    from playwright.sync_api import Playwright


def worth_it_here(config: pytest.Config) -> bool:
    """A process that runs checks (not xdist's controller), with a second CPU to start the driver on."""
    controller = not is_worker(config) and bool(getattr(config.option, "numprocesses", None))
    return not controller and usable_cpus() >= 2


class Guess:
    """Whether the last run with this selection opened a browser (a file per selection)."""

    def __init__(self, config: pytest.Config, directory: Path | None = None) -> None:
        selection = {
            "dir": str(config.invocation_params.dir),
            "args": [str(arg) for arg in config.args],
            "markexpr": config.getoption("markexpr", ""),
            "keyword": config.getoption("keyword", ""),
        }
        key = hashlib.sha256(json.dumps(selection, sort_keys=True).encode()).hexdigest()[:32]
        self.path = (directory or cache_dir("browser-runs")) / key

    def expected(self) -> bool:
        return self.path.exists()

    def record(self, opened_browser: bool) -> None:
        """Remember this run's answer; a cache that cannot be written is skipped."""
        with contextlib.suppress(OSError):
            if opened_browser:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.touch()
            else:
                self.path.unlink(missing_ok=True)


class EarlyDriver:
    """One driver process started ahead of the ``playwright`` fixture, or none."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.adopted_pid: int | None = None
        self._env: dict[str, str] = {}

    def spawn(self) -> None:
        """Start the driver as Playwright starts it: its command, and the environment as of now."""
        executable, cli = compute_driver_executable()
        self._env = get_driver_env()
        with contextlib.suppress(OSError):  # Playwright's own start will say why
            self.proc = subprocess.Popen([executable, cli, "run-driver"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, env=self._env)

    @property
    def current(self) -> bool:
        """Is a driver running, started with the very environment Playwright would give it now?"""
        return self.running and self._env == get_driver_env()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Stop a driver nobody adopted: closing its input ends it (killed if it lingers)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=2)
        if proc.stdout is not None:
            proc.stdout.close()

    def start_playwright(self) -> Playwright:
        """``sync_playwright().start()``, on the early driver while it still runs."""
        from playwright.sync_api import sync_playwright

        proc = self.proc if self.running else None
        if proc is None:
            self.stop()
            return sync_playwright().start()
        with adopting(proc):
            playwright = sync_playwright().start()
        if AdoptingTransport.adopted is proc:
            self.proc, self.adopted_pid = None, proc.pid  # Playwright owns it now, and stops it
        else:
            self.stop()
        AdoptingTransport.proc = AdoptingTransport.adopted = None
        return playwright


@contextlib.contextmanager
def adopting(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """Playwright's out-of-process client makes its pipe transport on ``proc``, already running."""
    if getattr(out_of_process, "PipeTransport", None) is not PipeTransport:
        yield  # not the Playwright this was written for: it starts its own driver
        return
    AdoptingTransport.proc, AdoptingTransport.adopted = proc, None
    setattr(out_of_process, "PipeTransport", AdoptingTransport)  # noqa: B010 - mypy: not an exported name
    try:
        yield
    finally:
        setattr(out_of_process, "PipeTransport", PipeTransport)  # noqa: B010 - mypy: not an exported name


class AdoptingTransport(PipeTransport):
    """Playwright's pipe transport, on the pipes of a driver started earlier (once)."""

    proc: ClassVar[subprocess.Popen[bytes] | None] = None
    adopted: ClassVar[subprocess.Popen[bytes] | None] = None

    async def connect(self) -> None:
        proc = AdoptingTransport.proc
        AdoptingTransport.proc = None
        if proc is None or proc.poll() is not None or proc.stdin is None or proc.stdout is None:
            await super().connect()
            return
        # What PipeTransport.connect() sets up, on the pipes of the process already running.
        self._stopped_future: asyncio.Future[None] = asyncio.Future()
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=32768, loop=loop)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), proc.stdout)
        write_transport, write_protocol = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader(loop=loop), loop=loop), proc.stdin)
        writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
        self._proc = _Process(proc, reader, writer)  # type: ignore[assignment]
        self._output = writer
        AdoptingTransport.adopted = proc


class _Process:
    """The parts of ``asyncio.subprocess.Process`` the pipe transport uses, for a process it did not start."""

    def __init__(self, proc: subprocess.Popen[bytes], stdout: asyncio.StreamReader,
                 stdin: asyncio.StreamWriter) -> None:
        self._popen = proc
        self.stdout = stdout
        self.stdin = stdin
        self.pid = proc.pid

    async def communicate(self) -> tuple[None, None]:
        # Called once the driver has closed its output: it is exiting.
        while self._popen.poll() is None:
            await asyncio.sleep(0.005)
        return None, None
