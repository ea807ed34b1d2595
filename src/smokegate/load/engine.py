"""Run Locust in a process of its own and read back what its master gathered.

Locust runs on gevent and monkey-patches the standard library as it is imported; the pytest process
drives Playwright and must never be patched.  So the check never imports Locust: it starts
``python -m locust -f smokegate/load/locustfile.py`` as a child, headless, in one of three ways:

* ``local``: one process, Locust's local runner (``--load-processes 1``, the default);
* ``processes``: ``--processes N`` on this machine, a master and N workers forked from it;
* ``master``: a master waiting for ``--load-workers N`` workers started elsewhere
  (``python -m smokegate.load.worker --master-host ...``, or the Kubernetes example in ``deploy/``).

In every mode the gate reads the master's (or the local runner's) merged timeline, ``timeline.json``,
and Locust's own HTML report and CSV files land beside it as evidence.  The child gets a clean
environment for Locust (no ``LOCUST_*`` variables of the caller) and runs in the output directory, so
no ``locust.conf`` of the caller's working directory changes the run.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smokegate.checks.load_timeline import Step, Timeline
from smokegate.failures import CheckFailure, FailureKind
from smokegate.load.plan import Plan
from smokegate.ports import free_port

PLAN_ENV = "SMOKEGATE_LOAD_PLAN"  # the same names as smokegate.load.locustfile (which this never imports)
OUT_ENV = "SMOKEGATE_LOAD_OUT"
RESULT_FILE = "timeline.json"
PID_FILE = "locust.pid"
# What Locust leaves beside the timeline: its own report, statistics and log.
HTML_FILE = "locust.html"
CSV_PREFIX = "locust"
LOG_FILE = "locust.log"
# Past the shape's own length: start-up, workers connecting, the last reports.
GRACE_S = 60.0


@dataclass(frozen=True)
class Distribution:
    """Where the load is generated: processes on this machine, or workers that connect from elsewhere."""

    processes: int = 1
    workers: int = 0
    bind_host: str = "*"
    bind_port: int = 5557
    workers_wait_s: float = 120.0

    @property
    def mode(self) -> str:
        if self.workers:
            return "master"
        return "processes" if self.processes > 1 else "local"

    def describe(self) -> str:
        if self.workers:
            return f"a master with {self.workers} worker(s) connecting to {self.bind_host}:{self.bind_port}"
        return f"{self.processes} generator process(es) on this machine" if self.processes > 1 else "one process"


@dataclass
class RunOutput:
    """What one Locust run left: the master's timeline and the steps as they actually ran."""

    planned: list[Step]
    as_run: list[Step]
    timeline: Timeline
    mode: str
    processes: list[str]
    locust: dict[str, dict[str, int]]
    session_errors: dict[str, int]
    out_dir: Path
    wall_s: float
    returncode: int
    files: dict[str, Path] = field(default_factory=dict)


def locustfile() -> str:
    """The path of smokegate's locustfile, found without importing it (importing it would patch this process)."""
    spec = importlib.util.find_spec("smokegate.load.locustfile")
    if spec is None or spec.origin is None:  # pragma: no cover - it ships with the package
        raise RuntimeError("smokegate.load.locustfile is missing from the installation")
    return spec.origin


def command(plan: Plan, out_dir: Path, dist: Distribution, port: int | None = None) -> list[str]:
    """The Locust command line of one run (``port``: the master's port in ``processes`` mode)."""
    args = [
        sys.executable, "-m", "locust", "-f", locustfile(), "--headless", "--host", plan.base_url,
        "--html", str(out_dir / HTML_FILE), "--csv", str(out_dir / CSV_PREFIX), "--csv-full-history",
        "--only-summary", "--loglevel", "INFO", "--logfile", str(out_dir / LOG_FILE),
        # The gate decides from the timeline; Locust's own exit code would say "some request failed".
        "--exit-code-on-error", "0", "--stop-timeout", "0",
    ]
    if dist.workers:
        args += ["--master", "--master-bind-host", dist.bind_host, "--master-bind-port", str(dist.bind_port),
                 "--expect-workers", str(dist.workers), "--expect-workers-max-wait", f"{dist.workers_wait_s:g}"]
    elif dist.processes > 1:
        # Its own port: two runs on one machine (the self-tests) must not meet on Locust's default 5557.
        chosen = port if port is not None else free_port()
        args += ["--processes", str(dist.processes), "--master-bind-host", "127.0.0.1",
                 "--master-bind-port", str(chosen), "--master-host", "127.0.0.1", "--master-port", str(chosen)]
    return args


def _environment(plan_file: Path, out_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    env[PLAN_ENV] = str(plan_file)
    env[OUT_ENV] = str(out_dir)
    return env


def _tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _as_run(planned: list[Step], recorded: dict[str, dict[str, float]]) -> list[Step]:
    """The steps as they ran, from when the shape switched to each (Locust switches on a one-second tick, and a
    master waits for its workers' reports before the next); the settling time covers its users' start.  When
    its users were all reported running (``ready_s``) is kept in timeline.json: a master learns it a report
    interval late, so it is no measure of when they started."""
    found = []
    for i, step in enumerate(planned):
        seen = recorded.get(str(step.index), {})
        start = float(seen.get("began_s", step.start_s))
        following = recorded.get(str(planned[i + 1].index), {}) if i + 1 < len(planned) else {}
        end = float(following.get("began_s", step.end_s))
        found.append(Step(step.index, step.phase, step.multiple, step.rps, step.users, round(start, 3),
                          round(max(start, end), 3)))
    return found


def run(plan: Plan, out_dir: Path, plan_dir: Path, dist: Distribution,
        started: Callable[[int], None] | None = None) -> RunOutput:
    """Run the plan through Locust in a child process group; raise when Locust could not run it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.iterdir():
        if stale.is_file():
            stale.unlink()
    plan_file = plan_dir / "plan.json"
    plan_file.write_text(plan.to_json(), encoding="utf-8")
    plan_file.chmod(0o600)
    limit = plan.duration_s + GRACE_S + (dist.workers_wait_s if dist.workers else 0.0)
    began = time.monotonic()
    with (out_dir / "locust.out").open("wb") as output:
        process = subprocess.Popen(command(plan, out_dir, dist), cwd=out_dir, env=_environment(plan_file, out_dir),
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    (out_dir / PID_FILE).write_text(str(process.pid))
    if started is not None:
        started(process.pid)
    try:
        code = process.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise RuntimeError(f"Locust did not finish within {limit:.0f} s: {_tail(out_dir / LOG_FILE)}") from None
    except BaseException:
        _stop(process)
        raise
    finally:
        plan_file.unlink(missing_ok=True)
    wall = time.monotonic() - began
    result = out_dir / RESULT_FILE
    if not result.exists():
        log = _tail(out_dir / LOG_FILE) + "\n" + _tail(out_dir / "locust.out")
        if "Gave up waiting for workers" in log:
            raise CheckFailure(FailureKind.TEST_SETUP, (
                f"{dist.workers} load worker(s) were expected at {dist.bind_host}:{dist.bind_port} and did not all "
                f"connect within {dist.workers_wait_s:g} s: nothing was sent (start them with python -m "
                "smokegate.load.worker --master-host HOST)"))
        raise RuntimeError(f"Locust exited with {code} without its timeline: {log}")
    data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    planned = list(plan.steps)
    files = {name: out_dir / name for name in (HTML_FILE, f"{CSV_PREFIX}_stats.csv",
                                               f"{CSV_PREFIX}_stats_history.csv", f"{CSV_PREFIX}_failures.csv",
                                               LOG_FILE) if (out_dir / name).exists()}
    return RunOutput(
        planned=planned, as_run=_as_run(planned, data.get("as_run", {})),
        timeline=Timeline.from_dict(data.get("timeline", {})), mode=str(data.get("mode", dist.mode)),
        processes=list(data.get("processes", [])), locust=dict(data.get("locust", {})),
        session_errors=dict(data.get("session_errors", {})), out_dir=out_dir, wall_s=wall, returncode=code,
        files=files,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop Locust and every process it forked (its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
