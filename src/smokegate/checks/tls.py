"""TLS with sslyze: chain trust, hostname, expiry of every certificate, protocol versions, Mozilla profile.

One sslyze scan per run gathers everything (certificate info, every protocol version's cipher
suites, the vulnerability probes the Mozilla checker needs); the functions below only read it.
sslyze carries its own OpenSSL builds, so it can really offer TLS 1.0 and 1.1, which the
system's OpenSSL often no longer can.
"""

from __future__ import annotations

import ipaddress
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

VERSIONS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
LEGACY_VERSIONS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")
MODERN_VERSIONS = ("TLSv1.2", "TLSv1.3")
_VERSION_FIELDS = {
    "SSLv2": "ssl_2_0_cipher_suites", "SSLv3": "ssl_3_0_cipher_suites", "TLSv1": "tls_1_0_cipher_suites",
    "TLSv1.1": "tls_1_1_cipher_suites", "TLSv1.2": "tls_1_2_cipher_suites", "TLSv1.3": "tls_1_3_cipher_suites",
}
CUSTOM_STORE = "Supplied CA file"


@dataclass
class TlsScan:
    """What sslyze found on one server; ``error`` is set when the scan could not run at all."""

    host: str
    port: int
    error: str | None = None
    chain: list[x509.Certificate] = field(default_factory=list)
    trust_store: str = ""
    trusted: bool = False
    trust_error: str | None = None
    # Protocol version -> accepted (None when that probe failed).
    versions: dict[str, bool | None] = field(default_factory=dict)
    # Weak cipher suites accepted, by version, for the report.
    accepted_ciphers: dict[str, list[str]] = field(default_factory=dict)
    profile: str = "intermediate"
    profile_issues: dict[str, str] = field(default_factory=dict)
    profile_error: str | None = None


def subject_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if names:
        return str(names[0].value)
    return cert.subject.rfc4514_string() or f"serial {cert.serial_number:x}"


def days_left(cert: x509.Certificate, now: datetime) -> float:
    return (cert.not_valid_after_utc - now).total_seconds() / 86400


def expiring(chain: list[x509.Certificate], now: datetime, days: float) -> list[tuple[str, float]]:
    """(name, days left) of every certificate in the chain that expires within ``days``."""
    return [(subject_name(c), days_left(c, now)) for c in chain if days_left(c, now) < days]


def hostname_matches(cert: x509.Certificate, host: str) -> bool:
    """RFC 6125 matching against the SAN (DNS names, one left-most wildcard label, IP addresses)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None:
        return address in san.get_values_for_type(x509.IPAddress)
    wanted = host.lower().rstrip(".").split(".")
    for name in san.get_values_for_type(x509.DNSName):
        labels = name.lower().rstrip(".").split(".")
        if len(labels) != len(wanted):
            continue
        if labels == wanted or (labels[0] == "*" and len(labels) > 2 and labels[1:] == wanted[1:]):
            return True
    return False


def scan(host: str, port: int, *, ca_file: str | None, profile: str = "intermediate",
         timeout_s: float = 10.0) -> TlsScan:
    """Run sslyze once against ``host:port`` (trusting ``ca_file``, or sslyze's Mozilla store)."""
    # Imported here: sslyze loads its OpenSSL builds and trust stores, which only the TLS checks need.
    from sslyze.mozilla_tls_profile.tls_config_checker import (
        SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
        MozillaTlsConfiguration,
        ServerNotCompliantWithTlsConfiguration,
        ServerScanResultIncomplete,
        TlsConfigurationEnum,
        check_server_against_tls_configuration,
    )
    from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
    from sslyze.scanner.models import (
        ScanCommandsExtraArguments,
        ServerConnectivityStatusEnum,
        ServerScanRequest,
        ServerScanStatusEnum,
    )
    from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum
    from sslyze.scanner.scanner import Scanner
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    report = TlsScan(host=host, port=port, profile=profile)
    extra = ScanCommandsExtraArguments(
        certificate_info=CertificateInfoExtraArgument(custom_ca_file=Path(ca_file)) if ca_file else None
    )
    request = ServerScanRequest(
        server_location=ServerNetworkLocation(hostname=host, port=port),
        network_configuration=ServerNetworkConfiguration(
            tls_server_name_indication=host, network_timeout=int(max(1, timeout_s)), network_max_retries=1
        ),
        scan_commands=set(SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER),
        scan_commands_extra_arguments=extra,
    )
    with warnings.catch_warnings():
        # sslyze's bundled trust stores hold a few old roots that cryptography warns about.
        warnings.simplefilter("ignore")
        scanner = Scanner()
        scanner.queue_scans([request])
        results = list(scanner.get_results())
    result = results[0]
    if result.connectivity_status != ServerConnectivityStatusEnum.COMPLETED:
        report.error = f"TLS connection to {host}:{port} failed: {result.connectivity_error_trace or 'no handshake'}"
        return report
    if result.scan_status != ServerScanStatusEnum.COMPLETED or result.scan_result is None:
        report.error = f"sslyze scan of {host}:{port} did not complete"
        return report
    attempts = result.scan_result

    cert_attempt = attempts.certificate_info
    if cert_attempt.status == ScanCommandAttemptStatusEnum.COMPLETED and cert_attempt.result is not None:
        deployment = cert_attempt.result.certificate_deployments[0]
        report.chain = list(deployment.received_certificate_chain)
        wanted = CUSTOM_STORE if ca_file else "Mozilla"
        for validation in deployment.path_validation_results:
            if validation.trust_store.name == wanted:
                report.trust_store = wanted
                report.trusted = validation.was_validation_successful
                report.trust_error = validation.validation_error
    else:
        report.error = f"certificate_info failed: {cert_attempt.error_reason} {cert_attempt.error_trace or ''}"

    for version, name in _VERSION_FIELDS.items():
        attempt = getattr(attempts, name)
        if attempt.status != ScanCommandAttemptStatusEnum.COMPLETED or attempt.result is None:
            report.versions[version] = None
            continue
        report.versions[version] = bool(attempt.result.is_tls_version_supported)
        report.accepted_ciphers[version] = [c.cipher_suite.name for c in attempt.result.accepted_cipher_suites]

    try:
        check_server_against_tls_configuration(
            result, MozillaTlsConfiguration.get(TlsConfigurationEnum(profile))
        )
    except ServerNotCompliantWithTlsConfiguration as exc:
        report.profile_issues = dict(exc.issues)
    except ServerScanResultIncomplete as exc:
        report.profile_error = str(exc)
    return report
