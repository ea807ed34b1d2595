"""Leaked secrets (ops guide: "Environment variables secured"): pages, their scripts, source maps, sensitive paths."""

from __future__ import annotations

from typing import Any

import pytest

from smokegate.checks import secrets
from smokegate.config import Page
from smokegate.probe import Probe
from smokegate.security.config import SecurityConfig, SensitivePath
from smokegate.security.fixtures import Crawler, Served

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="security")]


def _documents(page: Page, served: Served) -> list[tuple[str, str]]:
    """(source name, text) of everything the page serves: HTML, inline payloads, scripts."""
    docs = [(f"{page.path} (HTML)", served.html)]
    docs += [(f"{page.path} inline script #{i}", text) for i, text in enumerate(served.inline, 1)]
    docs += sorted(served.scripts.items())
    return docs


@pytest.mark.check(severity="critical", feature="secrets")
def test_no_secret_patterns_served(scan_page: Page, crawler: Crawler, check_record: Any) -> None:
    served = crawler.page(scan_page)
    docs = _documents(scan_page, served)
    check_record.detail("scanned", [name for name, _ in docs])
    if served.skipped:
        check_record.detail("not_scanned", served.skipped)
    findings = [f for name, text in docs for f in secrets.scan_patterns(text, name)]
    assert not findings, f"secrets served with {scan_page.path}: " + "; ".join(f.describe() for f in findings)


@pytest.mark.check(severity="critical", feature="secrets")
def test_no_secret_values_served(
    scan_page: Page, crawler: Crawler, canaries: dict[str, str], security: SecurityConfig
) -> None:
    if not canaries:
        pytest.skip("none of the secret env vars named in the config is set: no canary values to look for")
    docs = _documents(scan_page, crawler.page(scan_page))
    findings = [f for name, text in docs
                for f in secrets.scan_canaries(text, name, canaries, security.secrets.canary_prefix_chars)]
    assert not findings, f"server-side secret values served with {scan_page.path}: " + "; ".join(
        f.describe() for f in findings)


@pytest.mark.check(severity="high", feature="secrets")
def test_source_maps_not_served(scan_page: Page, crawler: Crawler, security_probe: Probe, check_record: Any) -> None:
    served = crawler.page(scan_page)
    scripts = [path for path in served.scripts if path.split("?")[0].endswith(".js")]
    exposed = []
    for path in scripts:
        answer = security_probe.get(path.split("?")[0] + ".map")
        if answer.status != 404:
            exposed.append(f"{path}.map ({answer.status})")
    check_record.detail("maps_checked", len(scripts))
    assert not exposed, f"source maps of {scan_page.path} answer other than 404: " + ", ".join(exposed)


@pytest.mark.check(severity="critical", feature="secrets")
def test_sensitive_path_not_served(security_probe: Probe, sensitive_path: SensitivePath) -> None:
    answer = security_probe.get(sensitive_path.path)
    assert answer.status == 404, (
        f"{sensitive_path.path} answered {answer.status} ({len(answer.text)} bytes); expected 404"
    )
