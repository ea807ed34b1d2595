"""Network faults are not findings: the probe, reachability, sslyze and the bursts under chaos.

Real sockets on loopback: the shared testbed behind an in-process chaos proxy driven by "reset
the next N connections" (deterministic), or by seeded rates where a whole scan is exercised; and
the misbehaving servers of ``badserver.py`` for what is the target's fault, not the network's.
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from traceback import TracebackException

import pytest

from smokegate.checks import ratelimit, tls
from smokegate.checks.errorrate import ErrorTally
from smokegate.config import Target, load_config, resolve_target
from smokegate.failures import Inconclusive
from smokegate.probe import Probe, TargetUnreachable, UnusableAnswer
from smokegate.reach import probe_target
from smokegate.security import tls_scan
from smokegate.synthetic.cert_pin import TrustError, spki_pin
from smokegate.testbed.certs import Certificates
from smokegate.testbed.chaos import ChaosProxy, ChaosSettings
from smokegate.testbed.control import RunningTestbed

from .badserver import bad_https_server
from .conftest import ROOT


def target_for(url: str, ca_file: str, timeout_s: float = 5.0) -> Target:
    target = resolve_target(load_config(ROOT / "smokegate.toml"), "local", url)
    return target.model_copy(update={"ca_bundle": ca_file, "timeout_s": timeout_s})


@pytest.fixture
def chaos(testbed: RunningTestbed) -> Iterator[ChaosProxy]:
    """The healthy testbed behind a chaos proxy that does nothing until told."""
    testbed.set_faults([])
    with ChaosProxy(("127.0.0.1", int(testbed.url.rsplit(":", 1)[1]))).running() as proxy:
        yield proxy


@pytest.fixture
def via_chaos(chaos: ChaosProxy, testbed: RunningTestbed) -> Target:
    return target_for(f"https://localhost:{chaos.listen_port}", testbed.ca_file)


# -- the probe ------------------------------------------------------------------------------------


def test_one_reset_is_retried_and_both_requests_counted(chaos: ChaosProxy, via_chaos: Target) -> None:
    counted = []
    with Probe(via_chaos, on_request=lambda: counted.append(1)) as probe:
        chaos.reset_next(1)
        answer = probe.get("/api/health")
    assert answer.status == 200 and answer.attempts == 2
    assert probe.requests_sent == 2 and len(counted) == 2 and probe.retries == 1
    # The timing is the successful attempt's: a fresh connection, with its own handshake.
    assert answer.timing.fresh and answer.timing.tls_ms is not None


def test_a_reset_in_the_middle_of_the_answer_is_retried_for_get(chaos: ChaosProxy, via_chaos: Target) -> None:
    with Probe(via_chaos) as probe:
        # Past the TLS handshake (about 2 kB from the server) and into the answer.
        chaos.reset_next(1, when="mid", after_bytes=3000)
        answer = probe.get("/pricing")
    assert answer.status == 200 and "Executive plan" in answer.text and answer.attempts == 2


def test_two_resets_are_inconclusive_not_a_finding(chaos: ChaosProxy, via_chaos: Target) -> None:
    with Probe(via_chaos) as probe:
        chaos.reset_next(2)
        with pytest.raises(Inconclusive) as raised:
            probe.get("/api/plans")
    message = str(raised.value)
    assert message.startswith("could not be determined: connection reset by peer (GET https://localhost:")
    assert message.endswith("/api/plans, 2 attempts)")
    assert not isinstance(raised.value, AssertionError), "an assertion would be read as a finding"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__, (
        "not chained: the step was retried, nothing may retry the whole check again")
    assert probe.requests_sent == 2


def test_a_stall_times_out_twice_within_twice_the_timeout(chaos: ChaosProxy, testbed: RunningTestbed) -> None:
    target = target_for(f"https://localhost:{chaos.listen_port}", testbed.ca_file, timeout_s=0.5)
    chaos.stall_next(2)
    started = time.perf_counter()
    with Probe(target) as probe, pytest.raises(Inconclusive, match=r"timed out after 0.5 s connecting .*2 attempts"):
        probe.get("/api/health")
    assert time.perf_counter() - started < 2.5


def test_a_post_cut_after_its_answer_started_is_not_sent_twice(chaos: ChaosProxy, via_chaos: Target) -> None:
    def post() -> None:
        with Probe(via_chaos) as probe:
            probe.request("POST", "/api/waitlist", json={"email": "smokegate@example.com"})

    before = chaos.stats.server_bytes
    post()
    exchange_bytes = chaos.stats.server_bytes - before  # handshake, headers and body on a fresh connection
    # Cut in the last record, the body's: the status line has arrived, the server may have acted.
    chaos.reset_next(1, when="mid", after_bytes=exchange_bytes - 5)
    with pytest.raises(Inconclusive, match=r"the connection closed in the middle of the answer \(received 0 bytes, "
                                           r"expected 11\) after the answer had started \(POST https://localhost:\d+"
                                           r"/api/waitlist; not retried: POST is not idempotent\)"):
        post()


def test_refused_is_not_retried(tmp_path: Path, closed_port: int) -> None:
    with Probe(target_for(f"https://127.0.0.1:{closed_port}", "system")) as probe, \
            pytest.raises(TargetUnreachable, match=r"^connection refused$"):
        probe.get("/api/health")
    assert probe.requests_sent == 1 and probe.retries == 0


def test_dns_failure_is_not_retried() -> None:
    # Longer than any DNS name may be: the resolver refuses it without a packet leaving the machine.
    host = "x." * 127 + "invalid"
    with Probe(target_for(f"https://{host}", "system")) as probe, \
            pytest.raises(TargetUnreachable, match=r"^DNS lookup failed \(Name or service not known\)$"):
        probe.get("/api/health")
    assert probe.requests_sent == 1


def test_an_untrusted_certificate_is_not_retried(testbed: RunningTestbed) -> None:
    with Probe(target_for(testbed.url, "system")) as probe, \
            pytest.raises(TargetUnreachable, match="certificate not trusted"):
        probe.get("/api/health")
    assert probe.requests_sent == 1


def test_a_50_mb_answer_is_cut_at_the_cap_with_bounded_memory(tmp_path: Path) -> None:
    with bad_https_server("huge", tmp_path) as server, Probe(target_for(server.url, server.ca_file)) as probe:
        tracemalloc.start()
        try:
            with pytest.raises(UnusableAnswer, match=r"200 with more than 16 MiB \(declared length 52428800\)"):
                probe.get("/")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 24 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB: the answer was not read bounded"
    assert probe.requests_sent == 1, "an oversized answer is the target's doing: not retried"


def test_a_body_that_never_ends_is_cut_at_the_timeout(tmp_path: Path) -> None:
    with bad_https_server("endless", tmp_path) as server, \
            Probe(target_for(server.url, server.ca_file, timeout_s=1)) as probe:
        started = time.perf_counter()
        with pytest.raises(UnusableAnswer, match=r"the body did not end within 1 s \(\d+ bytes received\)"):
            probe.get("/")
    assert time.perf_counter() - started < 2 and probe.requests_sent == 1


def test_the_browsers_certificate_pin_survives_one_reset(chaos: ChaosProxy, testbed: RunningTestbed,
                                                         tmp_path: Path) -> None:
    url = f"https://localhost:{chaos.listen_port}"
    chaos.reset_next(1)
    assert spki_pin(url, testbed.ca_file) == spki_pin(testbed.url, testbed.ca_file)
    chaos.reset_next(2)
    with pytest.raises(Inconclusive, match=r"the certificate of https://localhost:\d+ \(to pin it for the browser\): "
                                           r".*reset.* \(2 attempts\)"):
        spki_pin(url, testbed.ca_file)
    # A CA that does not sign the certificate lasts: the user's to fix, not retried.
    other = Certificates.create(tmp_path).ca_file
    before = chaos.stats.connections
    with pytest.raises(TrustError, match="certificate verify failed"):
        spki_pin(url, str(other))
    assert chaos.stats.connections == before + 1


# -- reachability ----------------------------------------------------------------------------------


def test_a_single_reset_does_not_make_the_target_unreachable(chaos: ChaosProxy, via_chaos: Target) -> None:
    chaos.reset_next(1)
    reach = probe_target(via_chaos)
    assert reach.reachable and reach.status == 200 and reach.requests == 2 and reach.version


def test_a_reset_that_persists_makes_it_unreachable(chaos: ChaosProxy, via_chaos: Target) -> None:
    chaos.reset_next(2)
    reach = probe_target(via_chaos)
    assert not reach.reachable and reach.requests == 2
    assert reach.reason is not None and reach.reason.startswith("connection reset by peer (GET https://localhost:")


def test_a_redirect_loop_makes_it_unreachable(tmp_path: Path) -> None:
    with bad_https_server("loop", tmp_path) as server:
        reach = probe_target(target_for(server.url, server.ca_file))
    assert not reach.reachable
    assert reach.reason == ("redirect loop: /api/health -> /api/health (307); "
                            "a browser gives up with too many redirects")


# -- sslyze through chaos ------------------------------------------------------------------------------


def test_scan_through_resets_states_nothing_false(chaos: ChaosProxy, testbed: RunningTestbed) -> None:
    # Far more than a flaky network (8 %): every part of the scan meets resets, and none of them
    # becomes a statement about the healthy server.
    chaos.configure(ChaosSettings(reset_rate=0.08, seed=5))
    result = tls_scan.scan("localhost", chaos.listen_port, ca_file=testbed.ca_file, timeout_s=5)
    resets = chaos.stats.reset_at_accept + chaos.stats.reset_mid_stream
    assert resets > 20, chaos.stats
    assert result.error is None
    # Which connections the proxy resets depends on how sslyze's threads interleave, so a part may
    # stay undetermined after its retry; what must never happen is a false statement.
    truth = {"SSLv2": False, "SSLv3": False, "TLSv1": False, "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": True}
    claimed = {v: offered for v, offered in result.versions.items() if v not in result.version_unknown}
    assert claimed == {v: truth[v] for v in claimed}, (result.versions, result.version_unknown)
    assert result.cert_unknown is not None or result.trusted
    assert result.profile_issues == {}, result.profile_issues
    assert result.retried, "resets at this rate cut off handshakes: some enumeration must have been retried"


def test_scan_through_resets_still_finds_a_legacy_version(chaos: ChaosProxy, testbed: RunningTestbed) -> None:
    testbed.set_faults(["tls-legacy-versions"])
    try:
        chaos.configure(ChaosSettings(reset_rate=0.08, seed=6))
        result = tls_scan.scan("localhost", chaos.listen_port, ca_file=testbed.ca_file, timeout_s=5)
    finally:
        testbed.set_faults([])
    assert result.versions["TLSv1"] and result.versions["TLSv1.1"], result.versions
    # The profile names the legacy versions, or says it could not be determined (when the parts it
    # reads were cut off twice): never that the server complies.
    assert "tls_versions" in result.profile_issues or result.profile_unknown is not None, result.profile_issues


@pytest.mark.parametrize(("version", "attempts", "expected"), [
    # Accepted once is accepted, whatever else happened.
    ("TLSv1.2", [{"A": "cut-off", "B": "refused"}, {"A": "accepted", "B": "refused"}], True),
    # The server's own refusals, no cut-off: not offered, no retry needed.
    ("TLSv1.2", [{"A": "refused", "B": "refused"}], False),
    # Cut off once, refused by the server the second time: refused.
    ("TLSv1.3", [{"A": "cut-off", "B": "refused"}, {"A": "refused", "B": "refused"}], False),
    # Cut off twice while the server refused the others: the server's consistent answer.
    ("TLSv1.2", [{"A": "cut-off", "B": "refused"}, {"A": "cut-off", "B": "refused"}], False),
    # Every handshake cut off, twice: nothing the server said; not offered would be a claim.
    ("TLSv1.3", [{"A": "cut-off", "B": "cut-off"}, {"A": "cut-off", "B": "cut-off"}], None),
    # ...but for a legacy version, never completing a handshake is refusing it.
    ("SSLv3", [{"A": "cut-off", "B": "cut-off"}, {"A": "cut-off", "B": "cut-off"}], False),
    # Cut off and no second attempt to tell: could not be determined.
    ("TLSv1", [{"A": "cut-off", "B": "refused"}], None),
])
def test_a_cut_off_handshake_is_not_a_rejected_cipher(
    version: str, attempts: list[dict[str, tls.Outcome]], expected: bool | None
) -> None:
    result = tls.judge_version(version, attempts, retry_error="the retry could not start")
    assert result.supported is expected
    assert (result.unknown is not None) == (expected is None)
    if result.unknown is not None:
        assert result.unknown.network and version in result.unknown.reason


@pytest.mark.parametrize(("version", "outcomes", "expected"), [
    ("TLSv1.2", ["accepted"], True),
    ("TLSv1.2", ["cut-off", "accepted"], True),
    ("TLSv1", ["refused"], False),
    ("TLSv1.3", ["cut-off", "refused"], False),
    # Cut off on every fresh connection: undetermined where "not offered" is a finding ...
    ("TLSv1.3", ["cut-off", "cut-off"], None),
    # ... and refused where refusing is the healthy answer.
    ("TLSv1.1", ["cut-off", "cut-off"], False),
])
def test_a_version_is_judged_by_its_own_client_hellos(
    version: str, outcomes: list[tls.Outcome], expected: bool | None
) -> None:
    result = tls.judge_probe(version, [(o, "why") for o in outcomes])
    assert result.supported is expected and (result.unknown is not None) == (expected is None)


def test_the_probe_decides_and_the_enumeration_completes_it() -> None:
    accepted, refused, unknown = (tls.VersionResult(True), tls.VersionResult(False),
                                  tls.VersionResult(None, unknown=tls.Unknown("cut")))
    enumerated = tls.VersionResult(True, frozenset({"AES"}))
    assert tls.merge_versions(refused, enumerated).accepted == {"AES"}  # accepted by either is accepted
    assert tls.merge_versions(refused, tls.VersionResult(False)) == refused
    assert tls.merge_versions(unknown, tls.VersionResult(False)).supported is False  # the probe could not tell
    assert tls.merge_versions(unknown, None) is unknown and tls.merge_versions(accepted, None).supported


@pytest.mark.parametrize(("version", "resets", "expected"), [
    ("TLSv1.2", 1, True), ("TLSv1.3", 1, True), ("TLSv1.3", 2, None), ("TLSv1", 2, False), ("TLSv1", 0, False),
])
def test_a_reset_costs_one_fresh_connection_not_a_protocol(
    chaos: ChaosProxy, version: str, resets: int, expected: bool | None
) -> None:
    """Issue 19 item 6: per-connection retries, so a reset almost never leaves a protocol undetermined; a
    version is decided by a ClientHello or two, not by the hundreds of handshakes of an enumeration."""
    chaos.reset_next(resets, "accept")
    result = tls_scan.probe_versions("localhost", chaos.listen_port, 5, [version])[version]
    assert result.supported is expected, result
    assert chaos.stats.reset_at_accept == resets
    assert chaos.stats.connections <= 2, chaos.stats  # one ClientHello, and one more after a reset


def test_cut_off_messages_are_told_from_the_servers_refusals() -> None:
    outcomes = tls.handshake_outcomes(["A"], [
        ("B", "Server rejected the connection"),
        ("C", "Connection to server timed out during the TLS handshake"),
        ("D", "Server interrupted the TLS handshake"),
        ("E", "TLS alert: handshake failure"),
    ])
    assert outcomes == {"A": "accepted", "B": "cut-off", "C": "cut-off", "D": "refused", "E": "refused"}


def _trace(exc: BaseException) -> TracebackException:
    return TracebackException.from_exception(exc)


@dataclass
class _Attempt:
    error_reason: str
    error_trace: TracebackException


def test_a_scan_command_failing_on_the_network_is_undetermined_not_a_bug() -> None:
    from sslyze.errors import ServerRejectedConnection
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError as reset_error:
            raise ServerRejectedConnection(ServerNetworkLocation("localhost", 443),
                                           ServerNetworkConfiguration("localhost"),
                                           "Server rejected the connection") from reset_error
    except ServerRejectedConnection as exc:
        reset = _Attempt("BUG_IN_SSLYZE", _trace(exc))
    network = tls.command_unknown("certificate_info", [reset, reset])
    assert network.network and "scan failed twice: BUG_IN_SSLYZE" in network.reason
    # sslyze hides some resets behind its own errors: two different failures are not a bug.
    hidden = _Attempt("BUG_IN_SSLYZE", _trace(ValueError("Should never happen")))
    assert tls.command_unknown("certificate_info", [reset, hidden]).network
    # The same non-network error twice is a bug in the scanner: not the network, not the target.
    bug = _Attempt("BUG_IN_SSLYZE", _trace(KeyError("oops")))
    assert not tls.command_unknown("robot", [bug, bug]).network


# -- bursts ----------------------------------------------------------------------------------------


@dataclass
class _Answer:
    status: int


def test_a_burst_counts_what_the_network_lost_apart_and_goes_on() -> None:
    count = 0
    lock = threading.Lock()

    def send() -> _Answer:
        nonlocal count
        with lock:
            count += 1
            n = count
        if n in (3, 7):
            raise Inconclusive("connection reset by peer (POST /api/waitlist, 2 attempts)")
        return _Answer(429 if n > 30 else 200)

    burst = ratelimit.run_burst(send, cap=36, concurrency=5)
    assert burst.not_sent == ["connection reset by peer (POST /api/waitlist, 2 attempts)"] * 2
    assert not burst.errors and burst.limited_at is not None and burst.limited_at > 30
    assert burst.sent == burst.answered + len(burst.not_sent)
    assert ratelimit.undetermined(burst, 30) is None


def test_a_burst_too_short_of_answers_cannot_judge_the_limit() -> None:
    calls = iter(range(1000))

    def send() -> _Answer:
        if next(calls) % 2:
            raise Inconclusive("timed out after 10 s connecting (POST /api/waitlist, 2 attempts)")
        return _Answer(200)

    burst = ratelimit.run_burst(send, cap=36, concurrency=1)
    why = ratelimit.undetermined(burst, 30)
    assert why is not None and why.startswith("only 18 of 36 requests were answered, fewer than the limit of 30")


def test_a_burst_answering_enough_without_429_is_still_a_finding() -> None:
    burst = ratelimit.run_burst(lambda: _Answer(200), cap=36, concurrency=5)
    assert burst.first_429 is None and ratelimit.undetermined(burst, 30) is None


def test_the_error_rate_judges_answers_only() -> None:
    outcomes: list[tuple[str, int | None, str | None]] = [("/", 200, None)] * 98 + [
        ("/api/status", None, "connection reset by peer (GET /api/status, 2 attempts)"), ("/", 502, None)]
    tally = ErrorTally.of(outcomes)
    assert (tally.requests, tally.answered, len(tally.not_sent)) == (100, 99, 1)
    assert tally.rate == pytest.approx(1 / 99)
    assert tally.undetermined() is None
    assert tally.describe() == (
        "1 of 99 answers were 5xx: /: 502 x1; 1 request(s) could not be sent and are not counted "
        "(/api/status: connection reset by peer (GET /api/status, 2 attempts) x1)")
    lost = ErrorTally.of([("/", None, "timed out")] * 60 + [("/", 200, None)] * 40)
    assert lost.undetermined() == "60 of 100 requests could not be sent and only 40 were answered: /: timed out x60"
    assert ErrorTally.of([("/", 200, None)] * 100).rate == 0.0
