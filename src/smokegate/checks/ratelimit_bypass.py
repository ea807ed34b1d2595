"""Can a rate limit be lifted by a header the client controls?

A limiter keyed on ``X-Forwarded-For`` (or ``X-Real-IP``, ``True-Client-IP``, ``CF-Connecting-IP``)
taken from the request as the client sent it lets one client rotate the header and never be
limited (behind nginx's ``$proxy_add_x_forwarded_for`` the client's value comes first; only some
platforms overwrite these headers).  Right after the burst's first 429, while the limit holds,
each header is tried once with a fresh documentation address (RFC 5737): an answer other than 429
is a bypass only if a request without the header, sent just after, is still limited; otherwise the
window lifted on its own and the attempt proves nothing.  At most two requests per header.
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


def try_headers(send: Callable[[Mapping[str, str]], Answer],
                headers: tuple[str, ...] = SPOOFABLE_HEADERS) -> list[Attempt]:
    """Send one request per header (and a control after any that got through) while the limit holds."""
    attempts: list[Attempt] = []
    for header in headers:
        attempt = Attempt(header, documentation_address())
        attempts.append(attempt)
        try:
            attempt.status = send({header: attempt.value}).status
            if attempt.status != 429:
                attempt.control_status = send({}).status
        except Exception as exc:  # a failed attempt is undetermined, never a finding
            attempt.error = f"{type(exc).__name__}: {exc}"
            break
        if attempt.verdict == "undetermined":
            break  # the limit lifted on its own: later attempts would prove nothing either
    return attempts
