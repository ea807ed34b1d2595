"""Answers a check cannot judge: something stood between the request and the code under test.

A rate limiter's 429, an overloaded or maintenance 503 with ``Retry-After``, Vercel's Deployment
Protection login page, a bot challenge (Cloudflare's "Just a moment..." page, marked
``cf-mitigated: challenge``; Vercel's Security Checkpoint, ``x-vercel-mitigated: challenge``) are
answers about the *request*, not about what the app does with it.  A check of input validation,
CORS, headers, cookies or redirects that met one has learned nothing: "answered 429; expected 400"
is a false finding, and a rerun inside the target's rate-limit window must not turn into one.

What a check may judge depends on what it is about (:class:`About`): the rate-limit checks judge the
limiter's 429 (it is their subject); the availability checks (health, pages, API status, error rate)
judge a 503, since ``503 Retry-After`` is what an outage looks like; every other check judges neither.
A challenge or a protection page is never the app's answer.

This module is the one place that decides; the probe asks it about every answer
(:class:`smokegate.probe.Probe`), waits once for a ``Retry-After`` it is allowed to wait for, and
otherwise raises :class:`~smokegate.failures.Inconclusive` of kind ``intercepted``.

Pure logic: no pytest, no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from smokegate import vercel_protection as vercel
from smokegate.checks.ratelimit import parse_ratelimit_reset, parse_retry_after


class About(StrEnum):
    """What a request's check judges, and so which answers in front of the app it can read."""

    BEHAVIOUR = "behaviour"
    AVAILABILITY = "availability"
    RATE_LIMIT = "rate-limit"


@dataclass(frozen=True)
class Interception:
    """Why an answer cannot be judged: what it was, who answered, and how long it asks to wait."""

    answer: str
    by: str
    # Seconds the answer asks the client to wait (Retry-After, else the RateLimit reset); None: waiting
    # will not help (a challenge, a protection page) or the answer did not say.
    wait_s: float | None = None

    def describe(self, method: str, url: str) -> str:
        return (f"{method} {url} answered {self.answer}: {self.by} answered instead of the app; "
                "the request never reached the code under test")


def _get(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:  # a plain mapping with other spellings (httpx.Headers is case-insensitive already)
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return (value or "").strip()


def challenge_of(status: int, headers: Mapping[str, str], text: str) -> str | None:
    """Which bot challenge answered instead of the app, or None."""
    if _get(headers, "cf-mitigated").lower() == "challenge":
        return "Cloudflare's bot challenge (cf-mitigated: challenge)"
    if _get(headers, "x-vercel-mitigated").lower() == "challenge":
        return "Vercel's Security Checkpoint (x-vercel-mitigated: challenge)"
    if status in (403, 429, 503):
        head = text[:20_000]
        if "<title>Just a moment...</title>" in head and ("challenge-platform" in head or "_cf_chl_opt" in head):
            return "Cloudflare's bot challenge page (\"Just a moment...\")"
        if "Vercel Security Checkpoint" in head:
            return "Vercel's Security Checkpoint page"
    return None


def _wait(headers: Mapping[str, str]) -> float | None:
    retry_after = parse_retry_after(_get(headers, "retry-after") or None)
    return retry_after if retry_after is not None else parse_ratelimit_reset(headers)


def interception(status: int, headers: Mapping[str, str], text: str, about: About) -> Interception | None:
    """Why a check about ``about`` cannot judge this answer, or None when it can."""
    challenge = challenge_of(status, headers, text)
    if challenge is not None:
        return Interception(str(status), challenge)
    protection = vercel.protection_of(status, headers, text)
    if protection is not None:
        return Interception(protection, "Vercel's Deployment Protection")
    if about is About.RATE_LIMIT:
        return None
    if status == 429:
        wait = _wait(headers)
        said = f" (Retry-After {_get(headers, 'retry-after')})" if _get(headers, "retry-after") else ""
        return Interception(f"429 Too Many Requests{said}", "a rate limiter", wait)
    if status == 503 and about is About.BEHAVIOUR and _get(headers, "retry-after"):
        return Interception(f"503 with Retry-After {_get(headers, 'retry-after')}",
                            "an overloaded or maintenance front", _wait(headers))
    return None
