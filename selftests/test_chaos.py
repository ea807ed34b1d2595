"""The chaos proxy: what it does to connections, deterministically, over real loopback sockets.

An echo-ish upstream (answers each connection with a fixed greeting, then echoes) keeps most of
these tests free of TLS; the last ones put the proxy in front of the real testbed, where
certificates must still validate, and start the testbed in its own ``--chaos`` mode.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from smokegate.testbed.chaos import ChaosProxy, ChaosSettings, ChaosSpecError
from smokegate.testbed.control import RunningTestbed

GREETING = b"hello from upstream\n" * 20  # 400 bytes: room for a cut in the middle


@pytest.fixture
def upstream() -> Iterator[int]:
    """A TCP server that sends GREETING to each connection, then echoes what it receives."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                conn.sendall(GREETING)
                while data := conn.recv(4096):
                    conn.sendall(data)
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(5)
    listener.close()


@pytest.fixture
def proxy(upstream: int) -> Iterator[ChaosProxy]:
    with ChaosProxy(("127.0.0.1", upstream)).running() as running:
        yield running


def talk(port: int, timeout: float = 2.0) -> bytes:
    """Connect, read the greeting, send a line and read its echo; return everything received."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        received = b""
        while len(received) < len(GREETING):
            chunk = conn.recv(4096)
            if not chunk:
                return received
            received += chunk
        conn.sendall(b"ping\n")
        while not received.endswith(b"ping\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            received += chunk
        return received


def read_until_closed(port: int, timeout: float, received: list[bytes]) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout) as conn:
        while chunk := conn.recv(4096):
            received.append(chunk)


def test_without_chaos_bytes_pass_untouched(proxy: ChaosProxy) -> None:
    assert talk(proxy.listen_port) == GREETING + b"ping\n"
    assert proxy.stats.connections == 1


def test_reset_next_at_accept_resets_before_a_byte(proxy: ChaosProxy) -> None:
    proxy.reset_next(1)
    with pytest.raises(ConnectionResetError):
        talk(proxy.listen_port)
    assert talk(proxy.listen_port) == GREETING + b"ping\n", "only the next connection is reset"
    assert (proxy.stats.reset_at_accept, proxy.stats.connections) == (1, 2)


def test_reset_mid_stream_after_the_given_bytes(proxy: ChaosProxy) -> None:
    proxy.reset_next(1, when="mid", after_bytes=100)
    received: list[bytes] = []
    with pytest.raises(ConnectionResetError):
        read_until_closed(proxy.listen_port, 2, received)
    assert b"".join(received) == GREETING[:100]
    assert proxy.stats.reset_mid_stream == 1


def test_stall_at_accept_never_answers(proxy: ChaosProxy) -> None:
    proxy.stall_next(1)
    started = time.perf_counter()
    with pytest.raises(TimeoutError):
        talk(proxy.listen_port, timeout=0.5)
    assert 0.4 < time.perf_counter() - started < 2
    assert proxy.stats.stalled_at_accept == 1


def test_stall_mid_stream_stops_forwarding(proxy: ChaosProxy) -> None:
    proxy.stall_next(1, when="mid", after_bytes=50)
    received: list[bytes] = []
    with pytest.raises(TimeoutError):
        read_until_closed(proxy.listen_port, 0.5, received)
    assert b"".join(received) == GREETING[:50]


def test_delay_is_drawn_per_connection_within_the_range(proxy: ChaosProxy) -> None:
    proxy.configure(ChaosSettings(delay_ms=(80, 120), seed=3))
    for _ in range(3):
        started = time.perf_counter()
        with socket.create_connection(("127.0.0.1", proxy.listen_port), 2) as conn:
            assert conn.recv(1)
        assert 0.075 <= time.perf_counter() - started < 1.0
    assert 240 <= proxy.stats.delay_ms_total <= 360


def test_a_seed_gives_the_same_fates(upstream: int) -> None:
    def fates(seed: int) -> list[str]:
        proxy = ChaosProxy(("127.0.0.1", upstream), settings=ChaosSettings(reset_rate=0.3, stall_rate=0.2, seed=seed))
        return [f"{f.action}/{f.when}/{f.after_bytes}" for f in (proxy._fate() for _ in range(200))]

    first = fates(7)
    assert first == fates(7)
    assert first != fates(8)
    resets = sum(f.startswith("reset") for f in first)
    stalls = sum(f.startswith("stall") for f in first)
    assert 40 <= resets <= 80 and 20 <= stalls <= 60, (resets, stalls)


def test_rates_reset_that_share_of_real_connections(proxy: ChaosProxy) -> None:
    proxy.configure(ChaosSettings(reset_rate=0.25, seed=11))
    outcomes = []
    for _ in range(40):
        try:
            outcomes.append(talk(proxy.listen_port) == GREETING + b"ping\n")
        except ConnectionResetError:
            outcomes.append(False)
    resets = proxy.stats.reset_at_accept + proxy.stats.reset_mid_stream
    assert 4 <= resets <= 18, proxy.stats
    # Reset at accept always fails the exchange; mid-stream it may land after the last byte the
    # client wanted (then reset instead of closed), so the client never notices. Nothing else fails.
    assert proxy.stats.reset_at_accept <= outcomes.count(False) <= resets, (outcomes.count(False), proxy.stats)


@pytest.mark.parametrize(("spec", "expected"), [
    ("delay=0-150,reset=1%", ChaosSettings(delay_ms=(0, 150), reset_rate=0.01)),
    ("delay=50ms, stall=0.5, seed=9", ChaosSettings(delay_ms=(50, 50), stall_rate=0.5, seed=9)),
    ("", ChaosSettings()),
])
def test_spec_parsing(spec: str, expected: ChaosSettings) -> None:
    assert ChaosSettings.parse(spec) == expected


@pytest.mark.parametrize(("spec", "message"), [
    ("delay=150-0", "0 <= low <= high"),
    ("reset=2", "between 0 and 1"),
    ("reset=60%,stall=60%", "cannot exceed 100 %"),
    ("jitter=5", "unknown chaos setting"),
    ("delay", "expected key=value"),
    ("seed=x", "whole number"),
])
def test_bad_specs_say_which_part(spec: str, message: str) -> None:
    with pytest.raises(ChaosSpecError, match=message):
        ChaosSettings.parse(spec)


def _trust(testbed: RunningTestbed) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=testbed.ca_file)


def test_certificates_validate_through_the_proxy(testbed: RunningTestbed) -> None:
    port = int(testbed.url.rsplit(":", 1)[1])
    with ChaosProxy(("127.0.0.1", port)).running() as proxy:
        answer = httpx.get(f"https://localhost:{proxy.listen_port}/api/health", verify=_trust(testbed),
                           timeout=5, trust_env=False)
        assert answer.status_code == 200 and answer.json()["version"]
        proxy.reset_next(1)
        with pytest.raises(httpx.ConnectError, match="reset"):
            httpx.get(f"https://localhost:{proxy.listen_port}/api/health", verify=_trust(testbed), timeout=5,
                      trust_env=False)
        # Nothing is stripped on the way: a client that does not trust the CA still refuses it.
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"https://localhost:{proxy.listen_port}/api/health", verify=ssl.create_default_context(),
                      timeout=5, trust_env=False)


def test_testbed_chaos_mode_hands_out_the_proxied_urls(tmp_path: Path) -> None:
    with RunningTestbed.start(tmp_path / "tb", chaos="delay=0-10,seed=1") as testbed:
        assert testbed.info["chaos"]["delay_ms"] == [0.0, 10.0]
        before = testbed.chaos()["https"]["stats"]["connections"]
        health = httpx.get(testbed.url + "/api/health", verify=_trust(testbed), timeout=5, trust_env=False)
        assert health.status_code == 200
        # Plain HTTP goes through its own proxy and redirects to the proxied HTTPS port.
        redirect = httpx.get(testbed.http_url + "/pricing", timeout=5, trust_env=False)
        assert redirect.status_code == 308 and redirect.headers["location"] == testbed.url + "/pricing"
        state = testbed.chaos(reset_next=1)
        assert state["https"]["stats"]["connections"] == before + 1 and state["https"]["pending"] == 1
        with pytest.raises(httpx.ConnectError, match="reset"):
            httpx.get(testbed.url + "/api/health", verify=_trust(testbed), timeout=5, trust_env=False)
        assert testbed.chaos()["https"]["stats"]["reset_at_accept"] == 1
        testbed.chaos(clear=True)
        assert testbed.chaos()["https"]["settings"]["delay_ms"] == [0.0, 0.0]
        # The chaos is on the runner's path only: a sign-in's token exchange (the app's own call to
        # its identity provider) does not cross the proxy, so a reset there cannot fail the app.
        before = testbed.chaos()["https"]["stats"]["connections"]
        assert sign_in_by_hand(testbed) == "/dashboard"
        assert testbed.chaos()["https"]["stats"]["connections"] - before == 3, "3 client requests, nothing else"


def sign_in_by_hand(testbed: RunningTestbed) -> str:
    """The OAuth code flow with plain HTTP: start, log in at the IdP, callback; where it lands."""
    from urllib.parse import parse_qsl, urlsplit

    from smokegate.testbed import idp

    account = idp.account_env()
    # One connection per request, so the proxy's count is exactly the client's requests.
    with httpx.Client(verify=_trust(testbed), timeout=10, trust_env=False, headers={"connection": "close"}) as client:
        start = client.get(testbed.url + "/sign-in/google")
        authorize = urlsplit(start.headers["location"])
        form = {**dict(parse_qsl(authorize.query)), "email": account[idp.EMAIL_ENV],
                "password": account[idp.PASSWORD_ENV]}
        login = client.post(f"{authorize.scheme}://{authorize.netloc}{authorize.path}", data=form)
        callback = client.get(login.headers["location"])
        assert callback.status_code in (302, 303, 307), (callback.status_code, callback.text[:300])
        return urlsplit(callback.headers["location"]).path


def test_testbed_refuses_a_bad_chaos_spec(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "smokegate.testbed", "--state-dir", str(tmp_path),
                           "--chaos", "reset=150%"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--chaos: reset must be a share between 0 and 1" in done.stderr
    assert "Traceback" not in done.stderr and not any(tmp_path.iterdir())
