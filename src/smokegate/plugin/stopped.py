"""A run that ends before it could test anything: this invocation's ``gate.json``, summary and page.

Two ways to get here, both usage errors (verdict ``error``, exit code 4):

- an input smokegate refused before anything was sent (an option, the config, a file):
  the plugin calls :func:`write_stopped`;
- a command line pytest itself refused (``--expect-version`` with no value, ``--targte``).  pytest's
  argument parser raises before any plugin is configured, so no smokegate hook of the run ever
  starts, and an earlier run's ``gate.json`` (``pass``, say) would stand as the verdict.  pytest
  does still close the config it was parsing into: :func:`watch_command_line`, called as the
  plugin is loaded, registers a cleanup there that writes this invocation's ``gate.json`` (and
  report page) over the earlier one.  It writes only for an invocation that chose a target, or
  into a reports directory that already holds a smokegate verdict (which would otherwise be
  stale); a parse error in someone else's test suite is none of its business.

Nothing of this is a run of the target: nothing is recorded in the history, nothing is posted.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from smokegate.gate import GateReport, new_run_id, write_json_atomic
from smokegate.options import DEFAULT_REPORTS_DIR, Setting
from smokegate.plugin.pytest_options import scanned
from smokegate.severity import Severity
from smokegate.summary import write_summary

# What only a run that tested something writes: an earlier run's must not pass for this one's.
STALE_OUTPUTS = ("junit.xml", "allure-results", "playwright", "incident.md", "alerts.json")
_CONFIGURED = pytest.StashKey[bool]()


def clear_stale_outputs(reports: Path) -> None:
    for name in STALE_OUTPUTS:
        path = reports / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink(missing_ok=True)


def write_stopped(gate: GateReport, reports: Path, html_path: Path | None = None) -> dict[str, Any]:
    """gate.json, summary.md and report.html of a run stopped by a usage error; returns gate.json's data."""
    gate.finalize()
    data = gate.as_dict()
    clear_stale_outputs(reports)
    write_json_atomic(reports / "gate.json", data)
    write_summary(gate, reports)
    from smokegate.plugin import html_report

    # gate.json, already written, carries the verdict; the page is a convenience.
    with contextlib.suppress(OSError):
        html_report.write_stopped_report(html_path or reports / "report.html", gate)
    return data


# -- a command line pytest refused -------------------------------------------------------------


def watch_command_line(pluginmanager: pytest.PytestPluginManager) -> None:
    """Called while pytest loads the plugin (``pytest_addoption``), before it parses the command line."""
    config = pluginmanager.get_plugin("pytestconfig")
    if isinstance(config, pytest.Config):
        config.add_cleanup(lambda: _after_parse(config))


def configured(config: pytest.Config) -> None:
    """The command line parsed and the run configures: its own hooks write its verdict from here on."""
    config.stash[_CONFIGURED] = True


def _after_parse(config: pytest.Config) -> None:
    if config.stash.get(_CONFIGURED, False) or hasattr(config, "workerinput"):
        return
    # Called while pytest unwinds from the failed parse: the error being handled is the reason.
    error = sys.exc_info()[1]
    if error is None:
        return
    try:
        _refused(config, error)
    except Exception as exc:  # never hide pytest's own message behind ours
        print(f"smokegate: could not write the verdict of this invocation: {exc}", file=sys.stderr)


def _refused(config: pytest.Config, error: BaseException) -> None:
    args = _command_line(config)

    def setting(flag: str) -> Setting:
        return scanned(config, flag, args)

    target, base_url = setting("--target").value, setting("--base-url").value
    reports = _absolute(config, setting("--reports-dir").value or DEFAULT_REPORTS_DIR)
    if not (target or base_url or _holds_a_verdict(reports)):
        return  # not a smokegate invocation, and no verdict of ours to leave stale
    if not isinstance(error, pytest.UsageError):
        # Not a usage error (pytest reports it its own way): no verdict at all rather than a stale one.
        with contextlib.suppress(OSError):
            (reports / "gate.json").unlink(missing_ok=True)
        return
    from smokegate import preflight

    if preflight.reports_dir_problem(reports) is not None:
        return
    gate = GateReport(gate_on=_value(setting("--gate-on")) or Severity.HIGH,
                      run_id=_value(setting("--run-id")) or new_run_id(target),
                      target_name=_value(setting("--target")), base_url=_value(setting("--base-url")))
    gate.fail_usage(f"pytest refused the command line: {_parser_message(error)}")
    html = setting("--html").value
    write_stopped(gate, reports, _absolute(config, os.path.expandvars(html)) if html else None)


def _command_line(config: pytest.Config) -> list[str]:
    """What pytest parsed: PYTEST_ADDOPTS, the ini file's addopts, then the invocation's arguments."""
    args = shlex.split(os.environ.get("PYTEST_ADDOPTS", ""))
    with contextlib.suppress(Exception):  # the ini file may be what could not be read
        args += list(config.getini("addopts") or [])
    return [*args, *config.invocation_params.args]


def _value(setting: Setting) -> str | None:
    return setting.value.strip() or None if setting.value is not None else None


def _absolute(config: pytest.Config, path: str) -> Path:
    return Path(config.invocation_params.dir, Path(path).expanduser())


def _holds_a_verdict(reports: Path) -> bool:
    try:
        data = json.loads((reports / "gate.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "verdict" in data and "schema" in data


def _parser_message(error: BaseException) -> str:
    """argparse's own words (``argument --expect-version: expected one argument``), without the usage."""
    text = str(error)
    found = re.search(r"error: (.+)", text)
    return (found.group(1) if found else text.strip().splitlines()[-1] if text.strip() else type(error).__name__)
