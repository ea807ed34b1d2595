"""The ``smokegate`` command: operations on what the suite has recorded.

``smokegate report --since 24h`` renders the daily health report from the run history and prints
the path it wrote (``--since 7d`` for the weekly review).  The checks themselves run under pytest
(``pytest tests/smoke tests/security tests/synthetic --target production``), not through here.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from smokegate.ops.history import HistoryError
from smokegate.ops.report import parse_since, write_report

DEFAULT_HISTORY = Path("reports/history.sqlite")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smokegate", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    report = commands.add_parser("report", help="render the health report from the run history")
    report.add_argument("--since", default="24h", help="period to cover: 24h (daily), 7d (weekly), 90m, 2w")
    report.add_argument(
        "--history",
        type=Path,
        default=DEFAULT_HISTORY,
        help=f"run history database (default {DEFAULT_HISTORY})",
    )
    report.add_argument(
        "--out",
        type=Path,
        default=None,
        help="HTML file to write (default: health-report-<since>.html next to the history)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "report":
        try:
            since = parse_since(args.since)
        except ValueError as exc:
            parser.error(str(exc))
        history: Path = args.history
        if not history.is_file():
            print(
                f"smokegate: no run history at {history} (run the suite first, or pass --history)",
                file=sys.stderr,
            )
            return 1
        out = args.out or history.with_name(f"health-report-{args.since.strip()}.html")
        try:
            written = write_report(
                history,
                out,
                since=since,
                notice=lambda message: print(f"smokegate: {message}", file=sys.stderr),
            )
        except (HistoryError, sqlite3.Error, OSError) as exc:
            print(f"smokegate: cannot build the report: {exc}", file=sys.stderr)
            return 1
        print(written)
        return 0
    parser.error(f"unknown command {args.command!r}")  # argparse exits; kept for the type checker
    return 2


if __name__ == "__main__":
    sys.exit(main())
