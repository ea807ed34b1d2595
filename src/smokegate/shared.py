"""What the processes of one run share: a private directory, and the locks that keep checks apart.

Under xdist a run is several processes (the controller and its workers); without it, one.  The
controller makes one directory per run (``SmokegateRun.shared_dir``, mode 0700, removed when the run
ends) and hands its path to the workers; what must happen once per run, or must not overlap across
processes, goes through it:

- :meth:`RunLocks.load` / :meth:`RunLocks.measuring`: checks that *load* the target (the rate-limit
  burst, the error-rate burst) exclude checks that *measure* it (latency samples, page loads), which
  may share the target among themselves.  A load waiting for its turn keeps new measurements out,
  so it is never starved.
- :meth:`RunLocks.window`: while the rate-limit run holds a route's window (from its burst until the
  limit is seen to lift), other checks' requests to that route wait; they would only get its 429.
- :func:`once`: a result computed by exactly one process of the run and read by the others.

The locks are ``flock(2)`` locks on files of that directory (Linux and macOS), polled with a
deadline: every wait is bounded, and a process that dies releases what it held.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from smokegate.failures import Inconclusive

T = TypeVar("T")
POLL_S = 0.01
# Longest a check waits for another check to leave the target alone (a burst is capped and each of
# its requests has a timeout, so this is only reached when something is badly wrong).
DEFAULT_WAIT_S = 120.0


def make_dir() -> Path:
    """A fresh directory for one run, readable by this user only."""
    return Path(tempfile.mkdtemp(prefix="smokegate-run-"))


def remove_dir(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def private_dir(prefix: str) -> Iterator[Path]:
    """A directory this user alone can read (mkdtemp makes it 0700), outside reports/, removed after use:
    for files holding a live session (a browser's storage state, the load plan)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        remove_dir(path)


@contextlib.contextmanager
def flocked(path: Path, exclusive: bool, wait_s: float, what: str, best_effort: bool = False) -> Iterator[None]:
    """Hold an flock on ``path`` (shared or exclusive), waiting at most ``wait_s`` for it.

    Past the wait: :class:`Inconclusive`, or, ``best_effort``, go on without the lock.
    """
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    if best_effort:
                        break
                    raise Inconclusive(f"{what}: another check kept the target busy for over {wait_s:.0f} s") from None
                time.sleep(POLL_S)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class Held:
    """An exclusive lock taken now and released later, possibly by another thread."""

    def __init__(self, path: Path, wait_s: float, what: str) -> None:
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(flocked(path, True, wait_s, what))

    def release(self) -> None:
        self._stack.close()


class RunLocks:
    """The run's locks, on files in its shared directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _file(self, name: str) -> Path:
        return self.directory / f"{name}.lock"

    @contextlib.contextmanager
    def load(self, what: str, wait_s: float = DEFAULT_WAIT_S) -> Iterator[None]:
        """Send load to the target with no measurement running anywhere in the run."""
        # The turnstile, held while waiting, stops new measurements from starting: no starvation.
        with flocked(self._file("turnstile"), True, wait_s, what), flocked(self._file("quiet"), True, wait_s, what):
            yield

    @contextlib.contextmanager
    def measuring(self, what: str, wait_s: float = DEFAULT_WAIT_S, best_effort: bool = False) -> Iterator[None]:
        """Measure the target while no check loads it (other measurements may run beside this one)."""
        with flocked(self._file("turnstile"), False, wait_s, what, best_effort):
            pass
        with flocked(self._file("quiet"), False, wait_s, what, best_effort):
            yield

    def hold_window(self, route: str, what: str, wait_s: float = DEFAULT_WAIT_S) -> Held:
        """Take ``route``'s rate-limit window; :meth:`Held.release` when the limit has lifted."""
        return Held(self._file(_slug("window", route)), wait_s, what)

    @contextlib.contextmanager
    def window(self, route: str, what: str, wait_s: float = DEFAULT_WAIT_S) -> Iterator[None]:
        """Send to ``route`` while no rate-limit window of this run is open on it."""
        with flocked(self._file(_slug("window", route)), False, wait_s, what):
            yield


def _slug(prefix: str, text: str) -> str:
    return prefix + "-" + "".join(c if c.isalnum() else "_" for c in text)[:80]


def once(directory: Path, name: str, make: Callable[[], T], wait_s: float = DEFAULT_WAIT_S) -> tuple[T, bool]:
    """``make()`` run by the first process of the run that asks, its result read by every later one.

    Returns the result and whether this call made it.  The result is pickled in the run's private
    directory (only this run's own processes write there).
    """
    path = directory / f"{name}.pickle"
    with flocked(directory / f"{name}.lock", True, wait_s, name):
        if path.exists():
            value: T = pickle.loads(path.read_bytes())
            return value, False
        value = make()
        partial = path.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(value))
        partial.replace(path)
        return value, True
