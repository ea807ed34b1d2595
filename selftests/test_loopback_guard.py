"""The loopback guard the self-tests and ``make soak`` run under: nothing reaches past this machine.

Issue 24's soak called ``https://api.clerk.com`` because it did not hand the testbed's Clerk URL to
the suite; under the guard that lookup is refused where it happens, logged, and fails the run's test.
"""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from smokegate.testbed import loopback
from smokegate.testbed.control import RunningTestbed

from .conftest import cli_for, env_for, run_suite

CLERK_CHECK = "tests/synthetic/test_clerk_sign_in.py::test_ticket_sign_in_reaches_dashboard"


@pytest.fixture
def own_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A log of this test's own: what it provokes on purpose must not fail it through the autouse check."""
    path = tmp_path / "loopback.jsonl"
    monkeypatch.setenv(loopback.LOG_ENV, str(path))
    return path


def test_a_lookup_or_connection_past_loopback_is_refused_and_logged(own_log: Path) -> None:
    with pytest.raises(httpx.ConnectError, match=r"loopback guard: api\.clerk\.com is not on this machine"):
        httpx.get("https://api.clerk.com/v1/users", timeout=2)
    probe = socket.socket()
    with pytest.raises(ConnectionRefusedError, match=r"loopback guard: 192\.0\.2\.1 is not loopback"):
        probe.connect(("192.0.2.1", 443))  # TEST-NET-1, never routed
    probe.close()
    refused, _ = loopback.read_log(own_log)
    assert [(r["event"], r["target"]) for r in refused] == [
        ("socket.getaddrinfo", "api.clerk.com"), ("socket.connect", "192.0.2.1:443")]
    assert all(r["where"] for r in refused)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "0.0.0.0", "10.0.0.1", socket.gethostname(),
                                  "a" * 300])
def test_lookups_that_stay_on_this_machine_are_let_through(host: str) -> None:
    """An IP address is its own answer: looking it up sends nothing (connecting to it is judged apart)."""
    assert loopback.needs_no_network(host)


@pytest.mark.parametrize("host", ["api.clerk.com", "example.test", "bogus.invalid", "x.localhost"])
def test_lookups_that_would_leave_it_are_not(host: str) -> None:
    assert not loopback.needs_no_network(host)


@pytest.mark.parametrize(("host", "local"), [("127.0.0.1", True), ("::1", True), ("0.0.0.0", True),
                                             ("10.0.0.1", False), ("192.0.2.1", False), ("2001:db8::1", False)])
def test_only_loopback_addresses_may_be_connected_to(host: str, local: bool) -> None:
    assert loopback.is_local_address(host) is local


def test_a_suite_run_without_the_testbeds_clerk_url_is_caught(
    healthy_testbed: RunningTestbed, tmp_path: Path, own_log: Path
) -> None:
    """The soak's bug, replayed: the Clerk check asks Clerk's real Backend API, and the guard says so."""
    env = {k: v for k, v in env_for(healthy_testbed).items() if k != "CLERK_API_URL"}
    run = run_suite([CLERK_CHECK, *cli_for(healthy_testbed), "--no-history"], tmp_path / "reports", env=env,
                    timeout=300)
    refused, _ = loopback.read_log(own_log)
    assert ("socket.getaddrinfo", "api.clerk.com") in {(r["event"], r["target"]) for r in refused}, run.output[-2000:]
    assert run.gate["verdict"] != "pass"
    assert "loopback guard: api.clerk.com" in run.output or "api.clerk.com" in str(run.gate), run.output[-2000:]


def test_the_same_run_with_the_testbeds_environment_stays_on_loopback(
    healthy_testbed: RunningTestbed, tmp_path: Path, own_log: Path
) -> None:
    """What make demo and make soak hand the suite (the testbed's Clerk URL included) is enough."""
    run = run_suite([CLERK_CHECK, *cli_for(healthy_testbed), "--no-history"], tmp_path / "reports",
                    env=env_for(healthy_testbed), timeout=300)
    assert run.gate["verdict"] == "pass", run.output[-2000:]
    assert loopback.read_log(own_log)[0] == []
