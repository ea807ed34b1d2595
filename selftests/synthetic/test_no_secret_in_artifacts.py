"""No secret in any artifact, and none handed to another origin: one run that holds every secret at once.

The testbed is protected (Vercel's Deployment Protection: the suite needs the bypass secret), its
test user has canary credentials (the OAuth journey types the canary password), the synthetic Clerk
user signs in by sign-in token (Testing Tokens, session JWTs), and a signed-in check fails on purpose
(``signed-in-api-500``) so the failure path writes its evidence too, and the health endpoint and a page's
RSC payload serve server-side keys by their shape (``db-url-in-health``: a Postgres connection string
with its password; ``secret-key-in-rsc``: a ``sb_secret_`` key), caught by the secret checks, which run
beside.  ``--tracing on --screenshot on`` keep every trace and screenshot.  The providers suite asks the
stand-ins of Vercel, Supabase, Stripe and Clerk with their tokens, reads Stripe's charges and Clerk's
users (people's names, emails and ids) and fails on purpose too (``stripe-payments-failing``), so the
incident quotes the providers' status.  Then:

- behind protection every check passes except the one the fault breaks, and no other origin the
  pages, the journey or Clerk reach ever saw the bypass;
- every file under the reports directory — traces and other archives unzipped — holds none of the
  canaries (password, email, bypass secret, Clerk's secret key, the tokens Clerk issued, the database
  password, the Supabase secret key, the provider tokens, any customer's or user's name, email or id the
  providers answered with), no JSON web token (a session), no OAuth ``code=`` value, no server-side key
  by its shape and no connection string with its password.

One run for all of it: the suite behind protection with tracing is the costliest thing the self-tests
start, and every assertion here reads the same artifacts.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

import pytest

from smokegate.testbed import providers as provider_tokens
from smokegate.testbed.control import RunningTestbed
from smokegate.testbed.fake_secrets import DATABASE_URL, FAKE_SECRETS
from smokegate.testbed.idp import EMAIL_ENV, PASSWORD_ENV
from smokegate.testbed.providers.clerk_activity import MEMBERS
from smokegate.testbed.providers.people import PEOPLE

from ..conftest import SuiteRun, cli_for, env_for, run_suite
from ..render_checks import files_and_members, secret_hits

pytestmark = pytest.mark.selftest_slow

FAULT_CHECK = "synthetic/test_signed_in_api.py::test_user_api_answers_signed_in"
SHAPE_FAULTS = {"db-url-in-health": "security/test_secrets.py::test_no_secret_patterns_in_json_answers",
                "secret-key-in-rsc": "security/test_secrets.py::test_no_secret_patterns_served[pricing]"}
PAYMENTS_CHECK = "providers/test_payments.py::test_payment_success_rate"
SHAPES = (
    re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # a session JWT, _vercel_jwt
    re.compile(rb"(?:[?&]|\\u0026)code=[A-Za-z0-9_-]{20,}"),  # an OAuth code
    # Server-side keys by their shape, and a connection string's password (issue 20).
    re.compile(rb"\b(?:sb_secret_[A-Za-z0-9_-]{16,}|(?:sk|rk)_live_[0-9A-Za-z]{10,}|sk-proj-[A-Za-z0-9_-]{20,})"),
    re.compile(rb"\b(?:postgres(?:ql)?|mysql|rediss?|mongodb(?:\+srv)?)://[^\s:/@\"']+:(?!\[redacted\])[^\s@/\"']+@"),
)


@dataclass
class TracedRun:
    run: SuiteRun
    canaries: dict[str, str]
    bypass_seen: list[dict[str, object]]
    clerk_tokens: list[str]


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> TracedRun:
    tmp = tmp_path_factory.mktemp("traced")
    password = "canary-pw-" + secrets.token_hex(8)
    email = f"canary-{secrets.token_hex(4)}@napoleon-testbed.example"
    with pytest.MonkeyPatch.context() as patch:
        # The testbed process inherits these: its test user signs in with the canary password.
        patch.setenv(EMAIL_ENV, email)
        patch.setenv(PASSWORD_ENV, password)
        faults = ["signed-in-api-500", *SHAPE_FAULTS, "stripe-payments-failing", "status-partial-outage"]
        with RunningTestbed.start(tmp / "testbed", faults=faults, protection=True) as testbed:
            run = run_suite(
                ["tests/smoke", "tests/synthetic", "tests/security/test_secrets.py", "tests/providers",
                 *cli_for(testbed), "--tracing", "on", "--screenshot", "on"],
                tmp / "reports",
                env={**env_for(testbed), EMAIL_ENV: email, PASSWORD_ENV: password},
            )
            events = testbed.events()
            canaries = {"password": password, "email": email, "bypass secret": testbed.bypass_secret,
                        "Clerk secret key": FAKE_SECRETS["CLERK_SECRET_KEY"],
                        "Supabase secret key": FAKE_SECRETS["SUPABASE_SECRET_KEY"],
                        "database password": DATABASE_URL.split("@", 1)[0].rsplit(":", 1)[1],
                        **provider_tokens.TOKENS,
                        **{f"customer {p.email}": p.email for p in PEOPLE},
                        **{f"customer {p.last}": p.last for p in PEOPLE},
                        **{f"user {m.id}": m.id for m in MEMBERS}, **{f"user {m.email}": m.email for m in MEMBERS}}
    return TracedRun(
        run=run,
        canaries=canaries,
        bypass_seen=[e for e in events if e["kind"] == "bypass-seen-by-other-origin"],
        clerk_tokens=[str(e["token"]) for e in events if e["kind"] == "clerk-token-issued"],
    )


def test_behind_protection_only_the_broken_check_fails_and_no_other_origin_sees_the_bypass(traced: TracedRun) -> None:
    run = traced.run
    not_passed = {c: o for c, o in run.outcomes.items() if o != "passed"}
    assert not_passed == dict.fromkeys((FAULT_CHECK, PAYMENTS_CHECK, *SHAPE_FAULTS.values()), "failed"), (
        f"{not_passed}\n{run.output[-3000:]}")
    assert run.gate["verdict"] == "fail"
    assert not traced.bypass_seen, traced.bypass_seen
    # The journey really typed the canary password, and Clerk really handed out tokens.
    assert run.outcomes["synthetic/test_sign_in.py::test_sign_in_reaches_dashboard"] == "passed"
    assert len(traced.clerk_tokens) >= 3, "a testing token and sign-in tokens were issued"
    # The providers really answered with people's data (counted, never kept), and the incident quotes them.
    assert run.outcomes["providers/test_user_activity.py::test_users_were_active_in_the_last_day"] == "passed"
    assert "Supabase reports a partial outage" in (run.reports_dir / "incident.md").read_text()


def test_no_secret_in_any_artifact(traced: TracedRun) -> None:
    reports = traced.run.reports_dir
    files = dict(files_and_members(reports))
    assert any(".zip!" in name for name in files), "traces were kept (--tracing on) and unzipped here"
    assert any(name.endswith("console.log") for name in files), "the failed check kept its evidence"
    hits = secret_hits([reports], [*traced.canaries.values(), *traced.clerk_tokens])
    hits += [(name, pattern.pattern.decode()) for name, data in files.items() for pattern in SHAPES
             if pattern.search(data)]
    assert not hits, f"secrets in {len(hits)} artifact(s): {hits[:10]}"
