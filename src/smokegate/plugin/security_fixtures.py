"""The security suite's fixtures: the shared, cached fetches its checks read (one GET per page,
one sslyze scan, one crawl, one not-found answer, one rate-limit burst and its bypass attempts).

Registered by ``smokegate.plugin``; it only acts on tests that ask for its fixtures.  Parameters
made from the target's ``[security]`` config (routes, origins, webhooks…) are in ``smokegate.plugin.params``.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from smokegate.checks import notfound, urls
from smokegate.checks.html import inline_scripts, script_sources
from smokegate.cpus import usable_cpus
from smokegate.plugin import distribute, markers
from smokegate.plugin import run as runs
from smokegate.plugin.run import SmokegateRun
from smokegate.security.tls_job import ScanJob, ScanRequest, scan_for, start_index, worth_a_process

if TYPE_CHECKING:  # httpx, pydantic, cryptography and sslyze load with the checks that use them
    from smokegate.checks.ratelimit import Burst
    from smokegate.checks.tls import TlsScan
    from smokegate.config import Page, Target
    from smokegate.probe import Exchange, Probe
    from smokegate.security.config import SecurityConfig
    from smokegate.security.ratelimit_run import Lift, RateLimitRun
    from smokegate.security.supabase_access import SupabaseAccess

_BUILD_ID = re.compile(r'0:\[\\?"([A-Za-z0-9_-]{6,64})\\?"')


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The rate-limit burst early, so its wait runs out while the other checks run, and the check
    that joins that wait last; checks that send to the rate-limited route before the burst (inside
    its window they would only get its 429).  Otherwise pytest's order, reachability first."""
    run = runs.current(config)
    if run is None:
        return
    route = run.target.security.rate_limit.path

    def rank(item: pytest.Item) -> int:
        names = getattr(item, "fixturenames", ())
        if markers.is_reachability(item):
            return 0
        if "rate_limit_lift" in names:
            return 4
        if "rate_limit_run" in names:
            return 2
        return 1 if _sends_to(item, route) else 3

    items.sort(key=rank)
    # Under xdist (smokegate.plugin.distribute): the route's checks and the burst one unit, started first;
    # the check joining the wait a unit of its own, started last, on whichever worker is free.
    for item in items:
        if rank(item) in (1, 2):
            item.add_marker(pytest.mark.xdist_group("rate-limit"))
            item.stash[distribute.BAND] = distribute.EARLY
        elif rank(item) == 4:
            item.add_marker(pytest.mark.xdist_group("rate-limit-wait"))
            item.stash[distribute.BAND] = distribute.LATE


def _sends_to(item: pytest.Item, route: str) -> bool:
    """Is one of the check's parameters (a json_route, say) the rate-limited route?"""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(getattr(value, "path", None) == route for value in params.values())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    """A check sending to the rate-limited route waits while this run's rate-limit window is open on it
    (another worker's burst), and keeps the burst waiting while it runs: it must not meet that 429.

    A hook, not an autouse fixture: every check of every suite would otherwise pay for a fixture
    (and allure-pytest write a result container for it) to learn that it does not send there.
    """
    run = runs.current(item.config)
    route = run.target.security.rate_limit.path if run is not None else None
    if run is None or route is None or not _sends_to(item, route):
        return (yield)
    with run.locks.window(route, f"{item.name}: the rate-limit window on {route}"):
        return (yield)


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
    """``page_answer(path)``: one cookie-less GET of the page, cached for the run (what kept it too)."""
    from smokegate.probe import remembered

    cache: dict[str, Exchange | BaseException] = {}

    def fetch(path: str) -> Exchange:
        return remembered(cache, path, lambda: fresh(security_probe).get(path, headers={"accept": "text/html"}))

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
    # What each fetch got, or what kept it (smokegate.probe.remembered).
    bodies: dict[str, Exchange | BaseException] = field(default_factory=dict)
    # Other same-origin files the checks look at (source maps), fetched once per run.
    others: dict[str, Exchange | BaseException] = field(default_factory=dict)

    def _same_origin(self, src: str) -> str | None:
        # Resolved as the browser resolves it: a src no browser can parse loads nothing.
        parsed = urls.parse(urls.resolve(self.target.base_url + "/", src))
        if parsed is None or parsed.origin != urls.origin(self.target.base_url):
            return None
        return parsed.path_and_query

    def same_origin_path(self, url: str) -> str | None:
        """The path (and query) of ``url`` when it is on the target's origin, else None."""
        return self._same_origin(url)

    def fetch(self, path: str) -> Exchange:
        """GET a same-origin file once per run (a map shared by every page is asked for once)."""
        from smokegate.probe import remembered

        return remembered(self.others, path, lambda: self.probe.get(path))

    def rsc(self, path: str) -> Exchange:
        """The page's React Server Components payload, as a client-side navigation asks for it (once per run)."""
        from smokegate.probe import remembered

        return remembered(self.others, f"{path} (RSC)",
                          lambda: self.probe.get(path, headers={"rsc": "1", "accept": "text/x-component"}))

    def script(self, path: str) -> Exchange | None:
        from smokegate.probe import remembered

        if path not in self.bodies and len(self.bodies) >= self.max_scripts:
            return None
        return remembered(self.bodies, path, lambda: self.probe.get(path))

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


def _scan_request(target: Target) -> ScanRequest | None:
    """What the TLS scan scans; None when the target is not HTTPS."""
    parts = urlsplit(target.base_url)
    if parts.scheme != "https":
        return None
    tls = target.security.tls
    return ScanRequest(host=parts.hostname or "", port=parts.port or 443,
                       ca_file=None if target.ca_bundle == "system" else target.ca_bundle,
                       profile=tls.mozilla_profile, timeout_s=min(target.timeout_s, tls.scan_timeout_s))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Where the TLS scan starts in the background (smokegate.security.tls_job): one process only."""
    run = runs.current(session.config)
    if run is None or runs.is_worker(session.config) or _scan_request(run.target) is None:
        return
    if run.reach is None or not run.reach.reachable:
        return
    if not worth_a_process(run.reach.setup_ms, usable_cpus(), sslyze_loaded="sslyze" in sys.modules):
        return  # the first TLS check scans in process
    items = session.items
    infos = [markers.check_info(item) for item in items]
    index = start_index([info is not None and info.measures for info in infos],
                        ["tls_scan" in getattr(item, "fixturenames", ()) for item in items])
    run.tls_scan_starts_at = items[index].nodeid if index is not None else None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    run = runs.current(item.config)
    # Whether and where was decided once, after collection (reachability was probed before it).
    if run is not None and run.tls_scan_starts_at == item.nodeid and run.tls_job is None:
        request = _scan_request(run.target)
        run.tls_job = ScanJob.start(request) if request is not None else None


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = runs.current(session.config)
    if run is not None and run.tls_job is not None:
        run.tls_job.cancel()  # the run ended before a TLS check joined it (interrupted, or -x)
        run.tls_job = None


@pytest.fixture(scope="session")
def tls_scan(target: Target, smokegate_run: SmokegateRun) -> TlsScan:
    """One sslyze scan of the target, shared by every TLS check: the background job's when one was
    started (smokegate.security.tls_job), else made here."""
    request = _scan_request(target)
    if request is None:
        pytest.fail(f"{target.base_url} is not HTTPS: nothing to scan", pytrace=False)
    job, smokegate_run.tls_job = smokegate_run.tls_job, None
    result = job.result() if job is not None else None
    return result if result is not None else scan_for(request)


@pytest.fixture(scope="session")
def http_url(smokegate_run: SmokegateRun, security: SecurityConfig) -> str:
    """The plain-HTTP URL to probe: ``--http-url`` (env/ini), else the config's, else ``http://<host>``."""
    return smokegate_run.settings.http_url or security.tls.http_url or f"http://{smokegate_run.target.host}"


@pytest.fixture(scope="session")
def rate_limit_run(
    security_probe: Probe, security: SecurityConfig, target: Target, smokegate_run: SmokegateRun
) -> Iterator[RateLimitRun]:
    """The bounded burst against the rate-limited endpoint, continued at once (while the limit holds)
    by at most two requests per spoofable client-IP header (the limit built up again, at most twice,
    when its window ends before they are done); sent once per run (by whichever process
    needs it first, the others read it), after which the limit's wait runs out in the background
    (:mod:`smokegate.security.ratelimit_run`)."""
    from smokegate.intercepted import About
    from smokegate.probe import Probe
    from smokegate.security.ratelimit_run import LiftWatch, send_burst
    from smokegate.shared import Held, once

    limit = security.rate_limit
    locks = smokegate_run.locks
    assert smokegate_run.shared_dir is not None
    probe = fresh(security_probe)
    window: list[Held] = []

    def send(headers: Mapping[str, str] | None = None) -> Exchange:
        return probe.request(limit.method, limit.path, json=limit.json_body, headers=dict(headers or {}),
                             about=About.RATE_LIMIT)

    def make() -> RateLimitRun:
        window.append(locks.hold_window(limit.path, f"the rate-limit window on {limit.path}"))
        with locks.load(f"the rate-limit burst on {limit.path}"):
            return send_burst(send, limit.cap, limit.concurrency, limit.max_wait_s)

    try:
        run, made_here = once(smokegate_run.shared_dir, "rate-limit-run", make)
    except BaseException:
        for held in window:
            held.release()
        raise
    if not made_here:
        yield run
        return
    # Its own connection, uncounted here: the check that judges the answer counts its requests.
    with Probe(target, about=About.RATE_LIMIT) as lift_probe:
        watch = LiftWatch(run, lambda: lift_probe.request(limit.method, limit.path, json=limit.json_body),
                          lambda: lift_probe.requests_sent, smokegate_run.shared_dir, window[0]).start()
        try:
            yield run
        finally:
            # This process must not end (and take the thread with it) before the answer is written.
            watch.join((run.wait_s or 0) + 2 * target.timeout_s + 5)


@pytest.fixture
def rate_limit_lift(
    rate_limit_run: RateLimitRun, smokegate_run: SmokegateRun, target: Target
) -> Lift:
    """The request sent once the rate limit's advertised wait had passed (waited for in the background)."""
    from smokegate.security.ratelimit_run import join_lift

    assert smokegate_run.shared_dir is not None
    return join_lift(smokegate_run.shared_dir, rate_limit_run, target.timeout_s)


@pytest.fixture(scope="session")
def rate_limit_burst(rate_limit_run: RateLimitRun) -> Burst[Exchange]:
    """The bounded burst against the rate-limited endpoint, sent once for the rate-limit checks."""
    return rate_limit_run.burst


@pytest.fixture(scope="session")
def supabase_access(
    target: Target, security: SecurityConfig, crawler: Crawler, smokegate_run: SmokegateRun
) -> Iterator[SupabaseAccess]:
    """The Supabase project the pages talk to, with the anon key: the config's, else what the browser gets."""
    from smokegate.checks.supabase import Project, find_project
    from smokegate.failures import CheckFailure, FailureKind
    from smokegate.security.supabase_access import SupabaseAccess

    config = security.supabase
    key = os.environ.get(config.anon_key_env) or None
    found = Project(None, None)
    if config.url is None or key is None:
        docs = []
        for page in scan_pages(target):
            served = crawler.page(page)
            docs += [(f"{page.path} (HTML)", served.html), *((f"{page.path} inline script", t) for t in served.inline),
                     *sorted(served.scripts.items())]
        found = find_project(docs)
    project = Project(config.url or found.url, key or found.key,
                      "security.supabase.url" if config.url else found.url_from,
                      config.anon_key_env if key else found.key_from)
    if project.url is None or project.key is None:
        missing = " and ".join(w for w, v in (("URL", project.url), ("anon key", project.key)) if v is None)
        raise CheckFailure(FailureKind.TEST_SETUP, (
            f"no Supabase {missing} found on the scanned pages (a createBrowserClient/createClient call, an "
            f"anon-role JWT or sb_publishable_ key): set security.supabase.url and {config.anon_key_env}"))
    access = SupabaseAccess(project, target, on_request=smokegate_run.count_request)
    try:
        yield access
    finally:
        access.close()
