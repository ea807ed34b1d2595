"""``python -m smokegate.load.worker --master-host HOST``: a load generator for a load check run elsewhere.

One machine is not always enough to send ten times a platform's traffic, nor close enough to it.  The
load check then runs as a Locust master (``pytest tests/load --target staging --load-workers N``) and
waits for N workers; this starts one, on any machine with smokegate installed, with the same
locustfile (Locust refuses a worker of another Locust version).  The master sends each worker the
plan (routes, shape, the CA to trust and the synthetic user's session) with its spawn messages, and
merges what they measured; the gate reads the master's numbers.  ``--processes N`` forks N workers
here (one per core).  A worker ends when its master's run ends.

Locust's master-worker channel (ZeroMQ) is not encrypted: keep the master's port on a private network
(the Kubernetes example in ``deploy/kubernetes/`` allows only the worker pods to reach it).
"""

from __future__ import annotations

import argparse
import os
import sys

from smokegate.load.engine import locustfile


def command(master_host: str, master_port: int, processes: int) -> list[str]:
    args = [sys.executable, "-m", "locust", "-f", locustfile(), "--worker", "--master-host", master_host,
            "--master-port", str(master_port), "--loglevel", "INFO"]
    if processes > 1:
        args += ["--processes", str(processes)]
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smokegate.load.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--master-host", required=True, help="where the load check's master runs")
    parser.add_argument("--master-port", type=int, default=5557, help="its port ([load] master_bind_port)")
    parser.add_argument("--processes", type=int, default=1, help="worker processes on this machine (one per core)")
    args = parser.parse_args(argv)
    if not 1 <= args.master_port <= 65535 or args.processes < 1:
        parser.error("--master-port is 1-65535 and --processes at least 1")
    cmd = command(args.master_host, args.master_port, args.processes)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    os.execve(sys.executable, cmd, env)
    return 0  # pragma: no cover - execve does not return


if __name__ == "__main__":
    sys.exit(main())
