"""One testbed per state directory, and no stale state after one stops (issue 8, item 9)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from smokegate.testbed import control, instance
from smokegate.testbed.control import RunningTestbed

from .conftest import start_testbed_script


def snapshot(directory: Path) -> dict[str, tuple[int, str]]:
    """Every file's mtime and content hash: "touched" means either changed."""
    return {path.name: (path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())
            for path in sorted(directory.iterdir()) if path.is_file()}


def start_cli(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "smokegate.testbed", "--state-dir", str(state_dir),
                           "--https-port", "0", "--http-port", "0", *args],
                          capture_output=True, text=True, timeout=60)


def test_a_second_testbed_refuses_and_touches_nothing(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    with RunningTestbed.start(state_dir) as first:
        before = snapshot(state_dir)
        done = start_cli(state_dir)
        assert done.returncode == 1
        assert done.stderr.strip() == (
            f"testbed not started: a testbed is already running on {state_dir}: {first.url} "
            f"(pid {first.process.pid}); stop it first, or pass another --state-dir"
        )
        assert "Traceback" not in done.stderr and done.stdout == ""
        assert snapshot(state_dir) == before, "the running testbed's files were touched"
        # The first one is unharmed: its CA still validates its certificate.
        trust = ssl.create_default_context(cafile=first.ca_file)
        answer = httpx.get(first.url + "/api/health", verify=trust, timeout=5, trust_env=False)
        assert answer.status_code == 200


def test_starting_from_python_on_a_held_directory_names_the_running_one(tmp_path: Path) -> None:
    with RunningTestbed.start(tmp_path) as first, pytest.raises(control.TestbedError) as raised:
        RunningTestbed.start(tmp_path)
    assert f"already running on {tmp_path}: {first.url} (pid {first.process.pid})" in str(raised.value)


def test_a_stopped_testbed_leaves_no_state_file(tmp_path: Path) -> None:
    with RunningTestbed.start(tmp_path) as running:
        assert instance.running_info(tmp_path) is not None
        assert (tmp_path / instance.STATE_FILE).exists()
    assert running.process.returncode == 0
    assert not (tmp_path / instance.STATE_FILE).exists()
    assert instance.running_info(tmp_path) is None


def test_a_testbed_stopped_with_sigterm_cleans_up_too(tmp_path: Path) -> None:
    running = RunningTestbed.start(tmp_path)
    running.process.send_signal(signal.SIGTERM)
    running.process.wait(timeout=10)
    assert not (tmp_path / instance.STATE_FILE).exists()


def test_a_killed_testbeds_state_is_stale_and_replaced(tmp_path: Path) -> None:
    killed = RunningTestbed.start(tmp_path)
    killed.process.kill()
    killed.process.wait()
    left = json.loads((tmp_path / instance.STATE_FILE).read_text())
    assert left["pid"] == killed.process.pid, "SIGKILL leaves testbed.json behind"
    # Its pid is dead and nobody holds the lock: it misleads no one.
    assert instance.running_info(tmp_path) is None
    with RunningTestbed.start(tmp_path) as second:
        assert second.info["pid"] == second.process.pid != killed.process.pid
        assert instance.running_info(tmp_path) == second.info


def test_a_state_file_whose_pid_lives_on_without_the_lock_is_stale(tmp_path: Path) -> None:
    # A pid that is alive (ours) but holds no testbed lock: pid reuse must not fool a reader.
    (tmp_path / instance.STATE_FILE).write_text(json.dumps({"https_url": "https://localhost:1", "pid": os.getpid()}))
    assert instance.running_info(tmp_path) is None


def test_a_taken_port_is_one_clear_line_and_no_files(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "smokegate.testbed", "--state-dir", str(tmp_path / "state"),
                               "--https-port", str(port), "--http-port", "0"],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"testbed not started: cannot listen on 127.0.0.1:{port}: already in use"
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == [instance.LOCK_FILE], (
        "no CA and no testbed.json for a testbed that never ran")
    assert time.perf_counter() - started < 30


def test_a_free_port_taken_on_the_next_host_is_picked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Port 0: the kernel picks a port free on the first host; another socket may hold it on the next
    (a fresh-clone run saw "cannot listen on port 0: already in use" on ::1).  A new pick, not a failure."""
    from smokegate.testbed import server

    real_bind, refused = server._bind, []

    def bind(host: str, port: int) -> socket.socket:
        if host == "127.0.0.2" and not refused:
            refused.append(port)
            raise server.ListenerError(f"cannot listen on {host}:{port}: already in use")
        return real_bind(host, port)

    monkeypatch.setattr(server, "_bind", bind)
    socks = server._bind_all(("127.0.0.1", "127.0.0.2"), 0)
    try:
        assert refused and len({s.getsockname()[1] for s in socks}) == 1
    finally:
        for sock in socks:
            sock.close()
    # A port the user asked for is never changed: taken is an error, named.
    with socket.create_server(("127.0.0.1", 0)) as held, pytest.raises(server.ListenerError, match="already in use"):
        server._bind_all(("127.0.0.1",), held.getsockname()[1])


# The testbed as `python -m smokegate.testbed` runs it, except that another socket tries to take its HTTPS port
# while it makes its certificates (between picking the port and serving on it) and after every time its HTTPS
# server stops for a TLS restart, as another process on the machine may.
TRIES_HTTPS_PORT = """
import socket, sys
from smokegate.testbed import server
from smokegate.testbed.__main__ import main

picked, held = [], []
real_bind_all, real_create, real_stop = server._bind_all, server.Certificates.create, server.TestbedServer._stop_https

def try_to_take(when):
    try:
        held.append(socket.create_server(("127.0.0.1", picked[0])))
        print("took", picked[0], when, flush=True)
    except OSError:
        pass

def bind_all(hosts, port, *args):
    socks = real_bind_all(hosts, port, *args)
    picked.append(socks[0].getsockname()[1])
    return socks

def create(*args, **kwargs):
    try_to_take("while the certificates were made")
    return real_create(*args, **kwargs)

async def stop_https(self):
    await real_stop(self)
    try_to_take("between two HTTPS servers")

server._bind_all, server.Certificates.create, server.TestbedServer._stop_https = bind_all, create, stop_https
sys.exit(main(sys.argv[1:]))
"""


def test_the_https_port_is_held_from_its_pick_to_the_stop_through_every_restart(tmp_path: Path) -> None:
    """A fresh-clone make test saw a testbed fail to start, "cannot listen on 127.0.0.1:38309: already in use":
    the port it had itself picked, closed and bound again after making its certificates."""
    state, log = tmp_path / "state", tmp_path / "testbed.log"
    process, info = start_testbed_script(TRIES_HTTPS_PORT, state, log, timeout_s=60)
    try:
        testbed = RunningTestbed(process, state, info)
        for active in (["tls-expired-leaf"], [], ["tls13-off"]):  # each restarts the HTTPS server
            testbed.set_faults(active)
        testbed.set_faults([])
        trust = ssl.create_default_context(cafile=testbed.ca_file)
        assert httpx.get(testbed.url + "/api/health", verify=trust, timeout=10, trust_env=False).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert "took" not in log.read_text(), log.read_text()
    assert process.returncode == 0, log.read_text()


def test_the_chaos_proxy_picks_again_when_its_port_is_taken_on_the_next_host() -> None:
    import asyncio

    from smokegate.testbed.chaos import ChaosProxy

    async def start_two() -> tuple[int, int]:
        # Two hosts that are one address: the second bind always finds the first's port taken.
        proxy = ChaosProxy(("127.0.0.1", 9), ("127.0.0.1", "127.0.0.1"), 0)
        with pytest.raises(OSError):
            await proxy.start(attempts=3)
        fine = ChaosProxy(("127.0.0.1", 9), ("127.0.0.1", "127.0.0.2"), 0)
        port = await fine.start()
        await fine.stop()
        return port, len(proxy._servers)

    port, left = asyncio.run(start_two())
    assert port > 0 and left == 0
