"""One testbed per state directory, and no state left behind that could mislead the next one.

A running testbed holds an exclusive ``flock`` on ``<state dir>/testbed.lock`` for its whole life
and writes its pid there.  A second testbed on the same directory fails to take the lock and
refuses before it writes anything, naming the running one's URL and pid.  The kernel releases the
lock when its holder dies, however it dies, so liveness never rests on a pid alone (pids are
reused); ``testbed.json`` is removed on a clean exit, and one left by a killed testbed is stale
as soon as nobody holds the lock (or its pid is dead), and is removed by the next testbed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LOCK_FILE = "testbed.lock"
STATE_FILE = "testbed.json"


class AlreadyRunning(RuntimeError):
    """Another testbed holds this state directory."""


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return True
    return True


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _lock_held(state_dir: Path) -> bool:
    """Is the state directory's lock held by a process (without taking it for long)?"""
    try:
        fd = os.open(state_dir / LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock we may have taken
    return False


def running_info(state_dir: Path) -> dict[str, Any] | None:
    """``testbed.json`` of the testbed running on ``state_dir``; None when none runs (stale or absent)."""
    info = read_json(state_dir / STATE_FILE)
    if info is None or not isinstance(info.get("pid"), int):
        return None
    if not pid_alive(info["pid"]) or not _lock_held(state_dir):
        return None
    return info


def _holder(fd: int, state_dir: Path) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    pid_text = os.read(fd, 32).decode(errors="replace").strip()
    info = read_json(state_dir / STATE_FILE) or {}
    pid = info.get("pid") or (int(pid_text) if pid_text.isdigit() else None)
    where = info.get("https_url") or "(still starting, no URL yet)"
    return f"{where} (pid {pid if pid is not None else 'unknown'})"


@contextlib.contextmanager
def claim(state_dir: Path) -> Iterator[None]:
    """Hold ``state_dir`` for this process, or raise :class:`AlreadyRunning` having written nothing."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd, state_dir)
        os.close(fd)
        raise AlreadyRunning(
            f"a testbed is already running on {state_dir}: {holder}; stop it first, or pass another --state-dir"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        # Whatever testbed.json is here belongs to a testbed that no longer holds the lock.
        (state_dir / STATE_FILE).unlink(missing_ok=True)
        yield
    finally:
        (state_dir / STATE_FILE).unlink(missing_ok=True)
        os.ftruncate(fd, 0)
        os.close(fd)


def write_info(state_dir: Path, info: dict[str, Any]) -> None:
    """Write ``testbed.json`` atomically and private (it holds the admin token)."""
    state_file = state_dir / STATE_FILE
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2))
    tmp.chmod(0o600)
    tmp.replace(state_file)
