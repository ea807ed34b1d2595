"""The rate-limit run: one bounded burst per run, and the wait for the limit to lift, in the background.

The burst (and the bypass attempts right after its first 429) is sent once per run, by whichever
process of the run first needs it, with every measurement of the run held off
(:meth:`smokegate.shared.RunLocks.load`); the other processes read what it got
(:func:`smokegate.shared.once`).  Then the advertised wait (``Retry-After`` or the ``RateLimit``
reset, capped at ``max_wait_s``) runs out in a thread while the other checks go on, and one more
request tells whether the limit lifted.  The check judging that joins the thread's result — written
to the run's shared directory, so it can run on any worker — and is ordered last, so by then the
wait is usually over.  Until the limit is seen to lift, the route's window is held
(:meth:`~smokegate.shared.RunLocks.hold_window`): other checks' requests to it wait rather than
collect its 429.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from smokegate.checks import ratelimit
from smokegate.checks.ratelimit import Burst
from smokegate.failures import CheckFailure, FailureKind, Inconclusive

if TYPE_CHECKING:
    from smokegate.checks.ratelimit_bypass import Attempt
    from smokegate.probe import Exchange
    from smokegate.security.config import RateLimit
    from smokegate.shared import Held

LIFT_FILE = "rate-limit-lift.json"
# How long past the wait and the request's own timeout a check waits for the lift's result.
JOIN_SLACK_S = 30.0


@dataclass
class RateLimitRun:
    """The bounded burst, and what rotating client-IP headers did right after its first 429."""

    burst: Burst[Exchange]
    # Empty when the burst got no 429 (there is no limit to bypass) or broke off.
    bypass: list[Attempt] = field(default_factory=list)
    # Seconds to wait after the first 429 before asking again (None: no 429, nothing to wait for).
    wait_s: float | None = None
    # When the first 429 arrived (epoch seconds: the same clock on every process of the run).
    limited_at: float | None = None
    # The wait the first 429 asked for, before the cap (None: it did not say, or there was no 429).
    advertised_s: float | None = None


class Causes(Protocol):
    """What a check's record takes of a cause (:meth:`smokegate.plugin.run.CheckRecord.cause`)."""

    def cause(self, summary: str, *keys: str) -> None: ...


def no_limit_cause(record: Causes, limit: RateLimit) -> None:
    """No limit at all fails the burst and leaves every check that reads its 429 without one: one finding."""
    record.cause(f"the rate limit on {limit.path}", f"rate-limit:{limit.path}")


def first_429(burst: Burst[Exchange], limit: RateLimit, record: Causes) -> Exchange:
    """The burst's first 429, for a check that reads it (its headers, what a bypass does after it).

    Without one, the check fails under the burst check's cause (one finding: no limit); a burst that
    could not show whether there is a limit has no 429 to read either, and that is not a finding."""
    if burst.first_429 is not None:
        return burst.first_429
    no_limit_cause(record, limit)
    why = ratelimit.undetermined(burst, limit.limit, limit.window_s)
    if why is not None:
        raise Inconclusive(f"the 429 of {limit.path}: {why}", ratelimit.undetermined_kind(burst, limit.limit))
    raise AssertionError(f"no 429 within {burst.sent} requests to {limit.path}: nothing to inspect "
                         f"(statuses {sorted(set(burst.statuses))})")


def advertised_wait(burst: Burst[Exchange]) -> float | None:
    """The wait the first 429 advertised (Retry-After, else the RateLimit reset); None when it said none."""
    if burst.first_429 is None:
        return None
    headers = burst.first_429.headers
    advertised = ratelimit.parse_retry_after(headers.get("retry-after"))
    return advertised if advertised is not None else ratelimit.parse_ratelimit_reset(headers)


def lift_wait(burst: Burst[Exchange], max_wait_s: float) -> float | None:
    """The wait the first 429 advertised, capped at ``max_wait_s``; None without a 429."""
    if burst.first_429 is None:
        return None
    advertised = advertised_wait(burst)
    return min(max_wait_s, advertised if advertised is not None else max_wait_s)


@dataclass
class Lift:
    """The one request sent after the wait: its status, or why there is none."""

    waited_s: float
    status: int | None = None
    requests: int = 0
    # "network" or "intercepted" (could not be determined), "finding:<kind>" (the answer itself was the
    # problem), "error".
    error_kind: str | None = None
    error: str | None = None
    # What the 429 asked for, when the cap kept the wait shorter (then a 429 now proves nothing).
    advertised_s: float | None = None

    def raise_error(self) -> None:
        """Raise what the request raised, as the check would have seen it."""
        if self.error_kind is None:
            return
        message = self.error or "no answer"
        if self.error_kind in (FailureKind.NETWORK, FailureKind.INTERCEPTED):
            raise Inconclusive(message, FailureKind(self.error_kind))
        if self.error_kind.startswith("finding:"):
            raise CheckFailure(self.error_kind.removeprefix("finding:"), message)
        raise RuntimeError(f"the request after the rate-limit wait failed: {message}")


def _lift_of(waited_s: float, requests: int, exc: BaseException) -> Lift:
    from smokegate.probe import TargetUnreachable

    if isinstance(exc, Inconclusive):
        return Lift(waited_s, requests=requests, error_kind=str(exc.kind), error=exc.reason)
    if isinstance(exc, TargetUnreachable):
        return Lift(waited_s, requests=requests, error_kind=FailureKind.NETWORK, error=f"target unreachable: {exc}")
    if isinstance(exc, CheckFailure):
        return Lift(waited_s, requests=requests, error_kind=f"finding:{exc.kind}", error=str(exc))
    return Lift(waited_s, requests=requests, error_kind="error", error=f"{type(exc).__name__}: {exc}")


class LiftWatch:
    """Waits out the window in a thread, sends the one request, and writes its result for the run.

    ``request`` sends it; ``sent`` says how many requests that took (a retried one counts twice);
    ``window``, the route's window the burst took, is released once the answer is in.
    """

    def __init__(self, run: RateLimitRun, request: Callable[[], Exchange], sent: Callable[[], int],
                 shared_dir: Path, window: Held | None) -> None:
        self.run = run
        self.request = request
        self.sent = sent
        self.path = shared_dir / LIFT_FILE
        self.window = window
        self.thread = threading.Thread(target=self._watch, name="smokegate-rate-limit-lift", daemon=True)

    def start(self) -> LiftWatch:
        self.thread.start()
        return self

    def _watch(self) -> None:
        waited = 0.0
        try:
            if self.run.wait_s is not None and self.run.limited_at is not None:
                waited = self.run.wait_s
                time.sleep(max(0.0, self.run.limited_at + self.run.wait_s - time.time()))
            advertised = self.run.advertised_s
            capped = advertised if advertised is not None and advertised > waited else None
            if self.run.limited_at is None:
                lift = Lift(waited)  # no 429, no limit to lift: nothing to ask (the check says why)
            else:
                try:
                    answer = self.request()
                    lift = Lift(waited, status=answer.status, requests=self.sent(), advertised_s=capped)
                except Exception as exc:
                    lift = _lift_of(waited, self.sent(), exc)
            partial = self.path.with_suffix(".partial")
            partial.write_text(json.dumps(asdict(lift)))
            partial.replace(self.path)
        finally:
            if self.window is not None:
                self.window.release()

    def join(self, timeout_s: float) -> None:
        self.thread.join(timeout_s)


def join_lift(shared_dir: Path, run: RateLimitRun, timeout_s: float) -> Lift:
    """The lift's result, waiting for it (bounded: the rest of the wait, the request's timeout, slack)."""
    path = shared_dir / LIFT_FILE
    remaining = 0.0
    if run.wait_s is not None and run.limited_at is not None:
        remaining = max(0.0, run.limited_at + run.wait_s - time.time())
    deadline = time.monotonic() + remaining + 2 * timeout_s + JOIN_SLACK_S
    while not path.exists():
        if time.monotonic() > deadline:
            raise Inconclusive("the request after the rate-limit wait got no answer in time")
        time.sleep(0.02)
    data: dict[str, Any] = json.loads(path.read_text())
    return Lift(**data)


def send_burst(send: Callable[[Mapping[str, str] | None], Exchange], limit_cap: int, concurrency: int,
               max_wait_s: float) -> RateLimitRun:
    """The burst, then the bypass attempts while the limit holds."""
    from smokegate.checks.ratelimit import run_burst
    from smokegate.checks.ratelimit_bypass import try_headers
    from smokegate.probe import TargetUnreachable

    burst = run_burst(lambda: send(None), cap=limit_cap, concurrency=concurrency,
                      unsent=(Inconclusive, TargetUnreachable))
    run = RateLimitRun(burst)
    if burst.first_429 is not None:
        # The clock of the wait starts at the 429, before the bypass attempts.
        run.limited_at = time.time()
        run.wait_s = lift_wait(burst, max_wait_s)
        run.advertised_s = advertised_wait(burst)

    def relimit() -> bool:
        """The window ended before the bypass attempts were done: the limit is built up again, and the
        lift's wait starts at this 429 (the window it opened is the one that must lift)."""
        again = run_burst(lambda: send(None), cap=limit_cap, concurrency=concurrency,
                          unsent=(Inconclusive, TargetUnreachable))
        if again.first_429 is None or again.errors:
            return False
        run.limited_at = time.time()
        run.wait_s = lift_wait(again, max_wait_s)
        run.advertised_s = advertised_wait(again)
        return True

    if burst.first_429 is not None and not burst.errors:
        run.bypass = try_headers(send, relimit=relimit)
    return run
