"""TLS with sslyze: chain trust, hostname, expiry of every certificate, protocol versions, Mozilla profile.

One sslyze scan per run gathers everything (certificate info, every protocol version's cipher
suites, the vulnerability probes the Mozilla checker needs); the functions below only read it.
sslyze carries its own OpenSSL builds, so it can really offer TLS 1.0 and 1.1, which the
system's OpenSSL often no longer can.

A scan makes hundreds of connections, so a flaky network is sure to touch some.  What fails on the
way is retried once (see :func:`scan`) and what still fails is recorded as :class:`Unknown` on the
part of the scan it affects, never as a statement about the server.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from traceback import TracebackException
from typing import Any, Literal

from cryptography import x509
from cryptography.x509.oid import NameOID

VERSIONS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
LEGACY_VERSIONS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")
MODERN_VERSIONS = ("TLSv1.2", "TLSv1.3")
_VERSION_FIELDS = {
    "SSLv2": "ssl_2_0_cipher_suites", "SSLv3": "ssl_3_0_cipher_suites", "TLSv1": "tls_1_0_cipher_suites",
    "TLSv1.1": "tls_1_1_cipher_suites", "TLSv1.2": "tls_1_2_cipher_suites", "TLSv1.3": "tls_1_3_cipher_suites",
}
_ENUMERATIONS = frozenset(_VERSION_FIELDS.values())
CUSTOM_STORE = "Supplied CA file"


@dataclass(frozen=True)
class Unknown:
    """Why part of the scan could not be determined, and whether the network is to blame.

    ``network`` unknowns become "could not be determined" (never a finding); the others are a bug
    in the scanner (a suite error), which says nothing about the target either.
    """

    reason: str
    network: bool = True


@dataclass
class TlsScan:
    """What sslyze found on one server.

    ``error`` is set when no TLS handshake with the server was possible at all (a finding);
    ``unknown`` when the scan could not start because the network failed, twice.  Each part of the
    scan has its own unknown, so one failed scan command leaves only the checks reading it undetermined.
    """

    host: str
    port: int
    error: str | None = None
    unknown: Unknown | None = None
    chain: list[x509.Certificate] = field(default_factory=list)
    trust_store: str = ""
    trusted: bool = False
    trust_error: str | None = None
    cert_unknown: Unknown | None = None
    # Protocol version -> accepted (None when it could not be determined; why in version_unknown).
    versions: dict[str, bool | None] = field(default_factory=dict)
    version_unknown: dict[str, Unknown] = field(default_factory=dict)
    # Weak cipher suites accepted, by version, for the report.
    accepted_ciphers: dict[str, list[str]] = field(default_factory=dict)
    profile: str = "intermediate"
    profile_issues: dict[str, str] = field(default_factory=dict)
    profile_unknown: Unknown | None = None
    # Scan commands run a second time, with why (a command error, or handshakes cut off).
    retried: dict[str, str] = field(default_factory=dict)


# -- handshakes cut off on the way --------------------------------------------------------------
#
# sslyze records every cipher suite the server did not accept as "rejected", with a message.  A
# TLS alert or the server closing the connection is the server's own answer.  A TCP reset or a
# handshake timeout may be the server's way of refusing (some do it every time) or a network fault
# (once): sslyze cannot tell, and neither can one attempt.  So a version whose enumeration saw such
# a cut-off is enumerated once more and the two are merged: accepted in either is accepted; cut off
# in both is the server's consistent answer, a refusal.  A version none of whose handshakes ever got
# an answer, twice, is not determined where "not offered" would be a finding (TLS 1.2, 1.3); for the
# legacy versions, where refusing is the healthy answer, never completing a handshake is refusing.

Outcome = Literal["accepted", "refused", "cut-off"]
# sslyze's messages for a handshake ended by ECONNRESET/EPIPE and by a socket timeout.
CUT_OFF_MESSAGES = ("Server rejected the connection", "Connection to server timed out during the TLS handshake")


def handshake_outcomes(accepted: list[str], rejected: list[tuple[str, str]]) -> dict[str, Outcome]:
    """Cipher suite -> outcome, from the accepted names and the (name, error message) rejections."""
    outcomes: dict[str, Outcome] = {}
    for name, message in rejected:
        outcomes[name] = "cut-off" if any(m in message for m in CUT_OFF_MESSAGES) else "refused"
    for name in accepted:
        outcomes[name] = "accepted"
    return outcomes


@dataclass(frozen=True)
class VersionResult:
    supported: bool | None
    accepted: frozenset[str] = frozenset()
    unknown: Unknown | None = None


def judge_version(version: str, attempts: list[dict[str, Outcome]], retry_error: str | None = None) -> VersionResult:
    """One protocol version from its enumerations: one, or two when the first saw a cut-off.

    ``retry_error`` says why a cut-off enumeration could not be run again, if it could not.
    """
    accepted = frozenset(name for outcomes in attempts for name, o in outcomes.items() if o == "accepted")
    if accepted:
        return VersionResult(True, accepted)
    cut = {name for name, outcome in attempts[0].items() if outcome == "cut-off"}
    for outcomes in attempts[1:]:
        cut &= {name for name, outcome in outcomes.items() if outcome == "cut-off"}
    if not cut:
        return VersionResult(False)
    if len(attempts) < 2:
        return VersionResult(None, unknown=Unknown(
            f"{len(cut)} {version} handshake(s) were cut off (reset or timeout) and could not be tried again: "
            f"{retry_error or 'not retried'}"))
    if len(cut) == len(attempts[0]) and version in MODERN_VERSIONS:
        return VersionResult(None, unknown=Unknown(
            f"every {version} handshake ({len(cut)}) was cut off by a reset or a timeout, twice: "
            f"no answer from the server to tell whether it offers {version}"))
    return VersionResult(False)


def has_cut_off(rejected: list[tuple[str, str]]) -> bool:
    return any(any(m in message for m in CUT_OFF_MESSAGES) for _, message in rejected)


def _rejections(result: Any) -> list[tuple[str, str]]:
    """(cipher suite, sslyze's message) of each suite a CipherSuitesScanResult records as rejected."""
    return [(c.cipher_suite.name, c.error_message) for c in result.rejected_cipher_suites]


# -- scan commands that fail ---------------------------------------------------------------------

# sslyze's exceptions (and the OS's) that mean the network failed rather than the server answered.
_NETWORK_ERRORS = frozenset({
    "ConnectionToServerFailed", "ConnectionToServerTimedOut", "TlsHandshakeTimedOut", "ServerRejectedTlsHandshake",
    "ServerRejectedConnection", "ConnectionResetError", "ConnectionAbortedError", "BrokenPipeError",
    "TimeoutError", "timeout",
})


def _trace_types(trace: TracebackException | None) -> list[str]:
    names: list[str] = []
    seen: set[int] = set()
    while trace is not None and id(trace) not in seen:
        seen.add(id(trace))
        name = getattr(trace, "exc_type_str", None) or getattr(getattr(trace, "exc_type", None), "__name__", "")
        names.append(str(name).rsplit(".", 1)[-1])
        trace = trace.__cause__ or trace.__context__
    return names


def _trace_text(trace: TracebackException | None) -> str:
    if trace is None:
        return "no trace"
    return "".join(trace.format_exception_only()).strip().splitlines()[-1]


def command_unknown(name: str, errors: list[Any]) -> Unknown:
    """Why a scan command that errored (on every attempt in ``errors``) left its part undetermined.

    The network is to blame when sslyze says so (``CONNECTIVITY_ISSUE``), when a network error is in
    the trace, or when the two attempts failed differently (sslyze hides some resets behind its own
    errors, e.g. certificate_info's "Should never happen" when the handshakes with SNI were reset).
    Only the same non-network error twice is taken for a bug in the scanner.
    """
    last = errors[-1]
    reason = getattr(last.error_reason, "value", last.error_reason)
    texts = [_trace_text(e.error_trace) for e in errors]
    network = (any(getattr(e.error_reason, "value", e.error_reason) == "CONNECTIVITY_ISSUE" for e in errors)
               or any(t in _NETWORK_ERRORS for e in errors for t in _trace_types(e.error_trace))
               or len(set(texts)) > 1)
    times = "twice" if len(errors) > 1 else "once, and could not be run again"
    return Unknown(f"sslyze's {name} scan failed {times}: {reason}: {texts[-1]}", network=network)


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


class _Sslyze:
    """One server's sslyze runs: the scan commands the Mozilla checker needs, a subset on a retry."""

    def __init__(self, host: str, port: int, ca_file: str | None, timeout_s: float) -> None:
        # Imported here: sslyze loads its OpenSSL builds and trust stores, which only the TLS checks need.
        from sslyze.mozilla_tls_profile.tls_config_checker import SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER

        self.host, self.port, self.ca_file, self.timeout_s = host, port, ca_file, timeout_s
        self.needed = {command.value: command for command in SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER}

    def run(self, names: Iterable[str]) -> Any:
        """One sslyze run of these commands: its ``ServerScanResult``."""
        from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
        from sslyze.plugins.scan_commands import ScanCommand
        from sslyze.scanner.models import ScanCommandsExtraArguments, ServerScanRequest
        from sslyze.scanner.scanner import Scanner
        from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

        commands = {self.needed[name] for name in names}
        # sslyze refuses extra arguments for a command not asked for (a retry may not ask for it).
        custom_ca = self.ca_file and ScanCommand.CERTIFICATE_INFO in commands
        extra = ScanCommandsExtraArguments(certificate_info=CertificateInfoExtraArgument(
            custom_ca_file=Path(self.ca_file)) if custom_ca and self.ca_file else None)
        request = ServerScanRequest(
            server_location=ServerNetworkLocation(hostname=self.host, port=self.port),
            # sslyze's own retry covers only a TCP connect that timed out: 2 attempts = one retry.
            network_configuration=ServerNetworkConfiguration(
                tls_server_name_indication=self.host, network_timeout=int(max(1, self.timeout_s)),
                network_max_retries=2,
            ),
            scan_commands=commands,
            scan_commands_extra_arguments=extra,
        )
        with warnings.catch_warnings():
            # sslyze's bundled trust stores hold a few old roots that cryptography warns about.
            warnings.simplefilter("ignore")
            # One server: sslyze's default starts 10 x 5 worker threads, for 10 servers at once.
            scanner = Scanner(concurrent_server_scans_limit=1)
            scanner.queue_scans([request])
            return next(iter(scanner.get_results()))

    @staticmethod
    def started(result: Any) -> bool:
        from sslyze.scanner.models import ServerConnectivityStatusEnum, ServerScanStatusEnum

        return bool(result.connectivity_status == ServerConnectivityStatusEnum.COMPLETED
                    and result.scan_status == ServerScanStatusEnum.COMPLETED and result.scan_result is not None)

    def not_started(self, result: Any, report: TlsScan) -> None:
        """No scan after its retry: the server's answer (``error``) or the network's (``unknown``)."""
        trace = result.connectivity_error_trace
        text = f"TLS connection to {self.host}:{self.port} failed: {_trace_text(trace) if trace else 'no handshake'}"
        # sslyze reports "no TLS version and cipher suite supported" as ServerTlsConfigurationNotSupported
        # and a refused connection as ServerRejectedConnection: both are the server's answer.
        if _trace_types(trace)[:1] in (["ConnectionToServerFailed"], ["ConnectionToServerTimedOut"]):
            report.unknown = Unknown(text + " (twice)")
        else:
            report.error = text


@dataclass
class _Attempts:
    """Every attempt of every scan command: what completed, and what errored."""

    names: list[str]
    observed: dict[str, list[Any]] = field(default_factory=dict)
    errored: dict[str, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.observed = {name: [] for name in self.names}
        self.errored = {name: [] for name in self.names}

    def record(self, scan_result: Any, names: Iterable[str]) -> None:
        from sslyze.scanner.scan_command_attempt import ScanCommandAttemptStatusEnum

        for name in names:
            attempt = getattr(scan_result, name)
            completed = attempt.status == ScanCommandAttemptStatusEnum.COMPLETED and attempt.result is not None
            (self.observed if completed else self.errored)[name].append(attempt)

    def why_again(self, name: str) -> str | None:
        """Why this command is worth one more run, or None."""
        seen, failed = self.observed[name], self.errored[name]
        if not seen:
            return f"{getattr(failed[-1].error_reason, 'value', '')} error" if len(failed) < 2 else None
        if name in _ENUMERATIONS and len(seen) == 1 and len(seen) + len(failed) < 3 and has_cut_off(
                _rejections(seen[0].result)):
            return "handshakes cut off (reset or timeout)"
        return None

    def unknown(self, name: str) -> Unknown:
        return command_unknown(name, self.errored[name])


def scan(host: str, port: int, *, ca_file: str | None, profile: str = "intermediate",
         timeout_s: float = 10.0) -> TlsScan:
    """Run sslyze against ``host:port`` (trusting ``ca_file``, or sslyze's Mozilla store).

    Everything that fails on the way is tried once more, and only once: the whole scan when it could
    not start; each scan command that errored; each enumeration that saw a handshake cut off.  So
    a scan is one sslyze run, two when something failed, and three only when a retry itself failed.
    """
    sslyze = _Sslyze(host, port, ca_file, timeout_s)
    report = TlsScan(host=host, port=port, profile=profile)
    result = sslyze.run(sslyze.needed)
    if not sslyze.started(result):
        report.retried["*"] = "the scan could not start"
        result = sslyze.run(sslyze.needed)
    if not sslyze.started(result):
        sslyze.not_started(result, report)
        return report
    attempts = _Attempts(list(sslyze.needed))
    attempts.record(result.scan_result, sslyze.needed)
    retry_error = _retry(sslyze, attempts, report)
    _read_certificate(report, attempts, ca_file)
    merged = _read_versions(report, attempts, retry_error)
    _judge_profile(report, result, attempts, merged)
    return report


def _retry(sslyze: _Sslyze, attempts: _Attempts, report: TlsScan) -> str | None:
    """Run again, once, what errored or was cut off (twice for a retry that itself failed).

    Returns why a retry could not start, if it could not."""
    for _ in range(2):
        again = {name: why for name in attempts.names if (why := attempts.why_again(name))}
        if not again:
            return None
        for name, why in again.items():
            report.retried[name] = f"{report.retried[name]}; again: {why}" if name in report.retried else why
        retry = sslyze.run(again)
        if not sslyze.started(retry):
            trace = retry.connectivity_error_trace
            return f"the retry could not start: {_trace_text(trace) if trace else 'no handshake'}"
        attempts.record(retry.scan_result, again)
    return None


def _read_certificate(report: TlsScan, attempts: _Attempts, ca_file: str | None) -> None:
    certificate = attempts.observed["certificate_info"]
    if not certificate:
        report.cert_unknown = attempts.unknown("certificate_info")
        return
    deployment = certificate[-1].result.certificate_deployments[0]
    report.chain = list(deployment.received_certificate_chain)
    wanted = CUSTOM_STORE if ca_file else "Mozilla"
    for validation in deployment.path_validation_results:
        if validation.trust_store.name == wanted:
            report.trust_store = wanted
            report.trusted = validation.was_validation_successful
            report.trust_error = validation.validation_error


def _read_versions(report: TlsScan, attempts: _Attempts, retry_error: str | None) -> dict[str, Any]:
    """Judge each protocol version from all its runs; returns each enumeration's runs merged into one
    attempt (the accepted suites of every run), as the Mozilla checker reads them."""
    from sslyze.plugins.openssl_cipher_suites.implementation import CipherSuitesScanResult

    merged: dict[str, Any] = {}
    for version, name in _VERSION_FIELDS.items():
        runs, failed = attempts.observed[name], attempts.errored[name]
        if not runs:
            report.versions[version] = None
            report.version_unknown[version] = attempts.unknown(name)
            merged[name] = failed[-1]
            continue
        outcomes = [handshake_outcomes([c.cipher_suite.name for c in a.result.accepted_cipher_suites],
                                       _rejections(a.result)) for a in runs]
        why = retry_error or (attempts.unknown(name).reason if failed else None)
        verdict = judge_version(version, outcomes, why)
        report.versions[version] = verdict.supported
        if verdict.unknown is not None:
            report.version_unknown[version] = verdict.unknown
        accepted = {c.cipher_suite.name: c for a in runs for c in a.result.accepted_cipher_suites}
        report.accepted_ciphers[version] = sorted(accepted)
        first = runs[0].result
        merged[name] = dataclasses.replace(runs[0], result=CipherSuitesScanResult(
            tls_version_used=first.tls_version_used, accepted_cipher_suites=list(accepted.values()),
            rejected_cipher_suites=[c for c in first.rejected_cipher_suites if c.cipher_suite.name not in accepted],
        ))
    return merged


def _judge_profile(report: TlsScan, result: Any, attempts: _Attempts, merged: dict[str, Any]) -> None:
    """The Mozilla profile reads every command: it is undetermined when any of them is."""
    from sslyze.mozilla_tls_profile.tls_config_checker import (
        MozillaTlsConfiguration,
        ServerNotCompliantWithTlsConfiguration,
        ServerScanResultIncomplete,
        TlsConfigurationEnum,
        check_server_against_tls_configuration,
    )

    for name in set(attempts.names) - set(_VERSION_FIELDS.values()):
        merged[name] = attempts.observed[name][-1] if attempts.observed[name] else attempts.errored[name][-1]
    missing = sorted(name for name in attempts.names if not attempts.observed[name])
    undetermined = sorted(v for v, supported in report.versions.items() if supported is None)
    if missing:
        unknowns = [attempts.unknown(name) for name in missing]
        report.profile_unknown = Unknown("; ".join(u.reason for u in unknowns), all(u.network for u in unknowns))
    elif undetermined:
        report.profile_unknown = Unknown(f"it depends on {', '.join(undetermined)}, which could not be determined: "
                                         + "; ".join(report.version_unknown[v].reason for v in undetermined))
    else:
        checked = dataclasses.replace(result, scan_result=dataclasses.replace(result.scan_result, **merged))
        try:
            check_server_against_tls_configuration(
                checked, MozillaTlsConfiguration.get(TlsConfigurationEnum(report.profile)))
        except ServerNotCompliantWithTlsConfiguration as exc:
            report.profile_issues = dict(exc.issues)
        except ServerScanResultIncomplete as exc:  # pragma: no cover - every command was checked above
            report.profile_unknown = Unknown(str(exc), network=False)
