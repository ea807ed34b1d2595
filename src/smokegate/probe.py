"""The HTTP probe: every request the suite sends, timed by phase, counted and bounded.

A :class:`Probe` wraps one ``httpx.Client`` for one target.  Each exchange records its phases
(TCP connect, TLS handshake, time to first byte, total) from httpcore's trace events, and whether
the connection was fresh or reused, so a slow answer can be told apart from a slow handshake.
Every request has a timeout and counts towards :attr:`Probe.requests_sent`, which the gate reports.

Rules of trust for what can go wrong on the way (see :mod:`smokegate.failures`):

- a *transient* transport error (connection reset, EOF, a timeout;
  :func:`smokegate.failures.network_fault` decides, for every caller alike) is retried once on a fresh
  connection, before an answer arrived for any method and after it for idempotent ones; both attempts
  are counted, the timing is the successful attempt's, :attr:`Exchange.attempts` says how many it took.
  If the retry fails too the request raises :class:`~smokegate.failures.Inconclusive`: the network
  failed, which says nothing about the target;
- a *lasting* one (DNS failure, refused connection, TLS handshake or certificate failure) is not
  retried and raises :class:`TargetUnreachable`: hiding it would hide an outage;
- an exchange lasts at most ``timeout_s`` from the request to the last byte of the answer: every
  read and write of its connection is bounded by that deadline (:func:`_bound_io`), so an answer
  dripping a byte at a time, headers included, cannot hold a check past its timeout;
- an answer is read for at most ``timeout_s`` and :data:`MAX_ANSWER_BYTES` *decoded*
  (:mod:`smokegate.bodies`): a body that never ends, one larger than any page or API answer should
  be (a gzip bomb included), or one that does not decode as its ``Content-Encoding`` says, raises
  :class:`UnusableAnswer`, a finding about the target, with the connection closed and memory bounded;
- an answer httpx cannot parse (an invalid status line, a header line without a colon, a broken
  chunk) is retried once like a cut connection (a reused connection can carry the previous answer's
  extra bytes) and is then :class:`~smokegate.failures.Inconclusive`, saying what was not HTTP.

Redirects are read, never followed, and never handed to httpx: it builds the next request of a
redirect even with ``follow_redirects=False`` and raises on a legal ``Location`` it cannot parse
(``https:host``; encode/httpx#3706).  The probe hides ``Location`` from httpx and gives the checks
the answer's own headers; they resolve it as a browser does (:mod:`smokegate.checks.redirects`).
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import httpcore
import httpx

from smokegate import __version__
from smokegate.bodies import ACCEPT_ENCODING, BoundedDecoder, Oversized, Undecodable, parse_json
from smokegate.config import Target
from smokegate.failures import DNS_MARKERS, CheckFailure, FailureKind, Inconclusive, exception_chain, is_transient
from smokegate.intercepted import About, interception
from smokegate.timing import Samples

# page_samples(path) -> the exchanges and their timing samples (see tests/conftest.py).
Sampler = Callable[[str], tuple[list["Exchange"], Samples]]

USER_AGENT = f"smokegate/{__version__} (synthetic monitoring)"
# No page, script or API answer of the platform comes near this; 50 MB of anything is a fault.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
# Methods a second attempt cannot harm even when the first one's answer had started (RFC 9110 9.2.2).
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
# Past a Retry-After before asking again: it counts whole seconds, and a clock-aligned window ends on one.
WAIT_MARGIN_S = 0.2


@dataclass(frozen=True)
class Timing:
    """Phases of one exchange in milliseconds; connect and TLS are None on a reused connection."""

    total_ms: float
    ttfb_ms: float
    connect_ms: float | None = None
    tls_ms: float | None = None

    @property
    def fresh(self) -> bool:
        return self.connect_ms is not None

    def describe(self) -> str:
        parts = [f"total {self.total_ms:.0f} ms", f"ttfb {self.ttfb_ms:.0f} ms"]
        if self.fresh:
            parts.append(f"connect {self.connect_ms:.0f} ms")
            if self.tls_ms is not None:
                parts.append(f"tls {self.tls_ms:.0f} ms")
            parts.append("fresh connection")
        else:
            parts.append("reused connection")
        return ", ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total_ms": round(self.total_ms, 1),
            "ttfb_ms": round(self.ttfb_ms, 1),
            "connect_ms": None if self.connect_ms is None else round(self.connect_ms, 1),
            "tls_ms": None if self.tls_ms is None else round(self.tls_ms, 1),
            "fresh": self.fresh,
        }


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as the checks see it."""

    method: str
    url: str
    status: int
    headers: httpx.Headers
    text: str
    timing: Timing
    http_version: str = "HTTP/1.1"
    # 2 when a transient network error made the probe send the request again.
    attempts: int = 1

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not (deep nesting included)."""
        return parse_json(self.text)


class TargetUnreachable(Exception):
    """No HTTP answer, for a reason that lasts: DNS, refused connection, TLS handshake failure."""


class UnusableAnswer(CheckFailure):
    """The target answered, but its answer never ended or outgrew the cap: a finding, not a network fault."""

    def __init__(self, message: str) -> None:
        super().__init__(FailureKind.CONTRACT_BROKEN, message)


def describe_transport_error(exc: BaseException, timeout_s: float | None = None) -> str:
    """One line an SRE can act on, from whatever httpx raised below the HTTP layer."""
    chain = exception_chain(exc)
    for item in chain:
        if isinstance(item, socket.gaierror):
            return f"DNS lookup failed ({item.strerror or item})"
        if isinstance(item, ssl.SSLCertVerificationError):
            detail = getattr(item, "verify_message", None) or getattr(item, "reason", None) or item
            return f"TLS handshake failed: certificate not trusted ({detail})"
        if isinstance(item, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            return "the connection was closed during the TLS handshake"
        if isinstance(item, ssl.SSLError):
            return f"TLS handshake failed: {getattr(item, 'reason', None) or item}"
        if isinstance(item, ConnectionRefusedError) or getattr(item, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
        if isinstance(item, ConnectionResetError):
            return "connection reset by peer"
        if isinstance(item, BrokenPipeError | ConnectionAbortedError):
            return "the connection broke while sending the request"
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connecting",
            httpx.ReadTimeout: "waiting for the answer",
            httpx.WriteTimeout: "sending the request",
            httpx.PoolTimeout: "waiting for a connection",
        }.get(type(exc), "")
        limit = f" after {timeout_s:g} s" if timeout_s else ""
        return f"timed out{limit}{' ' + phase if phase else ''}"
    text = str(exc) or type(exc).__name__
    for marker in DNS_MARKERS:
        if marker in text:
            return f"DNS lookup failed ({marker})"
    if "SSL" in text or "TLS" in text or "CERTIFICATE" in text.upper():
        return f"TLS handshake failed: {text}"
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(exc, httpx.RemoteProtocolError) and "without sending a response" in text:
        return "the server closed the connection without answering"
    if isinstance(exc, httpx.RemoteProtocolError) and "complete message body" in text:
        received = re.search(r"\((received [^)]*)\)", text)
        return "the connection closed in the middle of the answer" + (f" ({received.group(1)})" if received else "")
    if isinstance(exc, httpx.RemoteProtocolError):
        # h11 refused the answer itself: "illegal status line", "illegal header line", "Invalid chunk"...
        return f"the answer is not valid HTTP/1.1 ({text[:200]})"
    return f"{type(exc).__name__}: {text}"


# The deadline of the exchange this thread is sending (perf_counter seconds), read by every I/O call
# of its connection: one probe is shared by a burst's threads, each with its own exchange.
_deadline = threading.local()
# The key under which the answer's own headers travel past httpx (see _hide_location).
_HEADERS = "smokegate.headers"


def _within_deadline(timeout: float | None, late: type[httpcore.TimeoutException]) -> float | None:
    """The timeout of one socket read or write: httpx's own, shortened to what is left of the deadline."""
    deadline: float | None = getattr(_deadline, "at", None)
    if deadline is None:
        return timeout
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        raise late("the exchange's deadline passed")
    return remaining if timeout is None else min(timeout, remaining)


def _bound_io(stream: Any) -> None:
    """Bound every read and write of a connection's stream by the deadline of the exchange using it.

    httpx's timeouts are per socket call: an answer that sends a byte every second never times out
    with a 10 s read timeout.  The stream is httpcore's ``NetworkStream`` (its documented interface:
    ``read(max_bytes, timeout)``, ``write(buffer, timeout)``), handed over by the trace extension when
    the connection is made, so a reused connection stays bounded.
    """
    if stream is None or getattr(stream, "_smokegate_bounded", False):
        return
    read, write = stream.read, stream.write

    def bounded_read(max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))
        return data

    def bounded_write(buffer: bytes, timeout: float | None = None) -> None:
        write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    stream.read, stream.write, stream._smokegate_bounded = bounded_read, bounded_write, True


def _hide_location(response: httpx.Response) -> None:
    """A response hook: httpx never sees the answer's ``Location`` (see the module docstring)."""
    if "location" in response.headers:
        response.extensions = {**response.extensions, _HEADERS: response.headers}
        response.headers = httpx.Headers([(k, v) for k, v in response.headers.raw if k.lower() != b"location"])


class _Trace:
    def __init__(self) -> None:
        self.marks: dict[str, float] = {}

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        self.marks.setdefault(event, time.perf_counter())
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            _bound_io(info.get("return_value"))

    def span(self, name: str) -> float | None:
        start = self.marks.get(f"{name}.started")
        end = self.marks.get(f"{name}.complete")
        if start is None or end is None:
            return None
        return (end - start) * 1000

    def first(self, suffix: str) -> float | None:
        hits = [t for event, t in self.marks.items() if event.endswith(suffix)]
        return min(hits) if hits else None


@dataclass
class Probe:
    """Timed, counted HTTP for one target. Use as a context manager or call :meth:`close`."""

    target: Target
    extra_headers: dict[str, str] = field(default_factory=dict)
    requests_sent: int = 0
    # Called once per request sent (a retry included), so a run can count every request across all its probes.
    on_request: Callable[[], None] | None = None
    # Requests that needed a second attempt because of a transient network error.
    retries: int = 0
    max_answer_bytes: int = MAX_ANSWER_BYTES
    # What the checks using this probe judge (smokegate.intercepted); None: every answer is returned as
    # it came (reachability reads them itself).  A request may say otherwise with ``about=``.
    about: About | None = About.BEHAVIOUR
    # Requests waited for and sent again because a rate limiter or a maintenance front asked to wait.
    waits: int = 0

    def __post_init__(self) -> None:
        # Vercel's automation bypass header on the target's own origin only (smokegate.vercel_protection).
        bypass = self.target.bypass()
        self.client = httpx.Client(
            event_hooks={"request": [bypass.request_hook()] if bypass else [], "response": [_hide_location]},
            verify=self.target.ssl_context(),
            timeout=httpx.Timeout(self.target.timeout_s, connect=min(self.target.timeout_s, 5.0)),
            headers={"user-agent": USER_AGENT, "accept-encoding": ACCEPT_ENCODING, **self.extra_headers},
            follow_redirects=False,
            # A synthetic check should see the deployment, not a proxy configured in the environment.
            trust_env=False,
        )

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    def url(self, path_or_url: str) -> str:
        return path_or_url if "://" in path_or_url else self.target.url(path_or_url)

    def request(self, method: str, path_or_url: str, *, about: About | Literal["probe"] | None = "probe",
                **kwargs: Any) -> Exchange:
        """Send one request, retrying once on a transient network error (see the module docstring).

        An answer the check cannot judge (:mod:`smokegate.intercepted`: a 429, a challenge...) is
        waited for once when it asks for a wait the target's ``rate_limit.max_wait_s`` allows, then
        is :class:`~smokegate.failures.Inconclusive` (kind ``intercepted``), never a finding.

        Raises :class:`TargetUnreachable` (lasting: no answer), :class:`~smokegate.failures.Inconclusive`
        (transient, twice; or intercepted) or :class:`UnusableAnswer` (an endless or oversized answer).
        """
        judges = self.about if about == "probe" else about
        answer = self._exchange(method, path_or_url, **kwargs)
        if judges is None:
            return answer
        found = interception(answer.status, answer.headers, answer.text, judges)
        max_wait_s = self.target.security.rate_limit.max_wait_s
        if found is not None and found.wait_s is not None and found.wait_s <= max_wait_s:
            # Asked to come back later (a rerun inside the target's rate-limit window): once, as asked.
            self.waits += 1
            time.sleep(found.wait_s + WAIT_MARGIN_S)
            answer = self._exchange(method, path_or_url, **kwargs)
            found = interception(answer.status, answer.headers, answer.text, judges)
        if found is None:
            return answer
        waited = ""
        if found.wait_s is not None:
            waited = (f" (it asks to wait {found.wait_s:.0f} s, longer than the {max_wait_s:g} s the suite waits: "
                      "rate_limit.max_wait_s)" if found.wait_s > max_wait_s else " (again after the wait it asked for)")
        raise Inconclusive(found.describe(method, answer.url) + waited, FailureKind.INTERCEPTED)

    def _exchange(self, method: str, path_or_url: str, **kwargs: Any) -> Exchange:
        url = self.url(path_or_url)
        extensions = kwargs.pop("extensions", {})
        first_reason = ""
        for attempt in (1, 2):
            trace = _Trace()
            try:
                request = self.client.build_request(method, url, extensions={**extensions, "trace": trace}, **kwargs)
            except httpx.InvalidURL as exc:
                # A URL the target's own answer led to (a redirect hop, a script's src) that httpx cannot send.
                raise Inconclusive(f"{method} {url}: the suite cannot send a request to this URL ({exc})") from None
            self.requests_sent += 1
            if self.on_request is not None:
                self.on_request()
            started = time.perf_counter()
            answered = False
            _deadline.at = started + self.target.timeout_s
            try:
                response = self.client.send(request, stream=True)
                answered = True
                try:
                    body = self._read_bounded(response, method, url, started)
                finally:
                    response.close()
            except httpx.TransportError as exc:
                if not is_transient(exc):
                    raise TargetUnreachable(describe_transport_error(exc, self.target.timeout_s)) from exc
                reason = describe_transport_error(exc, self.target.timeout_s)
                if attempt == 1 and (not answered or method.upper() in IDEMPOTENT):
                    self.retries += 1
                    first_reason = reason
                    continue
                if attempt == 1:
                    where = f"after the answer had started ({method} {url}; not retried: {method} is not idempotent)"
                    reason = f"{reason} {where}"
                else:
                    reason = (reason if reason == first_reason else f"{first_reason}, then {reason}") + (
                        f" ({method} {url}, 2 attempts)")
                # Not chained: the step was retried already, so nothing should retry the whole check.
                raise Inconclusive(reason) from None
            finally:
                _deadline.at = None
            finished = time.perf_counter()
            headers_done = trace.first("receive_response_headers.complete") or finished
            timing = Timing(
                total_ms=(finished - started) * 1000,
                ttfb_ms=(headers_done - started) * 1000,
                connect_ms=trace.span("connection.connect_tcp"),
                tls_ms=trace.span("connection.start_tls"),
            )
            return Exchange(
                method=method,
                url=str(request.url),
                status=response.status_code,
                headers=response.extensions.get(_HEADERS, response.headers),
                text=_decode(body, response.charset_encoding),
                timing=timing,
                http_version=response.http_version,
                attempts=attempt,
            )
        raise RuntimeError("unreachable: the loop returns or raises")  # pragma: no cover

    def _read_bounded(self, response: httpx.Response, method: str, url: str, started: float) -> bytes:
        """The body, read for at most ``timeout_s`` in all and :attr:`max_answer_bytes` decoded."""
        deadline = started + self.target.timeout_s
        decoder = BoundedDecoder(response.headers.get_list("content-encoding", split_commas=True),
                                 self.max_answer_bytes)
        chunks: list[bytes] = []
        received = 0
        last = started
        try:
            for raw in response.iter_raw():
                received += len(raw)
                last = time.perf_counter()
                chunks.append(decoder.feed(raw))
                if last > deadline:
                    raise UnusableAnswer(self._endless(response, method, url, received))
            chunks.append(decoder.flush())
        except Oversized:
            raise UnusableAnswer(
                f"{method} {url} answered {response.status_code} with more than {_mib(self.max_answer_bytes)}"
                f"{' decoded' if decoder.layers else ''} (declared length "
                f"{response.headers.get('content-length', 'none')}"
                f"{', content-encoding ' + response.headers.get('content-encoding', '') if decoder.layers else ''});"
                " stopped reading there: no page or API answer should be this large") from None
        except Undecodable as exc:
            raise UnusableAnswer(
                f"{method} {url} answered {response.status_code} with a body that does not decode as its "
                f"Content-Encoding {response.headers.get('content-encoding', '')!r} says ({exc}): a browser "
                "shows an error page (ERR_CONTENT_DECODING_FAILED)") from None
        except httpx.TimeoutException:
            # Cut by the deadline while the body kept coming: it does not end (the server's doing).
            # Silent for a while before the deadline: a stall on the way, which the retry policy handles.
            now = time.perf_counter()
            if now >= deadline and now - last < min(1.0, self.target.timeout_s / 4):
                raise UnusableAnswer(self._endless(response, method, url, received)) from None
            raise
        return b"".join(chunks)

    def _endless(self, response: httpx.Response, method: str, url: str, received: int) -> str:
        return (f"{method} {url} answered {response.status_code} but the body did not end within "
                f"{self.target.timeout_s:g} s ({received} bytes received); stopped reading there")

    def get(self, path_or_url: str, **kwargs: Any) -> Exchange:
        return self.request("GET", path_or_url, **kwargs)

    def sample(self, method: str, path_or_url: str, n: int, **kwargs: Any) -> tuple[list[Exchange], Samples]:
        """Send the same request ``n`` times in a row; return the exchanges and their total times."""
        exchanges = [self.request(method, path_or_url, **kwargs) for _ in range(n)]
        return exchanges, Samples.of([x.timing.total_ms for x in exchanges])


T = TypeVar("T")


def remembered(cache: dict[str, T | BaseException], key: str, fetch: Callable[[], T]) -> T:
    """``fetch()`` once per key, its answer *or what kept it* (a network fault, an unusable answer):
    a page the probe could not read is one "could not be determined" for every check reading it, not
    one more request (and one more 16 MiB download, or timeout) per check."""
    if key not in cache:
        try:
            cache[key] = fetch()
        except (Inconclusive, UnusableAnswer, TargetUnreachable) as exc:
            cache[key] = exc
    found = cache[key]
    if isinstance(found, BaseException):
        raise found.with_traceback(None)
    return found


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know: read it as UTF-8, as httpx would
        return body.decode("utf-8", errors="replace")


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:g} MiB"
