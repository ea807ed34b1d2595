"""The bad-network cases of the bad-input matrix (issue 8): the smoke suite against targets the network
or the server makes unusable, run as CI runs it.

Each case asserts the exit code, the gate.json verdict, exactly one clear message (one failed check,
every other skipped with the same reason, said a handful of times), no traceback, and a run bounded
by its own timeouts (timeout_s = 1 s here: two attempts at most, then the verdict).  An unreachable
target is ``fail`` (the deployment is down); a check the network kept from an answer is "could not
be determined", which the gate turns into ``error`` (see the last test).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smokegate.testbed.control import RunningTestbed

from .badserver import bad_https_server
from .conftest import ROOT, SuiteRun, run_suite

pytestmark = pytest.mark.selftest_slow

TIMEOUT_S = 1
RUN_TIMEOUT_S = 120  # the self-test's own limit on one run: a hanging run fails here instead
REACHABILITY = "smoke/test_reachability.py::test_target_is_reachable"


def quick_config(tmp_path: Path) -> Path:
    """The real config plus a target with a 1 s timeout."""
    path = tmp_path / "smokegate.toml"
    path.write_text((ROOT / "smokegate.toml").read_text()
                    + f'\n[targets.quick]\nbase_url = "https://localhost:1"\ntimeout_s = {TIMEOUT_S}\n')
    return path


def run_smoke(tmp_path: Path, base_url: str, ca_bundle: str, *extra: str) -> tuple[SuiteRun, float]:
    started = time.perf_counter()
    run = run_suite(["tests/smoke", "--smokegate-config", str(quick_config(tmp_path)), "--target", "quick",
                     "--base-url", base_url, "--ca-bundle", ca_bundle, *extra], tmp_path / "reports",
                    timeout=RUN_TIMEOUT_S)
    return run, time.perf_counter() - started


def assert_unreachable(run: SuiteRun, wall_s: float, reason: str) -> None:
    """Exit 1, verdict fail, one failure saying ``target unreachable: <reason>``, the rest skipped."""
    assert run.gate.get("verdict") == "fail", run.output[-3000:]
    assert run.returncode == 1
    assert run.gate["reason"].startswith(f"target unreachable: {reason}"), run.gate["reason"]
    assert run.with_outcome("failed") == {REACHABILITY}, run.output[-3000:]
    assert run.message(REACHABILITY).startswith(f"target unreachable: {reason}")
    others = {c: o for c, o in run.outcomes.items() if c != REACHABILITY}
    assert len(others) > 20 and set(others.values()) == {"skipped"}, others
    assert "Traceback" not in run.output
    assert run.output.count("___ test_") == 1, "one failure section, not one per check"
    assert run.output.count(f"target unreachable: {reason}") <= 6, run.output
    # Bounded by its own timeouts: two attempts of 1 s at most before the verdict.
    assert run.gate["duration_s"] <= 2 * TIMEOUT_S + 10, run.gate["duration_s"]
    assert wall_s < RUN_TIMEOUT_S


def test_dns_failure(tmp_path: Path) -> None:
    # A name longer than DNS allows: the resolver fails it without a packet leaving the machine.
    host = "x." * 127 + "invalid"
    run, wall = run_smoke(tmp_path, f"https://{host}", "system")
    assert_unreachable(run, wall, "DNS lookup failed (Name or service not known)")


def test_refused_port(tmp_path: Path, closed_port: int) -> None:
    run, wall = run_smoke(tmp_path, f"https://127.0.0.1:{closed_port}", "system")
    assert_unreachable(run, wall, "connection refused")


def test_server_that_accepts_and_never_answers(tmp_path: Path) -> None:
    with bad_https_server("stall", tmp_path / "server") as server:
        run, wall = run_smoke(tmp_path, server.url, server.ca_file)
    assert_unreachable(run, wall, f"timed out after {TIMEOUT_S} s connecting (GET {server.url}/api/health, 2 attempts)")
    assert server.connections == 2, "one retry, no more"


def test_plain_http_on_the_https_url(tmp_path: Path, testbed: RunningTestbed) -> None:
    http_port = testbed.http_url.rsplit(":", 1)[1]
    run, wall = run_smoke(tmp_path, f"https://localhost:{http_port}", testbed.ca_file)
    # OpenSSL says WRONG_VERSION_NUMBER; the run asks the port once in plain HTTP and says what answers.
    assert_unreachable(run, wall, f"TLS handshake failed: localhost:{http_port} answers plain HTTP (HTTP/1.1 308 "
                                  "Permanent Redirect), not HTTPS: the URL's port is an HTTP port")


def test_body_that_never_ends(tmp_path: Path) -> None:
    with bad_https_server("endless", tmp_path / "server") as server:
        run, wall = run_smoke(tmp_path, server.url, server.ca_file)
    assert_unreachable(run, wall, f"no usable answer: GET {server.url}/api/health answered 200 but the body did not "
                                  f"end within {TIMEOUT_S} s")


def test_50_mb_answer(tmp_path: Path) -> None:
    with bad_https_server("huge", tmp_path / "server") as server:
        run, wall = run_smoke(tmp_path, server.url, server.ca_file)
    assert_unreachable(run, wall, f"no usable answer: GET {server.url}/api/health answered 200 with more than 16 MiB")


def test_redirect_loop(tmp_path: Path) -> None:
    with bad_https_server("loop", tmp_path / "server") as server:
        run, wall = run_smoke(tmp_path, server.url, server.ca_file)
    assert_unreachable(run, wall, "redirect loop: /api/health -> /api/health (307)")


@pytest.fixture(scope="module")
def chaos_testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTestbed]:
    with RunningTestbed.start(tmp_path_factory.mktemp("chaos-testbed"), chaos="seed=1") as running:
        yield running


def test_a_reset_on_the_reachability_probe_does_not_end_the_run(
    tmp_path: Path, chaos_testbed: RunningTestbed
) -> None:
    # The run's first connection is the reachability probe's: it is reset, once.
    chaos_testbed.chaos(clear=True, reset_next=1)
    run, _ = run_smoke(tmp_path, chaos_testbed.url, chaos_testbed.ca_file, "--expect-version", chaos_testbed.version)
    assert chaos_testbed.chaos()["https"]["stats"]["reset_at_accept"] >= 1
    assert run.gate.get("verdict") == "pass" and run.returncode == 0, run.output[-3000:]
    assert not run.with_outcome("failed") and not run.with_outcome("skipped"), run.outcomes


@pytest.fixture(scope="module")
def health_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SuiteRun]:
    """A target whose health answers and every other request is reset: the network, for the checks.

    One run, read by the two tests below."""
    tmp_path = tmp_path_factory.mktemp("health-only")
    with bad_https_server("health-only", tmp_path / "server") as server:
        yield run_smoke(tmp_path, server.url, server.ca_file)[0]


def test_checks_the_network_kept_from_an_answer_claim_nothing(health_only: SuiteRun) -> None:
    run = health_only
    failed = run.with_outcome("failed")
    assert REACHABILITY not in failed and run.outcomes[REACHABILITY] == "passed"
    assert failed, run.output[-3000:]
    for check in failed:
        message = run.message(check)
        # Whatever prefix the report gives the exception, the message itself claims nothing.
        assert message.removeprefix("smokegate.failures.Inconclusive: ").startswith("could not be determined: "), (
            check, message)
    rate = run.message("smoke/test_error_rate.py::test_error_rate_under_budget")
    assert "could not be sent" in rate and "error rate" in rate, rate
    assert "Traceback" not in run.output


def test_checks_the_network_kept_from_an_answer_make_the_verdict_error(health_only: SuiteRun) -> None:
    run = health_only
    assert {c["failure_kind"] for c in run.gate["failed"]} == {"network"}, run.gate["failed"]
    assert run.gate["verdict"] == "error", run.gate["verdict"]
