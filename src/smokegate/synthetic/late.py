"""Late failures: what a sampled page throws or logs after load, within ``synthetic.late_error_window_ms``.

A sample ends once the page's network has been quiet for ``settle_ms`` (150 ms).  An error a page
throws later (a ``setTimeout`` in a ``useEffect``, a widget failing after its data arrives) used to
be missed.  So the last sample of each page is watched on until the window (5 s by default) after
its load event has passed, *on the page's own clock*: Chromium's virtual time (the DevTools
protocol's ``Emulation.setVirtualTimePolicy``, what headless Chrome's ``--virtual-time-budget``
runs on) runs the page's timers in their order without waiting them out, so 5 s of a page that only
waits cost a few milliseconds.  The clock stops while a request is in flight
(``pauseIfNetworkFetchesPending``): a widget that fails 500 ms after a slow answer arrives fails
after the answer, as it would in real time.

Bounds, so the watch costs about what watching in real time would at most: once the window has
passed in real time and a request still holds the page's clock (a stream, a long poll), the rest of
the window runs regardless of requests; the page's own work then gets at most ``ADVANCE_CAP_MS``.

Not seen by the page's clock: what arrives from outside it in real time after the window has run
out quickly (a server push over a WebSocket, a worker's timers, a cross-origin frame's timers).
A browser without the DevTools protocol (Firefox, WebKit), or whose protocol has no virtual time,
is watched in real time: the window then costs its length, once per page.

When: a console message carries its time; an uncaught exception's comes from the DevTools
protocol's own report of it (``Runtime.exceptionThrown``), matched by its text.  Both are on the
page's clock, so "thrown 300 ms after load" is 300 ms of the page's time after its load event (in
real time, later by as long as its requests held the clock).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import CDPSession, Page

# The page's clock stops while a request is in flight; ``ADVANCE`` runs it regardless.
PAUSE_FOR_REQUESTS = "pauseIfNetworkFetchesPending"
ADVANCE = "advance"
# How often the watch looks whether the page's clock has reached the end of the window.
POLL_MS = 2.0
# The page's own work (its timers, run back to back) once requests no longer hold its clock.
ADVANCE_CAP_MS = 2000.0
# How long the events the browser already sent may take to reach the suite after the watch.
FLUSH_CAP_MS = 250.0
PAGE_NOW = "() => performance.now()"
PAGE_CLOCK = ("() => ({now: performance.now(), origin: performance.timeOrigin, "
              "load: (performance.getEntriesByType('navigation')[0] || {}).loadEventEnd || 0})")


@dataclass(frozen=True)
class LateError:
    """An error seen after the sample's quiet time: what it said, and how long after the load event."""

    text: str
    after_ms: float | None
    verb: str = "thrown"  # "thrown": an uncaught exception; "logged": a console error

    def shown(self) -> str:
        when = "after load" if self.after_ms is None else f"{self.after_ms:.0f} ms after load"
        return f"{self.text} ({self.verb} {when})"


def merged(plain: Iterable[str], late: Iterable[LateError]) -> list[str]:
    """Every error of a page's samples once, in order: an error a sample saw within its quiet time is
    not repeated as a late one (on a slow machine the 300 ms error lands inside the quiet time)."""
    shown: dict[str, str] = {text: text for text in plain}
    for error in late:
        shown.setdefault(error.text, error.shown())
    return list(shown.values())


def exception_times(errors: Sequence[str], thrown: Sequence[tuple[float, str]], load_epoch_ms: float) -> list[
        float | None]:
    """When each late uncaught exception was thrown, in ms after load: each error's text is matched
    with the first report of the DevTools protocol (epoch ms, first line) not matched yet that says
    the same.  None where none does (an exception of a frame in another process, which the page's
    protocol session does not see)."""
    used: set[int] = set()
    times: list[float | None] = []
    for text in errors:
        found = next((i for i, (_, line) in enumerate(thrown)
                      if i not in used and (line == text or line.endswith(text) or text.endswith(line))), None)
        if found is None:
            times.append(None)
            continue
        used.add(found)
        times.append(max(0.0, thrown[found][0] - load_epoch_ms))
    return times


def within(errors: Iterable[LateError], window_ms: float) -> list[LateError]:
    """The errors inside the window (the watch may overrun it by a poll; an error it saw past the end is
    beyond what was asked); one of unknown time was seen while the watch lasted."""
    return [e for e in errors if e.after_ms is None or e.after_ms <= window_ms]


@dataclass
class Watch:
    """How a page was watched after its sample, and what the DevTools protocol saw meanwhile."""

    window_ms: float
    # How far after the load event the watch got on the page's clock, and what it cost in real time.
    covered_ms: float = 0.0
    wall_ms: float = 0.0
    # "page": Chromium's virtual time; "real": the window waited out (no DevTools protocol, or no
    # virtual time in it).
    clock: str = "page"
    # Uncaught exceptions of this document as the protocol reported them: (epoch ms, first line).
    thrown: list[tuple[float, str]] = field(default_factory=list)
    console_errors: int = 0


def watch(page: Page, cdp: CDPSession | None, window_ms: float, load_ms: float, now_ms: float, origin_ms: float,
          delivered: Callable[[], tuple[int, int]] | None = None) -> Watch:
    """Watch ``page`` until ``window_ms`` after its load event (``load_ms``, page time; ``now_ms`` is
    the page's time when the sample ended, ``origin_ms`` its time origin, epoch ms).

    ``delivered()`` says how many uncaught exceptions and console errors of the document the suite's
    own listeners have received: the watch waits (bounded) until they have what the protocol saw.
    The page's clock stays stopped at the end of the window: the page is not reused for a sample.
    """
    result = Watch(window_ms, covered_ms=max(0.0, now_ms - load_ms))
    budget = window_ms - result.covered_ms
    if budget <= 0:
        return result
    started = time.monotonic()
    if cdp is None:
        _real_time(page, result, budget)
        result.wall_ms = (time.monotonic() - started) * 1000
        return result
    expired: list[bool] = []

    def on_exception(params: dict[str, Any]) -> None:
        details = params.get("exceptionDetails") or {}
        exception = details.get("exception") or {}
        text = exception.get("description") or exception.get("value") or details.get("text") or ""
        result.thrown.append((float(params.get("timestamp") or 0.0), str(text).split("\n", 1)[0]))

    def on_console(params: dict[str, Any]) -> None:
        if params.get("type") == "error" and float(params.get("timestamp") or 0.0) >= origin_ms:
            result.console_errors += 1

    handlers: list[tuple[str, Callable[[Any], None]]] = [
        ("Runtime.exceptionThrown", on_exception),
        ("Runtime.consoleAPICalled", on_console),
        ("Emulation.virtualTimeBudgetExpired", lambda _params: expired.append(True)),
    ]
    for event, handler in handlers:
        cdp.on(event, handler)
    try:
        # Enabling replays what the document reported before (each with its time): counted, not new.
        cdp.send("Runtime.enable")
        if _run_clock(page, cdp, budget, window_ms, load_ms, expired):
            result.covered_ms = page.evaluate(PAGE_NOW) - load_ms
        else:
            _real_time(page, result, budget)
        result.thrown = [(at, line) for at, line in result.thrown if at >= origin_ms]
        if delivered is not None:
            _flush(page, delivered, len(result.thrown), result.console_errors)
    finally:
        for event, handler in handlers:
            cdp.remove_listener(event, handler)
    result.wall_ms = (time.monotonic() - started) * 1000
    return result


def _real_time(page: Page, result: Watch, budget_ms: float) -> None:
    """The rest of the window waited out in real time (no virtual time to run the page's clock)."""
    page.wait_for_timeout(budget_ms)
    result.clock, result.covered_ms = "real", result.window_ms


def _run_clock(page: Page, cdp: CDPSession, budget_ms: float, window_ms: float, load_ms: float,
               expired: list[bool]) -> bool:
    """Run the page's clock ``budget_ms`` on, stopped by requests in flight until the window has
    passed in real time, then regardless of them; False if the browser has no virtual time."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        cdp.send("Emulation.setVirtualTimePolicy", {"policy": PAUSE_FOR_REQUESTS, "budget": budget_ms})
    except PlaywrightError:
        return False  # a Chromium-based browser whose protocol lacks it
    deadline = time.monotonic() + budget_ms / 1000
    policy = PAUSE_FOR_REQUESTS
    while not expired:
        if time.monotonic() >= deadline:
            if policy == ADVANCE:
                return True  # the page's own work outlasted its cap: watched as far as its clock got
            rest = window_ms - (page.evaluate(PAGE_NOW) - load_ms)
            if rest <= 0:
                return True
            cdp.send("Emulation.setVirtualTimePolicy", {"policy": ADVANCE, "budget": rest})
            policy, deadline = ADVANCE, time.monotonic() + ADVANCE_CAP_MS / 1000
        page.wait_for_timeout(POLL_MS)
    return True


def _flush(page: Page, delivered: Callable[[], tuple[int, int]], exceptions: int, console_errors: int) -> None:
    """Wait (bounded) until the suite's listeners have every error the protocol reported."""
    deadline = time.monotonic() + FLUSH_CAP_MS / 1000
    while time.monotonic() < deadline:
        got_exceptions, got_console = delivered()
        if got_exceptions >= exceptions and got_console >= console_errors:
            return
        page.wait_for_timeout(POLL_MS)
