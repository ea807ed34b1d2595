"""Zero critical vulnerabilities (ops guide's success metrics): the deployed Next.js and React against the
published advisories.

The versions are read from the scripts the pages serve, where the browser's runtime gets them
(``window.next.version``, react-dom's DevTools registration), and asked of OSV (cached a day; the dated
snapshot shipped with smokegate when OSV cannot be reached).  A critical advisory that applies is a
critical finding naming it, its fixed version and the evidence.
"""

from __future__ import annotations

import os
import ssl
from typing import Any

import pytest

from smokegate.checks import advisories, versions
from smokegate.config import Target
from smokegate.failures import Inconclusive
from smokegate.plugin.security_fixtures import Crawler, scan_pages
from smokegate.security.config import SecurityConfig
from smokegate.security.osv_client import query

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="security", feature="advisories")]


def _verify(target: Target) -> ssl.SSLContext:
    """The system's CAs (OSV), and the target's own bundle when it has one (a mirror on its network)."""
    context = ssl.create_default_context()
    if target.ca_bundle != "system":
        context.load_verify_locations(cafile=target.ca_bundle)
    return context


def _deployed(target: Target, crawler: Crawler) -> tuple[dict[str, versions.Found], list[str]]:
    """package -> the version found and where; and what was read."""
    docs: list[tuple[str, str]] = []
    app_router = False
    for page in scan_pages(target):
        served = crawler.page(page)
        app_router |= versions.is_app_router(served.html)
        docs += [*sorted(served.scripts.items()), *((f"{page.path} inline script", t) for t in served.inline)]
    found: dict[str, versions.Found] = {}
    next_found, react_found = versions.next_version(docs), versions.react_version(docs)
    if next_found:
        found["next"] = next_found
    if react_found:
        found["react"] = found["react-dom"] = react_found
        if app_router:
            # Next.js's App Router bundles the RSC server package at its React's version.
            found[f"react-server-dom-{versions.bundler(docs)}"] = react_found
    return found, [name for name, _ in docs]


@pytest.mark.check(severity="critical")
def test_no_critical_advisory_applies(
    target: Target, security: SecurityConfig, crawler: Crawler, check_record: Any
) -> None:
    config = security.advisories
    deployed, read = _deployed(target, crawler)
    deployed = {p: f for p, f in deployed.items() if p in config.packages}
    if not deployed:
        raise Inconclusive(f"no Next.js or React version in the {len(read)} script(s) the pages serve "
                           "(window.next = {version: …}, react-dom's rendererPackageName): nothing to look up")
    check_record.detail("deployed", {p: f"{f.version} ({f.source})" for p, f in deployed.items()})
    api = (os.environ.get(config.api_url_env) if config.api_url_env else None) or config.api_url
    failing, other, sources = [], [], set()
    for package, found in deployed.items():
        answer = query(api, package, found.version, cache_hours=config.cache_hours, verify=_verify(target))
        sources.add(answer.source)
        if answer.from_snapshot and not advisories.at_least(config.fail_on, answer.complete_from):
            raise Inconclusive(f"{answer.source}; it holds {answer.complete_from} advisories and up only, and "
                               f"security.advisories.fail_on is {config.fail_on}")
        for hit in advisories.matching(answer.records, package, found.version):
            blocking = advisories.at_least(hit.severity, config.fail_on)
            (failing if blocking else other).append(hit.describe(found.version))
            if blocking:  # the deployed package is the cause, whatever its advisories show elsewhere
                check_record.cause("the deployed framework version", f"framework:{package.split('-')[0]}")
    check_record.detail("advisories_from", sorted(sources))
    if other:
        check_record.detail("below_fail_on", other)
    evidence = "; ".join(f"{p} {f.version} from {f.source}: {f.evidence[:90]}" for p, f in deployed.items()
                         if p in ("next", "react"))
    assert not failing, (
        f"{len(failing)} advisory(ies) at or above {config.fail_on} apply to the deployed framework: "
        + "; ".join(failing) + f". Evidence: {evidence}. Advisories from {'; '.join(sorted(sources))}"
    )
