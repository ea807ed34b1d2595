"""Run the suite as a fresh pytest process without paying interpreter start-up for every run.

The fault matrix runs the suite dozens of times.  A plain ``python -m pytest`` pays for starting
Python and importing pytest's plugins, Playwright, sslyze… each time (about 2 s on a 2-core
machine).  The self-tests use the fork server ``smokegate watch`` uses (:mod:`smokegate.ops.runner`):
it imports all of that once; every run is a process forked from it that calls ``pytest.main`` with
its own working directory, environment and output file.  Each run is still its own process,
started from the same clean server: nothing one run does can leak into the next.
"""

from __future__ import annotations

import atexit
import os
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path

from smokegate.ops.runner import ForkRunner, RunRequest

_runners: dict[tuple[tuple[str, str], ...], ForkRunner] = {}


class RunTimeout(Exception):
    """A run did not finish in time (it was killed)."""


def _runner(base: Mapping[str, str]) -> ForkRunner:
    """One fork server per base environment (one per xdist worker in practice)."""
    key = tuple(sorted(base.items()))
    if key not in _runners:
        runner = _runners[key] = ForkRunner(environ=base)
        atexit.register(runner.close)
    return _runners[key]


def run_pytest(args: Sequence[str], *, cwd: Path, env: dict[str, str], output: Path, timeout: float,
               base: Mapping[str, str] | None = None) -> int:
    """``python -m pytest ARGS`` in ``cwd``; the run's environment is ``base`` plus ``env``."""
    base_env = dict(os.environ if base is None else base)
    extra = {k: v for k, v in env.items() if base_env.get(k) != v}
    handle = _runner(base_env).start(RunRequest(tuple(args), str(cwd), str(output), extra))
    code = handle.wait(timeout)
    if code is None:
        handle.stop(signal.SIGKILL)
        handle.wait(10)
        raise RunTimeout(f"pytest {' '.join(args)} did not finish within {timeout:g} s")
    return code
