"""TLS judged from what sslyze saw: chain trust, hostname, expiry, protocol versions, Mozilla profile.

Pure functions over the scan's results (no network; the driver that runs sslyze is
:mod:`smokegate.security.tls_scan`).  A scan makes hundreds of connections, so a flaky network is
sure to touch some; what it kept from being determined is an :class:`Unknown` on the part it
affects, never a statement about the server.  Whether a protocol version is accepted is decided by
a few handshakes of its own, one ClientHello offering only that version, each on a fresh
connection tried once more when the network cut it (:func:`judge_probe`), not by the hundreds of
handshakes of the cipher-suite enumeration, which the Mozilla profile still reads.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from traceback import TracebackException
from typing import Any, Literal

from cryptography import x509
from cryptography.x509.oid import NameOID

from smokegate.failures import network_fault_of_type

VERSIONS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
LEGACY_VERSIONS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")
MODERN_VERSIONS = ("TLSv1.2", "TLSv1.3")
VERSION_FIELDS = {
    "SSLv2": "ssl_2_0_cipher_suites", "SSLv3": "ssl_3_0_cipher_suites", "TLSv1": "tls_1_0_cipher_suites",
    "TLSv1.1": "tls_1_1_cipher_suites", "TLSv1.2": "tls_1_2_cipher_suites", "TLSv1.3": "tls_1_3_cipher_suites",
}
ENUMERATIONS = frozenset(VERSION_FIELDS.values())
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


# -- protocol versions from a ClientHello each ---------------------------------------------------

# A version's ClientHello is sent on a fresh connection; one cut off on the way is sent once more.
PROBE_ATTEMPTS = 2


def judge_probe(version: str, outcomes: list[tuple[Outcome, str]]) -> VersionResult:
    """One protocol version from its ClientHello attempts: (outcome, what happened) per connection.

    A completed handshake is acceptance; the server's refusal (an alert, a close, a ServerHello of
    another version) is refusal; a reset or timeout is tried again.  Cut off on every attempt is the
    server's consistent answer where refusing is healthy (legacy versions), and undetermined where
    "not offered" would be a finding (TLS 1.2, 1.3).
    """
    if any(outcome == "accepted" for outcome, _ in outcomes):
        return VersionResult(True)
    if any(outcome == "refused" for outcome, _ in outcomes):
        return VersionResult(False)
    if version in MODERN_VERSIONS:
        return VersionResult(None, unknown=Unknown(
            f"every {version} handshake ({len(outcomes)}, each on a fresh connection) was cut off: "
            f"{outcomes[-1][1] if outcomes else 'not tried'}; no answer from the server to tell whether it "
            f"offers {version}"))
    return VersionResult(False)


def merge_versions(probed: VersionResult, enumerated: VersionResult | None) -> VersionResult:
    """The probe's verdict, completed by the enumeration's: a version seen accepted by either is
    accepted; otherwise the probe decides, and the enumeration only where the probe could not."""
    if probed.supported or (enumerated is not None and enumerated.supported):
        accepted = enumerated.accepted if enumerated is not None else frozenset()
        return VersionResult(True, accepted)
    if probed.supported is False or enumerated is None:
        return probed
    return enumerated if enumerated.supported is not None else probed


def has_cut_off(rejected: list[tuple[str, str]]) -> bool:
    return any(any(m in message for m in CUT_OFF_MESSAGES) for _, message in rejected)


def rejections(result: Any) -> list[tuple[str, str]]:
    """(cipher suite, sslyze's message) of each suite a CipherSuitesScanResult records as rejected."""
    return [(c.cipher_suite.name, c.error_message) for c in result.rejected_cipher_suites]


# -- scan commands that fail ---------------------------------------------------------------------

def trace_types(trace: TracebackException | None) -> list[str]:
    names: list[str] = []
    seen: set[int] = set()
    while trace is not None and id(trace) not in seen:
        seen.add(id(trace))
        name = getattr(trace, "exc_type_str", None) or getattr(getattr(trace, "exc_type", None), "__name__", "")
        names.append(str(name).rsplit(".", 1)[-1])
        trace = trace.__cause__ or trace.__context__
    return names


def trace_text(trace: TracebackException | None) -> str:
    if trace is None:
        return "no trace"
    return "".join(trace.format_exception_only()).strip().splitlines()[-1]


def command_unknown(name: str, errors: list[Any]) -> Unknown:
    """Why a scan command that errored (on every attempt in ``errors``) left its part undetermined.

    The network is to blame when sslyze says so (``CONNECTIVITY_ISSUE``), when a network error is in the
    trace (transient or lasting, :func:`smokegate.failures.network_fault_of_type`: sslyze already
    retried the connection, and either way it is not the scanner's bug), or when the two attempts failed
    differently (sslyze hides some resets behind its own errors, e.g. certificate_info's "Should never
    happen" when the handshakes with SNI were reset).
    Only the same non-network error twice is taken for a bug in the scanner.
    """
    last = errors[-1]
    reason = getattr(last.error_reason, "value", last.error_reason)
    texts = [trace_text(e.error_trace) for e in errors]
    network = (any(getattr(e.error_reason, "value", e.error_reason) == "CONNECTIVITY_ISSUE" for e in errors)
               or any(network_fault_of_type(t) for e in errors for t in trace_types(e.error_trace))
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


