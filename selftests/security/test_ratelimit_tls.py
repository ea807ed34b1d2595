"""Unit tests of smokegate.checks.ratelimit, .tls (no sslyze scan) and .webhooks."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import pytest
import stripe
from svix.webhooks import Webhook, WebhookVerificationError

from smokegate.checks import forged_webhooks as webhooks
from smokegate.checks import ratelimit, tls
from smokegate.testbed.certs import Certificates
from smokegate.testbed.fake_secrets import FAKE_SECRETS
from smokegate.testbed.tls_setups import _intermediate, _leaf


@dataclass
class _Answer:
    status: int


def test_burst_stops_at_first_429_and_respects_cap() -> None:
    count = 0
    lock = threading.Lock()

    def send() -> _Answer:
        nonlocal count
        with lock:
            count += 1
            n = count
        return _Answer(429 if n > 10 else 200)

    burst = ratelimit.run_burst(send, cap=36, concurrency=5)
    assert burst.limited_at is not None and burst.limited_at > 10
    assert burst.sent <= 10 + 1 + 5, "in-flight requests may finish, nothing more is sent"
    assert burst.sent == len(burst.statuses)


def test_burst_without_limit_sends_exactly_the_cap() -> None:
    burst = ratelimit.run_burst(lambda: _Answer(200), cap=36, concurrency=5)
    assert (burst.sent, burst.first_429) == (36, None)


class _Clock:
    """A clock each answer moves on by ``step_s`` (the burst's span, without waiting for it)."""

    def __init__(self, step_s: float) -> None:
        self.now, self.step_s, self.lock = 0.0, step_s, threading.Lock()

    def __call__(self) -> float:
        return self.now

    def answer(self, status: int) -> _Answer:
        with self.lock:
            self.now += self.step_s
        return _Answer(status)


@pytest.mark.parametrize(("step_s", "window_s", "undetermined"), [
    (0.01, 3.0, False),   # 61 answers in 0.61 s: a 3 s window's limiter must have refused one
    (0.1, 3.0, True),     # 6.1 s: spread over three windows or more, none need be over the limit
    (0.1, None, False),   # no documented window: judged as before
    (0.1, 10.0, False),
])
def test_a_burst_slower_than_the_window_without_a_429_is_undetermined(
    step_s: float, window_s: float | None, undetermined: bool
) -> None:
    clock = _Clock(step_s)
    burst = ratelimit.run_burst(lambda: clock.answer(200), cap=61, concurrency=5, clock=clock)
    assert burst.span_s == pytest.approx(61 * step_s)
    why = ratelimit.undetermined(burst, 30, window_s)
    assert (why is not None) == undetermined, why
    if why:
        assert "took 6.1 s, longer than the limit's 3 s window" in why
    limited = ratelimit.run_burst(lambda: clock.answer(429), cap=61, concurrency=5, clock=clock)
    assert ratelimit.undetermined(limited, 30, 0.001) is None, "a 429 is judged however long the burst took"


class _Causes:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def cause(self, summary: str, *keys: str) -> None:
        self.keys += keys


def test_a_check_reading_the_429_fails_under_the_bursts_cause_or_cannot_tell() -> None:
    """The 429 checks and the bypass check read the burst's first 429: without one, no limit is the burst
    check's finding, theirs by the same cause (one finding), and a burst that could not tell is no finding."""
    from smokegate.failures import Inconclusive
    from smokegate.security.config import RateLimit
    from smokegate.security.ratelimit_run import first_429

    limit = RateLimit(limit=30, window_s=3)
    fast, slow = _Clock(0.01), _Clock(0.1)
    record = _Causes()
    with pytest.raises(AssertionError, match="no 429 within 61 requests"):
        first_429(ratelimit.run_burst(lambda: fast.answer(200), cap=61, concurrency=5, clock=fast), limit, record)
    assert record.keys == [f"rate-limit:{limit.path}"]
    with pytest.raises(Inconclusive, match="longer than the limit's 3 s window"):
        first_429(ratelimit.run_burst(lambda: slow.answer(200), cap=61, concurrency=5, clock=slow), limit, _Causes())
    limited = ratelimit.run_burst(lambda: fast.answer(429), cap=61, concurrency=5, clock=fast)
    assert first_429(limited, limit, _Causes()) is limited.first_429


def test_cap_is_twice_the_limit_and_one_at_most_150() -> None:
    from smokegate.security.config import RateLimit

    assert RateLimit(limit=30).cap == 61
    assert RateLimit(limit=74).cap == 149
    assert RateLimit(limit=75).cap == 150
    assert RateLimit(limit=140).cap == 150
    assert RateLimit(limit=1).cap == 3


@pytest.mark.parametrize("share", [0, 0.2, 0.6, 1])
def test_a_burst_a_window_boundary_cuts_in_two_still_meets_the_limit(share: float) -> None:
    """The testbed's limiter (clock-aligned fixed windows, as Upstash's) with its window turning over
    after ``before_boundary`` requests of the burst (a share of the limit): the burst at the configured cap
    meets its 429."""
    from smokegate.security.config import RateLimit
    from smokegate.testbed.security import RATE_LIMIT, RATE_WINDOW_S, _Window

    before_boundary = round(share * RATE_LIMIT)

    boundary = 1000 * RATE_WINDOW_S
    sent = 0
    lock = threading.Lock()
    window = _Window(clock=lambda: boundary - 0.01 if sent <= before_boundary else boundary + 0.01)

    def send() -> _Answer:
        nonlocal sent
        with lock:  # one request at a time through the limiter: the boundary falls at a known request
            sent += 1
            allowed, _reset = window.hit("203.0.113.7")
        return _Answer(200 if allowed else 429)

    limit = RateLimit(limit=RATE_LIMIT)
    burst = ratelimit.run_burst(send, cap=limit.cap, concurrency=limit.concurrency)
    assert burst.limited_at == before_boundary + RATE_LIMIT + 1, (burst.sent, burst.statuses)
    assert burst.sent <= limit.cap


def test_a_window_that_ends_right_after_the_first_429_leaves_the_bypass_judged() -> None:
    """Issue 19 item 9: make demo skipped the high bypass check ("the limit lifted on its own before a
    header could be tried") when the testbed's clock-aligned window ended just after the burst's 429."""
    from collections.abc import Mapping

    from smokegate.security.config import RateLimit
    from smokegate.security.ratelimit_run import send_burst
    from smokegate.testbed.security import RATE_LIMIT, RATE_WINDOW_S, _Window

    boundary = 1000 * RATE_WINDOW_S
    sent = 0
    lock = threading.Lock()
    window = _Window(clock=lambda: boundary - 0.01 if sent <= RATE_LIMIT + 1 else boundary + 0.01)

    @dataclass
    class Answer:
        status: int
        headers: dict[str, str]

    def send(headers: Mapping[str, str] | None) -> Answer:
        nonlocal sent
        with lock:
            sent += 1
            allowed, reset = window.hit("203.0.113.7")  # keyed on the socket, never on a header
        return Answer(201, {}) if allowed else Answer(429, {"retry-after": str(reset)})

    limit = RateLimit(limit=RATE_LIMIT)
    run = send_burst(send, limit.cap, limit.concurrency, max_wait_s=5)
    verdicts = [a.verdict for a in run.bypass]
    assert verdicts[0] == "undetermined" and verdicts[1:] == ["held"] * 4, run.bypass
    assert sent <= limit.cap + 2 + (RATE_LIMIT + 1) + 4  # burst, first attempt and control, one re-burst, 4 tries


def test_retry_after_and_ratelimit_headers() -> None:
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    assert ratelimit.parse_retry_after("7") == 7
    assert ratelimit.parse_retry_after("Wed, 01 Jan 2025 00:00:30 GMT", now) == 30
    assert ratelimit.parse_retry_after("soon") is None and ratelimit.parse_retry_after(None) is None
    assert ratelimit.parse_ratelimit_reset({"ratelimit": "limit=30, remaining=0, reset=3"}) == 3
    assert ratelimit.parse_ratelimit_reset({"ratelimit": '"default";r=0;t=9'}) == 9
    assert ratelimit.parse_ratelimit_reset({"ratelimit-reset": "4"}) == 4
    assert ratelimit.has_ratelimit_policy({"ratelimit-policy": "30;w=3"})


@pytest.mark.parametrize(("cache_control", "public"), [
    (None, False), ("no-store", False), ("private, max-age=60", False), ("public, max-age=0", True),
    ("s-maxage=30", True), ("max-age=10", True),
])
def test_publicly_cacheable(cache_control: str | None, public: bool) -> None:
    assert (ratelimit.publicly_cacheable(cache_control) is not None) is public


def test_expiry_and_hostname(tmp_path: pytest.TempPathFactory) -> None:
    certs = Certificates.create(tmp_path)  # type: ignore[arg-type]
    now = dt.datetime.now(dt.UTC)
    intermediate, key = _intermediate(certs, now + dt.timedelta(days=3))
    leaf, _ = _leaf(intermediate, key, ("*.napoleonai.app", "127.0.0.1"), now, now + dt.timedelta(days=60))
    soon = tls.expiring([leaf, intermediate], now, 7)
    assert [name for name, _ in soon] == ["smokegate testbed R1"]
    assert tls.hostname_matches(leaf, "www.napoleonai.app") and tls.hostname_matches(leaf, "127.0.0.1")
    assert not tls.hostname_matches(leaf, "napoleonai.app") and not tls.hostname_matches(leaf, "a.b.napoleonai.app")


def test_stripe_forgeries_fail_real_verification() -> None:
    secret = FAKE_SECRETS["STRIPE_WEBHOOK_SECRET"]
    for attack in webhooks.ATTACKS:
        delivery = webhooks.delivery("stripe", attack, secret)
        with pytest.raises((stripe.SignatureVerificationError, ValueError)):
            stripe.Webhook.construct_event(delivery.body, delivery.headers.get("stripe-signature"), secret)
    good = webhooks.signed_delivery("stripe", secret)
    stripe.Webhook.construct_event(good.body, good.headers["stripe-signature"], secret)


def test_svix_forgeries_fail_real_verification() -> None:
    secret = FAKE_SECRETS["CLERK_WEBHOOK_SECRET"]
    for attack in webhooks.ATTACKS:
        delivery = webhooks.delivery("svix", attack, secret)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(delivery.body, delivery.headers)
    good = webhooks.signed_delivery("svix", secret)
    Webhook(secret).verify(good.body, good.headers)
