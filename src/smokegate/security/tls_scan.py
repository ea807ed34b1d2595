"""The sslyze driver: one server's TLS scan, with what the network cut off tried again.

:func:`scan` runs the scan commands the Mozilla checker needs (certificate info, every protocol
version's cipher suites, the vulnerability probes) and sends one ClientHello per protocol version
of its own (:func:`probe_versions`); :mod:`smokegate.checks.tls` judges what they saw.  Retries are
made where the fault happened: a version's ClientHello cut off on the way is sent again on a fresh
connection; a scan command that errored, or an enumeration that saw a handshake cut off, is run
once more.  The scan runs in the run's process or in one of its own (:mod:`.tls_job`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smokegate.checks.tls import (
    CUSTOM_STORE,
    CUT_OFF_MESSAGES,
    ENUMERATIONS,
    PROBE_ATTEMPTS,
    VERSION_FIELDS,
    VERSIONS,
    Outcome,
    TlsScan,
    Unknown,
    VersionResult,
    command_unknown,
    handshake_outcomes,
    has_cut_off,
    judge_probe,
    judge_version,
    merge_versions,
    rejections,
    trace_text,
    trace_types,
)
from smokegate.failures import NetworkFault, network_fault_of_type

# sslyze's names of the versions, for a ClientHello of one version.
_TLS_VERSION_ENUM = {"SSLv2": "SSL_2_0", "SSLv3": "SSL_3_0", "TLSv1": "TLS_1_0", "TLSv1.1": "TLS_1_1",
                     "TLSv1.2": "TLS_1_2", "TLSv1.3": "TLS_1_3"}
# Every cipher suite the client's OpenSSL has: a server that accepts the version with any suite answers.
_EVERY_SUITE = "ALL:COMPLEMENTOFALL"


def _hello(host: str, port: int, version: str, timeout_s: float) -> tuple[Outcome, str]:
    """One ClientHello offering only ``version``, on a fresh connection: what the server did with it."""
    from nassl._nassl import OpenSSLError
    from sslyze.connection_helpers.tls_connection import SslConnection
    from sslyze.errors import (
        ConnectionToServerFailed,
        ServerRejectedTlsHandshake,
        ServerTlsConfigurationNotSupported,
        TlsHandshakeTimedOut,
    )
    from sslyze.server_connectivity import TlsVersionEnum
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    connection = SslConnection(
        server_location=ServerNetworkLocation(hostname=host, port=port),
        network_configuration=ServerNetworkConfiguration(
            tls_server_name_indication=host, network_timeout=int(max(1, timeout_s)), network_max_retries=1),
        tls_version=TlsVersionEnum[_TLS_VERSION_ENUM[version]],
        should_ignore_client_auth=True,
    )
    if version != "TLSv1.3":
        connection.ssl_client.set_cipher_list(_EVERY_SUITE)
    try:
        connection.connect(should_retry_connection=False)
        return "accepted", "handshake completed"
    except ServerTlsConfigurationNotSupported as exc:
        # sslyze: our OpenSSL refused the server's DH parameters, so the server did accept the version.
        return "accepted", str(exc.error_message)
    except ServerRejectedTlsHandshake as exc:
        cut = any(message in exc.error_message for message in CUT_OFF_MESSAGES)
        return ("cut-off" if cut else "refused"), str(exc.error_message)
    except (TlsHandshakeTimedOut, ConnectionToServerFailed) as exc:
        return "cut-off", f"{type(exc).__name__}: {exc.error_message}"
    except OpenSSLError as exc:  # the server answered something this version cannot complete with
        return "refused", f"TLS error: {exc}"
    except OSError as exc:
        return "cut-off", f"{type(exc).__name__}: {exc}"
    finally:
        connection.close()


def probe_versions(host: str, port: int, timeout_s: float,
                   versions: Iterable[str] = VERSIONS) -> dict[str, VersionResult]:
    """Each version from a ClientHello of its own, sent again on a fresh connection when cut off."""
    results: dict[str, VersionResult] = {}
    for version in versions:
        outcomes: list[tuple[Outcome, str]] = []
        while len(outcomes) < PROBE_ATTEMPTS and (not outcomes or outcomes[-1][0] == "cut-off"):
            outcomes.append(_hello(host, port, version, timeout_s))
        results[version] = judge_probe(version, outcomes)
    return results


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
        text = f"TLS connection to {self.host}:{self.port} failed: {trace_text(trace) if trace else 'no handshake'}"
        # sslyze reports "no TLS version and cipher suite supported" as ServerTlsConfigurationNotSupported
        # and a refused connection as ServerRejectedConnection: both are the server's answer (a lasting
        # fault, the rule of smokegate.failures); a connection cut or timed out twice is the network's.
        types = trace_types(trace)
        if types and network_fault_of_type(types[0]) is NetworkFault.TRANSIENT:
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
        if name in ENUMERATIONS and len(seen) == 1 and len(seen) + len(failed) < 3 and has_cut_off(
                rejections(seen[0].result)):
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
    merged = _read_versions(report, attempts, retry_error, probe_versions(host, port, timeout_s))
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
            return f"the retry could not start: {trace_text(trace) if trace else 'no handshake'}"
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


def _read_versions(report: TlsScan, attempts: _Attempts, retry_error: str | None,
                   probed: dict[str, VersionResult]) -> dict[str, Any]:
    """Judge each protocol version from its ClientHello probe, completed by its enumeration runs;
    returns each enumeration's runs merged into one attempt (the accepted suites of every run), as
    the Mozilla checker reads them."""
    from sslyze.plugins.openssl_cipher_suites.implementation import CipherSuitesScanResult

    merged: dict[str, Any] = {}
    for version, name in VERSION_FIELDS.items():
        runs, failed = attempts.observed[name], attempts.errored[name]
        if not runs:
            verdict = merge_versions(probed[version], None)
            report.versions[version] = verdict.supported
            if verdict.unknown is not None:
                report.version_unknown[version] = verdict.unknown
            merged[name] = failed[-1]
            continue
        outcomes = [handshake_outcomes([c.cipher_suite.name for c in a.result.accepted_cipher_suites],
                                       rejections(a.result)) for a in runs]
        why = retry_error or (attempts.unknown(name).reason if failed else None)
        verdict = merge_versions(probed[version], judge_version(version, outcomes, why))
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

    for name in set(attempts.names) - set(VERSION_FIELDS.values()):
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
