"""Unit tests of smokegate.checks.ratelimit_bypass: a header the client controls must not lift the limit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from smokegate.checks.ratelimit_bypass import SPOOFABLE_HEADERS, try_headers


@dataclass
class _Answer:
    status: int


class _Limiter:
    """Over its limit already; keyed on ``trusts`` when the request carries it, else on the socket."""

    def __init__(self, trusts: str | None = None, lifts_after: int | None = None) -> None:
        self.trusts, self.lifts_after = trusts, lifts_after
        self.sent: list[dict[str, str]] = []

    def __call__(self, headers: Mapping[str, str]) -> _Answer:
        self.sent.append(dict(headers))
        if self.lifts_after is not None and len(self.sent) > self.lifts_after:
            return _Answer(201)
        return _Answer(201 if self.trusts in headers else 429)


def test_a_limiter_keyed_on_the_socket_holds_for_every_header() -> None:
    limiter = _Limiter()
    attempts = try_headers(limiter)
    assert [a.verdict for a in attempts] == ["held"] * 4 and len(limiter.sent) == 4
    assert [a.header for a in attempts] == list(SPOOFABLE_HEADERS)
    # Documentation addresses only (RFC 5737), never a real client's.
    assert all(a.value.startswith(("192.0.2.", "198.51.100.", "203.0.113.")) for a in attempts)


def test_a_limiter_keyed_on_a_client_header_is_bypassed_and_confirmed_by_a_control() -> None:
    limiter = _Limiter(trusts="True-Client-IP")
    attempts = {a.header: a for a in try_headers(limiter)}
    assert attempts["True-Client-IP"].verdict == "bypassed" and attempts["True-Client-IP"].control_status == 429
    assert {a.verdict for h, a in attempts.items() if h != "True-Client-IP"} == {"held"}
    assert len(limiter.sent) == 5  # four attempts and one control


def test_a_limit_that_lifts_on_its_own_proves_nothing() -> None:
    limiter = _Limiter(lifts_after=1)
    attempts = try_headers(limiter)
    assert [a.verdict for a in attempts] == ["held", "undetermined"]
    assert attempts[1].control_status == 201 and len(limiter.sent) == 3


class _WindowedLimiter:
    """A fixed-window limiter already over its limit, whose window ends after ``ends_after`` requests:
    the next ``limit`` requests are answered, then it holds again; never keyed on a header."""

    def __init__(self, ends_after: list[int], limit: int = 3) -> None:
        self.ends_after, self.limit = list(ends_after), limit
        self.sent = 0
        self.fresh = 0  # requests left in a new window

    def __call__(self, headers: Mapping[str, str]) -> _Answer:
        self.sent += 1
        if self.ends_after and self.sent > self.ends_after[0]:
            self.ends_after.pop(0)
            self.fresh = self.limit
        if self.fresh:
            self.fresh -= 1
            return _Answer(201)
        return _Answer(429)

    def relimit(self) -> bool:
        while self({}).status != 429:
            pass
        return True


def test_a_window_that_ends_between_attempts_is_built_up_again_and_judged() -> None:
    """Issue 19: make demo skipped the high bypass check when the window ended right after the burst's
    first 429; the limit is built up again and the header tried once more."""
    limiter = _WindowedLimiter(ends_after=[0])
    attempts = try_headers(limiter, relimit=limiter.relimit)
    assert [a.verdict for a in attempts] == ["undetermined", "held", "held", "held", "held"]
    assert [a.header for a in attempts[1:]] == list(SPOOFABLE_HEADERS)


def test_relimits_are_bounded() -> None:
    calls: list[int] = []

    def lifted(headers: Mapping[str, str]) -> _Answer:
        return _Answer(201)

    def relimit() -> bool:
        calls.append(1)
        return True

    attempts = try_headers(lifted, relimit=relimit)
    assert [a.verdict for a in attempts] == ["undetermined"] * 3 and len(calls) == 2


def test_an_error_stops_the_attempts_undetermined() -> None:
    def broken(headers: Mapping[str, str]) -> _Answer:
        raise ConnectionResetError("reset by peer")

    attempts = try_headers(broken)
    assert len(attempts) == 1 and attempts[0].verdict == "undetermined" and "reset by peer" in (attempts[0].error or "")
