"""Security headers of a page: CSP, framing, nosniff, referrer policy, permissions policy, HSTS, Server.

Pure functions over header values, so each rule is unit-tested without a server.  They return what
is wrong (an empty list or None when all is well) rather than a boolean, so a failing check can say
exactly which directive or value is the problem.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# Referrer policies that never send the full URL cross-origin (strict-origin-when-cross-origin or
# stricter); the others leak paths and query strings to third parties.
STRICT_REFERRER_POLICIES = frozenset(
    {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
)
_VERSION = re.compile(r"\d+\.\d+|/\s*\d")


def parse_csp(value: str) -> dict[str, list[str]]:
    """Directives of a Content-Security-Policy header; the first occurrence of a directive wins."""
    directives: dict[str, list[str]] = {}
    for part in value.split(";"):
        tokens = part.split()
        if tokens:
            directives.setdefault(tokens[0].lower(), [t.lower() for t in tokens[1:]])
    return directives


@dataclass(frozen=True)
class CspVerdict:
    problems: list[str]
    warnings: list[str]


def check_csp(value: str | None) -> CspVerdict:
    """CSP must exist and not allow ``eval``; ``unsafe-inline`` for scripts is only reported."""
    if not value or not value.strip():
        return CspVerdict(["no Content-Security-Policy header"], [])
    directives = parse_csp(value)
    # script-src governs scripts; without it default-src does (CSP3 fallback).
    name = "script-src" if "script-src" in directives else "default-src"
    scripts = directives.get(name)
    problems, warnings = [], []
    if scripts is None:
        problems.append("neither script-src nor default-src: scripts are unrestricted")
    else:
        if "'unsafe-eval'" in scripts:
            problems.append(f"{name} allows 'unsafe-eval'")
        if "'unsafe-inline'" in scripts and not any(t.startswith(("'nonce-", "'sha")) for t in scripts):
            warnings.append(f"{name} allows 'unsafe-inline'")
        if "*" in scripts or "data:" in scripts:
            problems.append(f"{name} allows any source ({' '.join(t for t in scripts if t in ('*', 'data:'))})")
    return CspVerdict(problems, warnings)


def framing_problem(headers: Mapping[str, str]) -> str | None:
    """Clickjacking: CSP ``frame-ancestors`` or ``X-Frame-Options`` DENY/SAMEORIGIN must restrict framing."""
    csp = parse_csp(headers.get("content-security-policy", ""))
    ancestors = csp.get("frame-ancestors")
    if ancestors is not None:
        if "*" in ancestors or any(t in ("http:", "https:") for t in ancestors):
            return f"frame-ancestors {' '.join(ancestors)} lets any site frame the page"
        return None
    xfo = headers.get("x-frame-options", "").strip().upper()
    if xfo in ("DENY", "SAMEORIGIN"):
        return None
    return f"no frame-ancestors directive and X-Frame-Options is {xfo or 'absent'!r}"


def referrer_policy_problem(value: str | None) -> str | None:
    if not value:
        return "no Referrer-Policy header (browsers then default to strict-origin-when-cross-origin)"
    # Browsers apply the last policy they understand in a comma-separated list.
    tokens = [t.strip().lower() for t in value.split(",") if t.strip()]
    effective = tokens[-1] if tokens else ""
    if effective not in STRICT_REFERRER_POLICIES:
        return f"Referrer-Policy {effective!r} is weaker than strict-origin-when-cross-origin"
    return None


def server_version(value: str | None) -> str | None:
    """The version disclosed by a ``Server`` header, if any (``nginx/1.25.3`` -> that string)."""
    if value and _VERSION.search(value):
        return value
    return None


@dataclass(frozen=True)
class Hsts:
    max_age: int | None
    include_subdomains: bool
    preload: bool


def parse_hsts(value: str | None) -> Hsts | None:
    if not value:
        return None
    max_age = None
    include = preload = False
    for part in value.split(";"):
        name, _, raw = part.strip().partition("=")
        name = name.strip().lower()
        if name == "max-age":
            try:
                max_age = int(raw.strip().strip('"'))
            except ValueError:
                max_age = None
        elif name == "includesubdomains":
            include = True
        elif name == "preload":
            preload = True
    return Hsts(max_age, include, preload)


def hsts_problems(value: str | None, min_age_s: int, include_subdomains: bool) -> list[str]:
    hsts = parse_hsts(value)
    if hsts is None:
        return ["no Strict-Transport-Security header"]
    problems = []
    if hsts.max_age is None:
        problems.append(f"Strict-Transport-Security has no valid max-age ({value!r})")
    elif hsts.max_age < min_age_s:
        problems.append(f"HSTS max-age={hsts.max_age} s < {min_age_s} s")
    if include_subdomains and not hsts.include_subdomains:
        problems.append("HSTS lacks includeSubDomains")
    return problems
