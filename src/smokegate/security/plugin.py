"""The security suite's pytest layer: parametrization from the target's ``[security]`` config, and
the shared, cached fetches its checks read (one GET per page, one sslyze scan, one crawl).

Registered by ``smokegate.plugin`` (``pytest_plugins``); it only acts on tests that ask for its
fixtures, so the other suites are untouched.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from smokegate.checks import cors
from smokegate.checks.html import inline_scripts, script_sources
from smokegate.checks.ratelimit import Burst, run_burst
from smokegate.checks.tls import TlsScan, scan
from smokegate.checks.webhooks import ATTACKS
from smokegate.config import Page, Target
from smokegate.failures import Inconclusive
from smokegate.probe import Exchange, Probe, TargetUnreachable
from smokegate.security.config import SecurityConfig

CREDENTIALS = ("no-session", "expired-token", "alg-none")
_BUILD_ID = re.compile(r'0:\[\\?"([A-Za-z0-9_-]{6,64})\\?"')


def _target(config: pytest.Config) -> Target | None:
    from smokegate.plugin import RUN_KEY

    run = config.stash.get(RUN_KEY, None)
    return run.target if run is not None else None


def scan_pages(target: Target) -> list[Page]:
    return [page for page in target.pages if page.scan]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    target = _target(metafunc.config)
    if target is None:
        return
    sec = target.security
    names = metafunc.fixturenames
    if "scan_page" in names:
        pages = scan_pages(target)
        metafunc.parametrize("scan_page", pages, ids=[p.name for p in pages])
    if "allowed_origin" in names:
        combos = [(r, o) for r in sec.cors for o in r.allowed_origins]
        metafunc.parametrize("cors_route,allowed_origin", combos,
                             ids=[f"{r.name}-{urlsplit(o).netloc}" for r, o in combos])
    elif "hostile_kind" in names:
        combos2 = [(r, k) for r in sec.cors for k in cors.HOSTILE_KINDS
                   if not (k == "subdomain" and r.allow_subdomains)]
        metafunc.parametrize("cors_route,hostile_kind", combos2, ids=[f"{r.name}-{k}" for r, k in combos2])
    elif "cors_route" in names:
        metafunc.parametrize("cors_route", sec.cors, ids=[r.name for r in sec.cors])
    for fixture, routes in (("protected_api", sec.protected_api), ("protected_page", sec.protected_pages)):
        if fixture in names:
            combos3 = [(r, c) for r in routes for c in CREDENTIALS]
            metafunc.parametrize(f"{fixture},credential", combos3, ids=[f"{r.name}-{c}" for r, c in combos3])
    if "webhook" in names:
        if "attack" in names:
            combos4 = [(w, a) for w in sec.webhooks for a in ATTACKS]
            metafunc.parametrize("webhook,attack", combos4, ids=[f"{w.name}-{a}" for w, a in combos4])
        else:
            metafunc.parametrize("webhook", sec.webhooks, ids=[w.name for w in sec.webhooks])
    if "json_route" in names:
        metafunc.parametrize("json_route", sec.json_routes, ids=[r.name for r in sec.json_routes])
    if "sensitive_path" in names:
        metafunc.parametrize("sensitive_path", sec.sensitive_paths, ids=[p.name for p in sec.sensitive_paths])


@pytest.fixture(scope="session")
def security(target: Target) -> SecurityConfig:
    """The target's ``[security]`` section."""
    return target.security


@pytest.fixture(scope="session")
def security_probe(target: Target, smokegate_run: Any) -> Iterator[Probe]:
    """A probe of its own, so cookies other suites collect (a signed-in session) never leak in."""
    with Probe(target, on_request=smokegate_run.count_request) as client:
        yield client


def fresh(probe: Probe) -> Probe:
    """The probe with its cookie jar emptied: the next request carries only the cookies it sets."""
    probe.client.cookies.clear()
    return probe


PageFetch = Callable[[str], Exchange]


@pytest.fixture(scope="session")
def page_answer(security_probe: Probe) -> PageFetch:
    """``page_answer(path)``: one cookie-less GET of the page, cached for the run."""
    cache: dict[str, Exchange] = {}

    def fetch(path: str) -> Exchange:
        if path not in cache:
            cache[path] = fresh(security_probe).get(path, headers={"accept": "text/html"})
        return cache[path]

    return fetch


@dataclass
class Served:
    """What a page makes a browser load: its HTML, inline scripts and same-origin scripts."""

    html: str
    inline: list[str]
    scripts: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


@dataclass
class Crawler:
    target: Target
    probe: Probe
    page_answer: PageFetch
    max_scripts: int
    bodies: dict[str, Exchange] = field(default_factory=dict)

    def _same_origin(self, src: str) -> str | None:
        url = urljoin(self.target.base_url + "/", src)
        parts = urlsplit(url)
        base = urlsplit(self.target.base_url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def script(self, path: str) -> Exchange | None:
        if path not in self.bodies:
            if len(self.bodies) >= self.max_scripts:
                return None
            self.bodies[path] = self.probe.get(path)
        return self.bodies[path]

    def page(self, page: Page) -> Served:
        answer = self.page_answer(page.path)
        inline = inline_scripts(answer.text)
        served = Served(html=answer.text, inline=inline)
        paths = []
        for src in script_sources(answer.text):
            path = self._same_origin(src)
            if path is None:
                served.skipped.append(f"{src} (third party)")
            else:
                paths.append(path)
        # The App Router does not link the build manifest; its build id is in the RSC payload.
        match = _BUILD_ID.search("\n".join(inline))
        if match:
            paths += [f"/_next/static/{match.group(1)}/_buildManifest.js",
                      f"/_next/static/{match.group(1)}/_ssgManifest.js"]
        for path in paths:
            exchange = self.script(path)
            if exchange is None:
                served.skipped.append(f"{path} (over the cap of {self.max_scripts} scripts)")
            elif exchange.status == 200:
                served.scripts[path] = exchange.text
        return served


@pytest.fixture(scope="session")
def crawler(target: Target, security_probe: Probe, page_answer: PageFetch, security: SecurityConfig) -> Crawler:
    return Crawler(target, security_probe, page_answer, security.secrets.max_scripts)


@pytest.fixture(scope="session")
def canaries(target: Target) -> dict[str, str]:
    """Values of the server-side secret env vars the config names (those set in this environment)."""
    values = {}
    for name in target.secret_env:
        value = target.secret(name)
        if value:
            values[name] = value
    return values


def webhook_secret(target: Target, env_name: str) -> str | None:
    if env_name in target.secret_env:
        return target.secret(env_name)
    return os.environ.get(env_name) or None


@pytest.fixture(scope="session")
def tls_scan(target: Target, security: SecurityConfig) -> TlsScan:
    """One sslyze scan of the target, shared by every TLS check."""
    parts = urlsplit(target.base_url)
    if parts.scheme != "https":
        pytest.fail(f"{target.base_url} is not HTTPS: nothing to scan", pytrace=False)
    ca_file = None if target.ca_bundle == "system" else target.ca_bundle
    return scan(parts.hostname or "", parts.port or 443, ca_file=ca_file, profile=security.tls.mozilla_profile,
                timeout_s=min(target.timeout_s, security.tls.scan_timeout_s))


def http_url(config: pytest.Config, target: Target, security: SecurityConfig) -> str:
    """The plain-HTTP URL to probe: ``--http-url`` (env/ini), else the config's, else ``http://<host>``."""
    from smokegate.options import resolve

    return resolve(config, "--http-url") or security.tls.http_url or f"http://{target.host}"


@pytest.fixture(scope="session")
def rate_limit_burst(security_probe: Probe, security: SecurityConfig) -> Burst[Exchange]:
    """The bounded burst against the rate-limited endpoint, sent once for the rate-limit checks."""
    limit = security.rate_limit
    probe = fresh(security_probe)

    def send() -> Exchange:
        return probe.request(limit.method, limit.path, json=limit.json_body)

    return run_burst(send, cap=limit.cap, concurrency=limit.concurrency, unsent=(Inconclusive, TargetUnreachable))
