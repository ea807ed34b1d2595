"""Unit tests of smokegate.checks.cors, .secrets, .jwt and .leaks."""

from __future__ import annotations

import hypothesis
import pytest
from hypothesis import strategies

from smokegate.checks import cors, jwt, leaks, secrets
from smokegate.testbed.fake_secrets import FAKE_SECRETS, SUPABASE_ANON_KEY


def test_hostile_origins_imitate_matcher_bugs() -> None:
    origins = cors.hostile_origins("https://napoleonai.app")
    assert origins["prefix-lookalike"] == "https://napoleonai.app.evil.example"
    assert origins["suffix-lookalike"] == "https://evilnapoleonai.app"
    assert origins["unescaped-dot"] == "https://napoleonaixapp"
    assert origins["http-downgrade"] == "http://napoleonai.app"
    assert origins["subdomain"].endswith(".napoleonai.app") and origins["null"] == "null"
    assert set(origins) == set(cors.HOSTILE_KINDS)
    assert "subdomain" not in cors.hostile_origins("https://napoleonai.app", allow_subdomains=True)


def test_hostile_origins_come_from_every_allowed_origin() -> None:
    allowed = ("https://napoleonai.app", "https://www.napoleonai.app")
    assert cors.hostile_origins_of_all(allowed, "prefix-lookalike") == [
        "https://napoleonai.app.evil.example", "https://www.napoleonai.app.evil.example"]
    assert cors.hostile_origins_of_all(allowed, "unescaped-dot") == ["https://napoleonaixapp", "https://wwwxnapoleonai.app"]
    # Origin-independent kinds come once.
    assert cors.hostile_origins_of_all(allowed, "null") == ["null"]
    assert len(cors.hostile_origins_of_all(allowed, "arbitrary")) == 1
    # An allowed origin is never sent as a hostile one (an http origin's "downgrade" is itself).
    assert cors.hostile_origins_of_all(("http://localhost:3000",), "http-downgrade") == []
    assert cors.hostile_origins_of_all(allowed, "subdomain", allow_subdomains=True) == []


def test_cors_header_reading() -> None:
    headers = {"access-control-allow-origin": " * ", "access-control-allow-credentials": "TRUE",
               "vary": "Accept-Encoding, Origin", "access-control-allow-methods": "get, DELETE"}
    assert cors.acao(headers) == "*" and cors.allows_credentials(headers) and cors.varies_on_origin(headers)
    assert cors.allowed_methods(headers) == {"GET", "DELETE"}
    assert not cors.varies_on_origin({"vary": "RSC"})


@pytest.mark.parametrize("name", sorted(set(FAKE_SECRETS) - {"MICROSOFT_CLIENT_SECRET", "SLACK_CLIENT_SECRET"}))
def test_every_patterned_secret_is_found_and_masked(name: str) -> None:
    value = FAKE_SECRETS[name]
    findings = secrets.scan_patterns(f'var e={{k:"{value}"}};', "chunk.js")
    assert len(findings) == 1
    assert findings[0].masked == f"{value[:4]}… ({len(value)} chars)"
    assert value not in findings[0].describe()


@pytest.mark.parametrize("text", [
    "xox" + "b-1234567890-abcdefghij", "https://hooks.slack.com/services/" + "T0000/B0000/abcdefghijklmnopqrstuvwx",
    "-----BEGIN " + "PRIVATE KEY-----", "sb_" + "secret_abcdefghijklmnopqrstuv",
    "sk-" + "abcdefghijklmnopqrstT3BlbkFJabcdefghijklmnopqrst", "rk_" + "live_abcdefghijklmnop",
])
def test_other_rules(text: str) -> None:
    assert secrets.scan_patterns(text, "page"), text


@pytest.mark.parametrize("text", [
    SUPABASE_ANON_KEY, "pk_" + "live_51Nabcdefghijklmnop", "task-proj-x", "sk_live_", "whsec_short",
])
def test_public_values_are_not_findings(text: str) -> None:
    assert secrets.scan_patterns(text, "page") == []


def test_canary_value_and_prefix() -> None:
    value = FAKE_SECRETS["STRIPE_SECRET_KEY"]
    canaries = {"STRIPE_SECRET_KEY": value}
    whole = secrets.scan_canaries(f"x{value}x", "a.js", canaries)
    assert [f.rule for f in whole] == ["canary STRIPE_SECRET_KEY (value)"]
    prefix = secrets.scan_canaries(f"x{value[:12]}...", "a.js", canaries)
    assert [f.rule for f in prefix] == ["canary STRIPE_SECRET_KEY (12-char prefix)"]
    assert secrets.scan_canaries(value[:11], "a.js", canaries) == []


def test_canary_prefix_of_a_jwt_is_its_signature() -> None:
    service = FAKE_SECRETS["SUPABASE_SERVICE_ROLE_KEY"]
    # The anon key shares the service key's header prefix; it must not trip the canary.
    assert secrets.scan_canaries(SUPABASE_ANON_KEY, "html", {"SUPABASE_SERVICE_ROLE_KEY": service}) == []
    assert secrets.canary_fragments(service)[1] == service.rsplit(".", 1)[1][:12]
    assert secrets.canary_fragments("https://hooks.example.com/x") == ["https://hooks.example.com/x"]


def test_forged_tokens() -> None:
    none_token = jwt.alg_none_token(jwt.session_claims(60))
    assert none_token.endswith(".") and jwt.unverified_payload(none_token)["sub"] == "user_smokegate_probe"  # type: ignore[index]
    expired = jwt.unverified_payload(jwt.expired_token())
    assert expired is not None and expired["exp"] < expired["iat"] + 3600 and expired["iat"] <= expired["exp"]
    assert jwt.unverified_payload("not-a-jwt") is None


def test_leaks() -> None:
    from smokegate.testbed.security import NODE_STACK

    assert leaks.stack_trace(NODE_STACK.format(pos=3)) is not None
    assert leaks.stack_trace("Traceback (most recent call last):\n  File") is not None
    assert leaks.stack_trace('{"error":"Invalid JSON body"}') is None
    assert leaks.framework_name("Powered by Next.js") == "Next.js"
    assert leaks.framework_name('{"error":"Method Not Allowed"}') is None


@pytest.mark.parametrize("url", [
    "postgresql://postgres.abcdefghijklmnopqrst:S3cr%40t-pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
    "postgres://app:hunter2hunter2@db.internal:5432/app", "mysql://root:r00tpass@10.0.0.5/shop",
    "redis://default:AbC123xyz@eu1-redis.upstash.io:6379", "mongodb+srv://svc:Pa55word99@cluster0.mongodb.net/db",
])
def test_connection_strings_with_a_password_are_found_and_keep_only_where_they_point(url: str) -> None:
    findings = secrets.scan_patterns(f'{{"database":{{"url":"{url}"}}}}', "/api/health answer")
    assert [f.rule for f in findings] == ["connection-string-with-password"]
    password = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert password not in findings[0].describe() and url.split("@", 1)[1].split("/", 1)[0] in findings[0].masked


@pytest.mark.parametrize("text", [
    "postgres://postgres:[YOUR-PASSWORD]@db.abcdefghijklmnopqrst.supabase.co:5432/postgres",  # Supabase's docs
    "postgresql://user:password@localhost:5432/db", "postgres://app@db.internal/app",  # no password
    "redis://:${REDIS_PASSWORD}@cache:6379", "https://user:pw@example.com/",  # not a database URL
])
def test_placeholder_and_passwordless_connection_strings_are_not_findings(text: str) -> None:
    assert secrets.scan_patterns(text, "page") == []


@pytest.mark.parametrize("rule", secrets.RULES, ids=lambda rule: rule.name)
def test_a_rules_anchors_are_in_everything_it_matches(rule: secrets.Rule) -> None:
    """scan_patterns skips a text holding none of a rule's anchors: an anchor missing from a match would hide
    a secret.  Every string the pattern matches, as Hypothesis writes them, holds one (30 strings a rule: the
    anchors are the patterns' own literals, and where a pattern has alternatives at its start, few of them)."""
    assert rule.anchors, f"{rule.name} has no anchors: every text is searched with its slow pattern"

    @hypothesis.settings(max_examples=30, deadline=None, database=None)
    @hypothesis.given(strategies.from_regex(rule.pattern, fullmatch=True))
    def holds_an_anchor(value: str) -> None:
        assert any(anchor in value for anchor in rule.anchors), value

    holds_an_anchor()
