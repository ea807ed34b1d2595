"""Unit tests of smokegate.checks.freshness: a health answer that a cache stored or served is a past state."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from smokegate.checks.freshness import body_timestamp, cache_signs, parse_timestamp


def test_a_dynamic_answer_shows_no_sign() -> None:
    for headers in ({"cache-control": "no-store, max-age=0", "x-vercel-cache": "MISS"},
                    {"cache-control": "public, max-age=0, must-revalidate", "age": "0"},
                    {"cache-control": "private, max-age=60"}, {"cache-control": "public, s-maxage=60, no-cache"},
                    {"x-vercel-cache": "REVALIDATED"}, {}):
        assert cache_signs(httpx.Headers(headers)) == [], headers


@pytest.mark.parametrize(("headers", "sign"), [
    ({"cache-control": "s-maxage=31536000, stale-while-revalidate"}, "cache-control: s-maxage=31536000"),
    ({"cache-control": "public, max-age=30"}, "cache-control: public, max-age=30"),
    ({"cache-control": "public"}, "for as long as it guesses"),
    ({"cdn-cache-control": "max-age=60"}, "cdn-cache-control: max-age=60"),
    ({"x-vercel-cache": "HIT"}, "x-vercel-cache: HIT"),
    ({"x-vercel-cache": "PRERENDER"}, "x-vercel-cache: PRERENDER"),
    ({"x-nextjs-cache": "STALE"}, "x-nextjs-cache: STALE"),
    ({"cf-cache-status": "HIT"}, "cf-cache-status: HIT"),
    ({"x-cache": "Hit from cloudfront"}, "x-cache: Hit from cloudfront"),
    ({"age": "5400"}, "Age: 5400"),
    ({"x-nextjs-prerender": "1"}, "rendered at build time"),
])
def test_each_sign_of_a_cache(headers: dict[str, str], sign: str) -> None:
    signs = cache_signs(httpx.Headers(headers))
    assert len(signs) == 1 and sign in signs[0], signs


def test_timestamps_in_every_usual_form() -> None:
    moment = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    for value in ("2026-11-26T12:00:00Z", "2026-11-26T12:00:00+00:00", "2026-11-26T12:00:00.000Z",
                  "2026-11-26T12:00:00", moment.timestamp(), int(moment.timestamp() * 1000)):
        assert parse_timestamp(value) == moment, value
    for value in ("yesterday", "", None, True, {"t": 1}):
        assert parse_timestamp(value) is None, value
    assert body_timestamp({"status": "ok", "checkedAt": "2026-11-26T12:00:00Z"}) == ("checkedAt", moment)
    assert body_timestamp({"status": "ok", "uptime_s": 12}) is None
    assert body_timestamp(["not", "an", "object"]) is None
