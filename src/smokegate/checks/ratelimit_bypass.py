"""Can a rate limit be lifted by a header the client controls?

A limiter keyed on ``X-Forwarded-For`` (or ``X-Real-IP``, ``True-Client-IP``, ``CF-Connecting-IP``)
taken from the request as the client sent it lets one client rotate the header and never be
limited (behind nginx's ``$proxy_add_x_forwarded_for`` the client's value comes first; only some
platforms overwrite these headers).  Right after the burst's first 429, while the limit holds,
each header is tried once with a fresh documentation address (RFC 5737): an answer other than 429
is a bypass only if a request without the header, sent just after, is still limited; otherwise the
window lifted on its own and the attempt proves nothing, so the limit is built up again (at most
twice) and the header tried once more.  At most two requests per header and attempt.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

SPOOFABLE_HEADERS = ("X-Forwarded-For", "X-Real-IP", "True-Client-IP", "CF-Connecting-IP")
# RFC 5737 documentation networks: addresses that belong to no real client.
_DOC_NETWORKS = ("192.0.2", "198.51.100", "203.0.113")


class Answer(Protocol):
    @property
    def status(self) -> int: ...


def documentation_address() -> str:
    return f"{secrets.choice(_DOC_NETWORKS)}.{secrets.randbelow(254) + 1}"


@dataclass
class Attempt:
    header: str
    value: str
    status: int | None = None
    # The status of the request without the header sent right after (only when status was not 429).
    control_status: int | None = None
    error: str | None = None

    @property
    def verdict(self) -> Literal["bypassed", "held", "undetermined"]:
        if self.status == 429:
            return "held"
        if self.status is not None and self.status < 500 and self.control_status == 429:
            return "bypassed"
        return "undetermined"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


# How often a limit that lifted on its own (its window ended) is built up again to go on trying headers.
MAX_RELIMITS = 2


def try_headers(send: Callable[[Mapping[str, str]], Answer],
                headers: tuple[str, ...] = SPOOFABLE_HEADERS,
                relimit: Callable[[], bool] | None = None) -> list[Attempt]:
    """Send one request per header (and a control after any that got through) while the limit holds.

    A fixed window that ends between two attempts lifts the limit on its own, and the attempt then
    proves nothing.  ``relimit`` builds the limit up again (a burst until the next 429; False if none
    came) so the same header is tried once more, at most :data:`MAX_RELIMITS` times per run: a burst
    whose first 429 came just before its window ended must not leave the check unjudged.
    """
    attempts: list[Attempt] = []
    pending = list(headers)
    relimits = 0
    while pending:
        attempt = Attempt(pending[0], documentation_address())
        attempts.append(attempt)
        try:
            attempt.status = send({attempt.header: attempt.value}).status
            if attempt.status != 429:
                attempt.control_status = send({}).status
        except Exception as exc:  # a failed attempt is undetermined, never a finding
            attempt.error = f"{type(exc).__name__}: {exc}"
            break
        if attempt.verdict == "undetermined":
            # The limit lifted on its own: later attempts would prove nothing until it holds again.
            if relimit is None or relimits >= MAX_RELIMITS or attempt.status is None or attempt.status >= 500:
                break
            relimits += 1
            if not relimit():
                break
            continue
        pending.pop(0)
    return attempts
