"""Failure kinds: whose problem a failed check most likely is, and whether it is an outage.

One enum, one classifier and one list of network errors, used by the retry policy, the gate, the
history, the reports and the alerts alike.  The tree of what a check can raise::

    AssertionError                  the target broke a promise (a finding)
    ├── CheckFailure(kind, msg)     a finding whose kind the check knows (third-party, sign-in-failed…)
    Inconclusive(reason)            the check could not be determined: a network fault on the way
                                    (after one retry), (kind ``intercepted``) an answer from
                                    something in front of the app (a 429, a challenge), or (kind
                                    ``insufficient-evidence``) a measurement that cannot tell (a
                                    burst slower than the limit's window, a generator that fell
                                    behind) — never a statement about the target
    anything else                   an error inside the suite itself (a bug): ``suite-error``

Kinds marked ``outage=False`` never page anyone and never count against availability.
"""

from __future__ import annotations

import errno
import re
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class FailureKind(StrEnum):
    TARGET_UNREACHABLE = "target-unreachable"
    CONTRACT_BROKEN = "contract-broken"
    BUDGET_EXCEEDED = "budget-exceeded"
    THIRD_PARTY = "third-party"
    SIGN_IN_FAILED = "sign-in-failed"
    NETWORK = "network"
    INTERCEPTED = "intercepted"
    INSUFFICIENT_EVIDENCE = "insufficient-evidence"
    PROVIDER_BOT_DETECTION = "provider-bot-detection"
    TEST_SESSION_EXPIRED = "test-session-expired"
    TEST_SETUP = "test-setup"
    SUITE_ERROR = "suite-error"

    @property
    def meaning(self) -> KindMeaning:
        return MEANINGS[self]

    @property
    def outage(self) -> bool:
        return MEANINGS[self].outage


@dataclass(frozen=True)
class KindMeaning:
    """What a kind tells whoever reads it at 3 a.m."""

    outage: bool
    owner: str
    cause: str


MEANINGS: dict[FailureKind, KindMeaning] = {
    FailureKind.TARGET_UNREACHABLE: KindMeaning(
        True, "platform",
        "the target did not answer (DNS, TLS or connection failure): check the deployment and Vercel status "
        "(guide: Service Unavailable)",
    ),
    FailureKind.CONTRACT_BROKEN: KindMeaning(
        True, "application",
        "the application answered but broke its contract (status, header or content): likely a regression in "
        "the deployed version (guide: review recent deployments)",
    ),
    FailureKind.BUDGET_EXCEEDED: KindMeaning(
        True, "application",
        "responses were slower than the performance budget: check database performance, AI processing times "
        "and external API calls (guide: Slow Response Times)",
    ),
    FailureKind.THIRD_PARTY: KindMeaning(
        True, "provider",
        "a third-party dependency is degraded{deps}: check the provider's status page (guide: External Services)",
    ),
    FailureKind.SIGN_IN_FAILED: KindMeaning(
        True, "application",
        "the sign-in journey broke on the platform's side: check the auth configuration (Clerk) and recent "
        "deployments",
    ),
    FailureKind.NETWORK: KindMeaning(
        False, "runner network",
        "the network between the runner and the target failed after a retry: the check could not be "
        "determined; this says nothing about the target; confirm with the next run",
    ),
    FailureKind.INTERCEPTED: KindMeaning(
        False, "target's edge",
        "a rate limiter (429), an overloaded or maintenance front (503 Retry-After), a protection page or a "
        "bot challenge answered instead of the app: the request never reached the code under test, so the "
        "check could not be determined; not an outage; rerun after the window, or let the runner through",
    ),
    FailureKind.INSUFFICIENT_EVIDENCE: KindMeaning(
        False, "measurement",
        "what the check could measure cannot tell either way (a rate-limit burst answered more slowly than the "
        "limit's window, a load generator that fell behind): the check could not be determined; this says "
        "nothing about the target; its message says what was missing",
    ),
    FailureKind.PROVIDER_BOT_DETECTION: KindMeaning(
        False, "test setup",
        "the identity provider challenged the synthetic user as a robot: not an outage; use Clerk testing "
        "tokens or a provider test tenant",
    ),
    FailureKind.TEST_SESSION_EXPIRED: KindMeaning(
        False, "test setup",
        "the synthetic user's session expired or was revoked: not an outage; renew the test account",
    ),
    FailureKind.TEST_SETUP: KindMeaning(
        False, "test setup",
        "the synthetic user could not be signed in for a reason on the suite's side (Clerk refused the secret "
        "key, or has no user with the configured email): not an outage; fix the configuration",
    ),
    FailureKind.SUITE_ERROR: KindMeaning(
        False, "smokegate",
        "an error inside the suite itself (a bug, not a finding): see the traceback in report.html",
    ),
}

# Names kept in older histories, read as their current kind.
LEGACY_KINDS = {"network-transient": FailureKind.NETWORK}


def kind_of(name: str | None) -> FailureKind | None:
    """A stored kind name as the enum (older names included); None for no or unknown kind."""
    if not name:
        return None
    if name in LEGACY_KINDS:
        return LEGACY_KINDS[name]
    try:
        return FailureKind(name)
    except ValueError:
        return None


def is_outage(name: str | None) -> bool:
    """Does a failure of this kind mean users may be affected? Unknown kinds count as outages."""
    kind = kind_of(name)
    return True if kind is None else kind.outage


class CheckFailure(AssertionError):
    """A finding whose kind the check knows better than the classifier (raised like an assertion)."""

    def __init__(self, kind: FailureKind | str, message: str) -> None:
        super().__init__(message)
        self.kind = FailureKind(kind)


UNDETERMINED_PREFIX = "could not be determined: "  # how every Inconclusive's message starts


class Inconclusive(Exception):
    """The check could not be determined: a network fault on the way persisted after a retry
    (kind ``network``), something in front of the app answered instead of it (``intercepted``,
    :mod:`smokegate.intercepted`), or what it measured cannot tell (``insufficient-evidence``).

    Its message starts with "could not be determined:" and states the reason, never a claim about
    the target.
    """

    def __init__(self, reason: str, kind: FailureKind = FailureKind.NETWORK) -> None:
        prefix = UNDETERMINED_PREFIX
        super().__init__(reason if reason.startswith(prefix) else prefix + reason)
        self.reason = reason
        self.kind = kind


# Kinds that say the run could not judge a check, not that the target failed it.
UNDETERMINED = frozenset({FailureKind.NETWORK, FailureKind.INTERCEPTED, FailureKind.INSUFFICIENT_EVIDENCE,
                          FailureKind.SUITE_ERROR})


# -- network errors: one classifier for the probe, the reruns, sslyze and the browser -------------
#
# The rule.  A network fault is either
#
# - *transient*: the connection was cut or stalled on the way (a reset, an EOF in the middle of the
#   TLS handshake or of the answer, a timeout).  A second attempt can succeed, so every caller tries
#   once more; cut twice, the step is :class:`Inconclusive` (kind ``network``): the network failed,
#   which says nothing about the target.  pytest-rerunfailures reruns a check that failed with one
#   (:data:`RERUN_PATTERNS`).
# - *lasting*: the target could not be reached for a reason a second attempt within seconds does not
#   change: the connection was refused, the name does not resolve, the TLS handshake failed on the
#   certificate or the protocol.  Nobody retries it: the probe raises ``TargetUnreachable`` (the
#   reachability check reports it, hiding it would hide an outage), the provider client and the
#   certificate pin say "not retried: it lasts", and pytest-rerunfailures does not rerun it.
#
# :func:`network_fault` answers for an exception (its whole chain: httpx, httpcore, ssl, socket,
# sslyze, Playwright) or for a text (a "<ExceptionType>: <message>" line, a Playwright message, a
# request's failure text, a type name from an sslyze trace).

class NetworkFault(StrEnum):
    TRANSIENT = "transient"
    LASTING = "lasting"


# httpx's (and httpcore's) transport errors and the OS's, by name; ConnectError is decided by its message
# (a refused connection, a failed DNS lookup and an untrusted certificate are ConnectErrors too).
NETWORK_ERROR_TYPES = (
    "ConnectError", "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout",
    "ReadError", "WriteError", "RemoteProtocolError", "ConnectionResetError", "ConnectionAbortedError",
    "BrokenPipeError",
)
# Type names whose fault is known from the name alone: the OS's and ssl's, and sslyze's (sslyze.errors:
# a socket timeout, another OSError while connecting; a refusal, a name that does not resolve, a reset or
# an alert during the handshake), as an sslyze trace names them.
_TRANSIENT_NAMES = (*NETWORK_ERROR_TYPES[1:], "SSLEOFError", "SSLZeroReturnError",
                    "ConnectionToServerTimedOut", "TlsHandshakeTimedOut", "ConnectionToServerFailed")
_LASTING_NAMES = ("ConnectionRefusedError", "gaierror", "SSLError", "SSLCertVerificationError",
                  "ServerRejectedConnection", "ServerHostnameCouldNotBeResolved", "ServerRejectedTlsHandshake")
# A bare timeout is a network one only where no other library's TimeoutError can be meant (an sslyze
# trace's socket timeout; Playwright's TimeoutError is a wait that ran out, not the network).
_TRANSIENT_BARE_NAMES = ("TimeoutError", "timeout")
DNS_MARKERS = ("Name or service not known", "nodename nor servname", "Temporary failure in name resolution")
# Playwright reports network failures as "Error: Page.goto: net::ERR_CONNECTION_RESET at ..." (the
# browser) or with Node's codes, "Error: APIRequestContext.get: read ECONNRESET", "... socket
# disconnected before secure TLS connection was established (ECONNRESET)" (its API requests, Route.fetch).
PLAYWRIGHT_NETWORK = (
    r"(?:net::ERR_(?:CONNECTION_(?:RESET|CLOSED|ABORTED|TIMED_OUT)|TIMED_OUT|EMPTY_RESPONSE|NETWORK_CHANGED)"
    r"|[^\n]*?\b(?:ECONNRESET|EPIPE|ECONNABORTED|ETIMEDOUT)\b|socket hang up)"
)
# The same codes found anywhere in a text: without PLAYWRIGHT_NETWORK's leading "[^\n]*?", which an
# unanchored search tries from every position (quadratic: 40 s on one failure quoting a 100 kB line).
_PLAYWRIGHT_ANYWHERE = (
    r"net::ERR_(?:CONNECTION_(?:RESET|CLOSED|ABORTED|TIMED_OUT)|TIMED_OUT|EMPTY_RESPONSE|NETWORK_CHANGED)"
    r"|\b(?:ECONNRESET|EPIPE|ECONNABORTED|ETIMEDOUT)\b|socket hang up"
)
# What says "lasting" in one line, whatever raised it: refused, DNS, a TLS failure other than an EOF
# (Python's "[SSL: CERTIFICATE_VERIFY_FAILED]", Chromium's net::ERR_CERT_*, Node's codes).
LASTING_MARKERS = (
    rf"\b(?:{'|'.join(_LASTING_NAMES)})\b|{'|'.join(DNS_MARKERS)}|Connection refused"
    r"|\[SSL: (?!UNEXPECTED_EOF_WHILE_READING\]|ZERO_RETURN\])[A-Z_0-9]+\]"
    r"|net::ERR_(?:CONNECTION_REFUSED|NAME_NOT_RESOLVED|NAME_RESOLUTION_FAILED|ADDRESS_UNREACHABLE|CERT_\w+"
    r"|SSL_PROTOCOL_ERROR)|\b(?:ECONNREFUSED|ENOTFOUND|EAI_AGAIN|CERT_HAS_EXPIRED|DEPTH_ZERO_SELF_SIGNED_CERT"
    r"|UNABLE_TO_VERIFY_LEAF_SIGNATURE)\b"
)
_LASTING = re.compile(LASTING_MARKERS)
_PLAYWRIGHT_LINE = re.compile(PLAYWRIGHT_NETWORK)
# A transient type at the start of a line ("httpx.ReadTimeout: ..."), or a transient code anywhere.
_TRANSIENT_TYPE_AT_START = rf"^(?:[\w.]+\.)?(?:{'|'.join(('ConnectError', *_TRANSIENT_NAMES))})\b"
# A socket's own timeout by its message: Playwright's TimeoutError ("Timeout 5000ms exceeded") is a wait
# that ran out, not the network.
_SOCKET_TIMEOUT = r"^(?:TimeoutError|timeout): timed out\b"
_TRANSIENT_LINE = re.compile(rf"{_TRANSIENT_TYPE_AT_START}|{_SOCKET_TIMEOUT}|{_PLAYWRIGHT_ANYWHERE}")

# Matched by pytest-rerunfailures against "<ExceptionType>: <message>" of every exception in the
# failure's chain; anchored on the type name so an assertion *message* mentioning one never matches.
# Transient faults only (the rule above): a line that names a lasting one is not rerun, so a refused
# connection is not rerun whatever wraps it.  ``Inconclusive`` is not rerun either: the check already
# retried the step that failed.  Each line matches exactly when ``network_fault(line)`` is TRANSIENT
# for a type at its start (selftests/test_network_classifier.py).
RERUN_PATTERNS: tuple[str, ...] = (
    rf"^(?!.*(?:{LASTING_MARKERS})){_TRANSIENT_TYPE_AT_START[1:]}",
    _SOCKET_TIMEOUT,
    rf"^Error: [\w.]+: (?!.*(?:{LASTING_MARKERS})){PLAYWRIGHT_NETWORK}",
)
_NETWORK_LINE = re.compile(
    rf"^E?\s*(?:[\w.]+\.)?(?:{'|'.join((*NETWORK_ERROR_TYPES, 'Inconclusive', 'TargetUnreachable'))})\b"
    rf"|{_PLAYWRIGHT_ANYWHERE}",
    re.M,
)


def network_fault(error: BaseException | str) -> NetworkFault | None:
    """Is ``error`` a network fault, and does it last (see the rule above)? None: not a network fault."""
    if isinstance(error, str):
        return _fault_of_text(error)
    chain = exception_chain(error)
    # The OS's and ssl's reason first, wherever it is in the chain: sslyze calls a reset during connect
    # ServerRejectedConnection, as it does a refusal.
    for item in chain:
        fault = _fault_of_exception(item)
        if fault is not None:
            return fault
    for item in chain:  # sslyze's by name: importing sslyze (0.3 s) to ask would cost runs that never scan
        fault = network_fault_of_type(type(item).__name__) if type(item).__module__.startswith("sslyze") else None
        if fault is not None:
            return fault
    text = str(error)
    if any(marker in text for marker in DNS_MARKERS) or "Connection refused" in text:
        return NetworkFault.LASTING
    if _is_httpx(error, "TimeoutException", "NetworkError", "RemoteProtocolError"):
        return NetworkFault.TRANSIENT
    if _is_httpx(error, "TransportError"):
        return NetworkFault.LASTING  # a proxy or protocol httpx cannot speak: no second attempt helps
    if type(error).__module__.startswith("playwright"):
        return _fault_of_text(text.split("\n", 1)[0])
    return None


def is_transient(error: BaseException | str) -> bool:
    """Could a second attempt succeed? Resets, EOFs and timeouts: yes. DNS, refusal, TLS errors: they last."""
    return network_fault(error) is NetworkFault.TRANSIENT


def transient_cut(line: str) -> str | None:
    """The part of one line of Playwright's that names a transient fault ("read ECONNRESET"), else None."""
    if _LASTING.search(line):
        return None
    found = _PLAYWRIGHT_LINE.search(line)
    return found.group(0) if found else None


def exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it was raised from or during, outermost first."""
    chain: list[BaseException] = []
    cursor: BaseException | None = exc
    while cursor is not None and cursor not in chain:
        chain.append(cursor)
        cursor = cursor.__cause__ or cursor.__context__
    return chain


def _fault_of_exception(item: BaseException) -> NetworkFault | None:
    if isinstance(item, socket.gaierror):
        return NetworkFault.LASTING
    if isinstance(item, ConnectionRefusedError) or getattr(item, "errno", None) == errno.ECONNREFUSED:
        return NetworkFault.LASTING
    if isinstance(item, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return NetworkFault.TRANSIENT  # the peer closed in the middle of the handshake: cut off, not refused
    if isinstance(item, ssl.SSLError):
        return NetworkFault.LASTING  # certificate, protocol version, plain HTTP on the HTTPS port...
    if isinstance(item, ConnectionResetError | ConnectionAbortedError | BrokenPipeError | TimeoutError):
        return NetworkFault.TRANSIENT
    return None


def _is_httpx(error: BaseException, *names: str) -> bool:
    return any(c.__module__.startswith("httpx") and c.__name__ in names for c in type(error).__mro__)


def network_fault_of_type(name: str) -> NetworkFault | None:
    """The fault an exception type's name alone tells (sslyze hands its errors over as traces of names)."""
    if name in _LASTING_NAMES:
        return NetworkFault.LASTING
    if name in _TRANSIENT_NAMES or name in _TRANSIENT_BARE_NAMES:
        return NetworkFault.TRANSIENT
    return None


def _fault_of_text(text: str) -> NetworkFault | None:
    if _LASTING.search(text):
        return NetworkFault.LASTING
    if _TRANSIENT_LINE.search(text):
        return NetworkFault.TRANSIENT
    return None


def looks_like_network_error(text: str) -> bool:
    """Does a failure's text show a transport-level error (not an assertion about the target)?"""
    return bool(_NETWORK_LINE.search(text))


def classify(
    *,
    declared: str | None,
    exception_text: str,
    assertion: bool,
    unreachable: bool,
    dependency: bool,
    over_budget: bool,
) -> FailureKind:
    """The kind of one failed check.

    ``declared`` is what the check said (a :class:`CheckFailure` kind or :class:`Inconclusive`);
    ``assertion`` is whether it failed by assertion (a finding) rather than by an exception.
    """
    if unreachable:
        return FailureKind.TARGET_UNREACHABLE
    declared_kind = kind_of(declared)
    if declared_kind is not None:
        return declared_kind
    if looks_like_network_error(exception_text) and not assertion:
        return FailureKind.NETWORK
    if not assertion:
        return FailureKind.SUITE_ERROR
    if dependency:
        return FailureKind.THIRD_PARTY
    if over_budget:
        return FailureKind.BUDGET_EXCEEDED
    return FailureKind.CONTRACT_BROKEN


def names(kinds: Iterable[FailureKind]) -> list[str]:
    return [str(k) for k in kinds]
