"""Every private API of pytest and pytest-playwright that smokegate's speed work leans on, in one place.

Each use below says what it is for, what the public path is, and falls back to that path (slower, or
with less evidence, never a different verdict) when a release takes the private one away.  Each has a
probe (:func:`probes`) that ``selftests/test_compat.py`` runs against the installed releases: it fails
naming the release that changed what smokegate relies on, and the release this module was written
against (:data:`WRITTEN_AGAINST`).

- **pytest-playwright's API-request tracing** (``_pw_api_request_contexts``, a private session fixture,
  and its ``instrument``): smokegate starts Playwright itself (:func:`start_playwright`, so the target's
  certificate is pinned while the driver starts) and hands the new Playwright to it, as
  pytest-playwright's own ``playwright`` fixture does.  Public path: without it, ``playwright.request``
  contexts are not traced (browser contexts still are).
- **A fixture left out of a check** (:func:`drop_fixture`): pytest-playwright's autouse
  ``_pw_trace_api_requests`` does nothing for a check that does not use Playwright; removing it from
  ``item.fixturenames`` (pytest's closure for the item) spares its setup.  Public path: it runs.
- **Plugins imported through pytest's assertion rewriter** (:func:`plugin_rewrite_hook`:
  ``_pytest.assertion``, ``config._mark_plugins_for_rewrite``), for the fork server of
  ``smokegate watch``.  Public path: each run imports its plugins itself.
- **Work before a browser context closes** (:func:`before_close`): the instance's ``close`` is wrapped,
  because pytest-playwright closes its contexts with ``context.close()`` at teardown and Playwright has
  no event before a close.  Public path: nothing runs first (no masked inputs on pytest-playwright's
  screenshots, traces of contexts closed mid-check not exported).
"""

from __future__ import annotations

import importlib.metadata
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from importlib.abc import MetaPathFinder

    from playwright.sync_api import BrowserContext, Playwright

WRITTEN_AGAINST = {"pytest": "9.2.0", "pytest-playwright": "0.10.0", "playwright": "1.65.3"}

PW_REQUEST_CONTEXTS = "_pw_api_request_contexts"
PW_TRACE_API_REQUESTS = "_pw_trace_api_requests"


def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _changed(package: str, what: str) -> str:
    return (f"{package} {version(package)} changed {what} (smokegate.plugin.compat was written against "
            f"{WRITTEN_AGAINST[package]}): smokegate takes the public path")


# -- pytest-playwright: the Playwright instance and its API-request tracing -----------------------------


def start_playwright(request: pytest.FixtureRequest) -> Playwright:
    """Start Playwright as pytest-playwright's ``playwright`` fixture does, with its request tracing."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        contexts = request.getfixturevalue(PW_REQUEST_CONTEXTS)
    except pytest.FixtureLookupError:
        warnings.warn(_changed("pytest-playwright", f"the {PW_REQUEST_CONTEXTS} fixture"), stacklevel=1)
        return playwright
    if contexts is not None:  # None: --tracing off
        instrument = getattr(contexts, "instrument", None)
        if callable(instrument):
            instrument(playwright)
        else:
            warnings.warn(_changed("pytest-playwright", f"{PW_REQUEST_CONTEXTS}.instrument"), stacklevel=1)
    return playwright


# -- pytest: an item's fixture closure ----------------------------------------------------------------


def drop_fixture(item: pytest.Item, name: str) -> bool:
    """Leave fixture ``name`` out of ``item``'s setup; False when this pytest keeps the closure elsewhere."""
    names = getattr(item, "fixturenames", None)
    if isinstance(names, list) and name in names:
        names.remove(name)
        return True
    return False


# -- pytest: importing plugins through its assertion rewriter (the fork server) ----------------------


def plugin_rewrite_hook() -> MetaPathFinder | None:
    """pytest's import hook, with every installed plugin's package marked for rewriting as a run marks
    them; None (and a line on stderr) when this pytest's internals differ."""
    try:
        from _pytest.assertion import AssertionState
        from _pytest.assertion.rewrite import AssertionRewritingHook, assertstate_key
        from _pytest.config import get_config

        config = get_config()
        config.stash[assertstate_key] = AssertionState(config, "rewrite")
        hook = AssertionRewritingHook(config)
        config._mark_plugins_for_rewrite(hook, disable_autoload=False)
    except Exception as exc:  # a pytest whose internals differ: the public path, loudly
        print(f"{_changed('pytest', 'its assertion-rewriting internals')} ({exc!r})", file=sys.stderr)
        return None
    return hook


# -- Playwright: work before a browser context closes -------------------------------------------------


def before_close(context: BrowserContext, work: Callable[[], None]) -> bool:
    """Run ``work`` whenever ``context.close()`` is called, before it closes; False if it cannot be wrapped."""
    close = context.close

    def close_after_work(*args: Any, **kwargs: Any) -> None:
        work()
        close(*args, **kwargs)

    try:
        context.close = close_after_work  # type: ignore[method-assign]
    except AttributeError:  # a Playwright whose objects take no instance attributes
        warnings.warn(_changed("playwright", "BrowserContext (close cannot be wrapped)"), stacklevel=1)
        return False
    return True


# -- probes: what each use relies on, on the installed releases ---------------------------------------


@dataclass(frozen=True)
class Probe:
    package: str
    what: str
    check: Callable[[], str | None]  # None: as relied on; else what differs

    def failure(self) -> str | None:
        found = self.check()
        return None if found is None else f"{_changed(self.package, self.what)}: {found}"


def _pw_request_contexts() -> str | None:
    from pytest_playwright import pytest_playwright as plugin

    if not hasattr(plugin, PW_REQUEST_CONTEXTS):
        return f"no fixture {PW_REQUEST_CONTEXTS}"
    holder = getattr(plugin, "_APIRequestContexts", None)
    if holder is None or not callable(getattr(holder, "instrument", None)):
        return "no _APIRequestContexts.instrument(playwright)"
    return None


def _pw_trace_fixture() -> str | None:
    from pytest_playwright import pytest_playwright as plugin

    return None if hasattr(plugin, PW_TRACE_API_REQUESTS) else f"no autouse fixture {PW_TRACE_API_REQUESTS}"


def _pw_closes_contexts() -> str | None:
    import inspect

    from pytest_playwright import pytest_playwright as plugin

    source = inspect.getsource(plugin)
    return None if "context.close()" in source else "its fixtures no longer close contexts with context.close()"


def _rewrite_internals() -> str | None:
    try:
        from _pytest.assertion import AssertionState  # noqa: F401
        from _pytest.assertion.rewrite import AssertionRewritingHook, assertstate_key  # noqa: F401
        from _pytest.config import Config, get_config  # noqa: F401
    except ImportError as exc:
        return str(exc)
    return None if hasattr(Config, "_mark_plugins_for_rewrite") else "no Config._mark_plugins_for_rewrite"


def probes() -> list[Probe]:
    return [
        Probe("pytest-playwright", f"the {PW_REQUEST_CONTEXTS} fixture", _pw_request_contexts),
        Probe("pytest-playwright", f"the {PW_TRACE_API_REQUESTS} fixture", _pw_trace_fixture),
        Probe("pytest-playwright", "how its fixtures close browser contexts", _pw_closes_contexts),
        Probe("pytest", "its assertion-rewriting internals", _rewrite_internals),
    ]
