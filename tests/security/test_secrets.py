"""Leaked secrets (ops guide: "Environment variables secured"): pages, their RSC payloads, scripts and source
maps, the JSON answers the suite reads (health!), sensitive paths."""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.checks import causes, notfound, secrets, sourcemaps
from smokegate.config import Page, Target
from smokegate.plugin.security_fixtures import Crawler, Served, fresh
from smokegate.probe import Probe
from smokegate.security.config import SecurityConfig, SensitivePath

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="security")]


def _documents(page: Page, served: Served) -> list[tuple[str, str]]:
    """(source name, text) of everything the page serves: HTML, inline payloads, scripts."""
    docs = [(f"{page.path} (HTML)", served.html)]
    docs += [(f"{page.path} inline script #{i}", text) for i, text in enumerate(served.inline, 1)]
    docs += sorted(served.scripts.items())
    return docs


def _served_maps(crawler: Crawler, served: Served) -> list[tuple[str, str]]:
    """(source name, text) of the source maps of the page's scripts that are served (fetched once per run)."""
    maps = []
    for path in served.scripts:
        exchange = crawler.script(path)
        if exchange is None:
            continue
        for ref in sourcemaps.references(exchange.url, exchange.text, exchange.headers):
            map_path = None if ref.inline else crawler.same_origin_path(ref.url)
            if map_path is not None:
                answer = crawler.fetch(map_path)
                if answer.status == 200 and sourcemaps.is_source_map(answer.text):
                    maps.append((f"{map_path} (source map)", answer.text))
    return maps


@pytest.mark.check(severity="critical", feature="secrets")
def test_no_secret_patterns_served(scan_page: Page, crawler: Crawler, check_record: Any) -> None:
    served = crawler.page(scan_page)
    docs = _documents(scan_page, served)
    rsc = crawler.rsc(scan_page.path)
    if rsc.status == 200:
        docs.append((f"{scan_page.path} (RSC payload)", rsc.text))
    docs += _served_maps(crawler, served)
    check_record.detail("scanned", [name for name, _ in docs])
    if served.skipped:
        check_record.detail("not_scanned", served.skipped)
    findings = [f for name, text in docs for f in secrets.scan_patterns(text, name)]
    # A secret in a shared chunk is one finding on every page that loads it, by shape and by value.
    check_record.cause("a secret in what the site serves", *(f"secret-in:{f.source}" for f in findings))
    assert not findings, f"secrets served with {scan_page.path}: " + "; ".join(f.describe() for f in findings)


@pytest.mark.check(severity="critical", feature="secrets")
def test_no_secret_patterns_in_json_answers(
    target: Target, security_probe: Probe, check_record: Any
) -> None:
    # The answers every run reads: the health endpoint (a dumped client config shows its database
    # URL there) and the public API endpoints, signed out, as anyone on the internet gets them.
    paths = [target.health.path, *(a.path for a in target.api if a.method == "GET")]
    findings, read = [], []
    for path in dict.fromkeys(paths):
        answer = fresh(security_probe).get(path, headers={"accept": "application/json"})
        read.append(f"{path} ({answer.status})")
        findings += secrets.scan_patterns(answer.text, f"{path} answer")
    check_record.detail("scanned", read)
    check_record.cause("a secret in what the site serves", *(f"secret-in:{f.source}" for f in findings))
    assert not findings, "secrets in the API answers anyone can read: " + "; ".join(f.describe() for f in findings)


@pytest.mark.check(severity="critical", feature="secrets")
def test_no_secret_values_served(
    scan_page: Page, crawler: Crawler, canaries: dict[str, str], security: SecurityConfig, check_record: Any
) -> None:
    if not canaries:
        pytest.skip("none of the secret env vars named in the config is set: no canary values to look for")
    docs = _documents(scan_page, crawler.page(scan_page))
    findings = [f for name, text in docs
                for f in secrets.scan_canaries(text, name, canaries, security.secrets.canary_prefix_chars)]
    # A secret's value in a page is one finding with that secret going elsewhere (the Vercel bypass a
    # widget sends to its partner, read from the page it is served in).
    check_record.cause("a secret in what the site serves", *(f"secret-in:{f.source}" for f in findings),
                       *(causes.secret_key(f.secret) for f in findings if f.secret))
    assert not findings, f"server-side secret values served with {scan_page.path}: " + "; ".join(
        f.describe() for f in findings)


@pytest.mark.check(severity="high", feature="secrets")
def test_source_maps_not_served(scan_page: Page, crawler: Crawler, check_record: Any) -> None:
    # Maps are found as browsers find them: the sourceMappingURL comment, the SourceMap header,
    # and the conventional <chunk>.js.map name (Turbopack hashes its maps apart from the chunks).
    check_record.cause(*causes.SOURCE_MAPS)
    served = crawler.page(scan_page)
    exposed, elsewhere, checked = [], [], 0
    for path in served.scripts:
        exchange = crawler.script(path)
        if exchange is None:
            continue
        for ref in sourcemaps.references(exchange.url, exchange.text, exchange.headers):
            if ref.inline:
                exposed.append(f"{path} (an inline data: URL map)")
                continue
            map_path = crawler.same_origin_path(ref.url)
            if map_path is None:
                elsewhere.append(ref.url)
                continue
            answer = crawler.fetch(map_path)
            checked += 1
            if answer.status == 200 and sourcemaps.is_source_map(answer.text):
                exposed.append(f"{map_path} (by {', '.join(ref.found_by)}; "
                               f"{sourcemaps.source_count(answer.text)} source file(s))")
    check_record.detail("maps_checked", checked)
    if elsewhere:
        check_record.detail("maps_on_other_origins", elsewhere)
    if exposed:
        check_record.detail("maps_served", exposed)
    more = f" and {len(exposed) - 3} more" if len(exposed) > 3 else ""
    assert not exposed, (
        f"{len(exposed)} source map(s) of {scan_page.path}'s scripts are served, exposing the original code: "
        + "; ".join(exposed[:3]) + more
    )


@pytest.mark.check(severity="critical", feature="secrets")
def test_sensitive_path_not_served(
    security_probe: Probe, sensitive_path: SensitivePath, not_found_answer: notfound.Answer, check_record: Any
) -> None:
    # Judged by content against the site's own not-found answer: a soft 404 (the not-found page
    # with 200) is the routing check's finding, not a leaked file.
    answer = security_probe.get(sensitive_path.path)
    verdict = notfound.judge(notfound.Answer(sensitive_path.path, answer.status, answer.text), not_found_answer,
                             sensitive_path.content)
    check_record.detail("answer", verdict.reason)
    assert not verdict.served, (
        f"{sensitive_path.path} is served: {verdict.reason} ({answer.status}, {len(answer.text)} bytes)"
    )
