"""One answer to "was this a network fault, and does it last?" for every caller.

The probe, the provider client and the certificate pin ask :func:`smokegate.failures.network_fault`
with the exception; pytest-rerunfailures matches :data:`~smokegate.failures.RERUN_PATTERNS` against
"<ExceptionType>: <message>" of each exception in a failure's chain; the browser asks with
Playwright's message line; the TLS scan with the type names of sslyze's traces.  One table of
error shapes (httpx, ssl/socket, sslyze, Playwright), each with the fault the rule gives it, is
checked through every one of those doors, so they cannot drift apart again.  A few rows are made by
real sockets on loopback rather than built by hand.
"""

from __future__ import annotations

import itertools
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from traceback import TracebackException

import httpcore
import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from smokegate.checks.tls import command_unknown, trace_types
from smokegate.failures import (
    RERUN_PATTERNS,
    NetworkFault,
    exception_chain,
    network_fault,
    network_fault_of_type,
    transient_cut,
)

T, L, N = NetworkFault.TRANSIENT, NetworkFault.LASTING, None


def _chained(*layers: BaseException) -> BaseException:
    """``layers[0]`` raised from ``layers[1]`` raised from ..., as httpx wraps httpcore wraps the OS."""
    for outer, inner in itertools.pairwise(layers):
        outer.__cause__ = inner
    return layers[0]


def _httpx(kind: type[httpx.TransportError], core: type[Exception], cause: BaseException) -> BaseException:
    return _chained(kind(str(cause)), core(str(cause)), cause)


def _sslyze(name: str, cause: BaseException | None = None) -> BaseException:
    import sslyze.errors
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    error: BaseException = getattr(sslyze.errors, name)(
        ServerNetworkLocation("localhost", 443), ServerNetworkConfiguration("localhost"), f"{name} (test)")
    try:  # raised from its cause as sslyze does: its errors are frozen dataclasses, __cause__ is set by raise
        raise error from cause
    except BaseException as raised:
        return raised


def _eof() -> ssl.SSLEOFError:
    return ssl.SSLEOFError(8, "[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:992)")


def _untrusted() -> ssl.SSLCertVerificationError:
    return ssl.SSLCertVerificationError(
        1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:992)")


# (id, the exception, the fault the rule gives it)
SHAPES: list[tuple[str, Callable[[], BaseException], NetworkFault | None]] = [
    # httpx, as it wraps httpcore and the OS
    ("httpx-refused", lambda: _httpx(httpx.ConnectError, httpcore.ConnectError,
                                     ConnectionRefusedError(111, "Connection refused")), L),
    ("httpx-dns", lambda: _httpx(httpx.ConnectError, httpcore.ConnectError,
                                 socket.gaierror(-2, "Name or service not known")), L),
    ("httpx-dns-message-only", lambda: httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), L),
    ("httpx-untrusted-certificate", lambda: _httpx(httpx.ConnectError, httpcore.ConnectError, _untrusted()), L),
    ("httpx-plain-http-on-https", lambda: _httpx(httpx.ConnectError, httpcore.ConnectError, ssl.SSLError(
        1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:992)")), L),
    ("httpx-eof-in-handshake", lambda: _httpx(httpx.ConnectError, httpcore.ConnectError, _eof()), T),
    ("httpx-reset-on-connect", lambda: _httpx(httpx.ConnectError, httpcore.ConnectError,
                                              ConnectionResetError(104, "Connection reset by peer")), T),
    ("httpx-reset-on-read", lambda: _httpx(httpx.ReadError, httpcore.ReadError,
                                           ConnectionResetError(104, "Connection reset by peer")), T),
    ("httpx-connect-timeout", lambda: _httpx(httpx.ConnectTimeout, httpcore.ConnectTimeout,
                                             TimeoutError("timed out")), T),
    ("httpx-read-timeout", lambda: httpx.ReadTimeout("timed out"), T),
    ("httpx-cut-answer", lambda: httpx.RemoteProtocolError(
        "peer closed connection without sending complete message body (received 10 bytes, expected 20)"), T),
    ("httpx-unsupported-protocol", lambda: httpx.UnsupportedProtocol("Request URL has an unsupported protocol"), L),
    # the OS and ssl, as the certificate pin meets them
    ("socket-refused", lambda: ConnectionRefusedError(111, "Connection refused"), L),
    ("socket-dns", lambda: socket.gaierror(-2, "Name or service not known"), L),
    ("socket-reset", lambda: ConnectionResetError(104, "Connection reset by peer"), T),
    ("socket-broken-pipe", lambda: BrokenPipeError(32, "Broken pipe"), T),
    ("socket-timeout", lambda: TimeoutError("timed out"), T),
    ("ssl-eof", _eof, T),
    ("ssl-untrusted", _untrusted, L),
    # sslyze, as its scans raise (a reset during connect is "ServerRejectedConnection" too)
    ("sslyze-refused", lambda: _sslyze("ServerRejectedConnection",
                                       ConnectionRefusedError(111, "Connection refused")), L),
    ("sslyze-reset-called-rejected", lambda: _sslyze("ServerRejectedConnection",
                                                     ConnectionResetError(104, "Connection reset by peer")), T),
    ("sslyze-timed-out", lambda: _sslyze("ConnectionToServerTimedOut", TimeoutError("timed out")), T),
    ("sslyze-handshake-timed-out", lambda: _sslyze("TlsHandshakeTimedOut"), T),
    ("sslyze-connect-failed", lambda: _sslyze("ConnectionToServerFailed"), T),
    ("sslyze-rejected-handshake", lambda: _sslyze("ServerRejectedTlsHandshake"), L),
    # Playwright: the browser's net:: codes and Node's, for pages, API requests and routes
    ("playwright-reset", lambda: PlaywrightError("Page.goto: net::ERR_CONNECTION_RESET at https://t/"), T),
    ("playwright-empty", lambda: PlaywrightError("Page.goto: net::ERR_EMPTY_RESPONSE at https://t/"), T),
    ("playwright-node-reset", lambda: PlaywrightError("APIRequestContext.get: read ECONNRESET"), T),
    ("playwright-tls-cut", lambda: PlaywrightError(
        "Route.fetch: socket disconnected before secure TLS connection was established (ECONNRESET)"), T),
    ("playwright-refused", lambda: PlaywrightError("Page.goto: net::ERR_CONNECTION_REFUSED at https://t/"), L),
    ("playwright-dns", lambda: PlaywrightError("Page.goto: net::ERR_NAME_NOT_RESOLVED at https://t/"), L),
    ("playwright-node-refused", lambda: PlaywrightError("APIRequestContext.get: connect ECONNREFUSED 127.0.0.1:9"), L),
    ("playwright-untrusted", lambda: PlaywrightError("Page.goto: net::ERR_CERT_AUTHORITY_INVALID at https://t/"), L),
    ("playwright-wait-ran-out", lambda: PlaywrightTimeout("Locator.click: Timeout 5000ms exceeded."), N),
    # not network faults at all
    ("assertion-quoting-a-reset", lambda: AssertionError("ReadTimeout: net::ERR_CONNECTION_RESET mentioned"), N),
    ("suite-bug", lambda: KeyError("oops"), N),
]
IDS = [row[0] for row in SHAPES]


@pytest.mark.parametrize(("name", "make", "fault"), SHAPES, ids=IDS)
def test_the_exception_is_classified_by_the_rule(name: str, make: Callable[[], BaseException],
                                                 fault: NetworkFault | None) -> None:
    assert network_fault(make()) is fault, name


def _rerun(exc: BaseException) -> bool:
    """pytest-rerunfailures' own test (``_try_match_error``): each exception of the chain as
    "<type name>: <message>", searched with every pattern."""
    lines = [f"{type(item).__name__}: {item}" for item in exception_chain(exc)]
    return any(re.search(pattern, line) for pattern in RERUN_PATTERNS for line in lines)


@pytest.mark.parametrize(("name", "make", "fault"), SHAPES, ids=IDS)
def test_a_check_is_rerun_exactly_for_a_transient_fault(name: str, make: Callable[[], BaseException],
                                                         fault: NetworkFault | None) -> None:
    exc = make()
    assert _rerun(exc) is (fault is T), [f"{type(i).__name__}: {i}" for i in exception_chain(exc)]


def test_a_lasting_fault_is_not_rerun_whatever_wraps_it() -> None:
    # The probe raises TargetUnreachable from httpx's ConnectError: the chain still says "refused".
    class TargetUnreachable(Exception):
        pass

    refused = _httpx(httpx.ConnectError, httpcore.ConnectError, ConnectionRefusedError(111, "Connection refused"))
    assert not _rerun(_chained(TargetUnreachable("connection refused"), refused))


@pytest.mark.parametrize(("name", "make", "fault"), [r for r in SHAPES if r[0].startswith("playwright")],
                         ids=[r[0] for r in SHAPES if r[0].startswith("playwright")])
def test_the_browsers_message_line_is_classified_by_the_rule(name: str, make: Callable[[], BaseException],
                                                             fault: NetworkFault | None) -> None:
    line = str(make()).splitlines()[0]
    assert network_fault(line) is fault, line
    cut = transient_cut(line)
    assert (cut is not None) is (fault is T), line
    # What the journey quotes: the code, with what Node said before it ("read ECONNRESET").
    assert cut is None or re.search(r"ERR_|ECONN", cut), cut


def _trace(exc: BaseException) -> TracebackException:
    return TracebackException.from_exception(exc)


@pytest.mark.parametrize(("name", "make", "fault"), [r for r in SHAPES if r[0].startswith(("sslyze", "socket"))],
                         ids=[r[0] for r in SHAPES if r[0].startswith(("sslyze", "socket"))])
def test_sslyzes_traces_are_classified_by_the_rule(name: str, make: Callable[[], BaseException],
                                                   fault: NetworkFault | None) -> None:
    exc = make()
    names = trace_types(_trace(exc))
    # The scan's connectivity is judged on sslyze's own (outermost) error, as sslyze names it: its
    # "rejected" is the server's answer (lasting) even where the OS below it saw a reset.
    assert network_fault_of_type(names[0]) is (L if name == "sslyze-reset-called-rejected" else fault)
    # A scan command that errored on any network fault, twice the same, is the network's doing.
    attempt = _Attempt("BUG_IN_SSLYZE", _trace(exc))
    assert command_unknown("certificate_info", [attempt, attempt]).network


class _Attempt:
    def __init__(self, reason: str, trace: TracebackException) -> None:
        self.error_reason = reason
        self.error_trace = trace


def test_a_scan_command_failing_twice_the_same_way_off_the_network_is_a_scanner_bug() -> None:
    attempt = _Attempt("BUG_IN_SSLYZE", _trace(KeyError("oops")))
    assert not command_unknown("robot", [attempt, attempt]).network


# -- real sockets on loopback ----------------------------------------------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


@pytest.fixture
def resetting_port() -> Iterator[int]:
    """A port that accepts each connection and resets it (SO_LINGER 0) once the request arrives."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(1024)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    server.close()
    thread.join(timeout=5)


def _raised(url: str) -> BaseException:
    with pytest.raises(httpx.TransportError) as info:
        httpx.get(url, timeout=0.3)
    return info.value


def test_a_real_refusal_lasts(closed_port: int) -> None:
    exc = _raised(f"http://127.0.0.1:{closed_port}/")
    assert network_fault(exc) is L
    assert not _rerun(exc)


def test_a_real_silence_is_transient(silent_port: int) -> None:
    exc = _raised(f"http://127.0.0.1:{silent_port}/")
    assert isinstance(exc, httpx.ReadTimeout)
    assert network_fault(exc) is T
    assert _rerun(exc)


def test_a_real_reset_is_transient(resetting_port: int) -> None:
    exc = _raised(f"http://127.0.0.1:{resetting_port}/")
    assert network_fault(exc) is T
    assert _rerun(exc)
