"""The synthetic suite's pytest layer, on top of pytest-playwright.

It overrides the fixtures pytest-playwright leaves to its users (``browser_type_launch_args``,
``browser_context_args``, ``new_context``), so every context — and its ``--tracing``/``--screenshot``
artifacts — is still made by pytest-playwright, and it makes the browser trust the target's TLS
certificate without switching verification off.  It also holds the per-worker caches the checks
read: each page loaded N times (``page_loads``), each OAuth button's authorize URL captured twice
(``authorize_urls``), and the signed-in session made once per worker and reused via
``storage_state`` in a private temporary directory, never under ``reports/``.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from smokegate import run as runs
from smokegate.run import SmokegateRun
from smokegate.scrub import SCRUBBER
from smokegate.synthetic.browser import find_chromium, launch_flags

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Playwright

    from smokegate.config import Page, Target
    from smokegate.synthetic.config import Provider
    from smokegate.synthetic.journey import AuthorizeCapture, PageSampler
    from smokegate.synthetic.oauth import AuthorizeUrl
    from smokegate.synthetic.vitals import PageLoads

# Inputs are made unreadable before pytest-playwright takes its failure screenshot.
MASK_INPUTS_CSS = (
    "input, textarea, [contenteditable] { color: transparent !important; text-shadow: none !important;"
    " -webkit-text-security: disc !important; caret-color: transparent !important; }"
)


def _explicit(config: pytest.Config, flag: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in config.invocation_params.args)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    run = runs.current(config)
    if run is None:
        return
    target = run.target
    # Artifacts on failure by default; --tracing/--screenshot given on the command line win.
    if not _explicit(config, "--tracing") and config.getoption("--tracing", None) == "off":
        config.option.tracing = "retain-on-failure"
    if not _explicit(config, "--screenshot") and config.getoption("--screenshot", None) == "off":
        config.option.screenshot = "only-on-failure"
    if not _explicit(config, "--output"):
        config.option.output = str(run.reports_dir / "playwright")
    if target.ca_bundle != "system":
        # Playwright's own HTTP stack (route.fetch, context.request) runs in its Node driver, which
        # reads no CA file either: NODE_EXTRA_CA_CERTS adds exactly the target's CA to its roots.
        # Set before the driver starts (the `playwright` fixture), on every xdist worker.
        os.environ["NODE_EXTRA_CA_CERTS"] = target.ca_bundle
    account = target.synthetic.account
    SCRUBBER.add_env(account.email_env, account.password_env)
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
    def browser_type_launch_args(
        cls, browser_type_launch_args: dict[str, Any], playwright: Playwright, target: Target, browser_name: str
    ) -> dict[str, Any]:
        from smokegate.synthetic.cert_pin import TrustError, chromium_trust_args

        args = list(browser_type_launch_args.get("args", []))
        launch = {**browser_type_launch_args}
        if browser_name == "chromium":
            if "channel" not in launch and "executable_path" not in launch:
                executable = find_chromium(playwright.chromium.executable_path)
                if executable:
                    launch["executable_path"] = executable
            args += launch_flags()
            try:
                args += chromium_trust_args(target.base_url, target.ca_bundle)
            except TrustError as exc:
                raise pytest.UsageError(str(exc)) from None
        launch["args"] = args
        return launch

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
    ) -> Callable[..., BrowserContext]:
        """pytest-playwright's factory, plus vitals observers, an event log, input masking and the
        request count (every request the browser completed counts towards gate.json's total)."""
        from playwright.sync_api import Error as PlaywrightError

        from smokegate.synthetic.artifacts import remember_events
        from smokegate.synthetic.journey import ContextEvents
        from smokegate.synthetic.vitals import OBSERVE_VITALS

        masking = pytestconfig.getoption("--screenshot") != "off"
        timeout = target.synthetic.navigation_timeout_ms

        def make(**kwargs: Any) -> BrowserContext:
            context = new_context(**kwargs)
            count_requests(context, smokegate_run)
            context.set_default_timeout(timeout)
            context.add_init_script(OBSERVE_VITALS)
            events = ContextEvents(target.base_url)
            events.attach(context)
            remember_events(request.node, events, output_path)
            if masking:
                close = context.close

                def close_masked(*args: Any, **kw: Any) -> None:
                    for page in context.pages:
                        try:
                            page.add_style_tag(content=MASK_INPUTS_CSS)
                        except PlaywrightError:
                            continue  # a closed or crashed page has nothing to mask
                    close(*args, **kw)

                context.close = close_masked  # type: ignore[method-assign]
            return context

        return make


# -- what the checks read, made once per worker ---------------------------------------------------


@pytest.fixture(scope="session")
def _page_loads() -> dict[str, PageLoads]:
    return {}


@pytest.fixture
def page_loads(
    _page_loads: dict[str, PageLoads], new_context: Callable[..., BrowserContext], target: Target
) -> PageSampler:
    """``page_loads(page)``: the page loaded ``synthetic.samples`` times in fresh contexts, cached per worker.

    Several checks judge the same loads (timing, console, subresources, vitals), inside the first
    check that needs them (whose trace then holds them).
    """
    from smokegate.synthetic.journey import load_page
    from smokegate.synthetic.vitals import PageLoads

    def sample(page: Page) -> PageLoads:
        if page.path not in _page_loads:
            loads = PageLoads(page.path)
            for _ in range(target.synthetic.samples):
                loads.loads.append(load_page(new_context, page.path, target.synthetic, target.base_url))
            _page_loads[page.path] = loads
        return _page_loads[page.path]

    return sample


@pytest.fixture(scope="session")
def _captures() -> dict[str, tuple[AuthorizeUrl, AuthorizeUrl]]:
    return {}


@pytest.fixture
def authorize_urls(
    _captures: dict[str, tuple[AuthorizeUrl, AuthorizeUrl]], new_context: Callable[..., BrowserContext], target: Target
) -> AuthorizeCapture:
    """``authorize_urls(provider)``: two attempts' authorize URLs, captured unfollowed, cached per worker."""
    from smokegate.synthetic.journey import capture_authorize
    from smokegate.synthetic.oauth import AuthorizeUrl

    def capture(provider: Provider) -> tuple[AuthorizeUrl, AuthorizeUrl]:
        if provider.name not in _captures:
            attempts = []
            for _ in range(2):
                context = new_context()
                try:
                    url = capture_authorize(context.new_page(), target.synthetic, provider, target.base_url)
                finally:
                    context.close()
                attempts.append(AuthorizeUrl.parse(url))
            _captures[provider.name] = (attempts[0], attempts[1])
        return _captures[provider.name]

    return capture


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
    directory = Path(tempfile.mkdtemp(prefix="smokegate-session-"))
    directory.chmod(stat.S_IRWXU)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def signed_in_state(
    browser: Browser,
    browser_context_args: dict[str, Any],
    target: Target,
    test_account: tuple[str, str],
    _state_dir: Path,
    smokegate_run: SmokegateRun,
) -> Path:
    """Sign in once per worker and keep the session as Playwright storage state (a private temp file)."""
    from smokegate.synthetic.journey import remember_cookies, sign_in

    syn = target.synthetic
    provider = syn.journey_provider()
    if provider is None:
        pytest.skip("no OAuth provider configured for the sign-in journey")
    context = browser.new_context(**browser_context_args)
    count_requests(context, smokegate_run)
    try:
        sign_in(context.new_page(), syn, provider, target.base_url, *test_account)
        remember_cookies(context)
        path = _state_dir / "storage-state.json"
        context.storage_state(path=path)
        path.chmod(stat.S_IRUSR | stat.S_IWUSR)
    finally:
        context.close()
    return path


@pytest.fixture
def signed_in_context(
    new_context: Callable[..., BrowserContext], signed_in_state: Path, target: Target
) -> BrowserContext:
    """A context carrying the worker's session; an expired session is its own failure kind."""
    from smokegate.synthetic.journey import JourneyFailure

    context = new_context(storage_state=str(signed_in_state))
    answer = context.request.get(target.synthetic.user_api_path)
    if answer.status == 401:
        raise JourneyFailure(
            "test-session-expired",
            f"the worker's test session was refused by {target.synthetic.user_api_path} (401): "
            "the session expired or was revoked; not an outage",
        )
    return context
