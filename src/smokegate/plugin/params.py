"""Parameters made from the target config: the one place they are generated.

A check that asks for ``site_page`` runs once per page of the target's ``pages``; one that asks
for ``cors_route`` and ``hostile_kind`` once per route and kind of hostile origin, and so on.  Each
parameter is a real fixture below (so ``pytest --fixtures`` lists it with its docstring), filled
indirectly by :func:`pytest_generate_tests` from the table :data:`PARAMETERS`.  Ids are the config's
names, so ``test_page_answers_200[pricing]`` reads as what it checks.

A list the target leaves empty (``pages = []``) runs its checks once, skipped with a reason naming the
key (``[none-configured]``: "the config of target local lists nothing in pages"): never pytest's own "got empty
parameter set", and never a silent pass.  A required check skipped so makes the verdict ``error``.

To add one: a row in :data:`PARAMETERS` (names, values from the target, ids) and a fixture here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from smokegate.checks.cors import HOSTILE_KINDS
from smokegate.checks.forged_webhooks import ATTACKS
from smokegate.load.plan import routes_of
from smokegate.plugin import run as runs

if TYPE_CHECKING:
    from smokegate.config import Target

CREDENTIALS = ("no-session", "expired-token", "alg-none")


@dataclass(frozen=True)
class Parametrization:
    """Checks asking for all of ``names`` run once per tuple ``values(target)`` returns; ``key`` is the
    config key the values come from, named when it is empty."""

    names: tuple[str, ...]
    values: Callable[[Target], Sequence[tuple[Any, ...]]]
    ids: Callable[[tuple[Any, ...]], str]
    key: str

    def empty(self, target: Target) -> Any:
        """The one skipped call that stands for no values at all."""
        reason = f"not run: the config of target {target.name} lists nothing in {self.key}"
        return pytest.param(*(None for _ in self.names), marks=pytest.mark.skip(reason=reason), id=NONE_ID)


NONE_ID = "none-configured"


def _named(value: Any) -> str:
    return str(value.name)


PARAMETERS: tuple[Parametrization, ...] = (
    # Combinations first: a check asking for both names gets their product, not each alone.
    Parametrization(
        ("cors_route", "allowed_origin"),
        lambda t: [(r, o) for r in t.security.cors for o in r.allowed_origins],
        lambda v: f"{v[0].name}-{urlsplit(v[1]).netloc}",
        "security.cors[].allowed_origins",
    ),
    Parametrization(
        ("cors_route", "hostile_kind"),
        lambda t: [(r, k) for r in t.security.cors for k in HOSTILE_KINDS
                   if not (k == "subdomain" and r.allow_subdomains)],
        lambda v: f"{v[0].name}-{v[1]}",
        "security.cors",
    ),
    Parametrization(
        ("protected_api", "credential"),
        lambda t: [(r, c) for r in t.security.protected_api for c in CREDENTIALS],
        lambda v: f"{v[0].name}-{v[1]}",
        "security.protected_api",
    ),
    Parametrization(
        ("protected_page", "credential"),
        lambda t: [(r, c) for r in t.security.protected_pages for c in CREDENTIALS],
        lambda v: f"{v[0].name}-{v[1]}",
        "security.protected_pages",
    ),
    Parametrization(
        ("webhook", "attack"),
        lambda t: [(w, a) for w in t.security.webhooks for a in ATTACKS],
        lambda v: f"{v[0].name}-{v[1]}",
        "security.webhooks",
    ),
    Parametrization(("site_page",), lambda t: [(p,) for p in t.pages], lambda v: _named(v[0]), "pages"),
    Parametrization(("api_endpoint",), lambda t: [(a,) for a in t.api], lambda v: _named(v[0]), "api"),
    Parametrization(("scan_page",), lambda t: [(p,) for p in t.pages if p.scan], lambda v: _named(v[0]),
                    "pages (with scan = true)"),
    Parametrization(("cors_route",), lambda t: [(r,) for r in t.security.cors], lambda v: _named(v[0]),
                    "security.cors"),
    Parametrization(("webhook",), lambda t: [(w,) for w in t.security.webhooks], lambda v: _named(v[0]),
                    "security.webhooks"),
    Parametrization(("json_route",), lambda t: [(r,) for r in t.security.json_routes], lambda v: _named(v[0]),
                    "security.json_routes"),
    Parametrization(("sensitive_path",), lambda t: [(p,) for p in t.security.sensitive_paths],
                    lambda v: _named(v[0]), "security.sensitive_paths"),
    Parametrization(("return_route",), lambda t: [(r,) for r in t.security.return_routes], lambda v: _named(v[0]),
                    "security.return_routes"),
    Parametrization(("provider",), lambda t: [(p,) for p in t.synthetic.providers], lambda v: _named(v[0]),
                    "synthetic.providers"),
    Parametrization(("protected_api",), lambda t: [(r,) for r in t.security.protected_api], lambda v: _named(v[0]),
                    "security.protected_api"),
    Parametrization(("protected_page",), lambda t: [(r,) for r in t.security.protected_pages],
                    lambda v: _named(v[0]), "security.protected_pages"),
    Parametrization(("private_table",), lambda t: [(n,) for n in t.security.supabase.private_tables],
                    lambda v: str(v[0]), "security.supabase.private_tables"),
    Parametrization(("private_bucket",), lambda t: [(n,) for n in t.security.supabase.private_buckets],
                    lambda v: str(v[0]), "security.supabase.private_buckets"),
    Parametrization(("status_page",), lambda t: [(p,) for p in t.providers.status.pages], lambda v: _named(v[0]),
                    "providers.status.pages"),
    Parametrization(("load_route",), lambda t: [(r,) for r in routes_of(t) if r.weight > 0], lambda v: str(v[0].id),
                    "load.weights"),
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    run = runs.current(metafunc.config)
    if run is None:
        return
    wanted = set(metafunc.fixturenames)
    done: set[str] = set()
    for spec in PARAMETERS:
        if set(spec.names) <= wanted and not set(spec.names) & done:
            values = spec.values(run.target)
            argvalues: list[Any] = [v if len(spec.names) > 1 else v[0] for v in values]
            ids: list[str] | None = [spec.ids(v) for v in values]
            if not values:
                argvalues, ids = [spec.empty(run.target)], None
            # Module scope: checks of a module that take the same value share one setup of the
            # parameter (pytest groups them), not one each; a value is plain config, never state.
            metafunc.parametrize(",".join(spec.names), argvalues, ids=ids, indirect=True, scope="module")
            done |= set(spec.names)


def _param(request: pytest.FixtureRequest) -> Any:
    if not hasattr(request, "param"):
        raise pytest.UsageError(f"{request.fixturename} is made from the target config: choose a --target")
    return request.param


@pytest.fixture
def site_page(request: pytest.FixtureRequest) -> Any:
    """A page of the target's ``pages`` (smokegate.toml): name, path, text that must appear, budget."""
    return _param(request)


@pytest.fixture
def api_endpoint(request: pytest.FixtureRequest) -> Any:
    """An endpoint of the target's ``api``: name, path, method, expected status, budget."""
    return _param(request)


@pytest.fixture
def scan_page(request: pytest.FixtureRequest) -> Any:
    """A page of ``pages`` with ``scan = true``: scanned for leaked secrets, headers and cookies."""
    return _param(request)


@pytest.fixture
def cors_route(request: pytest.FixtureRequest) -> Any:
    """A route of ``security.cors``: path, methods, allowed origins."""
    return _param(request)


@pytest.fixture
def allowed_origin(request: pytest.FixtureRequest) -> Any:
    """One origin a ``cors_route`` must allow (with ``cors_route``)."""
    return _param(request)


@pytest.fixture
def hostile_kind(request: pytest.FixtureRequest) -> Any:
    """A kind of hostile origin (``checks.cors.HOSTILE_KINDS``) a ``cors_route`` must refuse."""
    return _param(request)


@pytest.fixture
def protected_api(request: pytest.FixtureRequest) -> Any:
    """A route of ``security.protected_api`` that must refuse requests without a valid session."""
    return _param(request)


@pytest.fixture
def protected_page(request: pytest.FixtureRequest) -> Any:
    """A page of ``security.protected_pages`` that must send visitors without a session to sign in."""
    return _param(request)


@pytest.fixture
def credential(request: pytest.FixtureRequest) -> Any:
    """A bad credential (``CREDENTIALS``: no session, an expired token, an ``alg: none`` token)."""
    return _param(request)


@pytest.fixture
def webhook(request: pytest.FixtureRequest) -> Any:
    """A receiver of ``security.webhooks`` (Stripe or Clerk/svix)."""
    return _param(request)


@pytest.fixture
def attack(request: pytest.FixtureRequest) -> Any:
    """A forged delivery (``checks.webhooks.ATTACKS``) a ``webhook`` must refuse."""
    return _param(request)


@pytest.fixture
def json_route(request: pytest.FixtureRequest) -> Any:
    """A route of ``security.json_routes`` whose input validation is probed."""
    return _param(request)


@pytest.fixture
def sensitive_path(request: pytest.FixtureRequest) -> Any:
    """A path of ``security.sensitive_paths`` that must never be served (``/.env``, ``/.git/config``…)."""
    return _param(request)


@pytest.fixture
def return_route(request: pytest.FixtureRequest) -> Any:
    """A route of ``security.return_routes`` (sign-in, sign-out) whose return URL must stay on the site."""
    return _param(request)


@pytest.fixture
def provider(request: pytest.FixtureRequest) -> Any:
    """An OAuth provider of ``synthetic.providers`` (Google, Microsoft, Slack)."""
    return _param(request)


@pytest.fixture
def private_table(request: pytest.FixtureRequest) -> Any:
    """A table of ``security.supabase.private_tables``: no visitor may read or write it with the anon key."""
    return _param(request)


@pytest.fixture
def private_bucket(request: pytest.FixtureRequest) -> Any:
    """A bucket of ``security.supabase.private_buckets``: its objects may not be listed with the anon key."""
    return _param(request)


@pytest.fixture
def status_page(request: pytest.FixtureRequest) -> Any:
    """A provider status page of ``providers.status.pages`` and the components of it the platform uses."""
    return _param(request)


@pytest.fixture
def load_route(request: pytest.FixtureRequest) -> Any:
    """A route of the load check's traffic mix (``[load]``: pages, APIs, health, signed-in API, AI) with
    weight above 0: its id (``page-pricing``, ``api-plans``, ``health``, ``signed-in-api``, ``ai``), budget."""
    return _param(request)
