"""The probe against every hostile answer: an Exchange or one of its documented exceptions, within its timeout.

The probe is what meets every answer first (every check sends through it), so the whole corpus,
:data:`~.hostile.PROBE_ONLY` included, goes through it here in-process, for each kind of check
(:class:`~smokegate.intercepted.About`) and through reachability; Hypothesis then serves generated
status lines and header bytes: nothing but :class:`~smokegate.probe.Exchange`,
:class:`~smokegate.failures.Inconclusive`, :class:`~smokegate.probe.UnusableAnswer` or
:class:`~smokegate.probe.TargetUnreachable` may come out.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smokegate.config import Target
from smokegate.failures import Inconclusive
from smokegate.intercepted import About
from smokegate.probe import Exchange, Probe, TargetUnreachable, UnusableAnswer
from smokegate.reach import probe_target

from .conftest import ROOT, run_suite
from .hostile import CORPUS, PROBE_ONLY, Answer, HostileServer, hostile_server, raw
from .test_network_faults import target_for

TIMEOUT_S = 1.0
DOCUMENTED = (Inconclusive, UnusableAnswer, TargetUnreachable)
ALL = (*CORPUS, *PROBE_ONLY)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileServer]:
    with hostile_server(tmp_path_factory.mktemp("hostile-probe")) as running:
        yield running


@pytest.fixture(scope="module")
def target(server: HostileServer) -> Target:
    return target_for(server.url, server.ca_file, timeout_s=TIMEOUT_S)


def _send(target: Target, about: About, method: str) -> Exchange | BaseException:
    with Probe(target, about=about) as probe:
        try:
            return probe.request(method, "/api/plans", json={"a": 1} if method == "POST" else None)
        except DOCUMENTED as exc:
            return exc


@pytest.mark.parametrize("answer", ALL, ids=[a.name for a in ALL])
def test_every_answer_ends_in_an_exchange_or_a_documented_exception(
    server: HostileServer, target: Target, answer: Answer
) -> None:
    server.fixed = answer
    try:
        for about, method in ((About.BEHAVIOUR, "GET"), (About.RATE_LIMIT, "POST")):
            started = time.perf_counter()
            result = _send(target, about, method)  # anything else raised fails the test here
            # Two attempts of the timeout at most, and one Retry-After wait within max_wait_s.
            limit = 2 * TIMEOUT_S + target.security.rate_limit.max_wait_s + 1
            assert time.perf_counter() - started < limit, (answer.name, about)
            if isinstance(result, BaseException):
                assert str(result).strip() and "\n" not in str(result)[:200], (answer.name, result)
        server.start_run(0)  # reachability's first health answer is the hostile one too
        server.health_served = True
        reach = probe_target(target)
        assert reach.reachable or (reach.reason or "").strip(), (answer.name, reach)
    finally:
        server.fixed = None


_TOKEN = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters=":"),
                 min_size=1, max_size=20).map(str.encode)
_VALUE = st.binary(max_size=200).filter(lambda b: b"\r" not in b and b"\n" not in b)
_HEADERS = st.lists(st.tuples(st.sampled_from([b"location", b"content-type", b"content-encoding", b"set-cookie",
                                               b"retry-after", b"content-length", b"transfer-encoding",
                                               b"cf-mitigated", b"ratelimit"]) | _TOKEN, _VALUE), max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=st.integers(min_value=0, max_value=1200), headers=_HEADERS, body=st.binary(max_size=300))
def test_the_probe_raises_only_documented_exceptions_for_any_header_bytes(
    server: HostileServer, target: Target, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    head = b"HTTP/1.1 " + str(status).encode() + b" X\r\n" + b"".join(n + b": " + v + b"\r\n" for n, v in headers)
    server.fixed = Answer("generated", "", raw(head + b"connection: close\r\n\r\n" + body))
    try:
        for about in About:
            with Probe(target, about=about) as probe, contextlib.suppress(*DOCUMENTED):
                probe.get("/pricing")
    finally:
        server.fixed = None


def test_a_bot_challenge_in_front_of_the_health_endpoint_ends_the_run_with_one_message(
    server: HostileServer, target: Target, tmp_path: Path
) -> None:
    challenge = next(a for a in CORPUS if a.name == "cloudflare-challenge")
    server.fixed, server.health_served = challenge, True
    try:
        reach = probe_target(target)
        assert reach.reachable and reach.challenge is not None and "Cloudflare" in reach.challenge, reach
        run = run_suite(["tests/smoke", "--smokegate-config", str(ROOT / "smokegate.toml"), "--target", "local",
                         "--base-url", server.url, "--ca-bundle", server.ca_file], tmp_path, timeout=120)
    finally:
        server.fixed = None
    # Not "target does not serve the platform" (a fail): the platform may well be behind the challenge.
    assert run.gate["verdict"] == "error" and run.returncode == 4, run.output[-2000:]
    assert run.gate["reason"].startswith("Cloudflare's bot challenge (cf-mitigated: challenge) answered GET "
                                         "/api/health (403) instead of the app"), run.gate["reason"]
    assert set(run.outcomes.values()) == {"skipped"}


def test_issue_19s_location_is_not_a_crash_nor_a_finding(server: HostileServer, tmp_path: Path) -> None:
    """``Location: https:smokegate-redirect.evil.example`` (Next.js redirect() passing the return URL on) used
    to crash the open-redirect check (httpx.InvalidURL) and end every run in error; a browser resolves it
    on the same origin, so it is no open redirect either."""
    server.start_run(0)  # the first health answer healthy: reachability passes
    server.fixed = next(a for a in CORPUS if a.name == "location-scheme-without-slashes")
    try:
        run = run_suite(["tests/security/test_redirects.py", "--smokegate-config", str(ROOT / "smokegate.toml"),
                         "--target", "local", "--base-url", server.url, "--ca-bundle", server.ca_file],
                        tmp_path, timeout=120)
    finally:
        server.fixed = None
    assert run.outcomes == {"security/test_redirects.py::test_return_url_stays_on_site[sign-in]": "passed",
                            "security/test_redirects.py::test_return_url_stays_on_site[sign-out]": "passed"}, (
        run.output[-3000:])
    assert run.gate["verdict"] == "pass" and run.returncode == 0
