"""Soak: N whole-suite runs against the healthy testbed through network chaos, counting false alarms.

The testbed is healthy, so anything but a pass is a false alarm: a failed check (whatever its
kind, "could not be determined" included) or a verdict other than ``pass``.  The suite gets the
testbed's environment as ``make demo`` gives it (its Clerk Backend API, fake secrets, test account),
and runs under the loopback guard (:mod:`smokegate.testbed.loopback`): a lookup or connection past
loopback is refused and counted as a false alarm too.  Each run gets its own
chaos seed (``--seed`` + run number), so a false alarm can be replayed with the same sequence of
connection fates.  Prints one line per run and a summary, writes ``<reports>/soak.json``, and exits
1 when there was any false alarm.

    python bench/soak.py --runs 10 --chaos 'delay=0-150,reset=1%'

``--testbed next`` soaks the real Next.js testbed instead (``next start`` behind nginx, the chaos
proxy in front of nginx; target ``local-next``; ``make nextjs-testbed`` builds it first).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from smokegate.testbed import fake_secrets, loopback
from smokegate.testbed.chaos import ChaosSettings, ChaosSpecError
from smokegate.testbed.control import RunningTestbed
from smokegate.testbed.suite_env import testbed_environment

ROOT = Path(__file__).resolve().parent.parent
SUITES = ("tests/smoke", "tests/security", "tests/synthetic")
LOOPBACK_LOG = "loopback.log"


def run_suite(testbed: RunningTestbed, reports: Path, extra: list[str]) -> tuple[int, dict[str, Any], str]:
    if testbed.kind == "next":
        return run_suite_next(testbed, reports, extra)
    command = [
        sys.executable, "-m", "pytest", *SUITES, "-q", "-p", "no:cacheprovider", "-p", "smokegate.testbed.loopback",
        "--target", "local", "--base-url", testbed.url, "--ca-bundle", testbed.ca_file, "--http-url", testbed.http_url,
        "--expect-version", testbed.version, "--reports-dir", str(reports), "--no-history", *extra,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMOKEGATE_", "PYTEST_"))}
    env.update({**testbed_environment(testbed), loopback.LOG_ENV: str(reports / LOOPBACK_LOG)})
    (reports / LOOPBACK_LOG).unlink(missing_ok=True)
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=900)
    gate_file = reports / "gate.json"
    gate = json.loads(gate_file.read_text()) if gate_file.exists() else {}
    return done.returncode, gate, done.stdout + done.stderr


def run_suite_next(testbed: RunningTestbed, reports: Path, extra: list[str]) -> tuple[int, dict[str, Any], str]:
    """A run against the real Next.js testbed: target local-next, the app's secrets without Clerk's secret
    key, no test account (it has no Clerk, no identity provider: smokegate.toml says so)."""
    command = [
        sys.executable, "-m", "pytest", *SUITES, "-q", "-p", "no:cacheprovider", "-p", "smokegate.testbed.loopback",
        "--target", "local-next", "--base-url", testbed.url, "--ca-bundle", testbed.ca_file,
        "--http-url", testbed.http_url,
        "--expect-version", testbed.version, "--reports-dir", str(reports), "--no-history", *extra,
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMOKEGATE_", "PYTEST_", "CLERK_"))}
    env.update({k: v for k, v in fake_secrets.env().items() if k != "CLERK_SECRET_KEY"})
    env["OSV_API_URL"] = str(testbed.info["osv_api_url"])  # its OSV stand-in, beside its Supabase project
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=900)
    gate_file = reports / "gate.json"
    gate = json.loads(gate_file.read_text()) if gate_file.exists() else {}
    return done.returncode, gate, done.stdout + done.stderr


def false_alarms(code: int, gate: dict[str, Any], reports: Path) -> list[str]:
    refused, _ = loopback.read_log(reports / LOOPBACK_LOG)
    alarms = [f"left loopback: {r['event']} {r['target']} (from {r['where'][-1] if r['where'] else '?'})"
              for r in refused]
    alarms += [f"{c['check']} [{c.get('failure_kind') or 'failed'}]: {(c.get('message') or '').splitlines()[0][:160]}"
               for c in gate.get("failed", [])]
    if gate.get("verdict") != "pass":
        alarms.append(f"verdict {gate.get('verdict', 'missing')} (exit {code})"
                      + (f": {gate['reason']}" if gate.get("reason") else ""))
    return alarms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--chaos", default="delay=0-150,reset=1%", help="chaos spec without the seed")
    parser.add_argument("--seed", type=int, default=1, help="seed of run 1; run i uses seed + i - 1")
    parser.add_argument("--reports", type=Path, default=ROOT / "reports" / "soak")
    parser.add_argument("--testbed", choices=("python", "next"), default="python",
                        help="the Python testbed, or the real Next.js testbed (next start behind nginx)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args(argv)
    try:
        settings = ChaosSettings.parse(args.chaos)
    except ChaosSpecError as exc:
        parser.error(f"--chaos: {exc}")
    if settings.seed is not None:
        parser.error("--chaos: give the seed with --seed (each run gets its own)")
    args.reports.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    print(f"soak: {args.runs} runs of {', '.join(SUITES)} against the {args.testbed} testbed through network chaos "
          f"({settings.describe()})", flush=True)
    started_all = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, \
            RunningTestbed.start(Path(tmp) / "testbed", chaos=args.chaos, kind=args.testbed,
                                 timeout_s=90 if args.testbed == "next" else 30) as testbed:
        for number in range(1, args.runs + 1):
            seed = args.seed + number - 1
            before = testbed.chaos(clear=True, spec=f"{args.chaos},seed={seed}", listener="all")
            started = time.perf_counter()
            reports = args.reports / f"run-{number:02d}"
            code, gate, output = run_suite(testbed, reports, args.pytest_args)
            wall = time.perf_counter() - started
            after = testbed.chaos()
            stats = {name: {key: after[name]["stats"][key] - before[name]["stats"][key]
                            for key in ("connections", "reset_at_accept", "reset_mid_stream")}
                     for name in after}
            alarms = false_alarms(code, gate, reports)
            counts = gate.get("counts", {})
            record = {
                "run": number, "seed": seed, "wall_s": round(wall, 1), "verdict": gate.get("verdict"),
                "exit_code": code, "checks": len(gate.get("checks", [])), "flaky": counts.get("flaky"),
                "requests": gate.get("requests_sent"), "chaos": stats, "false_alarms": alarms,
            }
            runs.append(record)
            https = stats.get("https", {})
            print(f"run {number:2d} seed {seed:3d}: {gate.get('verdict', 'no gate.json'):5} exit {code} "
                  f"{wall:5.1f} s, {record['checks']} checks, {https.get('connections', 0)} connections, "
                  f"{https.get('reset_at_accept', 0)}+{https.get('reset_mid_stream', 0)} reset (accept+mid), "
                  f"{record['flaky']} rerun as flaky; false alarms: {len(alarms)}", flush=True)
            for alarm in alarms:
                print(f"    {alarm}", flush=True)
            if not gate:
                (reports / "output.txt").write_text(output)
    total = sum(len(r["false_alarms"]) for r in runs)
    walls = sorted(r["wall_s"] for r in runs)
    summary = {
        "chaos": args.chaos, "runs": len(runs), "false_alarms": total,
        "runs_with_false_alarms": sum(1 for r in runs if r["false_alarms"]),
        "wall_s": {"total": round(time.perf_counter() - started_all, 1), "median": walls[len(walls) // 2],
                   "min": walls[0], "max": walls[-1]},
        "per_run": runs,
    }
    (args.reports / "soak.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"soak: {total} false alarm(s) in {len(runs)} runs ({summary['runs_with_false_alarms']} runs affected); "
          f"wall time {summary['wall_s']['total']:.0f} s (median {summary['wall_s']['median']:.1f} s per run); "
          f"{args.reports / 'soak.json'}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
