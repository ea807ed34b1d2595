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

Prints a table of medians, with the load average before and after (the machine is shared), and writes
``reports/bench-load.json``.  ``--quick`` runs each once for 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from smokegate.checks.load import schedule, step_window
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
    port = engine.free_port()
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


def wrk(url: str, seconds: int) -> float:
    out = subprocess.run(pinned("0", ["wrk", "-t1", f"-c{USERS}", f"-d{seconds}s", url]), capture_output=True,
                         text=True, check=True).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def ab(url: str, seconds: int) -> float:
    out = subprocess.run(pinned("0", ["ab", "-k", "-q", "-c", str(USERS), "-t", str(seconds), "-n", "50000000",
                                      url + "/"]), capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]


def bare_locust(url: str, seconds: int, kind: str, work: Path) -> float:
    locustfile = work / f"bare_{kind}.py"
    locustfile.write_text(BARE.format(name=kind.title(), kind=kind))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    out = subprocess.run(pinned("0", [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
                                      "-u", str(USERS), "-r", str(USERS), "-t", f"{seconds}s", "-H", url,
                                      "--json", "--skip-log", "--stop-timeout", "0"]),
                         capture_output=True, text=True, check=True, cwd=work, env=env).stdout
    stats = json.loads(out)
    requests = sum(entry["num_requests"] for entry in stats)
    first = min(entry["start_time"] for entry in stats)
    last = max(entry["last_request_timestamp"] for entry in stats)
    return requests / (last - first)


def load_check(url: str, seconds: int, processes: int, work: Path) -> float:
    """The check's own generator: its rate over the hold, from the timeline the gate reads."""
    pace = 100_000.0  # requests/s per user: far above what one can send, so none ever waits
    steps = schedule(baseline_rps=USERS * pace, multiplier=1.0, ramp_s=2.0, steps=1, hold_s=float(seconds),
                     ramp_down_s=0.0, user_rps=pace)
    plan = Plan(base_url=url, routes=(Route("bench", "GET", "/", 200, 500.0, 1.0),), steps=tuple(steps),
                user_rps=pace, request_timeout_s=10.0)
    cores = {0} if processes == 1 else {0, 1}
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)  # the Locust processes inherit it
    try:
        out = engine.run(plan, work / f"check-{processes}", work, engine.Distribution(processes=processes))
    finally:
        os.sched_setaffinity(0, before)
    hold = next(s for s in out.as_run if s.phase == "hold")
    return step_window(out.timeline, hold, 1.0).rps


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
    jobs: dict[str, Callable[[], float]] = {
        "wrk -t1 -c50": lambda: wrk(url, seconds),
        "ab -k -c50": lambda: ab(url, seconds),
        "Locust FastHttpUser (bare)": lambda: bare_locust(url, seconds, "fast", work),
        "Locust HttpUser (bare)": lambda: bare_locust(url, seconds, "http", work),
        "load check, 1 process": lambda: load_check(url, seconds, 1, work),
        "load check, --processes 2 (cores 0-1)": lambda: load_check(url, seconds, 2, work),
    }
    results: dict[str, list[float]] = {name: [] for name in jobs}
    started = time.time()
    try:
        for _ in range(rounds):
            for name, job in jobs.items():
                results[name].append(job())
                print(f"  {name}: {results[name][-1]:,.0f} req/s", flush=True)
    finally:
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()
    medians = {name: statistics.median(values) for name, values in results.items()}
    fast = medians["Locust FastHttpUser (bare)"]
    one = medians["load check, 1 process"]
    print(f"\nrequests/s, {USERS} connections/users, {seconds} s each, median of {rounds} (generators on core 0, "
          f"nginx on core {(os.cpu_count() or 2) - 1}); load average {load_before[0]:.2f} before, "
          f"{load_after[0]:.2f} after")
    for name, value in medians.items():
        spread = f"{min(results[name]):,.0f}–{max(results[name]):,.0f}"
        print(f"  {name:42} {value:>10,.0f}  ({spread})")
    print(f"  load check / bare FastHttpUser: {one / fast:.2%} (target >= 90 %)")
    print(f"  --processes 2 / 1 process: {medians['load check, --processes 2 (cores 0-1)'] / one:.2f}x "
          "(target >= 1.8x; nginx shares core 1 with the second process on this 2-core machine)")
    out = ROOT / "reports" / "bench-load.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"started": started, "seconds": seconds, "rounds": rounds, "users": USERS,
                               "load_before": load_before, "load_after": load_after, "results": results,
                               "medians": medians}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
