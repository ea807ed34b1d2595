"""The browser side of smokegate: a pytest plugin on top of pytest-playwright.

It resolves the browser (Playwright's own Chromium where installed, else the system's), makes it
trust the target's TLS certificate without switching verification off, and overrides the fixtures
pytest-playwright leaves to its users (``browser_type_launch_args``, ``browser_context_args``,
``new_context``), so every context — and its ``--tracing``/``--screenshot``/``--video`` artifacts —
is still made by pytest-playwright.  On failure each attempt keeps a screenshot (inputs masked),
the trace and the console log, attached to pytest-html and Allure; every artifact is scrubbed of
secrets first.  The signed-in session is made once per worker and reused via ``storage_state`` in a
private temporary directory, never under ``reports/``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright
from playwright.sync_api import Error as PlaywrightError

from smokegate.config import Target
from smokegate.synthetic.journey import ContextEvents, JourneyFailure, remember_cookies, retry_cut, sign_in
from smokegate.synthetic.scrub import SCRUBBER
from smokegate.synthetic.tls import TrustError, chromium_trust_args
from smokegate.synthetic.vitals import OBSERVE_VITALS

if TYPE_CHECKING:
    from smokegate.plugin import SmokegateRun

SYSTEM_CHROMIUM = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "apt-get install chromium"
# Quiet, reproducible runs: no updater, sync or background traffic that could land in a measurement.
CHROMIUM_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
# Inputs are made unreadable before pytest-playwright takes its failure screenshot.
MASK_INPUTS_CSS = (
    "input, textarea, [contenteditable] { color: transparent !important; text-shadow: none !important;"
    " -webkit-text-security: disc !important; caret-color: transparent !important; }"
)
_LOG_KEY = pytest.StashKey[list[ContextEvents]]()
_OUTPUT_KEY = pytest.StashKey[str]()
ARTIFACT_PROPERTY = "playwright_"


def find_chromium(playwright_executable: str | None, which: Callable[[str], str | None] = shutil.which) -> str | None:
    """The browser to launch: None means Playwright's own Chromium; else a system executable path.

    Raises :class:`pytest.UsageError` naming the install command when there is neither.
    """
    if playwright_executable and Path(playwright_executable).is_file():
        return None
    for name in SYSTEM_CHROMIUM:
        found = which(name)
        if found:
            return found
    raise pytest.UsageError(
        "no Chromium for the synthetic suite: Playwright's browser is not installed and none of "
        f"{', '.join(SYSTEM_CHROMIUM)} is on PATH; install one with `{INSTALL_HINT}`"
    )


def count_requests(context: BrowserContext, run: SmokegateRun) -> None:
    """Count what the browser sent and got an answer to; aborted (intercepted) requests never left."""
    context.on("requestfinished", lambda _request: run.count_request())


def _run_target(config: pytest.Config) -> Target | None:
    from smokegate.plugin import RUN_KEY

    run = config.stash.get(RUN_KEY, None)
    return run.target if run is not None else None


def _explicit(config: pytest.Config, flag: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in config.invocation_params.args)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    target = _run_target(config)
    if target is None:
        return
    # Artifacts on failure by default; --tracing/--screenshot given on the command line win.
    if not _explicit(config, "--tracing") and config.getoption("--tracing", None) == "off":
        config.option.tracing = "retain-on-failure"
    if not _explicit(config, "--screenshot") and config.getoption("--screenshot", None) == "off":
        config.option.screenshot = "only-on-failure"
    if not _explicit(config, "--output"):
        from smokegate import options

        config.option.output = str(options.reports_dir(config) / "playwright")
    if target.ca_bundle != "system":
        # Playwright's own HTTP stack (route.fetch, context.request) runs in its Node driver, which
        # reads no CA file either: NODE_EXTRA_CA_CERTS adds exactly the target's CA to its roots.
        # Set before the driver starts (the `playwright` fixture), on every xdist worker.
        os.environ["NODE_EXTRA_CA_CERTS"] = target.ca_bundle
    SCRUBBER.add(*(target.secret(name) for name in target.secret_env))
    account = target.synthetic.account
    SCRUBBER.add_env(account.email_env, account.password_env)
    config.pluginmanager.register(BrowserFixtures(), "smokegate-browser-fixtures")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop pytest-playwright's browser id (``[pricing-chromium]``) when one browser is in use.

    A check id names what is checked, so it must read the same as the fault catalog's
    (``test_page_loads_within_budget[pricing]``); the browser is reported in the header instead.
    """
    if len(config.getoption("--browser", None) or ["chromium"]) != 1:
        return
    for item in items:
        browser = getattr(item, "callspec", None) and item.callspec.params.get("browser_name")  # type: ignore[attr-defined]
        if not browser:
            continue
        for suffix, replacement in ((f"-{browser}]", "]"), (f"[{browser}]", "")):
            if item.name.endswith(suffix):
                item.name = item.name[: -len(suffix)] + replacement
                _rename(item)
                break


def _rename(item: pytest.Item) -> None:
    """Make the node id follow the new name (pytest 9 keeps a structured id, older ones a string)."""
    parent = item.parent
    if hasattr(item, "_id") and parent is not None and hasattr(parent, "id"):
        item._id = parent.id.child(item.name)
    elif hasattr(item, "_nodeid") and parent is not None:
        item._nodeid = f"{parent.nodeid}::{item.name}"


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
        args = list(browser_type_launch_args.get("args", []))
        launch = {**browser_type_launch_args}
        if browser_name == "chromium":
            if "channel" not in launch and "executable_path" not in launch:
                executable = find_chromium(playwright.chromium.executable_path)
                if executable:
                    launch["executable_path"] = executable
            args += CHROMIUM_FLAGS
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                args.append("--no-sandbox")  # Chromium refuses to run its sandbox as root
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
        logs = request.node.stash.setdefault(_LOG_KEY, [])
        request.node.stash[_OUTPUT_KEY] = output_path
        masking = pytestconfig.getoption("--screenshot") != "off"
        timeout = target.synthetic.navigation_timeout_ms

        def make(**kwargs: Any) -> BrowserContext:
            context = new_context(**kwargs)
            count_requests(context, smokegate_run)
            context.set_default_timeout(timeout)
            context.add_init_script(OBSERVE_VITALS)
            events = ContextEvents(target.base_url)
            events.attach(context)
            logs.append(events)
            if masking:
                close = context.close

                def close_masked(*args: Any, **kw: Any) -> None:
                    for page in context.pages:
                        # A closed or crashed page has nothing to mask.
                        with contextlib.suppress(PlaywrightError):
                            page.add_style_tag(content=MASK_INPUTS_CSS)
                    close(*args, **kw)

                context.close = close_masked  # type: ignore[method-assign]
            return context

        return make


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


# -- failures: scrub messages, keep and attach artifacts ------------------------------------------


def _scrubbed_phase(item: pytest.Item) -> Generator[None, None, None]:
    """Run one test phase; whatever it raises leaves with its secrets scrubbed (and a journey
    failure with its kind recorded), in setup (the shared sign-in) as in the test itself."""
    try:
        return (yield)
    except BaseException as exc:
        if isinstance(exc, JourneyFailure):
            _record_kind(item, exc.kind)
        _scrub_exception(exc)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _scrubbed_phase(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _scrubbed_phase(item))


def _record_kind(item: pytest.Item, kind: str) -> None:
    from smokegate.plugin import _RECORD_KEY

    record = item.stash.get(_RECORD_KEY, None)
    if record is not None:
        record.detail("failure_kind", kind)


def _scrub_exception(exc: BaseException) -> None:
    """Mask secrets in an exception's text before pytest, pytest-html and Allure format it."""
    if exc.args and isinstance(exc.args[0], str):
        cleaned = SCRUBBER.text(exc.args[0])
        if cleaned != exc.args[0]:
            exc.args = (cleaned, *exc.args[1:])
            if hasattr(exc, "_message"):
                exc._message = cleaned  # playwright.Error keeps its own copy


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.failed and report.longrepr is not None:
        report.longrepr = _scrub_repr(report.longrepr)
    report.sections = [(title, SCRUBBER.text(body)) for title, body in report.sections]
    if report.when == "teardown":
        _keep_artifacts(item, report)
    return report


def _scrub_repr(value: Any, depth: int = 0) -> Any:
    """Scrub a pytest failure representation in place, keeping its structure (crash line, entries)."""
    if isinstance(value, str):
        return SCRUBBER.text(value)
    if depth > 8 or value is None or isinstance(value, int | float | bool):
        return value
    if isinstance(value, list):
        value[:] = [_scrub_repr(v, depth + 1) for v in value]
        return value
    if isinstance(value, tuple):
        return tuple(_scrub_repr(v, depth + 1) for v in value)
    attributes = getattr(value, "__dict__", None)
    if attributes is not None:
        for name, item in list(attributes.items()):
            try:
                object.__setattr__(value, name, _scrub_repr(item, depth + 1))
            except (AttributeError, TypeError):
                continue
    return value


def _keep_artifacts(item: pytest.Item, report: pytest.TestReport) -> None:
    logs = item.stash.get(_LOG_KEY, None)
    failed = report.failed or any(
        getattr(item, f"rep_{when}", None) is not None and getattr(item, f"rep_{when}").failed
        for when in ("setup", "call")
    )
    artifacts = [
        (name.removeprefix(ARTIFACT_PROPERTY), str(value))
        for name, value in report.user_properties
        if isinstance(name, str) and name.startswith(ARTIFACT_PROPERTY)
    ]
    for _, path in artifacts:
        file = Path(item.config.invocation_params.dir, path)
        if file.is_file():
            SCRUBBER.file(file)
    if failed and logs:
        folder = Path(item.stash.get(_OUTPUT_KEY, str(item.config.invocation_params.dir)))
        folder.mkdir(parents=True, exist_ok=True)
        console = folder / "console.log"
        lines = [line for events in logs for line in events.log] or ["(the page logged nothing)"]
        console.write_text(SCRUBBER.text("\n".join(lines)) + "\n", encoding="utf-8")
        artifacts.append(("console", str(console)))
        report.user_properties.append((ARTIFACT_PROPERTY + "console", str(console)))
        html = item.config.pluginmanager.getplugin("html")
        if html is not None:
            extras = getattr(report, "extras", [])
            extras.append(html.extras.text(console.read_text(encoding="utf-8"), name="Console log"))
            report.extras = extras  # type: ignore[attr-defined]  # pytest-html's report attribute
    if failed:
        _attach_to_allure(item, artifacts)


def _attach_to_allure(item: pytest.Item, artifacts: list[tuple[str, str]]) -> None:
    try:
        import allure
    except ImportError:
        return
    attach: Callable[..., None] = allure.attach.file  # allure-python is untyped
    kinds = {
        "screenshot": allure.attachment_type.PNG,
        "trace": None,
        "video": allure.attachment_type.WEBM,
        "console": allure.attachment_type.TEXT,
    }
    for kind, path in artifacts:
        file = Path(item.config.invocation_params.dir, path)
        if not file.is_file():
            continue
        if kind == "trace":
            attach(str(file), name=f"Playwright trace ({file.name})", extension="zip")
        else:
            attach(str(file), name=kind, attachment_type=kinds.get(kind))
