"""How long the health report takes over 30 days of 15-minute runs.

Builds a history of 2 targets x 2,880 runs x 20 checks (115,200 check rows, a few failures and
incidents sprinkled in), then times ``write_report(--since 30d)`` end to end (open the history,
query, summarise, render, write) and prints the median of several builds.

    python bench/bench_report.py [--runs 5] [--keep DIR] [--trend-cost]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from smokegate.ops.health_report import build_report, render, write_report
from smokegate.ops.history import History
from smokegate.ops.report import collect

TARGETS = ("production", "staging")
DAYS = 30
EVERY = timedelta(minutes=15)
CHECKS = 20
END = datetime(2025, 3, 31, tzinfo=UTC)


def build_history(path: Path) -> int:
    """Write the synthetic month straight as rows (one transaction per day) and return the run count."""
    rng = random.Random(20250331)
    runs_per_target = int(timedelta(days=DAYS) / EVERY)
    start = END - timedelta(days=DAYS)
    total = 0
    with History.open(path) as history:
        for target in TARGETS:
            incident: str | None = None
            run_rows: list[tuple[Any, ...]] = []
            check_rows: list[tuple[Any, ...]] = []
            for index in range(runs_per_target):
                at = start + EVERY * index + timedelta(minutes=3)
                ts = at.timestamp()
                run_id = f"{target}-{index}"
                failing = rng.random() < 0.004 or (incident is not None and rng.random() < 0.5)
                incident = (incident or f"INC-{at:%Y%m%dT%H%MZ}-{target}-bench") if failing else None
                failed = 0
                for n in range(CHECKS):
                    budget = 2000.0 if n % 4 == 0 else 500.0
                    measured = rng.lognormvariate(0, 0.35) * budget * 0.3
                    bad = failing and n == 3
                    failed += bad
                    check_rows.append(
                        (
                            run_id,
                            target,
                            ts,
                            f"check-{n:02d}",
                            "failed" if bad else "passed",
                            "critical" if n < 5 else "high",
                            "smoke",
                            "",
                            int(bad),
                            measured,
                            budget,
                            "ms",
                            "contract-broken" if bad else None,
                            None,
                            1,
                            measured / 1000,
                            None,
                        )
                    )
                run_rows.append(
                    (
                        run_id,
                        target,
                        f"https://{target}.example",
                        "sha",
                        None,
                        at.isoformat(),
                        at.isoformat(),
                        ts,
                        35.0,
                        "fail" if failing else "pass",
                        None,
                        1,
                        CHECKS - failed,
                        failed,
                        0,
                        0,
                        0,
                        failed,
                        60,
                        "critical" if failing else None,
                        incident,
                    )
                )
                if len(run_rows) == 96:
                    history.record_rows(run_rows, check_rows)
                    total += len(run_rows)
                    run_rows, check_rows = [], []
            if run_rows:
                history.record_rows(run_rows, check_rows)
                total += len(run_rows)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="report builds to time (default 5)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the history and report in this directory")
    parser.add_argument("--trend-cost", action="store_true", help="also time the page without its trend column")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        where = args.keep or Path(scratch)
        where.mkdir(parents=True, exist_ok=True)
        history = where / "history.sqlite"
        history.unlink(missing_ok=True)
        began = time.perf_counter()
        runs = build_history(history)
        print(
            f"history: {runs} runs x {CHECKS} checks in {time.perf_counter() - began:.1f} s "
            f"({history.stat().st_size / 1e6:.1f} MB)"
        )
        timings = []
        for _ in range(args.runs):
            began = time.perf_counter()
            write_report(history, where / "health-report-30d.html", since=timedelta(days=DAYS), now=END)
            timings.append(time.perf_counter() - began)
        print(
            f"report over {DAYS} days: median {statistics.median(timings):.2f} s "
            f"(min {min(timings):.2f} s, max {max(timings):.2f} s, {args.runs} builds)"
        )
        if args.trend_cost:
            # The same page without its trend column (one pass over the check rows fewer), alternated
            # with the full build so both see the same machine load.
            with_trend, without = [], []
            with History.open(history) as opened:
                for _ in range(args.runs):
                    began = time.perf_counter()
                    build_report(opened, since=timedelta(days=DAYS), now=END)
                    with_trend.append(time.perf_counter() - began)
                    began = time.perf_counter()
                    render(collect(opened, since=timedelta(days=DAYS), now=END))
                    without.append(time.perf_counter() - began)
            full, bare = statistics.median(with_trend), statistics.median(without)
            print(f"with the trend column: median {full:.2f} s; without: {bare:.2f} s ({full / bare:.2f} x)")


if __name__ == "__main__":
    main()
