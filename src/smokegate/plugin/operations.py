"""The operations plugin: run history, alerts and flake control for a smokegate run.

Loaded by the main plugin.  Its options (``--history`` — a SQLite file or a ``postgresql://`` URL,
``--no-history``, ``--scheduled``, ``--run-id``, ``--location``, ``--watch-suite``,
``--no-network-retry``) are in the one options table (:mod:`smokegate.options`); it
implements ``pytest_smokegate_run_finished``, which the main plugin calls once on the controller
after ``gate.json`` is written.

Flake control: when a target is chosen and unless ``--no-network-retry``, a check that fails on a
network-level error is run once more after a one-second pause (pytest-rerunfailures, limited by
``only_rerun`` to :data:`smokegate.failures.RERUN_PATTERNS`).  Assertion and threshold failures never
match, so they are never retried.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from smokegate import options
from smokegate.failures import RERUN_PATTERNS
from smokegate.plugin import foreign_options, pytest_options

if TYPE_CHECKING:
    from smokegate.config import Target
    from smokegate.options import Settings

RERUN_DELAY_S = 1.0


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Retry network-level failures once; runs before pytest-rerunfailures reads its options."""
    if not pytest_options.selected(config):
        # Installed next to other test suites (or our own self-tests): stay out of their reruns.
        return
    if (pytest_options.lookup(config, "--no-network-retry").value or "").strip().lower() in options.TRUE:
        return
    if not config.pluginmanager.hasplugin("rerunfailures") or config.getoption("usepdb", False):
        return
    foreign_options.rerun_network_failures(config, RERUN_DELAY_S, RERUN_PATTERNS)


@pytest.hookimpl(optionalhook=True)
def pytest_smokegate_run_finished(
    config: pytest.Config, gate: dict[str, Any], reports_dir: Path, target: Target | None, settings: Settings
) -> None:
    """Record the run, write the incident when it fails, send alerts and metrics."""
    from smokegate.ops.finish import finish_run
    from smokegate.ops.history import HistoryError, HistorySource, parse_source

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
    if not settings.no_history:
        try:
            # Checked before the run (preflight); parsed here into a file path or a PostgreSQL URL.
            history = (parse_source(settings.history, origin=settings.history_source) if settings.history
                       else Path(reports_dir) / "history.sqlite")
        except HistoryError as exc:
            say(f"run history unavailable, run not recorded: {exc}")
    finish_run(
        gate,
        reports_dir=Path(reports_dir),
        history_path=history,
        run_id=settings.run_id,
        scheduled=settings.scheduled,
        alerts=target.alerts if target is not None else None,
        secret_env=target.secret_env if target is not None else (),
        say=say,
        location=settings.location,
        suite=settings.watch_suite,
        maintenance=target.maintenance if target is not None else (),
        hints=_hints(target),
    )


def _hints(target: Target | None) -> Callable[[], list[str]] | None:
    """What the providers' status pages say, read only if the run failed (smokegate.ops.attribution)."""
    if target is None or not target.providers.status.pages:
        return None

    def read() -> list[str]:
        from smokegate.ops.attribution import provider_hints

        return provider_hints(target)

    return read
