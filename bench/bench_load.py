"""Benchmark: how many requests per second one core generates through the load check, beside the peers.

The route is not the bottleneck: Debian's nginx answering ``return 200`` from one worker pinned to the
last core, on a free loopback port (started and stopped here).  Every generator runs pinned to core 0,
50 connections or users, for DURATION seconds, in one run, alternated ROUNDS times:

* ``wrk -t1 -c50``, ``ab -k -c50`` (Debian's wrk and apache2-utils);
* bare Locust, ``FastHttpUser`` and ``HttpUser`` with no wait (a five-line locustfile);
* the load check's generator: smokegate's locustfile (the virtual user, the shape, the per-second timeline
  and the generator's watch of itself) run by ``smokegate.load.engine`` as the check runs it, its users
  paced far above what they can send, so they send as fast as they can; the figure is the rate its
  timeline recorded over the hold (the timeline the gate reads);
* the same with ``--processes 2`` on cores 0 and 1, the machine's two cores, nginx on core 1 too.

Two figures per generator, over its steady seconds (Locust's first seconds are its imports and its users
starting): requests per second of wall time, and requests per CPU-second its processes used (user and system
time, from the kernel).  On a machine other work shares, the first falls with the share of the core the
generator got; the second does not.  Prints a table of medians, with the
load average before and after, and writes ``reports/bench-load.json``.  ``--quick`` runs each once for 5 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from smokegate import ports
from smokegate.checks.load_timeline import schedule, seconds_of, window
from smokegate.load import engine
from smokegate.load.plan import Plan, Route

ROOT = Path(__file__).resolve().parent.parent
USERS = 50
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy; fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
  keepalive_requests 1000000;
  server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok"; }} }}
}}
"""
BARE = """
from locust import FastHttpUser, HttpUser, constant, task

class Fast{name}(FastHttpUser if "{kind}" == "fast" else HttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get("/")
"""


def pinned(cores: str, command: list[str]) -> list[str]:
    return ["taskset", "-c", cores, *command]


def start_nginx(work: Path, core: str) -> tuple[subprocess.Popen[bytes], int]:
    port = ports.free_port()
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, port=port))
    process = subprocess.Popen(pinned(core, ["nginx", "-p", str(work), "-c", str(work / "nginx.conf")]),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/"]).returncode == 0:
            return process, port
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"nginx did not start: {(work / 'error.log').read_text(errors='replace')}")


Figures = tuple[float, float]  # requests per second of wall time, requests per CPU-second
# Locust's first seconds are its imports and its users starting: the steady window begins after them.
WARM_S = 3.0


class CpuWatch:
    """The CPU time (user + system) of a process and its descendants, sampled every 0.2 s in a thread."""

    def __init__(self, pid: int) -> None:
        self.samples: list[tuple[float, float]] = []
        self.process = psutil.Process(pid)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.is_set():
            try:
                tree = [self.process, *self.process.children(recursive=True)]
                total = sum(sum(p.cpu_times()[:2]) for p in tree if p.is_running())
            except psutil.Error:
                total = None
            if total is not None:
                self.samples.append((time.time(), total))
            self.done.wait(0.2)

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def between(self, start: float, end: float) -> float:
        """CPU seconds used from the sample nearest ``start`` to the one nearest ``end``."""
        first = min(self.samples, key=lambda s: abs(s[0] - start))
        last = min(self.samples, key=lambda s: abs(s[0] - end))
        return last[1] - first[1]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk(url: str, seconds: int, work: Path) -> Figures:
    before = children_cpu()  # a C program: its start-up is nothing beside the run
    out = subprocess.run(pinned("0", ["wrk", "-t1", f"-c{USERS}", f"-d{seconds}s", url]), capture_output=True,
                         text=True, check=True).stdout
    found = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
    assert found is not None, out
    requests = float(found.group(1))
    return requests / (float(found.group(2)) / (1000 if found.group(3) == "ms" else 1)), \
        requests / (children_cpu() - before)


def ab(url: str, seconds: int, work: Path) -> Figures:
    before = children_cpu()
    out = subprocess.run(pinned("0", ["ab", "-k", "-q", "-c", str(USERS), "-t", str(seconds), "-n", "50000000",
                                      url + "/"]), capture_output=True, text=True, check=True).stdout
    done = re.search(r"Complete requests:\s+(\d+)", out)
    taken = re.search(r"Time taken for tests:\s+([\d.]+)", out)
    assert done is not None and taken is not None, out
    requests = float(done.group(1))
    return requests / float(taken.group(1)), requests / (children_cpu() - before)


def bare_locust(url: str, seconds: int, kind: str, work: Path) -> Figures:
    """Steady state only: from Locust's per-second history, past its start-up, and its CPU over the same seconds."""
    locustfile = work / f"bare_{kind}.py"
    locustfile.write_text(BARE.format(name=kind.title(), kind=kind))
    prefix = work / f"bare_{kind}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    process = subprocess.Popen(pinned("0", [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
                                            "-u", str(USERS), "-r", str(USERS), "-t", f"{seconds + WARM_S:g}s",
                                            "-H", url, "--csv", str(prefix), "--csv-full-history", "--only-summary",
                                            "--loglevel", "WARNING", "--stop-timeout", "0"]),
                               cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watch = CpuWatch(process.pid)
    process.wait()
    watch.stop()
    with open(f"{prefix}_stats_history.csv", encoding="utf-8") as history:
        rows = [row for row in csv.DictReader(history)
                if row["Name"] == "Aggregated" and int(row["Total Request Count"]) > 0]
    begin = next(r for r in rows if float(r["Timestamp"]) >= float(rows[0]["Timestamp"]) + WARM_S)
    end = rows[-2] if len(rows) > 2 else rows[-1]  # the last row is written as Locust stops
    requests = int(end["Total Request Count"]) - int(begin["Total Request Count"])
    span = float(end["Timestamp"]) - float(begin["Timestamp"])
    return requests / span, requests / watch.between(float(begin["Timestamp"]), float(end["Timestamp"]))


def load_check(url: str, seconds: int, processes: int, work: Path) -> Figures:
    """The check's own generator, run as the check runs it: its hold, from the timeline the gate reads."""
    pace = 100_000.0  # requests/s per user: far above what one can send, so none ever waits
    steps = schedule(baseline_rps=USERS * pace, multiplier=1.0, ramp_s=WARM_S, steps=1, hold_s=float(seconds),
                     ramp_down_s=0.0, user_rps=pace)
    plan = Plan(base_url=url, routes=(Route("bench", "GET", "/", 200, 500.0, 1.0),), steps=tuple(steps),
                user_rps=pace, request_timeout_s=10.0)
    watches: list[CpuWatch] = []
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {0} if processes == 1 else {0, 1})  # the Locust processes inherit it
    try:
        out = engine.run(plan, work / f"check-{processes}", work, engine.Distribution(processes=processes),
                         started=lambda pid: watches.append(CpuWatch(pid)))
    finally:
        os.sched_setaffinity(0, before)
        for watch in watches:
            watch.stop()
    t0 = json.loads((out.out_dir / engine.RESULT_FILE).read_text())["t0"]
    hold = next(s for s in out.as_run if s.phase == "hold")
    first, last = seconds_of(hold.start_s, hold.end_s, 1.0)
    sent = window(out.timeline, first, last).requests
    return sent / (last - first), sent / watches[0].between(t0 + first, t0 + last)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="each measurement once, 5 s")
    args = parser.parse_args()
    rounds, seconds = (1, 5) if args.quick else (3, 10)
    for tool in ("nginx", "wrk", "ab", "taskset", "curl"):
        if shutil.which(tool) is None:
            print(f"bench_load: {tool} not found (make bench installs nginx, wrk and apache2-utils)", file=sys.stderr)
            return 1
    if (os.cpu_count() or 1) < 2:
        print("bench_load: needs two cores (nginx on one, the generators on the other)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="smokegate-bench-load-"))
    load_before = os.getloadavg()
    nginx, port = start_nginx(work, str((os.cpu_count() or 2) - 1))
    url = f"http://127.0.0.1:{port}"
    jobs: dict[str, Callable[[], Figures]] = {
        "wrk -t1 -c50": lambda: wrk(url, seconds, work),
        "ab -k -c50": lambda: ab(url, seconds, work),
        "Locust FastHttpUser (bare)": lambda: bare_locust(url, seconds, "fast", work),
        "Locust HttpUser (bare)": lambda: bare_locust(url, seconds, "http", work),
        "load check, 1 process": lambda: load_check(url, seconds, 1, work),
        "load check, --processes 2 (cores 0-1)": lambda: load_check(url, seconds, 2, work),
    }
    results: dict[str, list[Figures]] = {name: [] for name in jobs}
    started = time.time()
    try:
        for _ in range(rounds):
            for name, job in jobs.items():
                results[name].append(job())
                rate, per_cpu = results[name][-1]
                print(f"  {name}: {rate:,.0f} req/s, {per_cpu:,.0f} req per CPU-second", flush=True)
    finally:
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()
    medians = {name: (statistics.median(r for r, _ in values), statistics.median(c for _, c in values))
               for name, values in results.items()}
    fast = medians["Locust FastHttpUser (bare)"]
    one = medians["load check, 1 process"]
    two = medians["load check, --processes 2 (cores 0-1)"]
    print(f"\n{USERS} connections/users, {seconds} s each, median of {rounds} (generators on core 0, nginx on core "
          f"{(os.cpu_count() or 2) - 1}); load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"  {'':42} {'req/s':>10}  {'(min–max)':>17}  {'req/CPU-s':>10}")
    for name, (rate, per_cpu) in medians.items():
        rates = [r for r, _ in results[name]]
        print(f"  {name:42} {rate:>10,.0f}  ({min(rates):>7,.0f}–{max(rates):<7,.0f})  {per_cpu:>10,.0f}")
    print(f"  load check / bare FastHttpUser: {one[0] / fast[0]:.1%} of its rate, {one[1] / fast[1]:.1%} of its "
          "requests per CPU-second (target >= 90 %)")
    print(f"  --processes 2 / 1 process: {two[0] / one[0]:.2f}x (target >= 1.8x; on 2 cores nginx shares core 1 with "
          "the second process, and the machine with whatever else runs)")
    out = ROOT / "reports" / "bench-load.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"started": started, "seconds": seconds, "rounds": rounds, "users": USERS,
                               "load_before": load_before, "load_after": load_after, "results": results,
                               "medians": medians}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
