"""Pages (ops guide: page load under 2 seconds): each configured page answers, shows its text, in budget."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from smokegate.checks import causes
from smokegate.checks.html import development_urls
from smokegate.checks.warning_signs import SLOW_RESPONSE
from smokegate.config import Page, Target
from smokegate.probe import Sampler

# Load times are judged here: no burst of another check may run meanwhile (measures=True).
pytestmark = [pytest.mark.safe, pytest.mark.check(epic="smoke", measures=True)]


@pytest.mark.check(severity="critical", feature="pages")
def test_page_answers_200(site_page: Page, page_samples: Sampler, check_record: Any) -> None:
    check_record.cause(f"{site_page.path} answering an error", causes.page_key("page-status", site_page.path))
    exchanges, _ = page_samples(site_page.path)
    statuses = [x.status for x in exchanges]
    assert all(s == 200 for s in statuses), f"{site_page.path} answered {statuses}, expected 200 every time"


@pytest.mark.check(severity="high", feature="pages")
def test_page_shows_expected_text(site_page: Page, page_samples: Sampler, check_record: Any) -> None:
    exchanges, _ = page_samples(site_page.path)
    missing = [i for i, x in enumerate(exchanges, 1) if site_page.text not in x.text]
    first = exchanges[missing[0] - 1] if missing else None
    if first is not None and first.status != 200:
        # An error page lacks the text because it is an error page: test_page_answers_200's finding.
        check_record.cause(f"{site_page.path} answering an error", causes.page_key("page-status", site_page.path))
    assert first is None, (
        f"{site_page.path} does not contain {site_page.text!r} (load {', '.join(map(str, missing))} of "
        f"{len(exchanges)}; status {first.status}, {len(first.text)} bytes)"
    )


@pytest.mark.check(severity="high", feature="performance")
def test_page_loads_within_budget(target: Target, site_page: Page, page_samples: Sampler, check_record: Any) -> None:
    budget = target.page_budget(site_page)
    # A page slow to render is slow in the browser too, and paints late: one finding.
    check_record.cause(f"{site_page.path} rendering slowly", causes.page_key("page-latency", site_page.path))
    exchanges, samples = page_samples(site_page.path)
    check_record.measure(samples.median, budget, warning_sign=SLOW_RESPONSE, samples=list(samples.values),
                         phases=[x.timing.as_dict() for x in exchanges])
    assert samples.median <= budget, (
        f"{site_page.path} {samples.describe()} > budget {budget:.0f} ms; first load: {exchanges[0].timing.describe()}"
    )


@pytest.mark.check(severity="high", feature="pages")
def test_page_links_no_development_server(
    target: Target, site_page: Page, page_samples: Sampler, check_record: Any
) -> None:
    exchanges, _ = page_samples(site_page.path)
    found = development_urls(exchanges[0].text, target.base_url, target.development_hosts)
    # One build variable (NEXT_PUBLIC_APP_URL) writes the same development URL into every page.
    check_record.cause("the public URL the deployment was built with",
                       *sorted({f"development-url:{urlsplit(url).netloc}" for url in found}))
    assert not found, (
        f"{site_page.path} points at a development server: {', '.join(found[:3])}; the deployment was built "
        "with a development public URL (NEXT_PUBLIC_APP_URL?), so canonical links and redirects break"
    )
