"""Error rate (ops guide: under 1 % of requests): a bounded burst over key endpoints."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from smokegate.checks.warning_signs import ERROR_RATE_INCREASE
from smokegate.config import Target
from smokegate.probe import Probe, TargetUnreachable

pytestmark = [pytest.mark.safe, pytest.mark.check(epic="smoke")]


@pytest.mark.check(severity="high", feature="error-rate")
def test_error_rate_under_budget(target: Target, probe: Probe, check_record: Any) -> None:
    burst = target.error_burst
    paths = [burst.paths[i % len(burst.paths)] for i in range(burst.requests)]

    def one(path: str) -> str:
        try:
            status = probe.get(path).status
        except TargetUnreachable as exc:
            return f"{path}: {exc}"
        return f"{path}: {status}" if status >= 500 else ""

    with ThreadPoolExecutor(max_workers=burst.concurrency) as pool:
        errors = [e for e in pool.map(one, paths) if e]
    rate = len(errors) / len(paths)
    budget = target.budgets.error_rate
    check_record.measure(rate * 100, budget * 100, unit="%", warning_sign=ERROR_RATE_INCREASE,
                         requests_in_burst=len(paths))
    summary = ", ".join(f"{what} x{n}" for what, n in Counter(errors).most_common(5))
    assert rate < budget, (
        f"error rate {rate:.1%} ({len(errors)} of {len(paths)} requests) >= budget {budget:.0%}: {summary}"
    )
