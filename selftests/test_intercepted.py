"""Which answers a check can judge (smokegate.intercepted): the one place that decides, unit-tested."""

from __future__ import annotations

import httpx
import pytest

from smokegate.intercepted import About, challenge_of, interception

CLOUDFLARE_PAGE = ("<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
                   "<script src=\"/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1\"></script></body></html>")
VERCEL_CHECKPOINT = ("<html><head><title>Vercel Security Checkpoint</title></head>"
                     "<body>We're verifying your browser</body>")


@pytest.mark.parametrize(("status", "headers", "text", "expected"), [
    (403, {"cf-mitigated": "challenge", "server": "cloudflare"}, CLOUDFLARE_PAGE, "Cloudflare"),
    # Super Bot Fight Mode challenges with a 429.
    (429, {"cf-mitigated": "challenge"}, "", "Cloudflare"),
    (403, {"server": "cloudflare"}, CLOUDFLARE_PAGE, "Cloudflare"),
    (429, {"x-vercel-mitigated": "challenge"}, VERCEL_CHECKPOINT, "Vercel's Security Checkpoint"),
    (403, {}, VERCEL_CHECKPOINT, "Vercel's Security Checkpoint"),
])
def test_bot_challenges_are_recognised_for_every_check(
    status: int, headers: dict[str, str], text: str, expected: str
) -> None:
    assert expected in (challenge_of(status, httpx.Headers(headers), text) or "")
    for about in About:
        found = interception(status, httpx.Headers(headers), text, about)
        assert found is not None and expected in found.by and found.wait_s is None


def test_an_apps_own_refusals_are_judged() -> None:
    for status, text in ((403, "<title>Forbidden</title>"), (401, '{"error":"unauthorized"}'), (400, "Just a moment")):
        for about in About:
            assert interception(status, httpx.Headers({}), text, about) is None


def test_a_429_is_judged_by_the_rate_limit_checks_only() -> None:
    headers = httpx.Headers({"retry-after": "7"})
    assert interception(429, headers, "", About.RATE_LIMIT) is None
    for about in (About.BEHAVIOUR, About.AVAILABILITY):
        found = interception(429, headers, "", about)
        assert found is not None and found.wait_s == 7 and found.by == "a rate limiter"
        assert found.describe("POST", "https://x.example/api/waitlist") == (
            "POST https://x.example/api/waitlist answered 429 Too Many Requests (Retry-After 7): a rate limiter "
            "answered instead of the app; the request never reached the code under test")
    # The IETF RateLimit reset says how long when Retry-After does not.
    found = interception(429, httpx.Headers({"ratelimit": "limit=30, remaining=0, reset=4"}), "", About.BEHAVIOUR)
    assert found is not None and found.wait_s == 4


def test_a_503_with_retry_after_is_an_outage_for_availability_only() -> None:
    headers = httpx.Headers({"retry-after": "120"})
    assert interception(503, headers, "", About.AVAILABILITY) is None
    assert interception(503, headers, "", About.RATE_LIMIT) is None
    found = interception(503, headers, "", About.BEHAVIOUR)
    assert found is not None and found.wait_s == 120
    # Without Retry-After a 503 is the app's (or its platform's) failure: judged by everyone.
    assert interception(503, httpx.Headers({}), "", About.BEHAVIOUR) is None


def test_vercel_protection_is_never_the_apps_answer() -> None:
    headers = httpx.Headers([("set-cookie", "_vercel_sso_nonce=abc; Path=/; Secure")])
    for about in About:
        found = interception(401, headers, "<html>Authenticating</html>", about)
        assert found is not None and found.by == "Vercel's Deployment Protection"
