"""Start one pytest run of the suite in a child process, for ``smokegate watch``.

The watcher never judges anything itself: every run is ``pytest <suite> --target NAME ...``, the
same plugin, checks, gate and history as a run from a terminal or CI.  Two ways to start it:

``fork`` (the default)
    A fork server (:mod:`smokegate.plugin.forkserver`) imports pytest and the heavy libraries the
    suite uses (Playwright, sslyze, httpx, pydantic...) once; each run is a fork of it that calls
    ``pytest.main``, skipping the interpreter start and most of the imports that dominate a short
    health run's CPU (``bench/bench_watch.py --compare`` measures both ways).
``subprocess``
    ``python -m pytest ...`` in a fresh interpreter per run: slower, nothing shared.

Either way the child runs in its own process group (a terminal's Ctrl-C must not interrupt a run
half-way and record it as failed), with its output in a log file, and the watcher can stop the
whole group (pytest and any browser it started) when a run overstays its timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

RUNNERS = ("fork", "subprocess")


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


class _ForkHandle:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.code: int | None = None
        self.ended = threading.Event()

    def wait(self, timeout: float | None) -> int | None:
        return self.code if self.ended.wait(timeout) else None

    def stop(self, sig: int) -> None:
        _signal_group(self.pid, sig)


class ForkRunner:
    """Talks to one :mod:`smokegate.plugin.forkserver` process; restarts it if it ever dies."""

    name = "fork"

    def __init__(self, *, ready_timeout_s: float = 300.0, environ: Mapping[str, str] | None = None) -> None:
        self._ready_timeout_s = ready_timeout_s
        # The server's environment, which every run starts from (the self-tests give a clean one).
        self._environ = None if environ is None else dict(environ)
        self._lock = threading.Lock()  # one request written at a time
        self._state = threading.Lock()  # the tables below, shared with the reader thread
        self._next_id = 0
        self._forked: dict[int, tuple[threading.Event, list[_ForkHandle]]] = {}
        self._running: dict[int, _ForkHandle] = {}
        self._server: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self.plugins_preloaded = False
        with self._lock:
            self._start_server()  # now, not at the first run: the imports are paid once, up front

    def _start_server(self) -> None:
        self._ready = threading.Event()
        server = subprocess.Popen(
            [sys.executable, "-m", "smokegate.plugin.forkserver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
            env=self._environ,
        )
        self._server = server
        threading.Thread(target=self._read, args=(server,), name="forkserver-reader", daemon=True).start()
        if not self._ready.wait(self._ready_timeout_s):
            server.kill()
            raise OSError(f"the fork server was not ready after {self._ready_timeout_s:g} s")

    def _read(self, server: subprocess.Popen[bytes]) -> None:
        assert server.stdout is not None
        for line in server.stdout:
            message = json.loads(line)
            if message.get("ready"):
                self.plugins_preloaded = bool(message.get("plugins_preloaded"))
                self._ready.set()
            elif "id" in message:
                handle = _ForkHandle(int(message["pid"]))
                with self._state:
                    self._running[handle.pid] = handle
                    event, slot = self._forked.pop(int(message["id"]))
                slot.append(handle)
                event.set()
            elif "exit" in message:
                with self._state:
                    ended = self._running.pop(int(message["pid"]), None)
                if ended is not None:
                    ended.code = int(message["exit"])
                    ended.ended.set()
        # The server is gone: whatever it ran can no longer be waited for (255: unknown).
        server.wait()
        with self._state:
            orphans, self._running = list(self._running.values()), {}
            waiting, self._forked = list(self._forked.values()), {}
        for handle in orphans:
            handle.code = 255
            handle.ended.set()
        for event, _slot in waiting:
            event.set()

    def start(self, request: RunRequest) -> RunHandle:
        event, slot = threading.Event(), list[_ForkHandle]()
        with self._lock:
            if self._server is None or self._server.poll() is not None:
                self._start_server()
            assert self._server is not None and self._server.stdin is not None
            self._next_id += 1
            with self._state:
                self._forked[self._next_id] = (event, slot)
            line = {
                "id": self._next_id,
                "args": list(request.args),
                "cwd": request.cwd,
                "env": dict(request.env),
                "log": request.log,
            }
            try:
                self._server.stdin.write((json.dumps(line) + "\n").encode())
                self._server.stdin.flush()
            except OSError as exc:
                raise OSError(f"the fork server is gone: {exc}") from None
        if not event.wait(60) or not slot:
            raise OSError("the fork server did not start the run")
        return slot[0]

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None and server.stdin is not None:
            # Its stdin closing tells the server to exit; runs in flight finish on their own.
            with contextlib.suppress(OSError):
                server.stdin.close()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def make_runner(name: str) -> Runner:
    if name == "fork":
        return ForkRunner()
    if name == "subprocess":
        return SubprocessRunner()
    raise ValueError(f"unknown runner {name!r} (one of: {', '.join(RUNNERS)})")
