"""Static assets: every script the landing page references loads, as JavaScript."""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.checks import causes, urls
from smokegate.checks.html import script_sources
from smokegate.config import Target
from smokegate.probe import Probe, Sampler

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="smoke")]
JS_TYPES = ("application/javascript", "text/javascript", "application/x-javascript")
MAX_SCRIPTS = 60  # a bound on requests, far above what a Next.js page references


@pytest.mark.check(severity="critical", feature="static-assets")
def test_landing_page_scripts_load(target: Target, probe: Probe, page_samples: Sampler, check_record: Any) -> None:
    landing = next((p for p in target.pages if p.path == "/"), None)
    exchanges, _ = page_samples(landing.path if landing else "/")
    page = exchanges[0]
    assert page.status == 200, f"landing page answered {page.status}; cannot check its scripts"
    origin = urls.origin(target.base_url)
    # Resolved as the browser resolves them: a src no browser can parse loads nothing, from anywhere.
    sources = [urls.resolve(page.url, src) for src in script_sources(page.text)]
    same_origin = [s for s in sources if s is not None and urls.origin(s) == origin]
    assert same_origin, f"landing page references no same-origin scripts (found {len(sources)} scripts)"
    broken = []
    for url in same_origin[:MAX_SCRIPTS]:
        answer = probe.get(url)
        kind = answer.headers.get("content-type", "").split(";")[0].strip()
        if answer.status != 200 or kind not in JS_TYPES:
            parsed = urls.parse(url)
            broken.append(f"{parsed.path if parsed else url} ({answer.status}, {kind or 'no content-type'})")
            # The browser's page loads see the same file fail: one finding.
            check_record.cause("a file the pages load", causes.asset_key(url))
    check_record.measure(len(broken), 0, unit="scripts", checked=len(same_origin[:MAX_SCRIPTS]))
    assert not broken, f"{len(broken)} of {len(same_origin)} landing-page scripts broken: {', '.join(broken)}"
