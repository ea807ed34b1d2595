"""The operations plugin: history, alerts and flake control for a smokegate run.

Loaded by the main plugin (``pytest_plugins = ["smokegate.ops.plugin"]``).  It adds the options
below and implements ``pytest_smokegate_run_finished``, which the main plugin calls once on the
controller after ``gate.json`` is written.  Every option resolves CLI > environment > ini:

- ``--history PATH`` / ``SMOKEGATE_HISTORY`` / ``smokegate_history``: the run history database,
  default ``<reports_dir>/history.sqlite``; a ``postgresql://`` URL for a shared history (from the
  environment or the command line without a password, never from the ini file);
- ``--no-history`` / ``SMOKEGATE_NO_HISTORY=1`` / ``smokegate_no_history``: do not record the run;
- ``--scheduled`` / ``SMOKEGATE_SCHEDULED=1`` / ``smokegate_scheduled``: scheduled-run alerting
  (page after N consecutive failures, remind, recover); default is post-deploy semantics;
- ``--run-id ID`` / ``SMOKEGATE_RUN_ID`` / ``smokegate_run_id``: the run's id in the history;
- ``--location NAME`` / ``SMOKEGATE_LOCATION`` / ``smokegate_location``: where the run ran from,
  recorded with it (default the host name);
- ``--watch-suite NAME`` / ``SMOKEGATE_WATCH_SUITE``: set by ``smokegate watch`` on the runs it
  starts; the suite and the location make the run's alert stream (see ``smokegate.ops.history``);
- ``--no-network-retry`` / ``SMOKEGATE_NO_NETWORK_RETRY=1`` / ``smokegate_no_network_retry``.

Flake control: when the suite is active (a target or base URL is chosen) and unless
``--no-network-retry``, a check that fails on a network-level error is run
once more after a one-second pause (pytest-rerunfailures, limited by ``only_rerun`` to the errors in
:data:`NETWORK_ERRORS`).  Assertion and threshold failures never match, so they are never retried.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from smokegate.ops.finish import finish_run
from smokegate.ops.history import HistoryError, HistorySource, parse_source

if TYPE_CHECKING:
    from smokegate.config import Target

# Matched by pytest-rerunfailures against "<ExceptionType>: <message>" of every exception in the
# failure's chain; anchored on the type name so an assertion *message* mentioning one never matches.
NETWORK_ERRORS = (
    r"^TargetUnreachable\b",
    r"^(ConnectError|ConnectTimeout|ReadTimeout|WriteTimeout|PoolTimeout|ReadError|WriteError)\b",
    r"^RemoteProtocolError\b",
    r"^(ConnectionResetError|ConnectionRefusedError|ConnectionAbortedError|BrokenPipeError)\b",
    r"^gaierror\b",
    # Playwright reports network failures as "Error: Page.goto: net::ERR_CONNECTION_RESET at ...".
    r"^Error: [\w.]+: net::ERR_"
    r"(CONNECTION_\w+|NAME_NOT_RESOLVED|TIMED_OUT|EMPTY_RESPONSE|ADDRESS_UNREACHABLE)",
)
RERUN_DELAY_S = 1.0
_TRUE = {"1", "true", "yes", "on"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("smokegate-ops", "smokegate operations: run history, alerts, flake control")
    group.addoption(
        "--history",
        dest="smokegate_history",
        metavar="PATH",
        default=None,
        help="run history: SQLite file or postgresql:// URL "
        "[env SMOKEGATE_HISTORY; default <reports_dir>/history.sqlite]",
    )
    group.addoption(
        "--no-history",
        dest="smokegate_no_history",
        action="store_const",
        const=True,
        default=None,
        help="do not record this run in the history [env SMOKEGATE_NO_HISTORY]",
    )
    group.addoption(
        "--scheduled",
        dest="smokegate_scheduled",
        action="store_const",
        const=True,
        default=None,
        help="scheduled-run alerting: page after N consecutive failures, remind, recover [env SMOKEGATE_SCHEDULED]",
    )
    group.addoption(
        "--run-id",
        dest="smokegate_run_id",
        metavar="ID",
        default=None,
        help="id of this run in the history [env SMOKEGATE_RUN_ID; default time-target-random]",
    )
    group.addoption(
        "--location",
        dest="smokegate_location",
        metavar="NAME",
        default=None,
        help="where this run runs from, recorded in the history [env SMOKEGATE_LOCATION; default the host name]",
    )
    group.addoption(
        "--watch-suite",
        dest="smokegate_watch_suite",
        metavar="NAME",
        default=None,
        help="set by smokegate watch: the watch suite this run belongs to [env SMOKEGATE_WATCH_SUITE]",
    )
    group.addoption(
        "--no-network-retry",
        dest="smokegate_no_network_retry",
        action="store_const",
        const=True,
        default=None,
        help="do not retry checks that failed on a network error [env SMOKEGATE_NO_NETWORK_RETRY]",
    )
    parser.addini("smokegate_history", "run history database path", type="string", default="")
    parser.addini("smokegate_no_history", "do not record runs in the history", type="bool", default=False)
    parser.addini("smokegate_scheduled", "scheduled-run alert semantics", type="bool", default=False)
    parser.addini("smokegate_run_id", "id of this run in the history", type="string", default="")
    parser.addini("smokegate_location", "where runs run from (default the host name)", type="string", default="")
    parser.addini("smokegate_no_network_retry", "do not retry network-level failures", type="bool", default=False)


def _text_setting(config: pytest.Config, dest: str, env: str) -> str | None:
    value = config.getoption(dest, None)
    if value:
        return str(value)
    if os.environ.get(env):
        return os.environ[env]
    ini = str(config.getini(dest) or "")
    return ini or None


def _flag_setting(config: pytest.Config, dest: str, env: str) -> bool:
    value = config.getoption(dest, None)
    if value is not None:
        return bool(value)
    if env in os.environ:
        return os.environ[env].strip().lower() in _TRUE
    return bool(config.getini(dest))


def _suite_active(config: pytest.Config) -> bool:
    """The main plugin's rule: smokegate is active once a target or a base URL is chosen."""
    if config.getoption("smokegate_target", None) or os.environ.get("SMOKEGATE_TARGET"):
        return True
    if config.getoption("base_url", None):
        return True
    for ini in ("smokegate_target", "base_url"):
        try:
            if config.getini(ini):
                return True
        except ValueError:  # that ini key is not registered (the plugin defining it is absent)
            continue
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Retry network-level failures once; runs before pytest-rerunfailures reads its options."""
    if _flag_setting(config, "smokegate_no_network_retry", "SMOKEGATE_NO_NETWORK_RETRY"):
        return
    if not _suite_active(config):
        # Installed next to other test suites (or our own self-tests), stay out of their reruns.
        return
    if not config.pluginmanager.hasplugin("rerunfailures") or config.getoption("usepdb", False):
        return
    option = config.option
    # An explicit --reruns/--only-rerun from the user wins; otherwise ours apply.
    if getattr(option, "reruns", None) is None and not config.getini("reruns"):
        option.reruns = 1
    if getattr(option, "reruns_delay", None) is None and not config.getini("reruns_delay"):
        option.reruns_delay = RERUN_DELAY_S
    if not getattr(option, "only_rerun", None) and not config.getini("only_rerun"):
        option.only_rerun = list(NETWORK_ERRORS)


@pytest.hookimpl(optionalhook=True)
def pytest_smokegate_run_finished(
    config: pytest.Config, gate: dict[str, Any], reports_dir: Path, target: Target | None
) -> None:
    """Record the run, write the incident when it blocks, send alerts and metrics."""
    reports_dir = Path(reports_dir)
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    started: list[bool] = []

    def say(message: str) -> None:
        line = f"smokegate-ops: {message}"
        if terminal is None:
            print(line, file=sys.stderr)
            return
        if not started:
            # The progress line ("....  [100%]") has no newline yet; end it before our section.
            terminal.write_line("")
            terminal.write_sep("-", "smokegate ops: history and alerts")
            started.append(True)
        terminal.write_line(line)

    history: HistorySource | None = None
    if not _flag_setting(config, "smokegate_no_history", "SMOKEGATE_NO_HISTORY"):
        try:
            history = _history_source(config, reports_dir)
        except HistoryError as exc:
            say(f"run history unavailable, run not recorded: {exc}")
    finish_run(
        gate,
        reports_dir=reports_dir,
        history_path=history,
        run_id=_text_setting(config, "smokegate_run_id", "SMOKEGATE_RUN_ID"),
        scheduled=_flag_setting(config, "smokegate_scheduled", "SMOKEGATE_SCHEDULED"),
        alerts=target.alerts if target is not None else None,
        secret_env=target.secret_env if target is not None else (),
        say=say,
        location=_text_setting(config, "smokegate_location", "SMOKEGATE_LOCATION") or socket.gethostname(),
        suite=config.getoption("smokegate_watch_suite", None) or os.environ.get("SMOKEGATE_WATCH_SUITE") or None,
    )


def _history_source(config: pytest.Config, reports_dir: Path) -> HistorySource:
    """``--history`` / ``SMOKEGATE_HISTORY`` / ini: a file, or a PostgreSQL URL (never from the ini file)."""
    for value, origin in (
        (config.getoption("smokegate_history", None), "--history"),
        (os.environ.get("SMOKEGATE_HISTORY"), "SMOKEGATE_HISTORY"),
        (config.getini("smokegate_history"), "ini smokegate_history"),
    ):
        if value:
            return parse_source(str(value), origin=origin)
    return reports_dir / "history.sqlite"
