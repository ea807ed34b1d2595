"""The synthetic Clerk user: Backend API client, Frontend API discovery, the leak judge, and runs.

The Backend API client is exercised against the testbed's imitation of Clerk (its JSON shapes and
errors) and against a socket that never answers (bounded, then "could not be determined").  The runs
prove the signed-in checks are skipped with the reason without Clerk, that a failed sign-in is one
finding, and that nothing Clerk returns (tokens, session) nor the bypass secret lands in an artifact.
"""

from __future__ import annotations

import base64
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smokegate.failures import CheckFailure, FailureKind, Inconclusive
from smokegate.scrub import SCRUBBER
from smokegate.synthetic.clerk_testing import (
    BackendApi,
    ClerkSetupError,
    backend_context,
    frontend_api_from_html,
    frontend_api_of_key,
    is_frontend_api_request,
    with_testing_token,
)
from smokegate.synthetic.protection import SentRequest, bypass_leaks
from smokegate.testbed.clerk import publishable_key
from smokegate.testbed.control import RunningTestbed
from smokegate.testbed.fake_secrets import FAKE_SECRETS
from smokegate.testbed.idp import DEFAULT_EMAIL

from ..conftest import cli_for, env_for, run_suite

KEY = FAKE_SECRETS["CLERK_SECRET_KEY"]
SIGNED_IN = ["tests/synthetic/test_clerk_sign_in.py", "tests/synthetic/test_signed_in_api.py"]


# -- pure logic ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "host"), [
    (publishable_key("clerk.napoleonai.app", live=True), "clerk.napoleonai.app"),
    (publishable_key("napoleon-testbed.clerk.accounts.dev"), "napoleon-testbed.clerk.accounts.dev"),
    ("pk_live_" + base64.b64encode(b"clerk.example.com").decode(), None),  # no terminating $
    ("sk_live_" + base64.b64encode(b"clerk.example.com$").decode(), None),  # a secret key, not a publishable one
    ("pk_test_!!!", None),
    ("", None),
])
def test_publishable_key_decodes_to_the_frontend_api(key: str, host: str | None) -> None:
    assert frontend_api_of_key(key) == host


@pytest.mark.parametrize(("html", "frontend_api"), [
    ('<script src="/__clerk/npm/@clerk/clerk-js@5/dist/clerk.browser.js" data-clerk-js-script="" '
     'data-clerk-publishable-key="{pk}" data-clerk-proxy-url="/__clerk"></script>', "https://app.example/__clerk"),
    ('<script data-clerk-js-script data-clerk-proxy-url="https://app.example/api/__clerk/" '
     'data-clerk-publishable-key="{pk}"></script>', "https://app.example/api/__clerk"),
    ('<script async src="https://clerk.napoleonai.app/npm/@clerk/clerk-js@5/dist/clerk.browser.js" '
     'data-clerk-js-script="true" data-clerk-publishable-key="{pk}"></script>', "https://clerk.napoleonai.app"),
    ('<script src="https://clerk.napoleonai.app/npm/@clerk/clerk-js@5/dist/clerk.browser.js"></script>',
     "https://clerk.napoleonai.app"),
    ('<script src="/_next/static/chunks/main.js"></script>', None),
])
def test_the_frontend_api_is_found_on_the_page_as_clerk_js_finds_it(html: str, frontend_api: str | None) -> None:
    page = html.replace("{pk}", publishable_key("clerk.napoleonai.app", live=True))
    assert frontend_api_from_html(page, "https://app.example/sign-in") == frontend_api


def test_the_testing_token_goes_to_frontend_api_requests_only() -> None:
    base = "https://app.example/__clerk"
    assert is_frontend_api_request("https://app.example/__clerk/v1/client/sign_ins?x=1", base)
    assert not is_frontend_api_request("https://app.example/api/user", base)
    assert not is_frontend_api_request("https://app.example:8443/__clerk/v1/client", base)
    assert not is_frontend_api_request("https://evil.example/__clerk/v1/client", base)
    assert is_frontend_api_request("https://clerk.napoleonai.app/v1/environment", "https://clerk.napoleonai.app")
    url = with_testing_token("https://clerk.napoleonai.app/v1/client?_clerk_js_version=5&__clerk_testing_token=old",
                             "1713-new")
    assert url == "https://clerk.napoleonai.app/v1/client?_clerk_js_version=5&__clerk_testing_token=1713-new"


def test_the_leak_judge_looks_at_other_origins_only() -> None:
    secret, cookie = "s3cr3t-bypass-value-0123456789", "eyJcookie.value.sig"
    sent = [
        SentRequest("https://app.example/api/x", {"x-vercel-protection-bypass": secret}),  # its own origin: fine
        SentRequest("https://partner.example/api", {"x-vercel-protection-bypass": "another-projects-secret"}),
        SentRequest(f"https://cdn.example/p.js?k={secret}", {}),
        SentRequest("https://collect.example/e", {"content-type": "text/plain"}, f'{{"c":"{cookie}"}}'),
        SentRequest("https://fonts.example/f.woff2", {"referer": "https://app.example/"}),
    ]
    leaks = bypass_leaks(sent, "https://app.example", secret, [cookie])
    assert len(leaks) == 3, leaks
    assert "partner.example/api: the x-vercel-protection-bypass header" in leaks[0]
    assert "cdn.example/p.js: the bypass secret (in its URL)" in leaks[1]
    assert "collect.example/e: the bypass cookie's value (in its body)" in leaks[2]
    assert secret not in " ".join(leaks), "the message never carries the secret"


# -- the Backend API client against the testbed's Clerk ------------------------------------------------


def _api(testbed: RunningTestbed, key: str = KEY, timeout_s: float = 5) -> BackendApi:
    return BackendApi(testbed.clerk_api_url, key, timeout_s, backend_context(testbed.ca_file))


def test_backend_api_signs_the_synthetic_user_in_by_token(testbed: RunningTestbed) -> None:
    with _api(testbed) as api:
        user = api.user_id(DEFAULT_EMAIL.upper())  # email addresses compare case-insensitively
        assert user.startswith("user_")
        ticket, testing = api.sign_in_token(user, 300), api.testing_token()
    assert ticket and re.fullmatch(r"\d{10}-[\w-]+", testing), testing
    # Scrubbed as soon as they are seen: no artifact written later can hold them.
    assert ticket not in SCRUBBER.text(f"ticket={ticket}") and testing not in SCRUBBER.text(testing)


def test_backend_api_names_what_is_wrong_on_the_suites_side(testbed: RunningTestbed) -> None:
    with _api(testbed, key="sk_live_" + "x" * 40) as api, pytest.raises(ClerkSetupError) as refused:
        api.testing_token()
    assert refused.value.kind is FailureKind.TEST_SETUP and not FailureKind.TEST_SETUP.outage
    assert "refused the secret key in CLERK_SECRET_KEY (401 authentication_invalid" in str(refused.value)
    assert "x" * 20 not in str(refused.value)
    with _api(testbed) as api, pytest.raises(ClerkSetupError, match="no user with the email nobody@napoleon"):
        api.user_id("nobody@napoleon-testbed.example")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TLS port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield f"https://127.0.0.1:{server.getsockname()[1]}"


def test_backend_api_requests_are_bounded(silent_server: str) -> None:
    api = BackendApi(silent_server, KEY, 0.3, backend_context("system"))
    started = time.monotonic()
    with api:
        error = api_error(api)
    assert str(error).startswith("could not be determined: Clerk's Backend API"), error
    assert time.monotonic() - started < 5, "one retry, each bounded by the timeout"
    assert not isinstance(Inconclusive("x"), CheckFailure), "a network fault is no finding"
    assert "(2 attempts)" in str(error), "a timeout is transient: tried once more"


def test_a_refused_backend_api_is_not_retried_and_says_so() -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    sent: list[int] = []
    api = BackendApi(f"https://127.0.0.1:{port}", KEY, 2, backend_context("system"))
    api.on_request = lambda: sent.append(1)
    with api:
        error = api_error(api)
    assert "connection refused (not retried: it lasts)" in str(error) and len(sent) == 1, (error, sent)


def api_error(api: BackendApi) -> Inconclusive:
    with pytest.raises(Inconclusive) as info:
        api.user_id(DEFAULT_EMAIL)
    return info.value


# -- runs ------------------------------------------------------------------------------------------------


@pytest.fixture
def healthy(testbed: RunningTestbed) -> Iterator[RunningTestbed]:
    testbed.set_faults([])
    try:
        yield testbed
    finally:
        testbed.set_faults([])


@pytest.mark.selftest_slow
def test_without_clerk_or_a_test_account_the_signed_in_checks_are_skipped(healthy: RunningTestbed,
                                                                          tmp_path: Path) -> None:
    env = {k: v for k, v in env_for(healthy).items() if not k.startswith(("CLERK_SECRET", "SMOKEGATE_TEST_"))}
    env.update({"CLERK_SECRET_KEY": "", "SMOKEGATE_TEST_EMAIL": "", "SMOKEGATE_TEST_PASSWORD": ""})
    run = run_suite([*SIGNED_IN, *cli_for(healthy)], tmp_path, env=env)
    assert run.outcomes and set(run.outcomes.values()) == {"skipped"}, run.outcomes
    assert "CLERK_SECRET_KEY" in run.message("synthetic/test_clerk_sign_in.py::test_ticket_sign_in_reaches_dashboard")
    ai = run.message("synthetic/test_signed_in_api.py::test_ai_answers_within_budget")
    assert "CLERK_SECRET_KEY" in ai and "the AI budget was not checked" in ai, ai
    summary = (tmp_path / "summary.md").read_text()
    assert "The AI budget was not checked:" in summary, summary


@pytest.mark.selftest_slow
def test_a_refused_ticket_is_one_finding(healthy: RunningTestbed, tmp_path: Path) -> None:
    healthy.set_faults(["clerk-ticket-refused"])
    run = run_suite([*SIGNED_IN, *cli_for(healthy)], tmp_path, env=env_for(healthy))
    check = "synthetic/test_clerk_sign_in.py::test_ticket_sign_in_reaches_dashboard"
    assert run.with_outcome("failed") == {check}, run.outcomes
    assert "ticket_invalid_code" in run.message(check)
    for dependent in ("test_user_api_answers_signed_in", "test_ai_answers_within_budget"):
        message = run.message(f"synthetic/test_signed_in_api.py::{dependent}")
        assert "could not be signed in (clerk-ticket)" in message and "test_ticket_sign_in" in message, message
    failed = next(c for c in run.gate["checks"] if c["check"] == check)
    assert failed["failure_kind"] == "sign-in-failed" and failed["blocking"], failed

