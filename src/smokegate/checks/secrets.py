"""Leaked secrets in what a site serves: pattern rules, the exact-value canary, and masking.

A finding names the rule and the file and shows the secret masked (first 4 characters and the
length; a connection string keeps its scheme, user and host and loses its password): a secret never
reaches a report.  Public-by-design values (publishable keys, the Supabase anon key) are not findings.
The rules read any text the suite fetched: pages, RSC payloads, chunks, source maps, JSON answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from smokegate.checks.jwt import JWT_PATTERN, unverified_payload


def mask(secret: str) -> str:
    """What a report may show of a secret: its first 4 characters and its length."""
    return f"{secret[:4]}… ({len(secret)} chars)"


@dataclass(frozen=True)
class Finding:
    rule: str
    source: str
    masked: str
    # The environment variable whose value this is (canary findings): its cause, wherever it showed.
    secret: str = ""

    def describe(self) -> str:
        return f"{self.rule} in {self.source}: {self.masked}"


def _is_service_role(token: str) -> bool:
    claims = unverified_payload(token)
    return bool(claims) and claims.get("role") == "service_role"  # type: ignore[union-attr]


# A connection string with a password: ``scheme://user:password@host``.  The password may not hold
# "@", "/" or whitespace unescaped (RFC 3986 userinfo); the host is kept in a report, the password not.
_SCHEMES = ("postgres", "postgresql", "mysql", "mariadb", "redis", "rediss", "mongodb", "mongodb+srv", "amqp", "amqps")
CONNECTION_STRING = re.compile(
    rf"\b(?P<scheme>{'|'.join(re.escape(scheme) for scheme in sorted(_SCHEMES, key=len, reverse=True))})://"
    r"(?P<user>[^\s:/@\"'<>`]+):(?P<password>[^\s@/\"'<>`]+)@(?P<host>[^\s/?#\"'<>`]+)"
)
# What every connection string begins with (its anchors, Rule.anchors).
CONNECTION_SCHEMES = tuple(f"{scheme}://" for scheme in _SCHEMES)
# Passwords of documentation examples and templates: not a credential anybody can use.
_PLACEHOLDER = re.compile(r"^(?:password|pass|passwd|secret|changeme|xxx+|\*+)$|[\[\]<>{}$]", re.I)


def _is_real_password(value: str) -> bool:
    match = CONNECTION_STRING.fullmatch(value) or CONNECTION_STRING.match(value)
    return match is not None and not _PLACEHOLDER.search(match.group("password"))


def mask_connection_string(value: str) -> str:
    """``postgresql://postgres.abc:…(16 chars)@host``: where it points, never the password."""
    match = CONNECTION_STRING.match(value)
    if match is None:
        return mask(value)
    return (f"{match.group('scheme')}://{match.group('user')}:[password, {len(match.group('password'))} chars]"
            f"@{match.group('host')}")


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    # Some matches are only secret on a closer look (a Supabase JWT is public unless service_role).
    confirm: Callable[[str], bool] | None = None
    # How a finding shows the match (default: mask()).
    shown: Callable[[str], str] = mask
    # Literals every match holds (one of them at least): a text holding none cannot match and is not
    # searched.  The patterns start with ``\b``, which keeps the regex engine from looking for a literal
    # itself: it tries every position, 20-25 ms per MB of chunks for each rule, where ``in`` takes 0.1.
    anchors: tuple[str, ...] = ()


RULES: tuple[Rule, ...] = (
    # Stripe secret and restricted keys, and Clerk secret keys (same sk_live_/sk_test_ shape).
    Rule("stripe-or-clerk-secret-key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,}"),
         anchors=("k_live_", "k_test_")),
    Rule("webhook-signing-secret", re.compile(r"\bwhsec_[0-9A-Za-z+/=_-]{16,}"), anchors=("whsec_",)),
    Rule("openai-api-key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}T3BlbkFJ[A-Za-z0-9_-]{16,}"),
         anchors=("T3BlbkFJ",)),
    Rule("openai-project-key", re.compile(r"\bsk-proj-[A-Za-z0-9_-]{40,}"), anchors=("sk-proj-",)),
    Rule("supabase-service-role-jwt", re.compile(JWT_PATTERN), confirm=_is_service_role, anchors=("eyJ",)),
    Rule("supabase-secret-key", re.compile(r"\bsb_secret_[A-Za-z0-9_-]{16,}"), anchors=("sb_secret_",)),
    Rule("slack-token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), anchors=("xox",)),
    Rule("slack-webhook-url", re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]{20,}"),
         anchors=("https://hooks.slack.com/",)),
    Rule("google-oauth-client-secret", re.compile(r"\bGOCSPX-[A-Za-z0-9_-]{20,}"), anchors=("GOCSPX-",)),
    Rule("connection-string-with-password", CONNECTION_STRING, confirm=_is_real_password,
         shown=mask_connection_string, anchors=CONNECTION_SCHEMES),
    Rule("private-key-block", re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----"),
         anchors=("PRIVATE KEY-----",)),
)


def scan_patterns(text: str, source: str, rules: tuple[Rule, ...] = RULES) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for rule in rules:
        if rule.anchors and not any(anchor in text for anchor in rule.anchors):
            continue
        for match in rule.pattern.finditer(text):
            value = match.group(0)
            if rule.confirm is not None and not rule.confirm(value):
                continue
            if (rule.name, value) not in seen:
                seen.add((rule.name, value))
                findings.append(Finding(rule.name, source, rule.shown(value)))
    return findings


def canary_fragments(value: str, prefix_chars: int = 12) -> list[str]:
    """The strings whose presence means ``value`` leaked: itself, and a prefix when that is specific.

    A JWT's first characters are its header (``eyJhbGciOiJI...`` is every HS256 token, the public
    anon key included), so for a JWT the prefix is taken from its signature.  A URL's prefix is
    its scheme and host, public by nature, so a URL only counts whole.
    """
    value = value.strip()
    if not value:
        return []
    fragments = [value]
    if "://" in value:
        return fragments
    if re.fullmatch(JWT_PATTERN, value):
        signature = value.rsplit(".", 1)[1]
        if len(signature) > prefix_chars:
            fragments.append(signature[:prefix_chars])
    elif len(value) > prefix_chars:
        fragments.append(value[:prefix_chars])
    return fragments


def scan_canaries(
    text: str, source: str, canaries: Mapping[str, str], prefix_chars: int = 12
) -> list[Finding]:
    """Findings for every secret value (named by its environment variable) found in ``text``."""
    findings = []
    for name, value in canaries.items():
        for fragment in canary_fragments(value, prefix_chars):
            if fragment in text:
                kind = "value" if fragment == value.strip() else f"{prefix_chars}-char prefix"
                findings.append(Finding(f"canary {name} ({kind})", source, mask(value.strip()), secret=name))
                break
    return findings
