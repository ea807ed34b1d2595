"""``smokegate watch``: a long-running monitor that runs the suites on a schedule, per target.

Every run is a real pytest run of the suite (:mod:`smokegate.ops.runner`) with ``--scheduled``:
the same checks, verdict, failure kinds, history record and alerting (N consecutive failures,
reminders, one recovery: :func:`smokegate.ops.finish.finish_run` inside the run) as a run from a
terminal or CI.  The watcher only decides *when* to run, and turns each run's ``gate.json`` into
Prometheus metrics (:mod:`smokegate.ops.metrics`).

Scheduling, per target (one thread each):

- each suite has a fixed grid of planned starts, ``every_s`` apart (``[targets.NAME.watch]``);
  targets are staggered across the interval so twenty health probes do not start at once;
- runs of one target never overlap: when two suites are due, the earlier planned one (health
  first on a tie) runs and the other waits; a run still going when its next start is due
  *overruns*: the missed starts are skipped and reported, never stacked;
- a run still going after its ``timeout_s`` is stopped (its process group gets SIGTERM, then
  SIGKILL); it wrote no verdict, so nothing is recorded and the watcher says so;
- on start, each suite resumes its grid from the latest run of the same target, suite and
  location in the history, so a restart neither repeats nor delays runs; alert state (streaks,
  open incidents) lives in the history anyway.

SIGTERM or SIGINT: no new run starts, the runs in flight finish and are recorded, and the
watcher exits 0.  A second signal stops the runs in flight (nothing half-written: a run is
recorded in one transaction at its end, or not at all).
"""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from smokegate.config import Target
from smokegate.ops.heartbeat import HEARTBEAT_ENV, Heartbeat
from smokegate.ops.history import History, HistoryError, HistorySource, PostgresURL
from smokegate.ops.metrics import WatchMetrics
from smokegate.ops.runner import Runner, RunRequest, make_runner
from smokegate.ops.watch_config import SUITE_NAMES

HEALTH_FEATURES = ("health", "database", "deployment")
STOP_GRACE_S = 5.0
WAIT_STEP_S = 0.5


class WatchSetupError(Exception):
    """An option the watcher cannot start with; the message names the option and its value."""


def metrics_problem(port: int, address: str, exc: OSError | UnicodeError) -> str:
    """Why ``--metrics-port``/``--metrics-address`` cannot serve, naming the option that is wrong."""
    if isinstance(exc, UnicodeError):
        return f"--metrics-address {address!r}: not an address to serve metrics on ({exc})"
    reason = exc.strerror or str(exc)
    if isinstance(exc, socket.gaierror):
        return f"--metrics-address {address!r}: not an address to serve metrics on ({reason})"
    if exc.errno == errno.EADDRINUSE:
        return f"--metrics-port {port}: already in use on {address} (another process listens there; pick another port)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--metrics-address {address!r}: not an address of this machine ({reason})"
    if exc.errno == errno.EACCES:
        return f"--metrics-port {port}: permission denied ({reason}; ports below 1024 need privileges)"
    return f"--metrics-port {port} on --metrics-address {address!r}: cannot serve metrics ({reason})"


@dataclass(frozen=True)
class Suite:
    """What one watch suite runs: test paths (relative to the project) and a marker expression."""

    name: str
    paths: tuple[str, ...]
    marker: str | None = None


# The health suite is chosen by the check marker's feature, so a check added under one of these
# features joins it wherever it lives in the smoke suite.
SUITES: dict[str, Suite] = {
    "health": Suite("health", ("tests/smoke",), " or ".join(f'check(feature="{f}")' for f in HEALTH_FEATURES)),
    "smoke": Suite("smoke", ("tests/smoke",)),
    "security": Suite("security", ("tests/security",), "safe"),  # never the intrusive checks
    "synthetic": Suite("synthetic", ("tests/synthetic",)),
    "providers": Suite("providers", ("tests/providers",)),  # read-only: the providers' APIs and status pages
}


@dataclass
class WatchOptions:
    targets: Mapping[str, Target]
    config: Path
    project_dir: Path
    reports_dir: Path
    history: HistorySource
    location: str
    suites: tuple[str, ...] = SUITE_NAMES
    pytest_args: tuple[str, ...] = ()
    runner: str = "fork"
    metrics_port: int | None = None
    metrics_address: str = "0.0.0.0"
    availability_window_s: float = 86_400.0
    max_parallel: int = 4


@dataclass
class Slot:
    """The schedule of one suite on one target."""

    target: str
    suite: str
    every: float
    timeout: float
    planned: float  # next planned start, Unix time


@dataclass
class RunResult:
    target: str
    suite: str
    run_id: str
    planned: float
    started: float
    finished: float
    exit_code: int | None
    gate: dict[str, Any] | None
    alerts: dict[str, Any] | None
    incomplete: str | None = None  # why no verdict was written, for a person
    incomplete_reason: str | None = None  # the same as a metric label: timeout, stopped, no-verdict

    @property
    def lag(self) -> float:
        return self.started - self.planned

    @property
    def verdict(self) -> str | None:
        return str(self.gate.get("verdict")) if self.gate else None


@dataclass
class _InFlight:
    handles: dict[int, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Watcher:
    """Runs the schedule until :meth:`stop` (or a signal, under :meth:`run`)."""

    def __init__(
        self,
        options: WatchOptions,
        *,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options
        self._print_lock = threading.Lock()
        self._say = say or self._print
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._parallel = threading.Semaphore(max(1, options.max_parallel))
        self._inflight = _InFlight()
        self._history: History | None = None
        self._history_lock = threading.Lock()
        self._history_failed = False
        self.metrics = WatchMetrics(options.location, window_s=options.availability_window_s)
        self.metrics_port: int | None = None
        self._runner: Runner | None = None
        self._threads: list[threading.Thread] = []
        self._signals = 0
        # The dead-man's switch (smokegate.ops.heartbeat): called at start and after every run.
        self.heartbeat = Heartbeat.from_env(os.environ, say=self._say)

    def _print(self, message: str) -> None:
        with self._print_lock:
            print(f"smokegate-watch: {message}", flush=True)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Warm the runner, serve metrics, resume the schedule and start one thread per target."""
        options = self.options
        if os.environ.get("PYTHONDONTWRITEBYTECODE"):
            self._say(
                "PYTHONDONTWRITEBYTECODE is set: pytest cannot cache the modules it rewrites, so every run "
                "compiles them again; unset it for the watcher"
            )
        if options.metrics_port is not None:
            # Before the runner starts: a port or address that cannot serve stops the watcher at once.
            try:
                self.metrics_port = self.metrics.serve(options.metrics_port, options.metrics_address)
            except (OSError, UnicodeError) as exc:  # UnicodeError: a name the resolver cannot even encode
                raise WatchSetupError(metrics_problem(options.metrics_port, options.metrics_address, exc)) from None
            self._say(f"metrics on http://{options.metrics_address}:{self.metrics_port}/metrics")
        self._runner = make_runner(options.runner)
        slots = self._plan(time.time())
        history = options.history if isinstance(options.history, PostgresURL) else options.history.resolve()
        runner = options.runner
        if getattr(self._runner, "plugins_preloaded", False):
            runner += ", pytest plugins preloaded"
        self._say(
            f"watching {', '.join(options.targets)} from {options.location} "
            f"(history {history}, runner {runner}, at most {options.max_parallel} runs at once)"
        )
        if self.heartbeat is not None:
            self._say(f"heartbeat: {HEARTBEAT_ENV} is called at start and after every run")
            self.heartbeat.beat()
        for name, target_slots in slots.items():
            thread = threading.Thread(target=self._target_loop, args=(name, target_slots), name=f"watch-{name}")
            thread.start()
            self._threads.append(thread)

    def run(self) -> int:
        """:meth:`start`, then wait for SIGTERM/SIGINT; returns the exit code."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            if not self._threads:
                self._say("nothing to watch: every suite of every target is disabled")
                return 2
            while any(thread.is_alive() for thread in self._threads):
                for thread in self._threads:
                    thread.join(timeout=WAIT_STEP_S)
        finally:
            self._stop.set()
            for thread in self._threads:
                thread.join()
            self.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self._say("stopped")
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signals += 1
        name = signal.Signals(signum).name
        if self._signals == 1:
            with self._inflight.lock:
                running = len(self._inflight.handles)
            self._say(f"{name}: no new runs; waiting for {running} run(s) in flight to finish (again to stop them)")
            self.stop()
        else:
            self._say(f"{name} again: stopping the runs in flight")
            self.abort()

    def stop(self) -> None:
        """Start no new run; let the runs in flight finish."""
        self._stop.set()

    def abort(self) -> None:
        """Stop the runs in flight too."""
        self._stop.set()
        self._abort.set()

    def close(self) -> None:
        self.metrics.stop()
        if self._runner is not None:
            self._runner.close()
        with self._history_lock:
            if self._history is not None:
                self._history.close()
                self._history = None

    # -- planning -------------------------------------------------------------------------------

    def _plan(self, now: float) -> dict[str, list[Slot]]:
        """Each target's slots; a suite resumes its grid from its latest run in the history."""
        options = self.options
        count = len(options.targets)
        plan: dict[str, list[Slot]] = {}
        for index, (name, target) in enumerate(options.targets.items()):
            slots = []
            for suite in options.suites:
                schedule = target.watch.schedule(suite)
                if not schedule.enabled:
                    continue
                # Spread the targets over the interval: twenty health probes must not start at once.
                planned = now + schedule.every_s * index / count
                last = self._last_started(name, suite)
                if last is not None and last + schedule.every_s > now:
                    planned = last + schedule.every_s
                    self._say(
                        f"{name} {suite}: resuming, last run started {now - last:.1f} s ago, "
                        f"next in {planned - now:.1f} s"
                    )
                slots.append(Slot(name, suite, schedule.every_s, schedule.timeout_s, planned))
            if slots:
                plan[name] = slots
                summary = ", ".join(f"{s.suite} every {s.every:g} s" for s in slots)
                self._say(f"{name}: {summary}")
            else:
                self._say(f"{name}: every suite is disabled in its watch settings; not watched")
        return plan

    def _last_started(self, target: str, suite: str) -> float | None:
        started = self._with_history(lambda h: h.last_started(target, suite=suite, location=self.options.location))
        return started.timestamp() if started is not None else None

    # -- the loop of one target -------------------------------------------------------------

    def _target_loop(self, target: str, slots: list[Slot]) -> None:
        order = {name: index for index, name in enumerate(SUITE_NAMES)}
        finished: dict[str, float] = {}
        while not self._stop.is_set():
            slot = min(slots, key=lambda s: (s.planned, order[s.suite]))
            start = slot.planned
            # gate.json (and so the history) times runs to the whole second, and a stream's runs are
            # ordered by them: never start a run in the second its predecessor finished in.
            if math.floor(start) <= math.floor(finished.get(slot.suite, -1.0)):
                start = math.floor(finished[slot.suite]) + 1.001
            delay = start - time.time()
            if delay > 0 and self._stop.wait(delay):
                break
            ready = time.time()
            if not self._acquire():
                break
            try:
                started = time.time()
                behind = math.floor((started - slot.planned) / slot.every)
                if behind >= 1:
                    # A whole interval late: behind another run of this target, or for a free slot.
                    why = (
                        "waiting for another run of the target"
                        if ready - slot.planned >= slot.every
                        else f"waiting for a free run slot, --max-parallel {self.options.max_parallel}"
                    )
                    self._skip(slot, behind, why)
                    slot.planned += behind * slot.every
                result = self._execute(slot, started)
            finally:
                self._parallel.release()
            finished[slot.suite] = result.finished
            self._finished(slot, result)
            if self.heartbeat is not None:
                self.heartbeat.beat()

    def _acquire(self) -> bool:
        while not self._parallel.acquire(timeout=WAIT_STEP_S):
            if self._stop.is_set():
                return False
        if self._stop.is_set():
            self._parallel.release()
            return False
        return True

    def _skip(self, slot: Slot, count: int, why: str) -> None:
        self.metrics.skipped.labels(slot.target, slot.suite).inc(count)
        self._say(f"{slot.target} {slot.suite}: {count} planned run(s) skipped ({why})")

    def _finished(self, slot: Slot, result: RunResult) -> None:
        due = slot.planned + slot.every
        if result.finished > due:
            late = result.finished - due
            missed = math.floor((result.finished - slot.planned) / slot.every)  # >= 1
            self.metrics.overruns.labels(slot.target, slot.suite).inc()
            self._say(
                f"{slot.target} {slot.suite}: run {result.run_id} overran its {slot.every:g} s interval by "
                f"{late:.1f} s; not stacking runs"
            )
            # The starts planned while it ran are skipped; the next is the first one after it ended.
            self._skip(slot, missed, "the previous run overran")
            slot.planned += (missed + 1) * slot.every
        else:
            slot.planned = due

    # -- one run ----------------------------------------------------------------------------------

    def _execute(self, slot: Slot, started: float) -> RunResult:
        options = self.options
        suite = SUITES[slot.suite]
        run_dir = options.reports_dir / slot.target / slot.suite
        run_dir.mkdir(parents=True, exist_ok=True)
        for stale in ("gate.json", "alerts.json"):
            (run_dir / stale).unlink(missing_ok=True)  # a run that writes none must not be read as this one
        moment = datetime.fromtimestamp(started, UTC)
        run_id = f"{moment:%Y%m%dT%H%M%SZ}-{slot.target}-{slot.suite}-{uuid.uuid4().hex[:8]}"
        args = [
            "-p", "no:cacheprovider", "-q", *suite.paths,
            "--target", slot.target,
            "--smokegate-config", str(options.config),
            "--reports-dir", str(run_dir),
            "--scheduled",
            "--run-id", run_id,
            "--location", options.location,
            "--watch-suite", slot.suite,
        ]  # fmt: skip
        if suite.marker:
            args += ["-m", suite.marker]
        args += options.pytest_args
        history = options.history.url if isinstance(options.history, PostgresURL) else str(options.history)
        request = RunRequest(
            tuple(args),
            cwd=str(options.project_dir),
            log=str(run_dir / "pytest.log"),
            # Through the environment, not the arguments: a PostgreSQL URL may hold a password.
            env={"SMOKEGATE_HISTORY": history},
        )
        lag = started - slot.planned
        self.metrics.lag.labels(slot.target, slot.suite).observe(max(0.0, lag))
        self.metrics.in_progress.inc()
        assert self._runner is not None
        handle = self._runner.start(request)
        with self._inflight.lock:
            self._inflight.handles[handle.pid] = handle
        try:
            code, incomplete, reason = self._wait(handle, slot)
        finally:
            with self._inflight.lock:
                self._inflight.handles.pop(handle.pid, None)
            self.metrics.in_progress.dec()
        finished = time.time()
        gate = _read_json(run_dir / "gate.json")
        alerts = _read_json(run_dir / "alerts.json")
        if alerts is not None and alerts.get("run_id") != run_id:
            alerts = None
        if gate is None and incomplete is None:
            incomplete = f"no verdict written (pytest exit code {code}; see {run_dir / 'pytest.log'})"
            reason = "no-verdict"
        result = RunResult(
            slot.target, slot.suite, run_id, slot.planned, started, finished, code, gate, alerts, incomplete, reason
        )
        self._report(result)
        return result

    def _wait(self, handle: Any, slot: Slot) -> tuple[int | None, str | None, str | None]:
        """(exit code, why the run was stopped, the same as a label); the run's verdict is in gate.json."""
        deadline = time.monotonic() + slot.timeout
        while True:
            code = handle.wait(WAIT_STEP_S)
            if code is not None:
                return code, None, None
            if self._abort.is_set():
                return self._kill(handle), "stopped by a second signal", "stopped"
            if time.monotonic() > deadline:
                return self._kill(handle), f"still going after its {slot.timeout:g} s timeout; stopped", "timeout"

    @staticmethod
    def _kill(handle: Any) -> int | None:
        handle.stop(signal.SIGTERM)
        code = handle.wait(STOP_GRACE_S)
        if code is None:
            handle.stop(signal.SIGKILL)
            code = handle.wait(STOP_GRACE_S)
        return int(code) if code is not None else None

    def _report(self, result: RunResult) -> None:
        metrics = self.metrics
        duration = result.finished - result.started
        head = f"{result.target} {result.suite}"
        planned = datetime.fromtimestamp(result.planned, UTC).strftime("%H:%M:%S.%f")[:-3]
        if result.gate is None:
            metrics.incomplete.labels(result.target, result.suite, result.incomplete_reason or "no-verdict").inc()
            self._say(
                f"{head}: run {result.run_id} incomplete: {result.incomplete} "
                f"(planned {planned}Z, lag {result.lag:.3f} s)"
            )
        else:
            metrics.run_finished(
                target=result.target,
                suite=result.suite,
                gate=result.gate,
                duration_s=duration,
                finished_ts=result.finished,
                alerts=result.alerts,
            )
            counts = result.gate.get("counts", {})
            self._say(
                f"{head}: {result.verdict} in {duration:.2f} s (planned {planned}Z, lag {result.lag:.3f} s; "
                f"{counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed, "
                f"{counts.get('skipped', 0)} skipped; run {result.run_id})"
            )
            for delivery in (result.alerts or {}).get("deliveries", []):
                if delivery.get("channel") == "alert":
                    self._say(f"{head}: {delivery.get('kind')} {delivery.get('status')} ({delivery.get('detail')})")
            self._update_availability(result.target)

    def _update_availability(self, target: str) -> None:
        since = time.time() - self.options.availability_window_s
        figures = self._with_history(lambda h: h.availability(target, location=self.options.location, since_ts=since))
        if figures is not None:
            samples, passing = figures
            self.metrics.set_availability(target, samples=samples, passing=passing)

    def _with_history(self, read: Callable[[History], Any]) -> Any:
        """A read from the watcher's own connection; a broken history is reported, never fatal."""
        with self._history_lock:
            try:
                if self._history is None:
                    self._history = History.open(self.options.history)
                value = read(self._history)
            except (HistoryError, sqlite3.Error, OSError) as exc:
                if not self._history_failed:
                    self._say(f"run history unavailable to the watcher (runs still record and alert): {exc}")
                self._history_failed = True
                if self._history is not None:
                    self._history.close()
                    self._history = None
                return None
            if self._history_failed:
                self._say("run history available again")
                self._history_failed = False
            return value


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
