"""The ``smokegate`` command: operations on what the suite records, and the real-time monitor.

``smokegate report --since 24h`` renders the daily health report from the run history and prints
the path it wrote (``--since 7d`` for the weekly review).

``smokegate watch --target production`` runs the suites on their schedules (health every 30 s,
smoke every 5 min, safe security and synthetic every 15 min, per ``[targets.NAME.watch]``) until
SIGTERM, each run a real pytest run recorded in the history, and serves Prometheus metrics with
``--metrics-port``.  Arguments after ``--`` go to every pytest run.

``smokegate rollback --target production --failing-url URL --dry-run`` says which deployment whose
gate passed Vercel would serve again (without ``--dry-run`` it asks Vercel to); ``smokegate badge``
writes uptime badges.

The checks themselves run under pytest (``pytest tests/smoke tests/security tests/synthetic
--target production``), not through here.
"""

from __future__ import annotations

import argparse
import socket
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from smokegate import options
from smokegate.config import ConfigError, load_config
from smokegate.ops import commands as ops_commands
from smokegate.ops.health_report import write_report
from smokegate.ops.history import History, HistoryError, HistorySource, PostgresURL
from smokegate.ops.report import parse_since
from smokegate.ops.runner import RUNNERS
from smokegate.ops.watch_config import SUITE_NAMES
from smokegate.options import DEFAULT_CONFIG_NAME

DEFAULT_HISTORY = Path("reports/history.sqlite")
DEFAULT_WATCH_REPORTS = Path("reports/watch")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smokegate", description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    report = commands.add_parser(
        "report",
        help="render the health report from the run history",
        description="Render the health report (availability per target against the 99.9 % goal, failed checks, "
        "p50/p95 of every check against its budget, the slowest checks, failure kinds, incidents) from the run "
        "history into one self-contained HTML page, and print its path.  It reads the history; it never moves or "
        "replaces it (an older one's schema is brought up to date).",
    )
    report.add_argument(
        "--since",
        default="24h",
        help="period to cover, ending now: 24h (the daily report), 7d (the weekly review), 90m, 2w; a period "
        "longer than the history covers the whole history (default 24h)",
    )
    report.add_argument(
        "--history",
        default=None,
        help=f"run history: SQLite file or postgresql:// URL (env SMOKEGATE_HISTORY; default {DEFAULT_HISTORY})",
    )
    report.add_argument(
        "--out",
        type=Path,
        default=None,
        help="HTML file to write (default: health-report-<since>.html next to the history file, or in reports/ "
        "for a PostgreSQL history)",
    )

    watch = commands.add_parser(
        "watch",
        help="run the suites on a schedule until stopped, with metrics",
        description="Run the suites on their schedules (smokegate.toml [targets.NAME.watch]) until SIGTERM. "
        "Arguments after -- are passed to every pytest run.",
    )
    watch.add_argument(
        "--target",
        action="append",
        default=None,
        metavar="NAME",
        help="target to watch, by name from the config; repeat for several (env SMOKEGATE_TARGET, comma-separated)",
    )
    watch.add_argument(
        "--config", default=None, help=f"target config file (env SMOKEGATE_CONFIG; default {DEFAULT_CONFIG_NAME})"
    )
    watch.add_argument(
        "--suite",
        action="append",
        choices=SUITE_NAMES,
        default=None,
        help="watch only this suite; repeat for several (default: every suite the config enables)",
    )
    watch.add_argument(
        "--history",
        default=None,
        help="run history: SQLite file, or postgresql:// URL without a password "
        f"(env SMOKEGATE_HISTORY, where a URL with a password belongs; default {DEFAULT_HISTORY})",
    )
    watch.add_argument(
        "--location",
        default=None,
        help="where this watcher runs from, recorded with every run (env SMOKEGATE_LOCATION; default the host name)",
    )
    watch.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus metrics on this port")
    # All interfaces by default: Prometheus scrapes from another host (or pod).
    watch.add_argument("--metrics-address", default="0.0.0.0", help="address to serve metrics on (default 0.0.0.0)")
    watch.add_argument(
        "--reports-dir",
        type=Path,
        default=DEFAULT_WATCH_REPORTS,
        help=f"each target's latest run per suite goes to <dir>/<target>/<suite>/ (default {DEFAULT_WATCH_REPORTS})",
    )
    watch.add_argument(
        "--availability-window", default="24h", help="period of the availability metric: 24h, 7d, 90m (default 24h)"
    )
    watch.add_argument(
        "--runner",
        choices=RUNNERS,
        default="fork",
        help="fork: runs are forks of a pre-warmed pytest (cheap); subprocess: a fresh interpreter per run",
    )
    watch.add_argument("--max-parallel", type=int, default=4, help="runs at once across targets (default 4)")
    watch.add_argument(
        "--project-dir",
        type=Path,
        default=Path.cwd(),
        help="the checkout holding tests/ (default: the current directory)",
    )
    # rollback and badge (smokegate.ops.commands)
    ops_commands.add_parsers(commands, default_history=DEFAULT_HISTORY, default_config=DEFAULT_CONFIG_NAME)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    raw = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in raw:
        cut = raw.index("--")
        raw, extra = raw[:cut], raw[cut + 1 :]
    args = parser.parse_args(raw)
    if args.command == "report":
        return _report(parser, args)
    if args.command == "watch":
        return _watch(args, extra)
    if args.command in ops_commands.NAMES:
        return ops_commands.run(args, default_history=DEFAULT_HISTORY, default_config=DEFAULT_CONFIG_NAME)
    parser.error(f"unknown command {args.command!r}")  # argparse exits; kept for the type checker
    return 2


def _fail(message: str, code: int = 2) -> int:
    print(f"smokegate: {message}", file=sys.stderr)
    return code


def _history_source(given: str | None) -> HistorySource:
    return ops_commands.history_source(given, DEFAULT_HISTORY)


def _report(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        since = parse_since(args.since)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        history = _history_source(args.history)
    except HistoryError as exc:
        return _fail(str(exc))
    if isinstance(history, Path) and not history.is_file():
        return _fail(f"no run history at {history} (run the suite first, or pass --history)", 1)
    folder = history.parent if isinstance(history, Path) else Path("reports")
    out = args.out or folder / f"health-report-{args.since.strip()}.html"
    try:
        written = write_report(
            history,
            out,
            since=since,
            notice=lambda message: print(f"smokegate: {message}", file=sys.stderr),
            recover=False,  # a report reads the history: it never moves a damaged one aside
        )
    except (HistoryError, sqlite3.Error, OSError) as exc:
        return _fail(f"cannot build the report: {exc}", 1)
    print(written)
    return 0


def _watch(args: argparse.Namespace, extra: list[str]) -> int:
    """Validate everything before the first run starts; each problem is one message, exit 2."""
    from smokegate.ops.watch import SUITES, Watcher, WatchOptions, WatchSetupError

    problems: list[str] = []
    # Several targets: --target repeated, or SMOKEGATE_TARGET comma-separated.
    chosen = options.command_text("--target", ",".join(args.target) if args.target else None, problems)
    config_given = options.command_text("--smokegate-config", args.config, problems, written="--config")
    location = options.command_text("--location", args.location, problems) or socket.gethostname()
    if problems:
        return _fail("; ".join(problems))
    names = [n.strip() for n in (chosen or "").split(",") if n.strip()]
    if not names:
        return _fail("watch: no target chosen: pass --target NAME (env SMOKEGATE_TARGET)")
    project = args.project_dir.resolve()
    suites = tuple(args.suite or SUITE_NAMES)
    missing = [p for p in dict.fromkeys(p for s in suites for p in SUITES[s].paths) if not (project / p).is_dir()]
    if missing:
        return _fail(f"--project-dir {project}: no {', '.join(missing)} here (run from the smokegate checkout)")
    config_path = Path(config_given or project / DEFAULT_CONFIG_NAME).resolve()
    try:
        suite_config = load_config(config_path).suite
    except ConfigError as exc:
        return _fail(str(exc))
    unknown = [name for name in names if name not in suite_config.targets]
    if unknown:
        known = ", ".join(sorted(suite_config.targets)) or "none"
        return _fail(f"{config_path}: unknown target(s) {', '.join(map(repr, unknown))} (known targets: {known})")
    try:
        window = parse_since(args.availability_window)
    except ValueError as exc:
        return _fail(f"--availability-window: {exc}".replace("--since ", ""))
    if args.max_parallel < 1:
        return _fail(f"--max-parallel: must be at least 1, not {args.max_parallel}")
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        return _fail(f"--metrics-port: not a port: {args.metrics_port}")
    try:
        history = _history_source(args.history)
    except HistoryError as exc:
        return _fail(str(exc))
    if isinstance(history, Path):
        history = history if history.is_absolute() else (Path.cwd() / history)
    reports = args.reports_dir if args.reports_dir.is_absolute() else Path.cwd() / args.reports_dir
    try:
        reports.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(f"--reports-dir {args.reports_dir}: cannot create it: {exc}")
    try:
        # Open once now: a history that cannot be created is a setup problem worth stopping for,
        # and the schema is migrated before runs from several processes race to do it.
        History.open(history).close()
    except (HistoryError, sqlite3.Error, OSError) as exc:
        shown = history if isinstance(history, PostgresURL) else str(history)
        print(f"smokegate: warning: run history {shown} unavailable ({exc}); watching anyway", file=sys.stderr)
    watch_options = WatchOptions(
        targets={name: suite_config.targets[name] for name in names},
        config=config_path,
        project_dir=project,
        reports_dir=reports,
        history=history,
        location=location,
        suites=suites,
        pytest_args=tuple(extra),
        runner=args.runner,
        metrics_port=args.metrics_port,
        metrics_address=args.metrics_address,
        availability_window_s=window.total_seconds(),
        max_parallel=args.max_parallel,
    )
    watcher = Watcher(watch_options)
    try:
        return watcher.run()
    except WatchSetupError as exc:  # the metrics port is taken, its address is not this machine's
        watcher.abort()
        return _fail(f"watch: {exc}")
    except OSError as exc:  # the runner cannot start
        watcher.abort()
        return _fail(f"watch: {exc}", 1)


if __name__ == "__main__":
    sys.exit(main())
