"""Failure kinds: whose problem a failed check most likely is, and whether it is an outage.

One enum, one classifier and one list of network errors, used by the retry policy, the gate, the
history, the reports and the alerts alike.  The tree of what a check can raise::

    AssertionError                  the target broke a promise (a finding)
    ├── CheckFailure(kind, msg)     a finding whose kind the check knows (third-party, sign-in-failed…)
    Inconclusive(reason)            the check could not be determined: a network fault on the way
                                    (after one retry), or (kind ``intercepted``) an answer from
                                    something in front of the app (a 429, a challenge) — never a
                                    statement about the target
    anything else                   an error inside the suite itself (a bug): ``suite-error``

Kinds marked ``outage=False`` never page anyone and never count against availability.
"""

from __future__ import annotations

import re
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


class Inconclusive(Exception):
    """The check could not be determined: a network fault on the way persisted after a retry
    (kind ``network``), or something in front of the app answered instead of it (``intercepted``,
    :mod:`smokegate.intercepted`).

    Its message starts with "could not be determined:" and states the reason, never a claim about
    the target.
    """

    def __init__(self, reason: str, kind: FailureKind = FailureKind.NETWORK) -> None:
        prefix = "could not be determined: "
        super().__init__(reason if reason.startswith(prefix) else prefix + reason)
        self.reason = reason
        self.kind = kind


# Kinds that say the run could not judge a check, not that the target failed it.
UNDETERMINED = frozenset({FailureKind.NETWORK, FailureKind.INTERCEPTED, FailureKind.SUITE_ERROR})


# -- network errors: one list for the retry policy and the classifier ----------------------------

NETWORK_ERROR_TYPES = (
    "ConnectError", "ConnectTimeout", "ReadTimeout", "WriteTimeout", "PoolTimeout",
    "ReadError", "WriteError", "RemoteProtocolError", "ConnectionResetError", "ConnectionAbortedError",
    "BrokenPipeError",
)
# Playwright reports network failures as "Error: Page.goto: net::ERR_CONNECTION_RESET at ..." (the
# browser) or with Node's codes, "Error: APIRequestContext.get: read ECONNRESET", "... socket
# disconnected before secure TLS connection was established (ECONNRESET)" (its API requests, Route.fetch).
PLAYWRIGHT_NETWORK = (
    r"(?:net::ERR_(?:CONNECTION_(?:RESET|CLOSED|ABORTED|TIMED_OUT)|TIMED_OUT|EMPTY_RESPONSE|NETWORK_CHANGED)"
    r"|[^\n]*?\b(?:ECONNRESET|EPIPE|ECONNABORTED|ETIMEDOUT)\b|socket hang up)"
)
# Matched by pytest-rerunfailures against "<ExceptionType>: <message>" of every exception in the
# failure's chain; anchored on the type name so an assertion *message* mentioning one never matches.
# A refused connection, a failed DNS lookup or TLS handshake (the probe's ``TargetUnreachable``) is
# not retried: they last, and the target's reachability check reports them.  ``Inconclusive`` is
# not retried either: the check already retried the step that failed.
RERUN_PATTERNS: tuple[str, ...] = (
    rf"^(?:{'|'.join(NETWORK_ERROR_TYPES)})\b",
    rf"^Error: [\w.]+: {PLAYWRIGHT_NETWORK}",
)
# The same codes found anywhere in a text: without PLAYWRIGHT_NETWORK's leading "[^\n]*?", which an
# unanchored search tries from every position (quadratic: 40 s on one failure quoting a 100 kB line).
_PLAYWRIGHT_ANYWHERE = (
    r"net::ERR_(?:CONNECTION_(?:RESET|CLOSED|ABORTED|TIMED_OUT)|TIMED_OUT|EMPTY_RESPONSE|NETWORK_CHANGED)"
    r"|\b(?:ECONNRESET|EPIPE|ECONNABORTED|ETIMEDOUT)\b|socket hang up"
)
_NETWORK_LINE = re.compile(
    rf"^E?\s*(?:[\w.]+\.)?(?:{'|'.join((*NETWORK_ERROR_TYPES, 'Inconclusive', 'TargetUnreachable'))})\b"
    rf"|{_PLAYWRIGHT_ANYWHERE}",
    re.M,
)


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
