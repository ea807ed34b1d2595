"""The synthetic suite's pytest layer, on top of pytest-playwright.

It overrides the fixtures pytest-playwright leaves to its users (``browser_type_launch_args``,
``browser_context_args``, ``new_context``), so every context — and its ``--tracing``/``--screenshot``
artifacts — is still made by pytest-playwright, and it makes the browser trust the target's TLS
certificate without switching verification off.  It also holds the per-worker caches the checks
read: each page loaded N times (``page_loads``), each OAuth button's authorize URL captured twice
(``authorize_urls``), and the signed-in session made once per worker and reused via
``storage_state`` in a private temporary directory, never under ``reports/``.

Every context starts with Vercel's bypass cookie when the target has a bypass secret
(:mod:`smokegate.synthetic.protection`).  The signed-in session is the synthetic Clerk user's, signed
in by sign-in token (:mod:`smokegate.synthetic.clerk_testing`), when the Clerk secret key is set, else the
OAuth test account's; without either the signed-in checks are skipped with that reason, and when the
sign-in itself fails they are skipped too: the sign-in check reports it, once.
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from smokegate.failures import CheckFailure, Inconclusive
from smokegate.plugin import compat, foreign_options
from smokegate.plugin import run as runs
from smokegate.plugin.run import SmokegateRun
from smokegate.scrub import SCRUBBER
from smokegate.shared import private_dir
from smokegate.synthetic.browser import NoBrowser, driver_compile_cache, find_chromium, launch_flags

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Playwright

    from smokegate.config import Page, Target
    from smokegate.probe import Probe
    from smokegate.synthetic.cert_pin import PendingTrust
    from smokegate.synthetic.config import Provider
    from smokegate.synthetic.journey import AuthorizeCapture, PageSampler
    from smokegate.synthetic.oauth import AuthorizeUrl
    from smokegate.synthetic.ticket import ClerkTickets
    from smokegate.synthetic.vitals import PageLoads

@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    run = runs.current(config)
    if run is None:
        return
    target = run.target
    # Traces and screenshots of failed checks: smokegate's own (smokegate.plugin.evidence), paid
    # for only on failure; --tracing/--screenshot given on the command line hand them to pytest-playwright.
    foreign_options.playwright_output(config, run.reports_dir / "playwright")
    foreign_options.playwright_driver_env(target.ca_bundle, driver_compile_cache())
    account = target.synthetic.account
    SCRUBBER.add_env(account.email_env, account.password_env, target.synthetic.clerk.secret_key_env)
    config.pluginmanager.register(BrowserFixtures(), "smokegate-browser-fixtures")


def count_requests(context: BrowserContext, run: SmokegateRun) -> None:
    """Count what the browser sent and got an answer to; aborted (intercepted) requests never left."""
    context.on("requestfinished", lambda _request: run.count_request())


class BrowserFixtures:
    """Overrides of pytest-playwright's fixtures.

    Registered from ``pytest_configure``, after every plugin loaded by entry point, so these win
    over pytest-playwright's own whatever order the plugins were discovered in; each one asks for
    the fixture it overrides and merges a copy, as pytest-playwright's docs recommend.
    """

    @pytest.fixture(scope="session")
    @classmethod
    def playwright(cls, chromium_trust: PendingTrust, request: pytest.FixtureRequest) -> Iterator[Playwright]:
        """pytest-playwright's own, asking for ``chromium_trust`` first: the target's certificate is
        pinned in a thread while Playwright's Node driver starts (0.3 s)."""
        playwright = compat.start_playwright(request)
        yield playwright
        playwright.stop()

    @pytest.fixture(scope="session")
    @classmethod
    def browser_type_launch_args(
        cls, browser_type_launch_args: dict[str, Any], playwright: Playwright, chromium_trust: PendingTrust,
        browser_name: str,
    ) -> dict[str, Any]:
        from smokegate.synthetic.cert_pin import TrustError

        args = list(browser_type_launch_args.get("args", []))
        launch = {**browser_type_launch_args}
        if browser_name == "chromium":
            if "channel" not in launch and "executable_path" not in launch:
                try:
                    executable = find_chromium(playwright.chromium.executable_path,
                                               headless=launch.get("headless", True) is not False)
                except NoBrowser as exc:
                    raise pytest.UsageError(str(exc)) from None
                if executable:
                    launch["executable_path"] = executable
            args += launch_flags()
            try:
                args += chromium_trust.result()
            except TrustError as exc:
                raise pytest.UsageError(str(exc)) from None
        launch["args"] = args
        return launch

    @pytest.fixture(scope="session")
    @classmethod
    def chromium_trust(cls, target: Target, browser_name: str) -> PendingTrust:
        """The launch flags that make Chromium trust the target (:mod:`smokegate.synthetic.cert_pin`), under way."""
        from smokegate.synthetic.cert_pin import PendingTrust

        return PendingTrust(target.base_url, target.ca_bundle if browser_name == "chromium" else "system")

    @pytest.fixture(scope="session")
    @classmethod
    def browser_context_args(cls, browser_context_args: dict[str, Any], target: Target) -> dict[str, Any]:
        # TLS errors are never ignored: the launch flags pin the local target's key instead.
        return {
            **browser_context_args,
            "base_url": target.base_url,
            "ignore_https_errors": False,
            "viewport": {"width": 1280, "height": 720},
            "locale": "en-US",
            "timezone_id": "UTC",
        }

    @pytest.fixture
    def new_context(
        self,
        new_context: Callable[..., BrowserContext],
        target: Target,
        output_path: str,
        request: pytest.FixtureRequest,
        pytestconfig: pytest.Config,
        smokegate_run: SmokegateRun,
        vercel_bypass_cookies: list[dict[str, Any]],
    ) -> Iterator[ContextFactory]:
        """pytest-playwright's factory, plus vitals observers, an event log, the request count (every
        request the browser completed counts towards gate.json's total), Vercel's bypass cookie when the
        target has a bypass secret, and the failure evidence (:mod:`smokegate.plugin.evidence`).

        ``new_context()`` makes a check's own context (traced; its trace and screenshots are kept if
        the check fails); ``new_context.sample()`` one for samples, never traced unless ``--tracing``
        asks for it."""
        from playwright.sync_api import Error as PlaywrightError

        from smokegate.plugin.artifacts import remember_events
        from smokegate.plugin.evidence import (
            MASK_INPUTS_CSS,
            Policy,
            Recorder,
            failed_before_teardown,
            keep,
            shared_evidence,
        )
        from smokegate.synthetic.journey import ContextEvents
        from smokegate.synthetic.vitals import OBSERVE_VITALS

        # pytest-playwright screenshots every context it closes when --screenshot asks for it.
        masking = foreign_options.screenshot(pytestconfig) != "off"
        timeout = target.synthetic.navigation_timeout_ms
        recorder = Recorder(Policy.of(pytestconfig), output_path)

        def make(traced: bool, shows: str | None, kwargs: dict[str, Any]) -> BrowserContext:
            context = new_context(**kwargs)
            if vercel_bypass_cookies:
                context.add_cookies(vercel_bypass_cookies)  # type: ignore[arg-type]
            count_requests(context, smokegate_run)
            context.set_default_timeout(timeout)
            context.add_init_script(OBSERVE_VITALS)
            events = ContextEvents(target.base_url, label="evidence made after the check failed" if shows else "")
            events.attach(context)
            remember_events(request.node, events, output_path)
            if masking:

                def mask(context: BrowserContext = context) -> None:
                    for page in context.pages:
                        try:
                            page.add_style_tag(content=MASK_INPUTS_CSS)
                        except PlaywrightError:
                            continue  # a closed or crashed page has nothing to mask

                compat.before_close(context, mask)
            recorder.watch(context, traced, shows)
            return context

        yield ContextFactory(make)
        keep(request.node, recorder.finish(failed_before_teardown(request.node), shared_evidence(pytestconfig)))


class ContextFactory:
    """``new_context(**kwargs)``: a check's own context; ``.sample(**kwargs)``: one for samples."""

    def __init__(self, make: Callable[[bool, str | None, dict[str, Any]], BrowserContext]) -> None:
        self._make = make

    def __call__(self, **kwargs: Any) -> BrowserContext:
        return self._make(True, None, kwargs)

    def sample(self, **kwargs: Any) -> BrowserContext:
        """A context for samples several checks judge: not traced (evidence is made on failure instead)."""
        return self._make(False, None, kwargs)

    def evidence(self, shows: str, **kwargs: Any) -> BrowserContext:
        """A traced context making the evidence ``shows`` names, for later checks failing on the same."""
        return self._make(True, shows, kwargs)


# -- what the checks read, made once per worker ---------------------------------------------------


@pytest.fixture(scope="session")
def vercel_bypass_cookies(probe: Probe, target: Target) -> list[dict[str, Any]]:
    """Vercel's bypass cookie for the target (host-only), asked for once per worker; empty without a secret."""
    from smokegate.synthetic.protection import bypass_cookies

    return bypass_cookies(probe, target)


@pytest.fixture(scope="session")
def _page_loads() -> dict[str, PageLoads]:
    return {}


@pytest.fixture
def page_loads(
    _page_loads: dict[str, PageLoads],
    new_context: ContextFactory,
    target: Target,
    request: pytest.FixtureRequest,
    output_path: str,
) -> Iterator[PageSampler]:
    """``page_loads(page)``: the page loaded ``synthetic.samples`` times, cached per worker.

    The first load is a first visit in a fresh context; the others reload it in the same context
    after Lighthouse's reset between runs (storage and HTTP cache cleared): samples at the cost of
    the page (:class:`~smokegate.synthetic.journey.Tab`), untraced.  The last one is then watched
    until ``synthetic.late_error_window_ms`` after its load on the page's own clock, for errors the
    page throws or logs late (:mod:`smokegate.synthetic.late`: milliseconds, not the window's
    length, unless a request holds the clock).  Several checks judge the same
    loads (timing, console, subresources, vitals), inside the first check that needs them; a later
    check that fails gets their console and request logs (:func:`smokegate.plugin.artifacts.share_events`),
    and any check that fails gets a trace and screenshot of one more load of the page
    (:mod:`smokegate.plugin.evidence`).
    """
    from smokegate.plugin.artifacts import share_events
    from smokegate.plugin.evidence import evidence_once, failed_before_teardown
    from smokegate.synthetic.journey import Tab, load_page
    from smokegate.synthetic.vitals import PageLoads

    syn = target.synthetic
    judged: dict[str, None] = {}

    def sample(page: Page) -> PageLoads:
        if page.path not in _page_loads:
            loads = PageLoads(page.path)
            tab = Tab()
            try:
                for number in range(1, syn.samples + 1):
                    # The last sample is watched on for late errors (synthetic/late.py), then its tab closes.
                    loads.loads.append(load_page(new_context.sample, page.path, syn, target.base_url, tab,
                                                 watch_late=number == syn.samples))
            finally:
                tab.close()
            _page_loads[page.path] = loads
        share_events(request.node, f"page-loads:{page.path}", output_path)
        judged.setdefault(page.path)
        return _page_loads[page.path]

    yield sample
    if judged and failed_before_teardown(request.node):
        for path in judged:

            def load(shows: str, path: str = path) -> None:
                _evidence_load(new_context, shows, path, target)

            evidence_once(request.node, f"page:{path}", load, f"one more load of {path}")


def _evidence_load(new_context: ContextFactory, shows: str, path: str, target: Target) -> None:
    """One more load of ``path`` in a traced context, left open: the check's teardown keeps it."""
    from smokegate.synthetic.journey import ContextEvents, watch_evidence

    timeout = min(target.synthetic.navigation_timeout_ms, EVIDENCE_TIMEOUT_MS)
    context = new_context.evidence(shows)
    page = context.new_page()
    events = ContextEvents(target.base_url)
    events.attach(context)
    page.goto(path, wait_until="load", timeout=timeout)
    events.wait_quiet(page, target.synthetic.settle_ms, timeout)
    # Watched on as the judged samples were, so a late error is in its trace and console log too.
    watch_evidence(page, target.synthetic.late_error_window_ms)


# An evidence load or capture shows what went wrong; it need not wait as long as a judged one.
EVIDENCE_TIMEOUT_MS = 5000.0


@pytest.fixture(scope="session")
def _captures() -> dict[str, tuple[AuthorizeUrl, AuthorizeUrl]]:
    return {}


@pytest.fixture
def authorize_urls(
    _captures: dict[str, tuple[AuthorizeUrl, AuthorizeUrl]],
    new_context: ContextFactory,
    target: Target,
    request: pytest.FixtureRequest,
    output_path: str,
) -> Iterator[AuthorizeCapture]:
    """``authorize_urls(provider)``: two attempts' authorize URLs, captured unfollowed, cached per worker
    (in untraced contexts; a check that fails gets a trace and screenshot of one more attempt)."""
    from smokegate.plugin.artifacts import share_events
    from smokegate.plugin.evidence import evidence_once, failed_before_teardown
    from smokegate.synthetic.journey import Tab, capture_authorize
    from smokegate.synthetic.oauth import AuthorizeUrl

    judged: dict[str, Provider] = {}

    def capture(provider: Provider) -> tuple[AuthorizeUrl, AuthorizeUrl]:
        if provider.name not in _captures:
            attempts = []
            # Two first visits: a fresh context, then the same one after its reset (no cookie or
            # storage of the first attempt survives into the second).
            tab = Tab()
            try:
                for _ in range(2):
                    page = tab.visit(new_context.sample, target.base_url)
                    attempts.append(AuthorizeUrl.parse(capture_authorize(page, target.synthetic, provider,
                                                                         target.base_url)))
            finally:
                tab.close()
            _captures[provider.name] = (attempts[0], attempts[1])
        share_events(request.node, f"authorize:{provider.name}", output_path)
        judged.setdefault(provider.name, provider)
        return _captures[provider.name]

    yield capture
    if judged and failed_before_teardown(request.node):
        for provider in judged.values():

            def attempt(shows: str, provider: Provider = provider) -> None:
                syn = target.synthetic.model_copy(update={
                    "navigation_timeout_ms": min(target.synthetic.navigation_timeout_ms, EVIDENCE_TIMEOUT_MS)})
                capture_authorize(new_context.evidence(shows).new_page(), syn, provider, target.base_url)

            evidence_once(request.node, f"authorize:{provider.name}", attempt,
                          f"one more click on {provider.label!r}")


# -- signed-in session, once per worker -----------------------------------------------------------


class Credentials(tuple[str, str]):
    """(email, password) whose repr never shows the password: pytest prints fixture values in tracebacks."""

    def __repr__(self) -> str:
        return f"Credentials(email={self[0]!r}, password=[redacted])"


@pytest.fixture(scope="session")
def test_account(target: Target) -> Credentials:
    """The test account's credentials from the environment; the check is skipped without them."""
    account = target.synthetic.account
    credentials = account.credentials()
    if credentials is None:
        pytest.skip(f"test account not configured: set {' and '.join(account.missing())} to run the sign-in journey")
    return Credentials(credentials)


@pytest.fixture(scope="session")
def _state_dir() -> Iterator[Path]:
    # Private to this worker and outside reports/: the storage state holds a live session cookie.
    with private_dir("smokegate-session-") as directory:
        yield directory


@pytest.fixture(scope="session")
def clerk_tickets(target: Target, probe: Probe, smokegate_run: SmokegateRun) -> Iterator[ClerkTickets]:
    """Sign-in tokens for the synthetic Clerk user; the check is skipped when Clerk is not configured."""
    from smokegate.synthetic.clerk_testing import BackendApi, backend_context, frontend_api_from_html
    from smokegate.synthetic.journey import JourneyFailure
    from smokegate.synthetic.ticket import ClerkTickets

    clerk, syn = target.synthetic.clerk, target.synthetic
    reason = clerk.not_configured()
    if reason is not None:
        pytest.skip(reason)
    url, source = clerk.backend_url()
    found: list[str] = [clerk.frontend_api] if clerk.frontend_api else []

    def frontend_api() -> str:
        if not found:
            page = probe.get(syn.sign_in_path, headers={"accept": "text/html"})
            base = frontend_api_from_html(page.text, page.url)
            if base is None:
                raise JourneyFailure("sign-in-failed", (
                    f"{syn.sign_in_path} carries no Clerk script tag (data-clerk-js-script) to find the Frontend API "
                    f"from (HTTP {page.status}); set synthetic.clerk.frontend_api if clerk-js is loaded another way"))
            found.append(base)
        return found[0]

    api = BackendApi(url, clerk.secret_key() or "", clerk.timeout_s, backend_context(target.ca_bundle),
                     url_source=source, key_env=clerk.secret_key_env, on_request=smokegate_run.count_request)
    with api:
        yield ClerkTickets(api, clerk.user_email or "", clerk.sign_in_token_ttl_s, frontend_api)


@dataclass
class SignedInSession:
    """The worker's signed-in session, or why there is none."""

    method: str  # "clerk-ticket", "oauth" or "none"
    state: Path | None = None
    reason: str | None = None


@pytest.fixture(scope="session")
def signed_in_session(
    request: pytest.FixtureRequest,
    browser: Browser,
    browser_context_args: dict[str, Any],
    target: Target,
    _state_dir: Path,
    smokegate_run: SmokegateRun,
    vercel_bypass_cookies: list[dict[str, Any]],
) -> SignedInSession:
    """Sign in once per worker: the synthetic Clerk user by ticket when configured, else the OAuth test account."""
    from playwright.sync_api import Error as PlaywrightError

    from smokegate.synthetic.journey import remember_cookies, sign_in
    from smokegate.synthetic.ticket import ticket_sign_in

    syn = target.synthetic
    not_clerk = syn.clerk.not_configured()
    provider = syn.journey_provider()
    credentials = syn.account.credentials()
    if not_clerk is None:
        method, check = "clerk-ticket", "test_ticket_sign_in_reaches_dashboard"
    elif credentials is not None and provider is not None:
        method, check = "oauth", "test_sign_in_reaches_dashboard"
    else:
        missing = " and ".join(syn.account.missing()) or "an OAuth provider"
        return SignedInSession("none", reason=f"signed-in checks skipped: {not_clerk}; nor is an OAuth test account "
                                              f"configured ({missing}); the AI budget was not checked")
    context = browser.new_context(**browser_context_args)
    if vercel_bypass_cookies:
        context.add_cookies(vercel_bypass_cookies)  # type: ignore[arg-type]
    count_requests(context, smokegate_run)
    try:
        page = context.new_page()
        if method == "clerk-ticket":
            tickets: ClerkTickets = request.getfixturevalue("clerk_tickets")
            tickets.prepare(context)
            ticket_sign_in(page, syn, tickets.ticket())
        else:
            assert credentials is not None and provider is not None
            sign_in(page, syn, provider, target.base_url, *credentials)
        remember_cookies(context)
        path = _state_dir / "storage-state.json"
        context.storage_state(path=path)
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    except (CheckFailure, Inconclusive, PlaywrightError) as exc:
        first = SCRUBBER.text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return SignedInSession(method, reason=f"the synthetic user could not be signed in ({method}): {first} "
                                              f"(reported by {check})")
    finally:
        context.close()
    return SignedInSession(method, state=path)


@pytest.fixture(scope="session")
def signed_in_state(signed_in_session: SignedInSession) -> Path:
    """The worker's session as Playwright storage state (a private temp file); skipped, with the reason, without one."""
    if signed_in_session.state is None:
        pytest.skip(signed_in_session.reason or "no signed-in session")
    return signed_in_session.state


@pytest.fixture
def signed_in_context(
    new_context: Callable[..., BrowserContext], signed_in_state: Path, target: Target
) -> BrowserContext:
    """A context carrying the worker's session; an expired session is its own failure kind."""
    from smokegate.synthetic.journey import JourneyFailure, retry_cut

    context = new_context(storage_state=str(signed_in_state))
    path = target.synthetic.user_api_path
    answer, _ = retry_cut(lambda: context.request.get(path), f"GET {path}")
    if answer.status == 401:
        raise JourneyFailure(
            "test-session-expired",
            f"the worker's test session was refused by {target.synthetic.user_api_path} (401): "
            "the session expired or was revoked; not an outage",
        )
    return context
