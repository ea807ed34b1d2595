"""The HTTP probe: every request the suite sends, timed by phase and counted.

A :class:`Probe` wraps one ``httpx.Client`` for one target.  Each exchange records its phases
(TCP connect, TLS handshake, time to first byte, total) from httpcore's trace events, and whether
the connection was fresh or reused, so a slow answer can be told apart from a slow handshake.
Every request has a timeout and counts towards :attr:`Probe.requests_sent`, which the gate reports.
"""

from __future__ import annotations

import errno
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from smokegate import __version__
from smokegate.config import Target
from smokegate.timing import Samples

# page_samples(path) -> the exchanges and their timing samples (see tests/conftest.py).
Sampler = Callable[[str], tuple[list["Exchange"], Samples]]

USER_AGENT = f"smokegate/{__version__} (synthetic monitoring)"


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

    def json(self) -> Any:
        import json

        return json.loads(self.text)


class TargetUnreachable(Exception):
    """No HTTP answer at all: DNS, refused connection, TLS handshake or timeout."""


def describe_transport_error(exc: BaseException, timeout_s: float | None = None) -> str:
    """One line an SRE can act on, from whatever httpx raised below the HTTP layer."""
    chain: list[BaseException] = []
    cursor: BaseException | None = exc
    while cursor is not None and cursor not in chain:
        chain.append(cursor)
        cursor = cursor.__cause__ or cursor.__context__
    for item in chain:
        if isinstance(item, socket.gaierror):
            return f"DNS lookup failed ({item.strerror or item})"
        if isinstance(item, ssl.SSLCertVerificationError):
            detail = getattr(item, "verify_message", None) or getattr(item, "reason", None) or item
            return f"TLS handshake failed: certificate not trusted ({detail})"
        if isinstance(item, ssl.SSLError):
            return f"TLS handshake failed: {getattr(item, 'reason', None) or item}"
        if isinstance(item, ConnectionRefusedError) or getattr(item, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
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
    for marker in ("Name or service not known", "nodename nor servname", "Temporary failure in name resolution"):
        if marker in text:
            return f"DNS lookup failed ({marker})"
    if "SSL" in text or "TLS" in text or "CERTIFICATE" in text.upper():
        return f"TLS handshake failed: {text}"
    if "Connection refused" in text:
        return "connection refused"
    return f"{type(exc).__name__}: {text}"


class _Trace:
    def __init__(self) -> None:
        self.marks: dict[str, float] = {}

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        self.marks.setdefault(event, time.perf_counter())

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
    http2: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)
    requests_sent: int = 0
    # Called once per request sent, so a run can count every request across all its probes.
    on_request: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        # Vercel's automation bypass header on the target's own origin only (smokegate.vercel).
        bypass = self.target.bypass()
        self.client = httpx.Client(
            event_hooks={"request": [bypass.request_hook()] if bypass else []},
            verify=self.target.ssl_context(),
            http2=self.http2,
            timeout=httpx.Timeout(self.target.timeout_s, connect=min(self.target.timeout_s, 5.0)),
            headers={"user-agent": USER_AGENT, **self.extra_headers},
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

    def request(self, method: str, path_or_url: str, **kwargs: Any) -> Exchange:
        """Send one request; raise :class:`TargetUnreachable` when no HTTP answer came back."""
        trace = _Trace()
        extensions = {**kwargs.pop("extensions", {}), "trace": trace}
        request = self.client.build_request(method, self.url(path_or_url), extensions=extensions, **kwargs)
        self.requests_sent += 1
        if self.on_request is not None:
            self.on_request()
        started = time.perf_counter()
        try:
            response = self.client.send(request)
            response.read()
        except httpx.TransportError as exc:
            raise TargetUnreachable(describe_transport_error(exc, self.target.timeout_s)) from exc
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
            headers=response.headers,
            text=response.text,
            timing=timing,
            http_version=response.http_version,
        )

    def get(self, path_or_url: str, **kwargs: Any) -> Exchange:
        return self.request("GET", path_or_url, **kwargs)

    def sample(self, method: str, path_or_url: str, n: int, **kwargs: Any) -> tuple[list[Exchange], Samples]:
        """Send the same request ``n`` times in a row; return the exchanges and their total times."""
        exchanges = [self.request(method, path_or_url, **kwargs) for _ in range(n)]
        return exchanges, Samples.of([x.timing.total_ms for x in exchanges])
