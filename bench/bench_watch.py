"""Benchmark: one ``smokegate watch``, health every 30 s on 20 targets, for 10 minutes.

Starts the testbed, writes a config with 20 targets (all the testbed, under different names,
health suite only, every 30 s), runs the real command (``python -m smokegate watch``) and reports:

- CPU of the watcher and everything it started (fork server, runs), from ``/proc``: total, share
  of one core, per run;
- memory of that process tree, sampled every second: the sum of RSS (counts the pages the forks
  share with the fork server once per process) and of PSS (shares them out: the honest total);
- scheduling lag (actual − planned start, from the watcher's log): p50, p99, max;
- cadence: consecutive health starts of each target 30 s ± 2 s apart, as the watcher started them
  and as the history recorded them (gate.json's start, after pytest's own start-up in the run);
- runs, verdicts, skipped, overruns and incomplete runs, and the machine's load average.

``--compare N`` first times N health runs started each way (a fork of the warm server, a fresh
``python -m pytest``): CPU and wall time per run, the measurement behind the default runner.

    python bench/bench_watch.py [--minutes 10] [--targets 20] [--every 30] [--compare 10] [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from smokegate.ops.history import History
from smokegate.ops.report import percentile
from smokegate.ops.runner import ForkRunner, Runner, RunRequest, SubprocessRunner
from smokegate.ops.watch import SUITES
from smokegate.testbed.control import RunningTestbed

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
RUN_LINE = re.compile(r"smokegate-watch: (\S+) health: (pass|fail|error) in ([\d.]+) s \(planned ([\d:.]+)Z, "
                      r"lag ([\d.]+) s;")
SKIPPED = re.compile(r": (\d+) planned run\(s\) skipped")


# -- a process tree, from /proc ------------------------------------------------------------------


def _table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of the process and of its reaped children)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime: a reaped child's time is in its parent's c* fields.
        table[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]) / TICK)
    return table


def tree(root: int) -> tuple[set[int], float]:
    """The pids of ``root`` and its descendants, and their CPU seconds so far."""
    table = _table()
    pids, stack = set(), [root]
    while stack:
        pid = stack.pop()
        if pid in table and pid not in pids:
            pids.add(pid)
            stack.extend(child for child, (parent, _cpu) in table.items() if parent == pid)
    return pids, sum(table[pid][1] for pid in pids)


def memory(pids: set[int]) -> tuple[int, int]:
    """Sum of RSS and of PSS over ``pids``, in bytes."""
    rss = pss = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1]) * 1024
            elif line.startswith("Pss:"):
                pss += int(line.split()[1]) * 1024
    return rss, pss


# -- forked against fresh pytest runs ---------------------------------------------------------------


def compare_runners(config: Path, reports: Path, count: int) -> dict[str, dict[str, float]]:
    suite = SUITES["health"]
    args = ("-p", "no:cacheprovider", "-q", *suite.paths, "-m", suite.marker or "", "--target", "t01",
            "--smokegate-config", str(config), "--reports-dir", str(reports), "--no-history")
    runners: list[Runner] = [ForkRunner(), SubprocessRunner()]
    time.sleep(3)  # let the fork server finish its imports: that is paid once, not per run
    figures = {}
    for runner in runners:
        before = tree(os.getpid())[1]
        walls = []
        for _ in range(count):
            began = time.perf_counter()
            handle = runner.start(RunRequest(args, cwd=str(ROOT), log=str(reports / "compare.log")))
            code = handle.wait(300)
            walls.append(time.perf_counter() - began)
            if code != 0:
                raise SystemExit(f"{runner.name} run failed ({code}): {(reports / 'compare.log').read_text()[-2000:]}")
        time.sleep(0.5)
        cpu = (tree(os.getpid())[1] - before) / count
        figures[runner.name] = {"cpu_s_per_run": cpu, "wall_s_median": statistics.median(walls)}
        print(f"{runner.name:>10}: {cpu:.2f} s CPU per health run, wall median {statistics.median(walls):.2f} s "
              f"({count} runs)", flush=True)
    return figures


# -- the watcher -------------------------------------------------------------------------------------------


def write_config(path: Path, testbed: RunningTestbed, targets: int, every: float) -> list[str]:
    names = [f"t{index:02d}" for index in range(1, targets + 1)]
    disabled = "".join(f"[defaults.watch.{suite}]\nenabled = false\n" for suite in ("smoke", "security", "synthetic"))
    body = [f"[defaults.watch.health]\nevery_s = {every}\n{disabled}"]
    for name in names:
        body.append(f'[targets.{name}]\nbase_url = "{testbed.url}"\nca_bundle = "{testbed.ca_file}"\n')
    path.write_text("\n".join(body))
    return names


def watch(work: Path, testbed: RunningTestbed, *, minutes: float, targets: int, every: float) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    config = work / "smokegate.toml"
    names = write_config(config, testbed, targets, every)
    history = work / "history.sqlite"
    log = work / "watch.out"
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SMOKEGATE_", "ALERT_", "MONITORING_"))}
    command = [sys.executable, "-m", "smokegate", "watch", "--config", str(config), "--history", str(history),
               "--reports-dir", str(work / "reports"), "--location", "bench", "--project-dir", str(ROOT),
               *itertools.chain.from_iterable(("--target", name) for name in names)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=work, stdout=out, stderr=subprocess.STDOUT, env=environment)
    began = time.monotonic()
    rss_samples, pss_samples, loads = [], [], []
    cpu = 0.0
    try:
        while time.monotonic() - began < minutes * 60:
            if process.poll() is not None:
                raise SystemExit(f"watcher exited ({process.returncode}):\n{log.read_text()[-3000:]}")
            pids, cpu = tree(process.pid)
            rss, pss = memory(pids)
            rss_samples.append(rss)
            pss_samples.append(pss)
            loads.append(os.getloadavg()[0])
            time.sleep(1.0)
        pids, cpu = tree(process.pid)  # just before stopping: the runs' time is in the fork server's
    finally:
        elapsed = time.monotonic() - began
        process.send_signal(signal.SIGTERM)
        code = process.wait(300)
    text = log.read_text()
    runs = [m for line in text.splitlines() if (m := RUN_LINE.search(line))]
    lags = sorted(float(m.group(5)) for m in runs)
    durations = sorted(float(m.group(3)) for m in runs)
    # Cadence as the watcher started the runs (planned + lag), and as the history recorded them
    # (gate.json's started_at: whole seconds, taken once pytest has started up in the run).
    started: dict[str, list[float]] = {}
    for m in runs:
        planned = datetime.strptime(m.group(4), "%H:%M:%S.%f")
        started.setdefault(m.group(1), []).append(planned.timestamp() + float(m.group(5)))
    watch_gaps = [b - a for starts in started.values() for a, b in itertools.pairwise(starts)]
    gaps: list[float] = []
    with History.open(history) as store:
        for name in names:
            starts = [datetime.fromisoformat(row[0]).timestamp()
                      for row in store.query("SELECT started_at FROM runs WHERE target = ? ORDER BY ts", (name,))]
            gaps.extend(later - earlier for earlier, later in itertools.pairwise(starts))
        recorded = store.count_runs()
    return {
        "targets": targets,
        "every_s": every,
        "elapsed_s": round(elapsed, 1),
        "exit_code": code,
        "runs": len(runs),
        "recorded_runs": recorded,
        "verdicts": {v: sum(1 for m in runs if m.group(2) == v) for v in ("pass", "fail", "error")},
        "skipped": sum(int(m.group(1)) for m in SKIPPED.finditer(text)),
        "overruns": text.count("overran its"),
        "incomplete": text.count(" incomplete: "),
        "cpu_s": round(cpu, 1),
        "cpu_share_of_one_core": round(cpu / elapsed, 4),
        "cpu_s_per_run": round(cpu / max(1, len(runs)), 3),
        "rss_sum_peak_mb": round(max(rss_samples) / 1e6, 1),
        "rss_sum_median_mb": round(statistics.median(rss_samples) / 1e6, 1),
        "pss_peak_mb": round(max(pss_samples) / 1e6, 1),
        "pss_median_mb": round(statistics.median(pss_samples) / 1e6, 1),
        "lag_p50_s": round(percentile(lags, 0.5), 4) if lags else None,
        "lag_p99_s": round(percentile(lags, 0.99), 4) if lags else None,
        "lag_max_s": round(lags[-1], 4) if lags else None,
        "run_wall_p50_s": round(percentile(durations, 0.5), 3) if durations else None,
        "run_wall_p99_s": round(percentile(durations, 0.99), 3) if durations else None,
        "started_gaps": len(watch_gaps),
        "started_gaps_within_2s": sum(1 for gap in watch_gaps if abs(gap - every) <= 2),
        "started_gap_min_max_s": [round(min(watch_gaps), 3), round(max(watch_gaps), 3)] if watch_gaps else None,
        "recorded_gaps": len(gaps),
        "recorded_gaps_within_2s": sum(1 for gap in gaps if abs(gap - every) <= 2),
        "recorded_gap_min_max_s": [min(gaps), max(gaps)] if gaps else None,
        "load_average_median": round(statistics.median(loads), 2) if loads else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--targets", type=int, default=20)
    parser.add_argument("--every", type=float, default=30.0)
    parser.add_argument("--compare", type=int, default=10, help="health runs per runner to compare (0: skip)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work directory here")
    args = parser.parse_args()
    # As deployed: pytest caches the modules it rewrites (see the watcher's start-up warning).
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        figures: dict[str, Any] = {"cpus": os.cpu_count()}
        with RunningTestbed.start(work / "testbed") as testbed:
            if args.compare:
                compare_dir = work / "compare"
                compare_dir.mkdir(exist_ok=True)
                write_config(compare_dir / "smokegate.toml", testbed, 1, args.every)
                figures["compare"] = compare_runners(compare_dir / "smokegate.toml", compare_dir, args.compare)
            print(f"watching {args.targets} targets, health every {args.every:g} s, for {args.minutes:g} min ...",
                  flush=True)
            figures["watch"] = watch(work / "watch", testbed, minutes=args.minutes, targets=args.targets,
                                     every=args.every)
        for key, value in figures["watch"].items():
            print(f"{key:>24}: {value}")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
