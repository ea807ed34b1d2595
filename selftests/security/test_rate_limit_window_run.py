"""The rate limit's documented window, end to end: from smokegate.toml to the verdict.

A burst the target answered more slowly than ``[security.rate_limit] window_s``, met by no 429, cannot show
whether there is a limit (a limiter counting in windows may have seen it in three, none over the limit). The
logic is unit-tested with an injected clock (test_ratelimit_tls.py); here a real run reads the key from the
config file and a limiter-less route (``ratelimit-off``) is judged by it: with a window shorter than any burst
can be, every check that reads the burst is "could not be determined" and the verdict ERROR, never FAIL. The
same fault with the testbed's documented 3 s window is the fault matrix's finding (ratelimit-off).
"""

from __future__ import annotations

import re
from pathlib import Path

from smokegate.testbed.control import RunningTestbed

from ..conftest import ROOT, cli_for, env_for, run_suite

BURST_CHECKS = ("security/test_rate_limit.py::test_burst_is_rate_limited",
                "security/test_rate_limit.py::test_429_says_when_to_retry",
                "security/test_rate_limit.py::test_429_is_private_and_clean",
                "security/test_rate_limit.py::test_limit_lifts_after_retry_after",
                "security/test_rate_limit_bypass.py::test_limit_not_bypassed_by_client_ip_headers")


def test_a_burst_slower_than_the_configured_window_is_not_a_finding(tmp_path: Path) -> None:
    config = (ROOT / "smokegate.toml").read_text()
    # The local target's window, as the user would write it: 1 ms, shorter than any burst of 21 requests.
    local, count = re.subn(r"(\[targets\.local\.security\.rate_limit\][^\[]*?)window_s = 3\b", r"\1window_s = 0.001",
                           config)
    assert count == 1, "the local target's [security.rate_limit] window_s = 3 moved: this test edits it"
    (tmp_path / "smokegate.toml").write_text(local)
    with RunningTestbed.start(tmp_path / "tb", faults=["ratelimit-off"]) as testbed:
        run = run_suite(["tests/security/test_rate_limit.py", "tests/security/test_rate_limit_bypass.py",
                         *cli_for(testbed), "--smokegate-config", str(tmp_path / "smokegate.toml")],
                        tmp_path / "reports", env=env_for(testbed))
    assert run.gate.get("verdict") == "error" and run.gate.get("error_kind") == "inconclusive", run.output[-3000:]
    # Every check of the two modules reads the burst: each could not be determined, none is a finding.
    # Not the network's doing: the measurement's (failure kind insufficient-evidence, not an outage).
    undetermined = {c["check"]: c["message"] for c in run.gate["failed"]
                    if c["failure_kind"] == "insufficient-evidence"}
    assert sorted(undetermined) == sorted(BURST_CHECKS) == sorted(run.outcomes), run.gate["checks"]
    assert not [c for c in run.gate["failed"] if c["blocking"]]
    # The run's one line says why, in the check's own words (not "network errors").
    assert "longer than the limit's 0.001 s window" in run.gate["reason"], run.gate["reason"]
    for check, message in undetermined.items():
        assert "longer than the limit's 0.001 s window" in message, (check, message)
    assert run.returncode != 0 and run.returncode != 1, "ERROR has an exit code of its own, not FAIL's"
