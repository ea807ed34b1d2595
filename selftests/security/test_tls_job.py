"""The TLS scan in a process of its own (smokegate.security.tls_job): when it starts, that its answer
is the in-process scan's, and that a job gone wrong leaves the check to scan in process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from smokegate.security.tls_job import ScanJob, ScanRequest, start_index, worth_a_process
from smokegate.security.tls_scan import scan
from smokegate.testbed.control import RunningTestbed

from ..conftest import ROOT, cli_for, env_for, run_suite

M, T, N = "measures", "tls", "neither"  # the three kinds of check, as table letters


def _index(*kinds: str) -> int | None:
    return start_index([k == M for k in kinds], [k == T for k in kinds])


@pytest.mark.parametrize(("kinds", "expected"), [
    ((N, M, N, N, T, T), 2),     # after the last measuring check before the scan is read
    ((M, M, N, T), 2),
    ((N, N, T, M), 0),           # a measuring check after the TLS checks: the scan is joined by then
    ((M, T, N), None),           # nothing between: the first TLS check scans, as without a job
    ((T, N, M), None),
    ((N, M, N), None),           # no TLS check: no scan
    ((), None),
])
def test_the_scan_starts_after_the_last_measurement_before_it_is_read(kinds: tuple[str, ...],
                                                                       expected: int | None) -> None:
    assert _index(*kinds) == expected


@pytest.mark.parametrize(("setup_ms", "cpus", "loaded", "expected"), [
    (None, 1, False, False), (3.0, 1, False, False), (19.9, 1, False, False),  # one core, a target close by
    (20.0, 1, False, True), (60.0, 1, False, True),                            # one core, a wait worth hiding
    (None, 2, False, True), (3.0, 2, False, True), (60.0, 8, False, True),     # a second core
    (3.0, 2, True, False), (3.0, 8, True, False),    # sslyze already loaded (watch's fork server)...
    (30.0, 2, True, True),                           # ...unless the scan waits on the network
])
def test_the_job_runs_where_a_second_core_or_a_network_wait_pays_for_it(setup_ms: float | None, cpus: int,
                                                                        loaded: bool, expected: bool) -> None:
    assert worth_a_process(setup_ms, cpus, sslyze_loaded=loaded) is expected


def _request(testbed: RunningTestbed) -> ScanRequest:
    parts = urlsplit(testbed.url)
    return ScanRequest(host=parts.hostname or "", port=parts.port or 443, ca_file=testbed.ca_file,
                       profile="intermediate", timeout_s=5.0)


def test_the_jobs_scan_is_the_in_process_scan(healthy_testbed: RunningTestbed) -> None:
    request = _request(healthy_testbed)
    job = ScanJob.start(request)
    assert job is not None
    background = job.result()
    here = scan(request.host, request.port, ca_file=request.ca_file, timeout_s=request.timeout_s)
    assert background is not None, "the job gave no scan"
    assert (background.trusted, background.versions, background.profile_issues, background.error,
            background.unknown) == (here.trusted, here.versions, here.profile_issues, here.error, here.unknown)
    assert [c.fingerprint(c.signature_hash_algorithm) for c in background.chain if c.signature_hash_algorithm] == \
        [c.fingerprint(c.signature_hash_algorithm) for c in here.chain if c.signature_hash_algorithm]
    assert background.chain and background.trusted


@pytest.mark.parametrize("command", [
    [sys.executable, "-c", "import sys; sys.exit(3)"],                 # died
    [sys.executable, "-c", "print('not a scan')"],                     # answered something else
])
def test_a_job_gone_wrong_gives_no_scan(command: list[str]) -> None:
    request = ScanRequest(host="localhost", port=1, ca_file=None, profile="intermediate", timeout_s=1.0)
    job = ScanJob(request, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
    assert job.result() is None


def test_a_job_past_its_deadline_is_killed() -> None:
    request = ScanRequest(host="localhost", port=1, ca_file=None, profile="intermediate", timeout_s=1.0)
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdout=subprocess.PIPE)
    started = time.monotonic()
    assert ScanJob(request, process, deadline_s=0.5).result() is None
    assert time.monotonic() - started < 5
    assert process.returncode is not None, "the overrunning job was left running"


def test_a_scan_in_the_background_judges_as_the_scan_in_process(tmp_path: Path) -> None:
    """Through the chaos proxy (25 ms per connection) the target is network-bound, so the run scans
    in the background from the first check after the last measurement; the verdicts are the
    in-process scan's: the fault's checks fail, every other TLS check passes."""
    from smokegate.config import load_config, resolve_target
    from smokegate.reach import probe_target
    from smokegate.security.tls_job import network_bound
    from smokegate.testbed import faults

    fault = faults.CATALOG["tls-legacy-versions"]
    with RunningTestbed.start(tmp_path / "tb", chaos="delay=25,seed=3", faults=[fault.name]) as testbed:
        target = resolve_target(load_config(ROOT / "smokegate.toml"), "local", testbed.url)
        reach = probe_target(target.model_copy(update={"ca_bundle": testbed.ca_file}))
        assert network_bound(reach.setup_ms), f"25 ms per connection, yet set-up took {reach.setup_ms} ms"
        # The routing checks measure nothing: the scan runs in the background beside them.
        run = run_suite(["tests/smoke/test_health.py", "tests/smoke/test_routing.py", "tests/security/test_tls.py",
                         *cli_for(testbed)], tmp_path / "reports", env=env_for(testbed))
    tls_checks = {c for c in run.outcomes if "test_tls.py" in c}
    assert set(fault.catches) <= tls_checks, run.output[-2000:]
    assert run.with_outcome("failed") == set(fault.catches), run.output[-3000:]
