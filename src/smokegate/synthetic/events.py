"""The event log of a browser context (:class:`ContextEvents`): console errors, uncaught exceptions,
failed requests (the network's cuts kept apart from the page's own failures) and requests in flight,
so a page load can wait until it is quiet and say what went wrong.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import BrowserContext, Page

from smokegate.failures import is_transient
from smokegate.scrub import SCRUBBER
from smokegate.synthetic.late import LateError
from smokegate.synthetic.oauth import origin_of
from smokegate.synthetic.steps import redact_url
from smokegate.synthetic.vitals import RESOURCE_ERROR_PREFIX

REFUSED_SCRIPT = re.compile(r"Refused to execute script from '([^']+)'")
# How often a wait for quiet looks again while requests are in flight; one frame at 60 Hz.
IN_FLIGHT_POLL_MS = 20.0
FRAME_MS = 1000 / 60


@dataclass
class ContextEvents:
    """What went wrong in a browser context: console errors, uncaught exceptions, failed requests."""

    app_origin: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    # Same-origin requests the network cut: the whole load is spoiled (timing, scripts), not the page.
    network_failures: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    # URLs that answered 4xx/5xx: the console's own complaints about them are judged as subresources.
    error_urls: set[str] = field(default_factory=set)
    in_flight: int = 0
    last_activity: float = field(default_factory=time.monotonic)
    # What the context was for, in the evidence logs (empty: the check's own work).
    label: str = ""
    # Set once the sample has ended (epoch ms of the page's load event): errors from then on are late.
    late_since: float | None = None
    late_console_errors: list[LateError] = field(default_factory=list)
    late_page_errors: list[str] = field(default_factory=list)
    # Every uncaught exception and console error received, late or not (to know all have arrived).
    exceptions_seen: int = 0
    console_errors_seen: int = 0

    def attach(self, context: BrowserContext) -> None:
        self._handlers: list[tuple[str, Callable[[Any], None]]] = [
            ("console", self._console),
            ("weberror", lambda error: self._page_error(error.error)),
            ("request", self._request),
            ("requestfinished", self._settled),
            ("requestfailed", self._failed),
            ("response", self._response),
        ]
        for event, handler in self._handlers:
            context.on(event, handler)  # type: ignore[call-overload]

    def detach(self, context: BrowserContext) -> None:
        """Stop listening (the context goes on to another sample with events of its own)."""
        for event, handler in getattr(self, "_handlers", []):
            context.remove_listener(event, handler)
        self._handlers = []

    def _stamp(self, line: str) -> None:
        self.log.append(f"{time.strftime('%H:%M:%S')} {SCRUBBER.text(line)}")

    def _console(self, message: Any) -> None:
        self._stamp(f"console.{message.type}: {message.text}")
        if message.type != "error":
            return
        self.console_errors_seen += 1
        if self._about_failed_resource(message.text):
            return
        text = SCRUBBER.text(message.text)
        if self.late_since is None:
            self.console_errors.append(text)
            return
        # The message's own time is the page's (its clock, virtual while the page is watched).
        at = getattr(message, "timestamp", None)
        after = None if not at else max(0.0, float(at) - self.late_since)
        self.late_console_errors.append(LateError(text, after, "logged"))

    def _about_failed_resource(self, text: str) -> bool:
        # Chromium logs "Failed to load resource" for every failed request, and refuses to run an
        # error page served as a script ("Refused to execute script from '<url>' ... MIME type"):
        # both are the failed subresource again, which its own check reports with the URL.
        if text.startswith(RESOURCE_ERROR_PREFIX):
            return True
        refused = REFUSED_SCRIPT.match(text)
        return bool(refused and refused.group(1) in self.error_urls)

    def _page_error(self, error: Any) -> None:
        message = str(error)
        self._stamp(f"uncaught exception: {message}")
        self.exceptions_seen += 1
        # "TypeError: Cannot read properties of undefined": the kind of error, as the console shows it.
        first = message.splitlines()[0] if message else message
        name = str(getattr(error, "name", "") or "")
        text = SCRUBBER.text(f"{name}: {first}" if name and not first.startswith(name) else first)
        (self.page_errors if self.late_since is None else self.late_page_errors).append(text)

    def delivered(self) -> tuple[int, int]:
        """Uncaught exceptions and console errors received so far."""
        return self.exceptions_seen, self.console_errors_seen

    def _request(self, request: Any) -> None:
        self.in_flight += 1
        self.last_activity = time.monotonic()

    def _settled(self, request: Any) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self.last_activity = time.monotonic()

    def _failed(self, request: Any) -> None:
        self._settled(request)
        failure = request.failure or "failed"
        self._stamp(f"request failed: {request.method} {redact_url(request.url)} ({failure})")
        # Requests the suite itself aborted (OAuth capture) are not the page's failures, and an
        # error answer already counted is not counted again when Chromium then aborts its body.
        if (
            origin_of(request.url) == self.app_origin
            and "ERR_BLOCKED_BY_CLIENT" not in failure
            and request.url not in self.error_urls
        ):
            line = f"{request.method} {redact_url(request.url)}: {failure}"
            (self.network_failures if is_transient(failure) else self.failed_requests).append(line)

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            request = response.request
            self._stamp(f"HTTP {response.status}: {request.method} {redact_url(response.url)}")
            if origin_of(response.url) == self.app_origin and request.resource_type != "document":
                self.error_urls.add(response.url)
                self.failed_requests.append(f"{request.method} {redact_url(response.url)}: HTTP {response.status}")

    def wait_quiet(self, page: Page, quiet_ms: int, timeout_ms: float) -> None:
        """Wait until no request has been in flight for ``quiet_ms`` (late paints and shifts land)."""
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            idle_for = (time.monotonic() - self.last_activity) * 1000
            if self.in_flight == 0 and idle_for >= quiet_ms:
                return
            # The rest of the quiet time in one wait; a request that comes meanwhile starts it again.
            page.wait_for_timeout(IN_FLIGHT_POLL_MS if self.in_flight else max(1.0, quiet_ms - idle_for))

    def read_when_quiet(self, page: Page, read: str, quiet_ms: int, timeout_ms: float) -> Any:
        """What ``read`` (a page function of the delay it waits first, then a frame) returns as the
        page's quiet time ends: one evaluation that waits out the rest of it in the page, made again
        when a request came or ended meanwhile.  Timed out waiting for quiet, it reads what there is."""
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            if self.in_flight:
                page.wait_for_timeout(IN_FLIGHT_POLL_MS)
                continue
            activity = self.last_activity
            rest_ms = quiet_ms - (time.monotonic() - activity) * 1000
            # The read comes a frame after its delay: the delay ends a frame early.
            raw = page.evaluate(read, max(0.0, rest_ms - FRAME_MS))
            if self.in_flight == 0 and self.last_activity == activity:
                return raw
        return page.evaluate(read, 0)
