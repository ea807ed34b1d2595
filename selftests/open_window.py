"""A pytest plugin for the rerun self-test (test_rerun.py): the rate-limit window is open when the checks start.

Loaded (``-p selftests.open_window``) into the second of two back-to-back runs.  Right before the first
check, it does what the first run's burst would have left behind had the limiter's window outlasted
that run (a longer window, a second CI job behind the same address): at the start of a window it
sends one request more than the limit to the rate-limited route from this process, so the run's own
checks of that route meet the limiter's 429, as in issue 19.  Deterministic: no race with the
run's start-up.
"""

from __future__ import annotations

import os
import time

import httpx
import pytest

ENV = "SELFTEST_OPEN_WINDOW"  # "URL|CA file|window seconds|requests"


def pytest_collection_finish(session: pytest.Session) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    url, ca_file, window, count = spec.split("|")
    window_s = float(window)
    # The start of the next window, as the testbed's clock-aligned limiter counts it.
    time.sleep(window_s - time.time() % window_s + 0.05)
    with httpx.Client(verify=ca_file, timeout=10, trust_env=False) as client:
        statuses = [client.post(url, json={"email": "other-job@example.com"}).status_code for _ in range(int(count))]
    assert statuses[-1] == 429, f"the window did not close: {statuses}"
