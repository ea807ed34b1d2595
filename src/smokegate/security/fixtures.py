"""The security suite's fixtures: the shared, cached fetches its checks read (one GET per page,
one sslyze scan, one crawl, one not-found answer, one rate-limit burst and its bypass attempts).

Registered by ``smokegate.plugin``; it only acts on tests that ask for its fixtures.  Parameters
made from the target's ``[security]`` config (routes, origins, webhooks…) are in ``smokegate.params``.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import pytest

from smokegate.checks import notfound
from smokegate.checks.html import inline_scripts, script_sources
from smokegate.run import SmokegateRun

if TYPE_CHECKING:  # httpx, pydantic, cryptography and sslyze load with the checks that use them
    from smokegate.checks.ratelimit import Burst
    from smokegate.checks.ratelimit_bypass import Attempt
    from smokegate.checks.tls import TlsScan
    from smokegate.config import Page, Target
    from smokegate.probe import Exchange, Probe
    from smokegate.security.config import SecurityConfig

_BUILD_ID = re.compile(r'0:\[\\?"([A-Za-z0-9_-]{6,64})\\?"')


def scan_pages(target: Target) -> list[Page]:
    return [page for page in target.pages if page.scan]


@pytest.fixture(scope="session")
def security(target: Target) -> SecurityConfig:
    """The target's ``[security]`` section."""
    return target.security


@pytest.fixture(scope="session")
def security_probe(target: Target, smokegate_run: SmokegateRun) -> Iterator[Probe]:
    """A probe of its own, so cookies other suites collect (a signed-in session) never leak in."""
    from smokegate.probe import Probe

    with Probe(target, on_request=smokegate_run.count_request) as client:
        yield client


def fresh(probe: Probe) -> Probe:
    """The probe with its cookie jar emptied: the next request carries only the cookies it sets."""
    probe.client.cookies.clear()
    return probe


PageFetch = Callable[[str], "Exchange"]


@pytest.fixture(scope="session")
def page_answer(security_probe: Probe) -> PageFetch:
    """``page_answer(path)``: one cookie-less GET of the page, cached for the run."""
    cache: dict[str, Exchange] = {}

    def fetch(path: str) -> Exchange:
        if path not in cache:
            cache[path] = fresh(security_probe).get(path, headers={"accept": "text/html"})
        return cache[path]

    return fetch


@pytest.fixture(scope="session")
def not_found_answer(security_probe: Probe) -> notfound.Answer:
    """The site's answer to a path that cannot exist, learned once: what a soft 404 looks like."""
    path = f"/smokegate-not-found-{secrets.token_hex(6)}"
    answer = fresh(security_probe).get(path)
    return notfound.Answer(path, answer.status, answer.text)


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
    # Other same-origin files the checks look at (source maps), fetched once per run.
    others: dict[str, Exchange] = field(default_factory=dict)

    def _same_origin(self, src: str) -> str | None:
        url = urljoin(self.target.base_url + "/", src)
        parts = urlsplit(url)
        base = urlsplit(self.target.base_url)
        if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def same_origin_path(self, url: str) -> str | None:
        """The path (and query) of ``url`` when it is on the target's origin, else None."""
        return self._same_origin(url)

    def fetch(self, path: str) -> Exchange:
        """GET a same-origin file once per run (a map shared by every page is asked for once)."""
        if path not in self.others:
            self.others[path] = self.probe.get(path)
        return self.others[path]

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
    from smokegate.checks.tls import scan

    return scan(parts.hostname or "", parts.port or 443, ca_file=ca_file, profile=security.tls.mozilla_profile,
                timeout_s=min(target.timeout_s, security.tls.scan_timeout_s))


@pytest.fixture(scope="session")
def http_url(smokegate_run: SmokegateRun, security: SecurityConfig) -> str:
    """The plain-HTTP URL to probe: ``--http-url`` (env/ini), else the config's, else ``http://<host>``."""
    return smokegate_run.settings.http_url or security.tls.http_url or f"http://{smokegate_run.target.host}"


@dataclass
class RateLimitRun:
    """The bounded burst, and what rotating client-IP headers did right after its first 429."""

    burst: Burst[Exchange]
    # Empty when the burst got no 429 (there is no limit to bypass) or broke off.
    bypass: list[Attempt] = field(default_factory=list)


@pytest.fixture(scope="session")
def rate_limit_run(security_probe: Probe, security: SecurityConfig) -> RateLimitRun:
    """The bounded burst against the rate-limited endpoint, continued at once (while the limit holds)
    by at most two requests per spoofable client-IP header; sent once for the rate-limit checks."""
    limit = security.rate_limit
    probe = fresh(security_probe)

    def send(headers: Mapping[str, str] | None = None) -> Exchange:
        return probe.request(limit.method, limit.path, json=limit.json_body, headers=dict(headers or {}))

    from smokegate.checks.ratelimit import run_burst
    from smokegate.checks.ratelimit_bypass import try_headers
    from smokegate.failures import Inconclusive
    from smokegate.probe import TargetUnreachable

    burst = run_burst(send, cap=limit.cap, concurrency=limit.concurrency, unsent=(Inconclusive, TargetUnreachable))
    run = RateLimitRun(burst)
    if burst.first_429 is not None and not burst.errors:
        run.bypass = try_headers(send)
    return run


@pytest.fixture(scope="session")
def rate_limit_burst(rate_limit_run: RateLimitRun) -> Burst[Exchange]:
    """The bounded burst against the rate-limited endpoint, sent once for the rate-limit checks."""
    return rate_limit_run.burst
