"""The testbed stops on SIGINT and SIGTERM whatever restarted its HTTPS listener, and its admin API takes
concurrent fault switches (testbed/server.py).

Each test starts a testbed of its own through the control API and sends it real signals: a testbed
that ignores them costs RunningTestbed.stop its whole 10 s grace, at the end of every self-test run.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from smokegate.testbed import instance
from smokegate.testbed.control import RunningTestbed
from smokegate.testbed.server import GRACEFUL_CLOSE_S

# An idle testbed stops in ~0.4 s; one that ignores the signal never does. Half RunningTestbed.stop's
# grace tells the two apart even on a loaded 2-core machine.
STOP_WITHIN_S = 5.0


@contextlib.contextmanager
def started(state_dir: Path, *, sigint_ignored: bool) -> Iterator[RunningTestbed]:
    """A testbed of its own, killed at the end if a test left it running."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if sigint_ignored else None
    try:
        # Ignored here, ignored in the child: what a shell's background job (`make test &`, a CI
        # step without a terminal) hands every process it starts.
        testbed = RunningTestbed.start(state_dir)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    try:
        yield testbed
    finally:
        if testbed.process.poll() is None:
            testbed.process.kill()
            testbed.process.wait(timeout=10)


def stop_seconds(testbed: RunningTestbed, sig: signal.Signals, within_s: float = STOP_WITHIN_S) -> float:
    """Send ``sig`` and time the exit; fail if the testbed is still up ``within_s`` later."""
    sent = time.monotonic()
    testbed.process.send_signal(sig)
    try:
        testbed.process.wait(timeout=within_s)
    except subprocess.TimeoutExpired:
        log = testbed.log_file.read_text(errors="replace")[-2000:] if testbed.log_file else ""
        pytest.fail(f"the testbed is still running {within_s:g} s after {sig.name}; its log:\n{log}")
    return time.monotonic() - sent


def switch_together(testbed: RunningTestbed, sets: Sequence[list[str]]) -> list[int | str]:
    """PUT /faults once per set, all at the same moment; each answer's status (or the error)."""
    headers = {"authorization": f"Bearer {testbed.info['admin_token']}"}
    answers: list[int | str] = []
    together = threading.Barrier(len(sets), timeout=30)

    def switch(active: list[str]) -> None:
        together.wait()
        try:
            answer = httpx.put(testbed.info["admin_url"] + "/faults", json={"active": active}, headers=headers,
                               timeout=30, trust_env=False)
            answers.append(answer.status_code)
        except httpx.HTTPError as exc:
            answers.append(repr(exc))

    threads = [threading.Thread(target=switch, args=(active,)) for active in sets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a fault switch hung"
    return answers


def assert_stopped_cleanly(testbed: RunningTestbed) -> None:
    assert testbed.process.returncode == 0, testbed.log_file.read_text() if testbed.log_file else ""
    assert not (testbed.state_dir / instance.STATE_FILE).exists(), "testbed.json is removed on a clean stop"


def health(testbed: RunningTestbed) -> int:
    trust = ssl.create_default_context(cafile=testbed.ca_file)
    return httpx.get(testbed.url + "/api/health", verify=trust, timeout=5, trust_env=False).status_code


@pytest.mark.parametrize("switches", [
    # A TLS fault restarts the HTTPS listener with another context; switching it off restarts it again.
    pytest.param([["tls-expired-leaf"]], id="tls-restart"),
    pytest.param([["tls-expired-leaf"], []], id="tls-restart-and-back"),
    # target-down stops the listener and starts none: no HTTPS server is left to pass a signal on.
    pytest.param([["target-down"], ["tls13-off"], ["target-down"]], id="down-tls-down"),
])
def test_a_testbed_started_with_sigint_ignored_stops_on_sigint_after_its_https_listener_restarted(
    tmp_path: Path, switches: Sequence[list[str]]
) -> None:
    with started(tmp_path, sigint_ignored=True) as testbed:
        for active in switches:
            testbed.set_faults(active)
            assert testbed.faults() == sorted(active)
        seconds = stop_seconds(testbed, signal.SIGINT)
    assert_stopped_cleanly(testbed)
    assert seconds < STOP_WITHIN_S


def test_concurrent_fault_switches_all_succeed_and_leave_one_listener(tmp_path: Path) -> None:
    # Every one changes the HTTPS listener's TLS setup (or takes it down), so each asks for a restart.
    sets = [["tls-expired-leaf"], ["tls13-off"], [], ["tls-wrong-hostname"], ["target-down"],
            ["tls-legacy-versions"]]
    with started(tmp_path, sigint_ignored=False) as testbed:
        for _round in range(3):  # the race needs two switches in one restart: give it a few chances
            answers = switch_together(testbed, sets)
            assert len(answers) == len(sets)
            assert all(isinstance(code, int) and 200 <= code < 300 for code in answers), answers
        # The last switch won, and the listener it left is the only one: healthy again, it serves.
        assert testbed.faults() in [sorted(active) for active in sets]
        testbed.set_faults([])
        assert health(testbed) == 200
        # `kill` after all those restarts: SIGTERM takes the same way out as SIGINT.
        stop_seconds(testbed, signal.SIGTERM)
    assert_stopped_cleanly(testbed)


def test_a_request_that_never_ends_holds_the_stop_no_longer_than_the_graceful_close(tmp_path: Path) -> None:
    with started(tmp_path, sigint_ignored=False) as testbed:
        host, port = testbed.info["admin_url"].removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as client:
            # An authorised fault switch whose body never comes: the admin app waits for it.
            client.sendall(b"PUT /faults HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
                           b"Authorization: Bearer " + testbed.info["admin_token"].encode() + b"\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            _until_read(client)  # the admin app has read the request's head: it waits for the body
            seconds = stop_seconds(testbed, signal.SIGINT, within_s=GRACEFUL_CLOSE_S + STOP_WITHIN_S)
    assert_stopped_cleanly(testbed)
    assert seconds >= GRACEFUL_CLOSE_S - 0.5, "the request in flight had its graceful close"


def _until_read(client: socket.socket, timeout_s: float = 10.0) -> None:
    """Poll the kernel's table of TCP sockets until the server's end of ``client``'s connection has
    been accepted and read empty: what was sent has reached the server process.  Polled, not slept
    on: a busy machine only makes it later."""
    server, ours = client.getpeername()[:2], client.getsockname()[:2]

    def hexed(address: tuple[str, int]) -> str:
        return f"{socket.htonl(int.from_bytes(socket.inet_aton(address[0]), 'big')):08X}:{address[1]:04X}"

    wanted = (hexed(server), hexed(ours))
    deadline = time.monotonic() + timeout_s
    while True:
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, queues = fields[1], fields[2], fields[4]
            if (local, remote) == wanted and int(queues.split(":")[1], 16) == 0:
                return
        assert time.monotonic() < deadline, f"the server did not read the request within {timeout_s:g} s"
        time.sleep(0.01)
