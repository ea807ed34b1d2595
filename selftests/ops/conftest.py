"""Fixtures for the operations self-tests: synthetic gate dicts, a generated week of history,
webhook receivers that are down or hang, and a headless Chromium for the report."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from selftests.ops.postgres import postgres_server, postgres_url  # noqa: F401 - fixtures: a real PostgreSQL
from smokegate.ops.history import History
from smokegate.synthetic.browser import launch_flags

GateFactory = Callable[..., dict[str, Any]]
WEEK_END = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)
# The suite's own quiet-run flags (and --no-sandbox as root): one list, smokegate.synthetic.browser's.
CHROMIUM_ARGS = launch_flags()


def check(name: str, outcome: str = "passed", **fields: Any) -> dict[str, Any]:
    """One CheckResult as gate.json holds it."""
    result: dict[str, Any] = {
        "check": name,
        "outcome": outcome,
        "severity": "high",
        "epic": "smoke",
        "feature": "",
        "required": False,
        "blocking": False,
        "message": None,
        "measured": None,
        "budget": None,
        "unit": None,
        "requests": 1,
        "failure_kind": None,
        "attempts": 1,
        "duration_s": 0.1,
        "details": {},
    }
    result.update(fields)
    if outcome == "failed" and "blocking" not in fields:
        result["blocking"] = result["severity"] in ("critical", "high")
    return result


def make_gate(
    *,
    target: str | None = "production",
    at: datetime = WEEK_END,
    checks: list[dict[str, Any]] | None = None,
    reason: str | None = None,
    version: str | None = "abc1234",
    base_url: str = "https://napoleonai.app",
    error_kind: str | None = None,
) -> dict[str, Any]:
    """A gate.json dict (schema 2); the verdict follows from the checks, as the gate computes it."""
    checks = checks if checks is not None else [check("health", measured=120.0, budget=500.0, unit="ms")]
    failed = [c for c in checks if c["outcome"] == "failed"]
    blocking = [c for c in checks if c["blocking"]]
    verdict = "error" if error_kind else "fail" if reason or blocking else "pass"
    started = at - timedelta(seconds=30)
    return {
        "schema": 2,
        "verdict": verdict,
        "error_kind": error_kind,
        "gate_on": "high",
        "reason": reason,
        "target": {"name": target, "base_url": base_url},
        "version": version,
        "expected_version": None,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": at.isoformat(timespec="seconds"),
        "duration_s": 30.0,
        "requests_sent": len(checks),
        "counts": {
            "passed": sum(c["outcome"] == "passed" for c in checks),
            "failed": len(failed),
            "skipped": sum(c["outcome"] == "skipped" for c in checks),
            "deselected": 0,
            "flaky": sum(c["attempts"] > 1 and c["outcome"] == "passed" for c in checks),
            "blocking": len(blocking),
            "by_severity": {},
        },
        "checks": checks,
        "failed": failed,
        "skipped": [c for c in checks if c["outcome"] == "skipped"],
        "deselected": [],
    }


@pytest.fixture
def gate_factory() -> GateFactory:
    return make_gate


@pytest.fixture
def check_factory() -> Callable[..., dict[str, Any]]:
    return check


# -- a generated week ------------------------------------------------------------------------

# Production runs every 15 minutes (672 runs), staging hourly (168 runs).  Three consecutive
# production runs (indices 100-102) fail api-status with a broken contract: one incident.
PROD_FAILING = (100, 101, 102)


def week_gates() -> Iterator[tuple[str, dict[str, Any], str | None]]:
    start = WEEK_END - timedelta(days=7)
    for index in range(672):
        at = start + timedelta(minutes=15 * index + 7)
        failing = index in PROD_FAILING
        checks = [
            # Each of 1..96 ms appears exactly seven times: p50 = 48.5 ms and p95 = 92.0 ms.
            check("health-endpoint", measured=float(index % 96 + 1), budget=500.0, unit="ms"),
            check("page-home", measured=1000.0 + (index % 96) * 10, budget=2000.0, unit="ms", epic="synthetic"),
            check(
                "api-status",
                "failed" if failing else "passed",
                severity="critical",
                measured=None if failing else 120.0,
                budget=500.0,
                unit="ms",
                failure_kind="contract-broken" if failing else None,
                message="GET /api/status returned 500, expected 200" if failing else None,
            ),
            check("security-headers", severity="medium", epic="security"),
        ]
        yield (
            "production",
            make_gate(target="production", at=at, checks=checks),
            ("INC-20250303T0100Z-production-test01" if failing else None),
        )
    for index in range(168):
        at = start + timedelta(hours=index, minutes=11)
        checks = [check("health-endpoint", measured=200.0, budget=500.0, unit="ms")]
        yield (
            "staging",
            make_gate(target="staging", at=at, checks=checks, base_url="https://staging.test"),
            None,
        )


@pytest.fixture(scope="session")
def week_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("week") / "history.sqlite"
    with History.open(path) as history:
        for target, gate, incident in week_gates():
            history.record_gate(gate, run_id=f"{target}-{gate['finished_at']}", scheduled=True, incident_id=incident)
    return path


# -- webhook receivers that misbehave ----------------------------------------------------------


@pytest.fixture
def closed_port_url(closed_port: int) -> str:
    """A loopback URL nobody listens on: connecting is refused at once."""
    return f"http://127.0.0.1:{closed_port}/hook"


@pytest.fixture
def hanging_url() -> Iterator[str]:
    """A loopback server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


# -- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """The browser the render self-tests use (render_checks.chromium); skip, saying why, if none."""
    from smokegate.synthetic.browser import NoBrowser

    from ..render_checks import chromium

    try:
        return chromium()
    except NoBrowser as missing:
        pytest.skip(str(missing))
