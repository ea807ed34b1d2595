"""Fixtures of the providers suite (``tests/providers``): one client per provider API and worker.

Each fixture skips the checks that ask for it, with one reason, when the variable its section names
is not set: no token, no question asked.  httpx and the config models load with the checks that
use them, never with the plugin.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from smokegate.config import Target
    from smokegate.plugin.run import SmokegateRun
    from smokegate.providers.client import ProviderApi


def _client(make: Callable[..., ProviderApi | None], target: Target, run: SmokegateRun,
            missing: str) -> Iterator[ProviderApi]:
    api = make(target, run.count_request)
    if api is None:
        pytest.skip(missing)
    with api:
        yield api


@pytest.fixture(scope="session")
def vercel_rest(target: Target, smokegate_run: SmokegateRun) -> Iterator[ProviderApi]:
    """Vercel's REST API with the token in ``providers.vercel.token_env`` (skips without it)."""
    from smokegate.providers.apis import vercel_api

    name = target.providers.vercel.token_env
    yield from _client(vercel_api, target, smokegate_run,
                       f"{name} is not set: Vercel's REST API cannot be asked (providers.vercel.token_env)")


@pytest.fixture(scope="session")
def supabase_management(target: Target, smokegate_run: SmokegateRun) -> Iterator[ProviderApi]:
    """Supabase's Management API with the token in ``providers.supabase.token_env`` (skips without it)."""
    from smokegate.providers.apis import supabase_api

    name = target.providers.supabase.token_env
    yield from _client(supabase_api, target, smokegate_run,
                       f"{name} is not set: Supabase's Management API cannot be asked (providers.supabase.token_env)")


@pytest.fixture(scope="session")
def stripe_rest(target: Target, smokegate_run: SmokegateRun) -> Iterator[ProviderApi]:
    """Stripe's API with the restricted key in ``providers.stripe.token_env`` (skips without it)."""
    from smokegate.providers.apis import stripe_api

    name = target.providers.stripe.token_env
    yield from _client(stripe_api, target, smokegate_run,
                       f"{name} is not set: Stripe's API cannot be asked (providers.stripe.token_env)")


@pytest.fixture(scope="session")
def clerk_backend(target: Target, smokegate_run: SmokegateRun) -> Iterator[ProviderApi]:
    """Clerk's Backend API with the secret key of ``[synthetic.clerk]`` (skips without it)."""
    from smokegate.providers.apis import clerk_api

    name = target.synthetic.clerk.secret_key_env
    yield from _client(clerk_api, target, smokegate_run,
                       f"{name} is not set: Clerk's Backend API cannot be asked (synthetic.clerk.secret_key_env)")
