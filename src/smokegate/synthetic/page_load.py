"""Loading one page in the browser: a fresh or reused tab (:class:`Tab`), the load retried once when
the network cut it, its vitals, and errors that arrive up to the late-error window after load.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError

from smokegate.config import Page as SitePage
from smokegate.failures import Inconclusive, transient_cut
from smokegate.synthetic.config import SyntheticConfig
from smokegate.synthetic.events import ContextEvents
from smokegate.synthetic.late import PAGE_CLOCK, LateError, exception_times, watch, within
from smokegate.synthetic.oauth import origin_of
from smokegate.synthetic.vitals import READ_VITALS, PageLoad, PageLoads

# What the suite's per-worker caches hand to the checks (tests/synthetic/conftest.py).
PageSampler = Callable[[SitePage], PageLoads]


class Tab:
    """A browser context and page kept open between the samples of one page.

    The first load in it is a first visit (a fresh context); each later one starts with the reset
    Lighthouse makes between its runs — the page's storage (cookies, local storage, IndexedDB,
    service workers, Cache Storage) and the HTTP cache cleared, the context's own cookies (Vercel's
    bypass) put back — without paying for a new context and renderer.  Chromium only (the reset
    is made over CDP); elsewhere every load gets a fresh context.
    """

    def __init__(self) -> None:
        self.context: BrowserContext | None = None
        self.page: Page | None = None
        self._cdp: Any = None
        self._cookies: list[Any] = []
        # Watched after its sample (synthetic.late): the page's clock is stopped, so no sample reuses it.
        self.watched = False

    def open(self, new_context: Callable[..., BrowserContext]) -> Page:
        self.close()
        self.context = new_context()
        self._cookies = self.context.cookies()
        self.page = self.context.new_page()
        return self.page

    def cdp(self) -> Any:
        """The page's DevTools protocol session; None when the browser has none (not Chromium)."""
        if self._cdp is None and self.context is not None and self.page is not None:
            try:
                self._cdp = self.context.new_cdp_session(self.page)
            except PlaywrightError:
                return None
        return self._cdp

    def reset(self, app_origin: str) -> Page | None:
        """The page, ready for another first visit; None when this browser cannot be reset so."""
        if self.context is None or self.page is None or self.page.is_closed() or self.watched:
            return None
        if self.cdp() is None:
            return None  # not Chromium
        self.page.goto("about:blank")
        self._cdp.send("Network.clearBrowserCache")
        self._cdp.send("Storage.clearDataForOrigin", {"origin": origin_of(app_origin), "storageTypes": "all"})
        self.context.clear_cookies()
        if self._cookies:
            self.context.add_cookies(self._cookies)
        return self.page

    def visit(self, new_context: Callable[..., BrowserContext], app_origin: str) -> Page:
        """The page for the next first visit: this tab after its reset, else a fresh context's."""
        page = self.reset(app_origin) if self.page is not None else None
        return page if page is not None else self.open(new_context)

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
        self.context = self.page = self._cdp = None
        self.watched = False


def load_page(new_context: Callable[..., BrowserContext], path: str, syn: SyntheticConfig, app_origin: str,
              tab: Tab | None = None, *, watch_late: bool = False) -> PageLoad:
    """Load ``path`` once in a fresh context (a first visit) and read what the browser measured.

    With ``watch_late`` the page is then watched until ``syn.late_error_window_ms`` after its load
    event, on its own clock (:mod:`smokegate.synthetic.late`); what it throws or logs meanwhile is
    kept apart as late errors.  The tab is not used for another sample after that.

    With ``tab`` the load is made in it (after its reset when it already holds an earlier load of
    the page) and the tab stays open for the next one; the caller closes it.  A load the network cut
    (the page or one of its same-origin requests reset, closed or timed out) says nothing about the
    page: it is loaded once more in a fresh context, and if the network cuts that one too, the
    page load could not be determined (:class:`~smokegate.failures.Inconclusive`).  Any other
    failure is the page's.
    """
    reason = ""
    for _attempt in (1, 2):
        try:
            load, events = _load_once(new_context, path, syn, app_origin, tab, watch_late)
        except _CutLoad as cut:
            reason = cut.reason
            continue
        if not events.network_failures:
            return load
        reason = events.network_failures[0]
    raise Inconclusive(f"the network cut the load of {path} twice (2 attempts); last: {reason}")


class _CutLoad(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _load_once(
    new_context: Callable[..., BrowserContext], path: str, syn: SyntheticConfig, app_origin: str, tab: Tab | None,
    watch_late: bool = False,
) -> tuple[PageLoad, ContextEvents]:
    own = Tab() if tab is None else tab
    page = own.visit(new_context, app_origin)
    assert own.context is not None
    events = ContextEvents(app_origin)
    events.attach(own.context)
    kept = False
    try:
        started = time.monotonic()
        try:
            page.goto(path, wait_until="load", timeout=syn.navigation_timeout_ms)
        except PlaywrightError as exc:
            # A navigation the network cut either fails with the network error or, when the page
            # had started to arrive, never fires "load" and times out: both are the load's, not the page's.
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            cut = transient_cut(first_line)
            if cut is None and not events.network_failures:
                raise
            raise _CutLoad(f"GET {path}: {cut.strip()}" if cut else
                           f"{events.network_failures[0]} ({first_line})") from None
        raw = events.read_when_quiet(page, READ_VITALS, syn.settle_ms, syn.navigation_timeout_ms)
        wall_ms = (time.monotonic() - started) * 1000
        late = _watch_late(own, page, events, raw, syn.late_error_window_ms) if watch_late else {}
        # A load the network cut is made again in a fresh context: only a clean one keeps its tab.
        kept = tab is not None and not events.network_failures
    finally:
        events.detach(own.context)
        if not kept:
            own.close()
    return PageLoad.from_browser(
        raw,
        wall_ms,
        console_errors=tuple(events.console_errors),
        page_errors=tuple(events.page_errors),
        failed_requests=tuple(events.failed_requests),
        **late,
    ), events


def _watch_late(tab: Tab, page: Page, events: ContextEvents, raw: dict[str, Any], window_ms: float) -> dict[str, Any]:
    """Watch the sampled page on until ``window_ms`` after load; its late errors, and how it was watched."""
    if window_ms <= 0:
        return {}
    load, origin = float(raw.get("load") or 0.0), float(raw.get("origin") or 0.0)
    ended = float(raw.get("now") or load)
    events.late_since = origin + load
    tab.watched = True
    seen = watch(page, tab.cdp(), window_ms, load, ended, origin, events.delivered)
    # Only what was thrown after the sample ended can be a late error (the same error may have come before).
    thrown = exception_times(events.late_page_errors, [t for t in seen.thrown if t[0] >= origin + ended],
                             origin + load)
    return {
        "late_console_errors": tuple(within(events.late_console_errors, window_ms)),
        "late_page_errors": tuple(within((LateError(t, at) for t, at in zip(events.late_page_errors, thrown,
                                                                            strict=True)), window_ms)),
        "watched_ms": round(seen.covered_ms, 1),
        "watch_wall_ms": round(seen.wall_ms, 1),
    }


def watch_evidence(page: Page, window_ms: float) -> None:
    """An evidence load watched on as a sample is (its trace and console log then show late errors)."""
    if window_ms <= 0:
        return
    clock = page.evaluate(PAGE_CLOCK)
    try:
        cdp = page.context.new_cdp_session(page)
    except PlaywrightError:
        cdp = None
    watch(page, cdp, window_ms, float(clock["load"]), float(clock["now"]), float(clock["origin"]))
