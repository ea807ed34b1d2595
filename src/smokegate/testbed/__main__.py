"""``python -m smokegate.testbed``: serve the testbed until interrupted."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from pathlib import Path

from smokegate.testbed import faults as fault_catalog
from smokegate.testbed.chaos import ChaosSettings, ChaosSpecError
from smokegate.testbed.instance import AlreadyRunning


def _port(text: str) -> int:
    """A TCP port, 0 to 65535 (0 picks a free one): argparse's usage message otherwise."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0 to 65535; 0 picks a free one)")
    return port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smokegate.testbed", description=__doc__)
    parser.add_argument("--state-dir", type=Path, default=Path(".smokegate/testbed"),
                        help="where the CA and testbed.json (URLs, admin token) are written")
    parser.add_argument("--https-port", type=_port, default=8443, help="0 picks a free port (default 8443)")
    parser.add_argument("--http-port", type=_port, default=8080, help="0 picks a free port (default 8080)")
    parser.add_argument("--admin-port", type=_port, default=0,
                        help="the admin API's port on 127.0.0.1 (default 0: a free port; testbed.json names it)")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME",
                        help="switch a fault on at start (repeatable); see --list-faults")
    parser.add_argument("--version", dest="build_version", default=None, help="build SHA /api/health reports")
    parser.add_argument("--protection", action="store_true",
                        help="put Vercel Deployment Protection in front (401 without the bypass secret)")
    parser.add_argument("--list-faults", action="store_true", help="print the fault catalog and exit")
    parser.add_argument("--chaos", metavar="SPEC", default=None,
                        help="serve through a network chaos proxy, e.g. 'delay=0-150,reset=1%%,stall=0,seed=7' "
                             "(per-connection delay in ms, shares of connections reset or stalled); "
                             "testbed.json then gives the proxied URLs")
    args = parser.parse_args(argv)
    if args.list_faults:
        for fault in fault_catalog.CATALOG.values():
            print(f"{fault.name:28} {fault.description}")
        return 0
    unknown = [name for name in args.fault if name not in fault_catalog.CATALOG]
    if unknown:
        parser.error(f"unknown fault(s): {', '.join(unknown)} (see --list-faults)")
    try:
        chaos = ChaosSettings.parse(args.chaos) if args.chaos is not None else None
    except ChaosSpecError as exc:
        parser.error(f"--chaos: {exc}")
    try:
        args.state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"--state-dir {args.state_dir}: cannot use it as the testbed's directory ({exc.strerror or exc})")
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    # The server (uvicorn, starlette, the stand-ins' libraries: 0.8 s of CPU) only once the arguments are
    # known good: a mistyped option is answered at once.
    from smokegate.testbed.server import ListenerError, TestbedServer

    server = TestbedServer(
        state_dir=args.state_dir, https_port=args.https_port, http_port=args.http_port,
        admin_port=args.admin_port, faults=args.fault, version=args.build_version, protection=args.protection,
        chaos=chaos,
    )
    # `kill` stops it as cleanly as Ctrl-C does: testbed.json is removed on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
    except (AlreadyRunning, ListenerError) as exc:
        print(f"testbed not started: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
