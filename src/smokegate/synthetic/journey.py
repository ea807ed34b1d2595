"""What the synthetic checks do in the browser: load a page, capture an OAuth redirect, sign in.

Nothing here asserts; functions return what they saw or raise :class:`JourneyFailure` with a
*kind*, so the report can tell a broken platform (``sign-in-failed``) from a provider that blocked
the robot (``provider-bot-detection``) or a test session that simply expired
(``test-session-expired``) — neither of the latter is an outage.  Every value that must not be
kept (the OAuth code, cookie values) is handed to the scrubber as soon as it is seen.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urljoin, urlsplit

from playwright.sync_api import BrowserContext, Locator, Page, Route
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from smokegate.config import Page as SitePage
from smokegate.failures import CheckFailure, Inconclusive, is_transient, transient_cut
from smokegate.scrub import SCRUBBER
from smokegate.synthetic.config import Provider, SyntheticConfig
from smokegate.synthetic.late import PAGE_CLOCK, LateError, exception_times, watch, within
from smokegate.synthetic.oauth import AuthorizeUrl, origin_of
from smokegate.synthetic.vitals import READ_VITALS, RESOURCE_ERROR_PREFIX, PageLoad, PageLoads

BOT_CHALLENGE = re.compile(
    r"recaptcha|hcaptcha|captcha|unusual traffic|verify it'?s you|are you a robot|challenge-platform|"
    r"this browser or app may not be secure",
    re.I,
)

REFUSED_SCRIPT = re.compile(r"Refused to execute script from '([^']+)'")
T = TypeVar("T")
# How often a wait for quiet looks again while requests are in flight; one frame at 60 Hz.
IN_FLIGHT_POLL_MS = 20.0
FRAME_MS = 1000 / 60


def goto(page: Page, url: str, timeout: float | None = None) -> Any:
    """``page.goto``, once more when the network cut the navigation; cut twice: Inconclusive.

    A cut navigation fails with the network error, or (cut in the middle of the page) never fires
    "load" and times out while a request of it failed with the network error.
    """
    reason = ""
    cuts: list[str] = []

    def on_failed(request: Any) -> None:
        if is_transient(request.failure or ""):
            cuts.append(f"{request.method} {redact_url(request.url)}: {request.failure}")

    for _attempt in (1, 2):
        cuts.clear()
        page.on("requestfailed", on_failed)
        try:
            return page.goto(url, timeout=timeout)
        except PlaywrightError as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            if not is_transient(first_line) and not cuts:
                raise
            reason = cuts[0] if cuts else first_line
        finally:
            page.remove_listener("requestfailed", on_failed)
    shown = redact_url(url) if "://" in url else url
    raise Inconclusive(f"the network cut the navigation to {shown} twice (2 attempts); last: {reason}")


def retry_cut(step: Callable[[], T], what: str) -> tuple[T, float]:
    """Run one browser request; if the network cuts it, run it once more. Returns the result and the
    successful attempt's milliseconds; cut twice, the step could not be determined (Inconclusive)."""
    reason = ""
    for _attempt in (1, 2):
        started = time.monotonic()
        try:
            result = step()
        except PlaywrightError as exc:
            line = str(exc).splitlines()[0] if str(exc) else ""
            if not is_transient(line):
                raise
            reason = line.split(": ", 1)[-1]  # without Playwright's "APIRequestContext.get: "
            continue
        return result, (time.monotonic() - started) * 1000
    raise Inconclusive(f"{what}: {reason} (2 attempts)")

# What the suite's per-worker caches hand to the checks (tests/synthetic/conftest.py).
PageSampler = Callable[[SitePage], PageLoads]
AuthorizeCapture = Callable[[Provider], tuple[AuthorizeUrl, AuthorizeUrl]]


class JourneyFailure(CheckFailure):
    """A step of the journey failed; ``kind`` says whose problem it likely is."""


def looks_like_bot_challenge(url: str, text: str) -> bool:
    """A provider page asking to prove the visitor is human (captcha, "verify it's you")."""
    return bool(BOT_CHALLENGE.search(url) or BOT_CHALLENGE.search(text[:200_000]))


def redact_url(url: str) -> str:
    """A URL fit for a message: parameter values that could be secrets are dropped."""
    parts = urlsplit(url)
    names = list(parse_qs(parts.query, keep_blank_values=True))
    query = "&".join(f"{n}=…" for n in names)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{query}" if query else "")


def remember_secrets_in(url: str) -> None:
    """Hand the secret-bearing parameters of a URL (an OAuth code, tokens) to the scrubber."""
    params = parse_qs(urlsplit(url).query)
    for name in ("code", "id_token", "access_token", "code_verifier"):
        SCRUBBER.add(*params.get(name, []))


def remember_cookies(context: BrowserContext) -> None:
    SCRUBBER.add(*(cookie.get("value") for cookie in context.cookies()))


# -- page loads -----------------------------------------------------------------------------------


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


# -- OAuth ----------------------------------------------------------------------------------------


def provider_button(page: Page, provider: Provider) -> Locator:
    if provider.button_selector:
        return page.locator(provider.button_selector).first
    return page.get_by_role("button", name=provider.label).or_(page.get_by_role("link", name=provider.label)).first


class RedirectCatcher:
    """Catch the first navigation to a URL ``wanted`` accepts, without ever requesting it.

    Document requests are intercepted: one going straight to a wanted URL is aborted (when
    ``follow_navigation``), and a redirect is read with ``route.fetch(max_redirects=0)``, so a
    redirect to a wanted URL is captured and aborted, never followed; anything else continues.
    ``only_post`` limits this to form posts (the provider's login form).
    """

    def __init__(
        self, wanted: Callable[[str], bool], *, only_post: bool = False, follow_navigation: bool = True
    ) -> None:
        self.wanted = wanted
        self.only_post = only_post
        self.follow_navigation = follow_navigation
        self.captured: list[str] = []
        self.errors: list[str] = []
        # A request the network cut twice: the step could not be determined (raised after the wait).
        self.cut: list[Inconclusive] = []

    def handle(self, route: Route) -> None:
        request = route.request
        if (self.captured or request.resource_type != "document"
                or (self.only_post and request.method != "POST")):
            route.continue_()
            return
        if self.follow_navigation and self.wanted(request.url):
            self.captured.append(request.url)
            route.abort("blockedbyclient")
            return
        try:
            response, _ = retry_cut(lambda: route.fetch(max_redirects=0),
                                    f"{request.method} {redact_url(request.url)}")
        except Inconclusive as exc:
            # A handler that raises leaves the navigation pending forever: resolve it, report later.
            self.cut.append(exc)
            route.abort("failed")
            return
        except PlaywrightError as exc:
            self.errors.append(str(exc).splitlines()[0])
            route.abort("failed")
            return
        location = response.headers.get("location")
        if 300 <= response.status < 400 and location:
            absolute = urljoin(request.url, location)
            if self.wanted(absolute):
                self.captured.append(absolute)
                route.abort("blockedbyclient")
                return
        route.fulfill(response=response)

    def run(self, page: Page, action: Callable[[], object], timeout_ms: float) -> tuple[list[str], list[str]]:
        """Do ``action`` with the interception on; wait (bounded) until something is caught or fails."""
        page.route("**/*", self.handle)
        try:
            action()
            deadline = time.monotonic() + timeout_ms / 1000
            while not self.captured and not self.errors and not self.cut and time.monotonic() < deadline:
                page.wait_for_timeout(25)
        finally:
            page.unroute("**/*", self.handle)
        if self.cut and not self.captured:
            raise self.cut[0]
        return self.captured, self.errors


def capture_authorize(page: Page, syn: SyntheticConfig, provider: Provider, app_origin: str) -> str:
    """Click the provider's button and return the URL it navigates to outside the app, unfollowed.

    Navigations leaving the app's origin are aborted by route interception, and a same-origin
    redirect towards the provider is read with ``route.fetch(max_redirects=0)`` and not followed, so
    no third-party login page is ever requested.
    """
    goto(page, syn.sign_in_path, timeout=syn.navigation_timeout_ms)
    catcher = RedirectCatcher(lambda url: origin_of(url) != app_origin)
    captured, errors = catcher.run(
        page, lambda: provider_button(page, provider).click(timeout=syn.navigation_timeout_ms),
        syn.navigation_timeout_ms,
    )
    if errors and not captured:
        raise JourneyFailure("sign-in-failed", f"clicking {provider.label!r}: {errors[0]}")
    if not captured:
        raise JourneyFailure(
            "sign-in-failed",
            f"clicking {provider.label!r} on {syn.sign_in_path} did not navigate away from the app "
            f"within {syn.navigation_timeout_ms:.0f} ms (now at {redact_url(page.url)})",
        )
    return captured[0]


# -- sign-in journey ------------------------------------------------------------------------------


@dataclass
class SignIn:
    """Where a completed sign-in ended, and the callback URL it went through."""

    final_url: str
    callback_url: str | None
    user_name: str


def sign_in(page: Page, syn: SyntheticConfig, provider: Provider, app_origin: str, email: str, password: str) -> SignIn:
    """The whole journey: sign-in page, provider button, provider login, callback, dashboard."""
    timeout = syn.navigation_timeout_ms
    callbacks: list[tuple[str, int]] = []
    redirect_paths: set[str] = set()

    def on_request(request: Any) -> None:
        remember_secrets_in(request.url)
        if request.resource_type == "document" and origin_of(request.url) != app_origin:
            redirect_uri = parse_qs(urlsplit(request.url).query).get("redirect_uri", [""])[0]
            if redirect_uri:
                redirect_paths.add(urlsplit(redirect_uri).path)

    def on_response(response: Any) -> None:
        if urlsplit(response.url).path in redirect_paths:
            callbacks.append((response.url, response.status))

    page.on("request", on_request)
    page.on("response", on_response)
    goto(page, syn.sign_in_path, timeout=timeout)
    provider_button(page, provider).click(timeout=timeout)
    try:
        page.wait_for_url(lambda url: (urlsplit(url).hostname or "") == provider.authorize_host, timeout=timeout)
    except PlaywrightTimeout:
        raise JourneyFailure(
            "sign-in-failed",
            f"the {provider.name} button did not reach {provider.authorize_host} (at {redact_url(page.url)})",
        ) from None
    _fill_login(page, provider, email, password, timeout)
    try:
        page.wait_for_url(lambda url: origin_of(url) == app_origin, timeout=timeout, wait_until="load")
    except PlaywrightTimeout:
        text = _page_text(page)
        if looks_like_bot_challenge(page.url, text):
            raise JourneyFailure(
                "provider-bot-detection",
                f"{provider.name} showed a bot challenge instead of signing in (at {redact_url(page.url)}): "
                "the provider blocked the robot, not an outage",
            ) from None
        raise JourneyFailure(
            "sign-in-failed",
            f"the {provider.name} login did not return to the app within {timeout:.0f} ms (at {redact_url(page.url)})",
        ) from None
    remember_cookies(page.context)
    path = urlsplit(page.url).path
    callback = callbacks[-1] if callbacks else None
    if callback is not None and callback[1] >= 400:
        raise JourneyFailure(
            "sign-in-failed",
            f"the OAuth callback {urlsplit(callback[0]).path} answered HTTP {callback[1]}",
        )
    if path != syn.dashboard_path:
        raise JourneyFailure(
            "sign-in-failed",
            f"after the {provider.name} login the app ended on {redact_url(page.url)}, not on "
            f"{syn.dashboard_path} (a sign-in loop)",
        )
    name = page.locator(syn.user_name_selector).first
    try:
        user_name = name.inner_text(timeout=timeout).strip()
    except PlaywrightTimeout:
        raise JourneyFailure("sign-in-failed", f"{syn.dashboard_path} shows no {syn.user_name_selector}") from None
    return SignIn(page.url, callback[0] if callback else None, user_name)


def _fill_login(page: Page, provider: Provider, email: str, password: str, timeout: float) -> None:
    email_box = page.locator(provider.email_selector).first
    password_box = page.locator(provider.password_selector).first
    submit = page.locator(provider.submit_selector).first
    try:
        email_box.fill(email, timeout=timeout)
        if not password_box.is_visible():
            # Two-step forms (Google, Microsoft): email first, then the password page.
            submit.click(timeout=timeout)
            password_box.wait_for(state="visible", timeout=timeout)
        password_box.fill(password, timeout=timeout)
        submit.click(timeout=timeout)
    except PlaywrightTimeout:
        text = _page_text(page)
        kind = "provider-bot-detection" if looks_like_bot_challenge(page.url, text) else "sign-in-failed"
        raise JourneyFailure(
            kind, f"the {provider.name} login form could not be filled at {redact_url(page.url)}"
        ) from None


def _page_text(page: Page) -> str:
    try:
        return page.content()
    except PlaywrightError:
        return ""


def sign_out(page: Page, syn: SyntheticConfig) -> None:
    button = (
        page.get_by_role("button", name=syn.sign_out_label).or_(page.get_by_role("link", name=syn.sign_out_label)).first
    )
    with page.expect_navigation(timeout=syn.navigation_timeout_ms):
        button.click(timeout=syn.navigation_timeout_ms)


def reach_callback(
    page: Page, syn: SyntheticConfig, provider: Provider, app_origin: str, email: str, password: str
) -> str:
    """Sign in at the provider but stop at the callback: return its URL (code and state), unfollowed.

    The provider answers the login form with a redirect to the callback; redirects are not routed,
    so the form's POST itself is fetched (``max_redirects=0``) and the redirect read, not followed.
    """
    goto(page, syn.sign_in_path, timeout=syn.navigation_timeout_ms)
    provider_button(page, provider).click(timeout=syn.navigation_timeout_ms)
    try:
        page.wait_for_url(
            lambda url: (urlsplit(url).hostname or "") == provider.authorize_host, timeout=syn.navigation_timeout_ms
        )
    except PlaywrightTimeout:
        raise JourneyFailure(
            "sign-in-failed",
            f"the {provider.name} button did not reach {provider.authorize_host} (at {redact_url(page.url)})",
        ) from None
    def back_with_code(url: str) -> bool:
        return origin_of(url) == app_origin and "code" in parse_qs(urlsplit(url).query)

    catcher = RedirectCatcher(back_with_code, only_post=True, follow_navigation=False)
    captured, errors = catcher.run(
        page, lambda: _fill_login(page, provider, email, password, syn.navigation_timeout_ms),
        syn.navigation_timeout_ms,
    )
    if captured:
        remember_secrets_in(captured[0])
    if not captured:
        reason = errors[0] if errors else f"now at {redact_url(page.url)}"
        raise JourneyFailure(
            "sign-in-failed", f"the {provider.name} login never redirected back with a code ({reason})"
        )
    return captured[0]
