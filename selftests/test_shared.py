"""The locks and the once-per-run result that a run's processes share (smokegate.shared).

Each test takes the locks from separate processes (forked), as xdist's workers do: flock locks
belong to open file descriptions, so what is proven here holds across processes.  The processes are
put in order by events, not by sleeping: on a busy machine a forked child may start a second late,
and a test that relied on start-up times would then prove nothing (or fail for no reason).
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from smokegate.failures import Inconclusive
from smokegate.shared import RunLocks, once

FORK = multiprocessing.get_context("fork")
HOLD_S = 0.3
# How long a step waits for the step it follows; only reached when the lock under test is wrong.
STEP_WAIT_S = 10.0
# How long a process that claims to share or exclude waits for its lock before giving up.
LOCK_WAIT_S = 5.0


def _log(path: Path, line: str) -> None:
    with path.open("a") as out:
        out.write(f"{line} {time.monotonic():.4f}\n")


def _hold(kind: str, directory: str, log: str, *, after: Event | None = None, entered: Event | None = None,
          until: Event | None = None, arriving: Event | None = None) -> None:
    """In a child process: take ``kind`` on the run's locks once ``after`` is set, log start and end.

    ``arriving`` is set just before asking for the lock, ``entered`` once it is held; the lock is
    held HOLD_S, then (if given) until ``until`` is set.
    """
    if after is not None:
        assert after.wait(STEP_WAIT_S)
    locks, path = RunLocks(Path(directory)), Path(log)
    if arriving is not None:
        arriving.set()
    lock = locks.load("burst", wait_s=LOCK_WAIT_S) if kind == "load" else locks.measuring("sample", wait_s=LOCK_WAIT_S)
    with lock:
        _log(path, f"{kind}-start")
        if entered is not None:
            entered.set()
        time.sleep(HOLD_S)
        if until is not None:
            until.wait(STEP_WAIT_S)
        _log(path, f"{kind}-end")


def _spans(log: Path) -> dict[str, tuple[float, float]]:
    times = {name: float(t) for name, t in (line.split() for line in log.read_text().splitlines())}
    kinds = {name.rsplit("-", 1)[0] for name in times}
    return {k: (times[f"{k}-start"], times[f"{k}-end"]) for k in kinds}


def _run_all(*targets: tuple[Callable[..., None], tuple[object, ...], dict[str, object]]) -> None:
    processes = [FORK.Process(target=fn, args=args, kwargs=kwargs) for fn, args, kwargs in targets]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
        assert process.exitcode == 0


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_a_load_and_a_measurement_never_overlap_across_processes(tmp_path: Path) -> None:
    log, measuring = tmp_path / "log", FORK.Event()
    _run_all((_hold, ("measure", str(tmp_path), str(log)), {"entered": measuring}),
             (_hold, ("load", str(tmp_path), str(log)), {"after": measuring}))
    spans = _spans(log)
    assert not _overlap(spans["measure"], spans["load"]), spans
    assert spans["load"][0] >= spans["measure"][1]


def test_measurements_share_the_target(tmp_path: Path) -> None:
    """The first measurement holds on until the second is in: with an exclusive lock, the second
    would give up after LOCK_WAIT_S and its process would fail."""
    log_a, log_b = tmp_path / "a", tmp_path / "b"
    a_in, b_in = FORK.Event(), FORK.Event()
    _run_all((_hold, ("measure", str(tmp_path), str(log_a)), {"entered": a_in, "until": b_in}),
             (_hold, ("measure", str(tmp_path), str(log_b)), {"after": a_in, "entered": b_in}))
    assert _overlap(_spans(log_a)["measure"], _spans(log_b)["measure"])


def test_a_waiting_load_keeps_new_measurements_out(tmp_path: Path) -> None:
    """Measurements arriving one after another must not starve a burst that waits for its turn.

    The first measurement is still running when the late one arrives, so a shared lock alone would
    let the late one in ahead of the waiting load.
    """
    first, load, late = tmp_path / "first", tmp_path / "load", tmp_path / "late"
    first_in, load_waits, late_arrives = FORK.Event(), FORK.Event(), FORK.Event()
    _run_all((_hold, ("measure", str(tmp_path), str(first)), {"entered": first_in, "until": late_arrives}),
             (_hold, ("load", str(tmp_path), str(load)), {"after": first_in, "arriving": load_waits}),
             (_late_measurement, (str(tmp_path), str(late), load_waits, late_arrives), {}))
    measured_first, loaded, measured_late = _spans(first)["measure"], _spans(load)["load"], _spans(late)["measure"]
    assert loaded[0] >= measured_first[1], "the load started while a measurement ran"
    assert measured_late[0] >= loaded[1], "a measurement that arrived while the load waited went first"


def _late_measurement(directory: str, log: str, load_waits: Event, late_arrives: Event) -> None:
    assert load_waits.wait(STEP_WAIT_S)
    _until_held_exclusively(RunLocks(Path(directory))._file("turnstile"))  # the load is queued on the lock
    _hold("measure", directory, log, arriving=late_arrives)


def _until_held_exclusively(path: Path) -> None:
    """Poll until another process holds ``path``'s flock exclusively (a shared one is refused).

    The load takes the turnstile exclusively the moment it asks, then waits on the quiet lock: seen
    from here, that is the load queued.  Polled, not slept on: a busy machine only makes it later.
    """
    deadline = time.monotonic() + STEP_WAIT_S
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            fcntl.flock(fd, fcntl.LOCK_UN)
            assert time.monotonic() < deadline, "the load never took the turnstile"
            time.sleep(0.005)
    finally:
        os.close(fd)


def test_every_wait_is_bounded(tmp_path: Path) -> None:
    locks = RunLocks(tmp_path)
    with locks.load("the burst"):
        started = time.monotonic()
        with pytest.raises(Inconclusive, match="another check kept the target busy"), \
                locks.measuring("a latency sample", wait_s=0.3):
            pass
        assert time.monotonic() - started < 2
        with locks.measuring("a page load", wait_s=0.2, best_effort=True):
            pass  # best effort: past the wait it goes on without the lock


def test_a_rate_limit_window_holds_its_route_until_released(tmp_path: Path) -> None:
    locks = RunLocks(tmp_path)
    held = locks.hold_window("/api/waitlist", "the burst")
    with pytest.raises(Inconclusive), locks.window("/api/waitlist", "a check on the route", wait_s=0.2):
        pass
    with locks.window("/api/status", "a check on another route", wait_s=0.2):
        pass
    held.release()
    with locks.window("/api/waitlist", "a check on the route", wait_s=0.2):
        pass


def _once_child(directory: str, out: str) -> None:
    def make() -> str:
        Path(out + ".made").write_text("made")
        time.sleep(0.2)
        return "the burst's result"

    value, made = once(Path(directory), "burst", make)
    Path(out).write_text(f"{value}|{made}")


def test_once_is_made_by_one_process_and_read_by_the_others(tmp_path: Path) -> None:
    outs = [str(tmp_path / f"out{i}") for i in range(3)]
    _run_all(*((_once_child, (str(tmp_path), out), {}) for out in outs))
    results = [Path(out).read_text().split("|") for out in outs]
    assert {value for value, _ in results} == {"the burst's result"}
    assert sorted(made for _, made in results) == ["False", "False", "True"]
    assert len(list(tmp_path.glob("out*.made"))) == 1
