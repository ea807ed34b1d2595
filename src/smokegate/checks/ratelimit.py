"""Rate limiting: a bounded concurrent burst that stops at the first 429, and reading its answer.

The burst never sends more than its cap, with at most ``concurrency`` requests in flight, and stops
as soon as one answer is a 429 (requests already in flight still complete and are counted).  A
request the network kept from its answer (after the probe's own retry) is counted apart, in
``not_sent``, and the burst goes on: it is neither an answer nor a reason to stop.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Generic, Protocol, TypeVar

from smokegate.failures import FailureKind, Inconclusive


class Answer(Protocol):
    @property
    def status(self) -> int: ...


A = TypeVar("A", bound=Answer)


@dataclass
class Burst(Generic[A]):
    cap: int
    sent: int = 0
    statuses: list[int] = field(default_factory=list)
    first_429: A | None = None
    # The ordinal (1-based) of the request whose answer was the first 429.
    limited_at: int | None = None
    # Requests that got no answer because the network failed on the way (reason each).
    not_sent: list[str] = field(default_factory=list)
    # Anything else send() raised: the burst stops there.
    errors: list[str] = field(default_factory=list)
    # Seconds from the first request sent to the last answer: every request reached the target within it.
    span_s: float = 0.0

    @property
    def answered(self) -> int:
        return len(self.statuses)


def run_burst(
    send: Callable[[], A], cap: int, concurrency: int,
    unsent: tuple[type[BaseException], ...] = (Inconclusive,), clock: Callable[[], float] = time.monotonic,
) -> Burst[A]:
    """Send up to ``cap`` requests, ``concurrency`` at a time, until the first 429.

    ``unsent`` are the exceptions that mean "the network failed, no answer" (counted, not stopping).
    """
    burst: Burst[A] = Burst(cap=cap)
    started = clock()
    lock = threading.Lock()
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            with lock:
                if burst.sent >= cap:
                    return
                burst.sent += 1
                ordinal = burst.sent
            try:
                answer = send()
            except unsent as exc:
                with lock:
                    burst.not_sent.append(str(getattr(exc, "reason", None) or exc))
                continue
            except Exception as exc:
                with lock:
                    burst.errors.append(f"{type(exc).__name__}: {exc}")
                stop.set()
                return
            with lock:
                burst.span_s = max(burst.span_s, clock() - started)
                burst.statuses.append(answer.status)
                if answer.status == 429 and burst.first_429 is None:
                    burst.first_429, burst.limited_at = answer, ordinal
            if answer.status == 429:
                stop.set()

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, cap))) as pool:
        for _ in range(max(1, min(concurrency, cap))):
            pool.submit(worker)
    return burst


def undetermined(burst: Burst[A], limit: int, window_s: float | None = None) -> str | None:
    """Why a burst without a 429 cannot show whether the limit is enforced: too few answers, or answers
    spread over more than the limit's window.

    Twice the limit and one requests that all reach the target within one window's length meet a working
    limiter (fixed windows aligned on the clock cut them in two at most; a sliding window holds them all).
    A target that answered the burst more slowly than that may have counted them in three windows or more,
    none over the limit: no 429 is then no finding, whatever the cause of the slowness."""
    if burst.first_429 is not None:
        return None
    if burst.not_sent and burst.answered < limit:
        return (f"only {burst.answered} of {burst.sent} requests were answered, fewer than the limit of {limit}: "
                f"{len(burst.not_sent)} could not be sent ({burst.not_sent[0]})")
    if window_s is not None and burst.span_s > window_s:
        return (f"the burst's {burst.answered} answers took {burst.span_s:.1f} s, longer than the limit's "
                f"{window_s:g} s window: a working limiter need not have refused any of them")
    return None


def undetermined_kind(burst: Burst[A], limit: int) -> FailureKind:
    """Whose doing an undetermined burst is (:func:`undetermined`): the network's when requests could not be
    sent, else the measurement's (answers spread wider than the window)."""
    if burst.not_sent and burst.answered < limit:
        return FailureKind.NETWORK
    return FailureKind.INSUFFICIENT_EVIDENCE


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or HTTP-date); None if unparseable."""
    if value is None:
        return None
    value = value.strip()
    if _DIGITS.fullmatch(value):  # str.isdigit() takes "²", which float() refuses
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


_DIGITS = re.compile(r"[0-9]+")
_RESET = re.compile(r"(?:^|[;,\s])(?:reset|t)\s*=\s*([0-9]+)", re.ASCII)


def parse_ratelimit_reset(headers: Mapping[str, str]) -> float | None:
    """Seconds until the window resets, from IETF ``RateLimit`` headers (draft 7 or 8 syntax).

    Draft 7: ``RateLimit: limit=30, remaining=0, reset=7`` (or ``RateLimit-Reset: 7``);
    draft 8+: ``RateLimit: "default";r=0;t=7`` with ``RateLimit-Policy: "default";q=30;w=10``.
    """
    reset = headers.get("ratelimit-reset")
    if reset is not None and _DIGITS.fullmatch(reset.strip()):
        return float(reset.strip())
    match = _RESET.search(headers.get("ratelimit", ""))
    return float(match.group(1)) if match else None


def has_ratelimit_policy(headers: Mapping[str, str]) -> bool:
    policy = headers.get("ratelimit-policy", "")
    return bool(re.search(r"(?:^|[;,\s])(?:q=\d+|\d+\s*;\s*w=\d+)", policy))


def publicly_cacheable(cache_control: str | None) -> str | None:
    """Why a shared cache (CDN) may store this answer, or None.

    A 429 is not heuristically cacheable (RFC 9111 section 4.2.2), so only explicit directives count.
    """
    if not cache_control:
        return None
    directives: dict[str, str] = {}
    for part in cache_control.split(","):
        name, _, value = part.strip().partition("=")
        directives[name.strip().lower()] = value.strip().strip('"')
    if "no-store" in directives or "private" in directives:
        return None
    if "public" in directives:
        return "Cache-Control: public"
    for name in ("s-maxage", "max-age"):
        raw = directives.get(name, "0")
        if _DIGITS.fullmatch(raw) and int(raw) > 0:
            return f"Cache-Control: {name}={raw}"
    return None
