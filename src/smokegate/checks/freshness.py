"""Is an answer the present state, or a past one served from a cache?

The guide's health check is real-time.  A health answer a CDN may store, one a cache served, or a
body whose timestamp is old reports the past as the present; the classic Next.js cause is a route
handler rendered statically at build time (no dynamic API used, no ``dynamic = "force-dynamic"``),
which Vercel then serves with ``x-vercel-cache: HIT`` and a growing ``Age``, or ``next start``
with ``x-nextjs-cache: HIT``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# Cache status headers of the CDNs and servers in front of a Next.js app, and the values that
# mean "served from the cache" (Vercel, Next.js itself, Cloudflare, CloudFront/Fastly/Varnish).
_HIT_HEADERS = {
    "x-vercel-cache": ("HIT", "STALE", "PRERENDER"),
    "x-nextjs-cache": ("HIT", "STALE"),
    "cf-cache-status": ("HIT", "STALE", "UPDATING"),
    "x-cache": ("HIT",),
}
# Headers through which a CDN is told how long it may keep the answer.
_CDN_DIRECTIVES = ("cache-control", "cdn-cache-control", "vercel-cdn-cache-control", "surrogate-control")
# Where health bodies put the moment they describe.
TIMESTAMP_KEYS = ("timestamp", "time", "checkedAt", "checked_at", "generatedAt", "generated_at", "now", "date")


def _directives(value: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in value.split(","):
        name, _, arg = part.strip().partition("=")
        if name.strip():
            found[name.strip().lower()] = arg.strip().strip('"')
    return found


def _positive(value: str | None) -> bool:
    # str.isdigit() takes "²", which int() refuses: ASCII digits only, as HTTP writes them.
    return value is not None and value.isascii() and value.isdigit() and int(value) > 0


def storable_by_cdn(header: str, value: str) -> str | None:
    """Why a shared cache may serve this answer without asking the origin again, or None."""
    d = _directives(value)
    if {"no-store", "private", "no-cache"} & d.keys():
        return None
    shown = f"{header}: {value.strip()}"
    if _positive(d.get("s-maxage")) or _positive(d.get("max-age")):
        return f"{shown} lets a CDN keep it"
    if header == "cache-control" and "public" in d and "max-age" not in d and "s-maxage" not in d:
        return f"{shown} lets a CDN keep it for as long as it guesses"
    return None


def cache_signs(headers: Mapping[str, str]) -> list[str]:
    """Every sign in the headers that the answer was, or may be, served from a cache."""
    signs = []
    for name in _CDN_DIRECTIVES:
        value = headers.get(name)
        reason = storable_by_cdn(name, value) if value else None
        if reason:
            signs.append(reason)
    for name, hits in _HIT_HEADERS.items():
        value = (headers.get(name) or "").strip()
        if value and any(value.upper().startswith(hit) for hit in hits):
            signs.append(f"{name}: {value} (served from a cache)")
    age = (headers.get("age") or "").strip()
    if _positive(age):
        signs.append(f"Age: {age} (a cache has kept it {age} s)")
    if (headers.get("x-nextjs-prerender") or "").strip() == "1":
        signs.append("x-nextjs-prerender: 1 (rendered at build time)")
    return signs


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 string or a Unix time (seconds or milliseconds) as an aware datetime."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value.strip():
        text = value.strip()
        text = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None


def body_timestamp(body: Any) -> tuple[str, datetime] | None:
    """(key, moment) of the first timestamp a health body carries at its top level, if any."""
    if not isinstance(body, dict):
        return None
    for key in TIMESTAMP_KEYS:
        if key in body:
            moment = parse_timestamp(body[key])
            if moment is not None:
                return key, moment
    return None
