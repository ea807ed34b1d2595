"""TLS (ops guide: "SSL certificates valid"): trusted chain, hostname, expiry, protocols, Mozilla profile, HSTS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from smokegate.checks import causes, chain, headers, tls, urls
from smokegate.checks.tls import TlsScan, Unknown
from smokegate.config import Page, Target
from smokegate.failures import Inconclusive
from smokegate.plugin.security_fixtures import PageFetch
from smokegate.probe import Probe, TargetUnreachable
from smokegate.security.config import SecurityConfig

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="security")]

# Checks marked diagnoses="tls" read only the sslyze scan, so they can still explain a target the
# HTTP probe cannot reach because its TLS handshake fails (expired or mismatched certificate).
# What the network kept the scan from determining (after its retry) is "could not be determined",
# for the checks reading that part only, never a finding (checks/tls.py, "cut off on the way").


def _determined(unknown: Unknown | None) -> None:
    if unknown is None:
        return
    if unknown.network:
        raise Inconclusive(unknown.reason)
    # Not an assertion: a scanner bug says nothing about the target.
    raise RuntimeError(f"sslyze could not complete: {unknown.reason}")


def _scanned(result: TlsScan) -> TlsScan:
    _determined(result.unknown)
    assert result.error is None, result.error
    return result


def _certificates(result: TlsScan) -> TlsScan:
    _scanned(result)
    _determined(result.cert_unknown)
    return result


@pytest.mark.check(severity="critical", feature="tls", diagnoses="tls")
def test_certificate_chain_is_trusted(tls_scan: TlsScan, target: Target, check_record: Any) -> None:
    check_record.cause(*causes.TLS_CERTIFICATE)
    result = _certificates(tls_scan)
    assert result.trusted, (
        f"the chain of {result.host}:{result.port} does not validate against {result.trust_store or 'the trust store'} "
        f"({target.ca_bundle}): {chain.explain(result.chain, target.ca_bundle, result.trust_error)}"
    )


@pytest.mark.check(severity="critical", feature="tls", diagnoses="tls")
def test_certificate_matches_hostname(tls_scan: TlsScan, check_record: Any) -> None:
    check_record.cause(*causes.TLS_CERTIFICATE)
    result = _certificates(tls_scan)
    assert result.chain, "the server sent no certificate"
    leaf = result.chain[0]
    assert tls.hostname_matches(leaf, result.host), (
        f"the leaf certificate ({tls.subject_name(leaf)}) does not name {result.host} in its subjectAltName"
    )


def _expiry(result: TlsScan, days: int, check_record: Any) -> list[tuple[str, float]]:
    check_record.cause(*causes.TLS_CERTIFICATE)
    now = datetime.now(UTC)
    soonest = min(tls.days_left(c, now) for c in result.chain)
    # The window is a floor, not a ceiling: recorded beside the value, never as its budget, so
    # reports that colour "measured over budget" do not paint a healthy 80-day chain red.
    check_record.measure(soonest, None, unit="days", minimum_days=days,
                         chain={tls.subject_name(c): round(tls.days_left(c, now), 1) for c in result.chain})
    return tls.expiring(result.chain, now, days)


@pytest.mark.check(severity="critical", feature="tls", diagnoses="tls")
def test_no_certificate_expires_within_fail_window(
    tls_scan: TlsScan, security: SecurityConfig, check_record: Any
) -> None:
    result = _certificates(tls_scan)
    days = security.tls.expiry_fail_days
    soon = _expiry(result, days, check_record)
    assert not soon, "certificates expiring within {} days: {}".format(
        days, ", ".join(f"{name} ({left:.1f} days left)" for name, left in soon))


@pytest.mark.check(severity="low", feature="tls", diagnoses="tls")
def test_no_certificate_expires_within_warn_window(
    tls_scan: TlsScan, security: SecurityConfig, check_record: Any
) -> None:
    result = _certificates(tls_scan)
    days = security.tls.expiry_warn_days
    soon = _expiry(result, days, check_record)
    assert not soon, "certificates expiring within {} days (renew them): {}".format(
        days, ", ".join(f"{name} ({left:.1f} days left)" for name, left in soon))


def _versions_determined(result: TlsScan, versions: tuple[str, ...]) -> None:
    for version in versions:
        if result.versions.get(version) is None:
            _determined(result.version_unknown.get(version, Unknown(f"{version} was not probed", network=False)))


@pytest.mark.check(severity="high", feature="tls", diagnoses="tls")
def test_legacy_tls_versions_refused(tls_scan: TlsScan, check_record: Any) -> None:
    check_record.cause(*causes.TLS_VERSIONS)
    result = _scanned(tls_scan)
    offered = [v for v in tls.LEGACY_VERSIONS if result.versions.get(v)]
    # A version seen accepted is a finding even when another could not be determined.
    assert not offered, f"{result.host} accepts {', '.join(offered)}; only TLS 1.2 and 1.3 may be offered"
    _versions_determined(result, tls.LEGACY_VERSIONS)


@pytest.mark.check(severity="high", feature="tls", diagnoses="tls")
def test_modern_tls_versions_offered(tls_scan: TlsScan, check_record: Any) -> None:
    check_record.cause(*causes.TLS_VERSIONS)
    result = _scanned(tls_scan)
    missing = [v for v in tls.MODERN_VERSIONS if result.versions.get(v) is False]
    assert not missing, f"{result.host} does not offer {', '.join(missing)}; TLS 1.2 and 1.3 are expected"
    _versions_determined(result, tls.MODERN_VERSIONS)


@pytest.mark.check(severity="medium", feature="tls", diagnoses="tls")
def test_mozilla_profile_compliance(tls_scan: TlsScan, check_record: Any) -> None:
    result = _scanned(tls_scan)
    if result.retried:
        check_record.detail("sslyze_retried", result.retried)
    if result.profile_unknown is not None:
        _determined(Unknown(f"the Mozilla {result.profile} profile: {result.profile_unknown.reason}",
                            result.profile_unknown.network))
    check_record.detail("mozilla_issues", result.profile_issues)
    check_record.cause(f"the TLS configuration against Mozilla's {result.profile} profile",
                       *causes.profile_keys(result.profile_issues))
    assert not result.profile_issues, f"not Mozilla {result.profile} compliant: " + "; ".join(
        f"{key}: {text}" for key, text in sorted(result.profile_issues.items()))


@pytest.mark.check(severity="high", feature="tls")
def test_hsts_policy(
    scan_page: Page, page_answer: PageFetch, security: SecurityConfig, check_record: Any
) -> None:
    check_record.cause(*causes.SECURITY_HEADERS)
    answer = page_answer(scan_page.path)
    value = answer.headers.get("strict-transport-security")
    problems = headers.hsts_problems(value, security.tls.hsts_min_age_s, security.tls.hsts_include_subdomains)
    assert not problems, f"{scan_page.path}: " + "; ".join(problems) + (
        f" (expected max-age >= {security.tls.hsts_min_age_s} with includeSubDomains)")


@pytest.mark.check(severity="high", feature="tls")
def test_plain_http_redirects_to_https(target: Target, http_url: str, security_probe: Probe) -> None:
    url = http_url + "/"
    try:
        answer = security_probe.get(url)
    except TargetUnreachable as exc:
        pytest.fail(f"{url} gave no answer ({exc}); plain HTTP must redirect to HTTPS", pytrace=False)
    location = answer.headers.get("location", "")
    parts = urls.parse(urls.resolve(url, location))  # where a browser goes, relative Locations included
    assert answer.status in (301, 308), (
        f"{url} answered {answer.status}{f' to {location}' if location else ''}; expected 301 or 308 to HTTPS"
    )
    assert parts is not None and parts.scheme == "https" and parts.host == target.host, (
        f"{url} redirects to {location!r}; expected https://{target.host}/"
    )
