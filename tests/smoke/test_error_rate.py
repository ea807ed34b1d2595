"""Error rate (ops guide: under 1 % of requests): a bounded burst over key endpoints.

The rate counts the server's 5xx answers among its answers; a request the network kept from any
answer (reset, timeout, after the probe's retry) is counted apart and said, never counted as an error.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from smokegate.checks import causes
from smokegate.checks.errorrate import ErrorTally
from smokegate.checks.warning_signs import ERROR_RATE_INCREASE
from smokegate.config import Target
from smokegate.failures import Inconclusive
from smokegate.plugin.run import SmokegateRun
from smokegate.probe import Probe, TargetUnreachable

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="smoke")]


@pytest.mark.check(severity="high", feature="error-rate")
def test_error_rate_under_budget(target: Target, probe: Probe, smokegate_run: SmokegateRun, check_record: Any) -> None:
    burst = target.error_burst
    paths = [burst.paths[i % len(burst.paths)] for i in range(burst.requests)]

    def one(path: str) -> tuple[str, int | None, str | None]:
        try:
            return path, probe.get(path).status, None
        except Inconclusive as exc:
            return path, None, exc.reason
        except TargetUnreachable as exc:
            return path, None, str(exc)

    # A burst: no check of the run measures latency meanwhile (smokegate.shared).
    with smokegate_run.locks.load("the error-rate burst"), ThreadPoolExecutor(max_workers=burst.concurrency) as pool:
        tally = ErrorTally.of(list(pool.map(one, paths)))
    budget = target.budgets.error_rate
    check_record.measure(tally.rate * 100, budget * 100, unit="%", warning_sign=ERROR_RATE_INCREASE,
                         requests_in_burst=len(paths), answered=tally.answered, not_sent=len(tally.not_sent))
    if tally.error_paths() == {target.health.path} and tally.statuses() <= {503}:
        # Every error was the health endpoint saying it is unhealthy: the health checks' finding.
        check_record.cause(*causes.HEALTH_UNHEALTHY)
    why = tally.undetermined()
    if why is not None:
        raise Inconclusive(f"the error rate: {why}")
    assert tally.rate < budget, f"error rate {tally.rate:.1%} >= budget {budget:.0%}: {tally.describe()}"
