"""Fixtures of the synthetic suite: page loads and OAuth captures, each made once per worker.

Several checks judge the same loads (timing, console, subresources, vitals) and the same captured
authorize URLs (host, client, redirect, state...), so each page is loaded N times and each button
clicked twice per worker, inside the first check that needs it (whose trace then holds them).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext

from smokegate.config import Page, Target
from smokegate.synthetic.config import Provider
from smokegate.synthetic.journey import AuthorizeCapture, PageSampler, capture_authorize, load_page
from smokegate.synthetic.oauth import AuthorizeUrl
from smokegate.synthetic.vitals import PageLoads


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``provider`` over the target's OAuth providers, with their names as ids."""
    if "provider" not in metafunc.fixturenames:
        return
    from smokegate.plugin import RUN_KEY

    run = metafunc.config.stash.get(RUN_KEY, None)
    providers = run.target.synthetic.providers if run is not None else ()
    metafunc.parametrize("provider", providers, ids=[p.name for p in providers])


@pytest.fixture(scope="session")
def _page_loads() -> dict[str, PageLoads]:
    return {}


@pytest.fixture
def page_loads(
    _page_loads: dict[str, PageLoads], new_context: Callable[..., BrowserContext], target: Target
) -> PageSampler:
    """``page_loads(page)``: the page loaded ``synthetic.samples`` times in fresh contexts, cached per worker."""

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
