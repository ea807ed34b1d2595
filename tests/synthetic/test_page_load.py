"""Page load in a real browser (ops guide: page load under 2 seconds), for every configured page.

Each page is loaded N times in fresh contexts (first visits); budgets are judged on the median.
Console errors and uncaught exceptions are caught in every sample, and after the last one until
``synthetic.late_error_window_ms`` (5 s) after load, on the page's own clock (synthetic/late.py).
Largest Contentful Paint and Cumulative Layout Shift are Core Web Vitals warnings (low severity):
they fail their check without blocking the gate at its default level.
"""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.checks import causes
from smokegate.config import Page, Target
from smokegate.synthetic.journey import PageSampler

# Load times are judged here: no burst of another check may run meanwhile (measures=True).
pytestmark = [pytest.mark.safe, pytest.mark.check(epic="synthetic", measures=True)]


@pytest.mark.check(severity="high", feature="page-load")
def test_page_loads_within_budget(target: Target, site_page: Page, page_loads: PageSampler, check_record: Any) -> None:
    loads = page_loads(site_page)
    budget = target.page_budget(site_page)
    load, ttfb = loads.load, loads.ttfb
    check_record.cause(f"{site_page.path} rendering slowly", causes.page_key("page-latency", site_page.path))
    check_record.measure(
        load.median,
        budget,
        samples=list(load.values),
        ttfb_median_ms=round(ttfb.median, 1),
        loads=[x.as_dict() for x in loads.loads],
    )
    assert load.median <= budget, (
        f"{site_page.path} median load {load.median:.0f} ms > budget {budget:.0f} ms "
        f"(n={load.n}, min {load.min:.0f}, max {load.max:.0f}; time to first byte median {ttfb.median:.0f} ms)"
    )


@pytest.mark.check(severity="high", feature="page-load")
def test_page_logs_no_console_errors(
    target: Target, site_page: Page, page_loads: PageSampler, check_record: Any
) -> None:
    loads = page_loads(site_page)
    errors = loads.console_errors
    check_record.detail("console_errors", errors)
    check_record.cause("a console error the pages log",
                       *causes.message_keys("console", errors, target.url(site_page.path)))
    check_record.detail("watched_after_load_ms", loads.watched_ms)
    assert not errors, f"{site_page.path} logged {len(errors)} console error(s): " + " | ".join(errors[:3])


@pytest.mark.check(severity="high", feature="page-load")
def test_page_throws_no_uncaught_exceptions(
    target: Target, site_page: Page, page_loads: PageSampler, check_record: Any
) -> None:
    loads = page_loads(site_page)
    errors = loads.page_errors
    check_record.detail("uncaught_exceptions", errors)
    # A chunk that failed to load throws where the runtime asks for it (ChunkLoadError, a race with its
    # script tag): the same cause as the file's own failed request, one finding.
    check_record.cause("an exception the pages throw",
                       *causes.message_keys("exception", errors, target.url(site_page.path)))
    check_record.detail("watched_after_load_ms", loads.watched_ms)
    assert not errors, f"{site_page.path} threw {len(errors)} uncaught exception(s): " + " | ".join(errors[:3])


@pytest.mark.check(severity="high", feature="page-load")
def test_page_subresources_load(site_page: Page, page_loads: PageSampler, check_record: Any) -> None:
    failed = page_loads(site_page).failed_requests
    check_record.detail("failed_requests", failed)
    # "GET https://host/_next/static/css/x.css: HTTP 404": the same file on every page is one finding.
    check_record.cause("a file the pages load", *(causes.asset_key(line.split(" ", 2)[1].rstrip(":"))
                                                 for line in failed if line.count(" ") >= 1))
    assert not failed, f"{site_page.path}: {len(failed)} same-origin subresource(s) failed: " + "; ".join(failed[:3])


@pytest.mark.check(severity="low", feature="web-vitals")
def test_largest_contentful_paint_is_good(
    target: Target, site_page: Page, page_loads: PageSampler, check_record: Any
) -> None:
    loads = page_loads(site_page)
    lcp, threshold = loads.lcp, target.synthetic.lcp_warn_ms
    check_record.cause(f"{site_page.path} rendering slowly", causes.page_key("page-latency", site_page.path))
    assert lcp is not None, f"{site_page.path}: the browser reported no Largest Contentful Paint (nothing painted?)"
    elements = sorted({x.lcp_element for x in loads.loads if x.lcp_element})
    check_record.measure(lcp.median, threshold, samples=list(lcp.values), elements=elements)
    assert lcp.median <= threshold, (
        f"{site_page.path} median Largest Contentful Paint {lcp.median:.0f} ms > {threshold:.0f} ms "
        f"(n={lcp.n}, min {lcp.min:.0f}, max {lcp.max:.0f}; element {', '.join(elements) or '?'})"
    )


@pytest.mark.check(severity="low", feature="web-vitals")
def test_layout_shift_is_good(target: Target, site_page: Page, page_loads: PageSampler, check_record: Any) -> None:
    cls, threshold = page_loads(site_page).cls, target.synthetic.cls_warn
    check_record.measure(cls.median, threshold, unit="score", samples=list(cls.values))
    assert cls.median <= threshold, (
        f"{site_page.path} median Cumulative Layout Shift {cls.median:.3f} > {threshold} "
        f"(n={cls.n}, min {cls.min:.3f}, max {cls.max:.3f})"
    )
