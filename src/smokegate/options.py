"""Every smokegate option in one table, each with an environment variable and an ini key.

Precedence is CLI, then environment, then ini, then the default, as pytest-base-url does it.
:func:`smokegate.plugin.pytest_options.read` resolves and validates them all at once, on the controller,
before anything is sent: each bad value becomes one :class:`UsageProblem` naming where the user wrote it (``--gate-on``,
``env SMOKEGATE_GATE_ON`` or ``ini smokegate_gate_on``).  An empty value that was given is an error,
never "not given": ``--expect-version ''`` must not silently skip the identity check.  The commands of
``python -m smokegate`` (watch, report, rollback, badge) read the same table's environment variables
through :func:`command_setting` and :func:`command_text`, with the same messages.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Literal

from smokegate.severity import SEVERITIES, Severity

DEFAULT_CONFIG_NAME = "smokegate.toml"
DEFAULT_REPORTS_DIR = "reports"

Kind = Literal["text", "flag", "choice"]
TRUE = ("1", "true", "yes", "on")
FALSE = ("", "0", "false", "no", "off")


class UsageProblem(Exception):
    """An option, file or environment variable the run cannot use; the message names where it was set."""


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    ini: str
    help: str
    default: str | None = None
    kind: Kind = "text"
    choices: tuple[str, ...] = ()
    metavar: str | None = None

    @property
    def dest(self) -> str:
        return "smokegate_" + self.flag.lstrip("-").replace("-", "_").removeprefix("smokegate_")


OPTIONS = (
    Option("--target", "SMOKEGATE_TARGET", "smokegate_target",
           "target to test, by name from the target config (required: there is no implicit default)",
           metavar="NAME"),
    Option("--smokegate-config", "SMOKEGATE_CONFIG", "smokegate_config",
           f"target config file (default: {DEFAULT_CONFIG_NAME} in the rootdir)", metavar="FILE"),
    Option("--ca-bundle", "SMOKEGATE_CA_BUNDLE", "smokegate_ca_bundle",
           "PEM file of CAs to trust for the target, overriding the config ('system' for the OS store)",
           metavar="FILE"),
    Option("--reports-dir", "SMOKEGATE_REPORTS_DIR", "smokegate_reports_dir",
           "where report.html, junit.xml, allure-results/, gate.json and summary.md go", DEFAULT_REPORTS_DIR,
           metavar="DIR"),
    Option("--gate-on", "SMOKEGATE_GATE_ON", "smokegate_gate_on",
           "lowest severity whose failure blocks the deployment", Severity.HIGH, "choice", SEVERITIES, metavar="LEVEL"),
    Option("--http-url", "SMOKEGATE_HTTP_URL", "smokegate_http_url",
           "plain-HTTP URL of the target for the HTTPS-redirect check (default: the config's, else http://<host>)",
           metavar="URL"),
    Option("--expect-version", "SMOKEGATE_EXPECT_VERSION", "smokegate_expect_version",
           "build SHA the target's health endpoint must report (the deployment under test)", metavar="SHA"),
    # Operations: run history, alerting, flake control.
    Option("--history", "SMOKEGATE_HISTORY", "smokegate_history",
           "run history database (default <reports-dir>/history.sqlite)", metavar="PATH"),
    Option("--no-history", "SMOKEGATE_NO_HISTORY", "smokegate_no_history",
           "do not record this run in the history", kind="flag"),
    Option("--scheduled", "SMOKEGATE_SCHEDULED", "smokegate_scheduled",
           "scheduled monitoring: alert only after consecutive failures, remind, recover", kind="flag"),
    Option("--run-id", "SMOKEGATE_RUN_ID", "smokegate_run_id",
           "id of this run in the history (default: time-target-random)", metavar="ID"),
    Option("--location", "SMOKEGATE_LOCATION", "smokegate_location",
           "where this run runs from, recorded with it (default: the host name)", metavar="NAME"),
    Option("--watch-suite", "SMOKEGATE_WATCH_SUITE", "smokegate_watch_suite",
           "set by smokegate watch on the runs it starts: the watch suite (with the location, the alert stream)",
           metavar="NAME"),
    Option("--no-network-retry", "SMOKEGATE_NO_NETWORK_RETRY", "smokegate_no_network_retry",
           "do not retry checks that failed on a network error", kind="flag"),
    # The load check (tests/load): where its load is generated.
    Option("--load-processes", "SMOKEGATE_LOAD_PROCESSES", "smokegate_load_processes",
           "load check: Locust generator processes on this machine (a master and N workers when above 1)",
           "1", metavar="N"),
    Option("--load-workers", "SMOKEGATE_LOAD_WORKERS", "smokegate_load_workers",
           "load check: run a Locust master and wait for N workers started elsewhere "
           "(python -m smokegate.load.worker --master-host HOST)", "0", metavar="N"),
)
BY_FLAG = {option.flag: option for option in OPTIONS}


@dataclass(frozen=True)
class Setting:
    """A resolved value and where it came from (for error messages)."""

    value: str | None
    source: str


@dataclass(frozen=True)
class Settings:
    """Every option of one run, resolved and validated; handed to xdist workers as a dict."""

    target: str | None
    config_path: str
    ca_bundle: str | None
    ca_bundle_source: str
    reports_dir: str
    gate_on: str
    http_url: str | None
    expect_version: str | None
    base_url: str | None
    history: str | None
    history_source: str
    no_history: bool
    scheduled: bool
    run_id: str | None
    no_network_retry: bool
    location: str
    watch_suite: str | None
    load_processes: int = 1
    load_workers: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Settings:
        return cls(**data)


def command_setting(flag: str, given: str | None, *, written: str | None = None,
                    default: str | None = None) -> Setting:
    """One option of a ``python -m smokegate`` command (watch, report, rollback, badge): its own flag
    (``written``, when the command spells it otherwise, as watch's ``--config``), else the table's
    environment variable, else ``default``.  No ini: a command reads no pytest configuration."""
    option = BY_FLAG[flag]
    if given is not None:
        return Setting(given, written or option.flag)
    if option.env in os.environ:
        return Setting(os.environ[option.env], f"env {option.env}")
    return Setting(default if default is not None else option.default, "default")


def command_text(flag: str, given: str | None, problems: list[str], *, written: str | None = None) -> str | None:
    """:func:`command_setting`, checked as the pytest option is: an empty value or a line break is a
    problem naming where it was written, never "not given"."""
    return checked(command_setting(flag, given, written=written), flag, problems)


def checked(setting: Setting, flag: str, problems: list[str]) -> str | None:
    """A setting's value, stripped; an empty value, a line break or a value outside the option's choices
    is a problem naming where it was written (``problems``), and None."""
    if setting.value is None:
        return None
    value = setting.value.strip()
    if not value:
        problems.append(f"{setting.source}: empty value (leave it out, or give {BY_FLAG[flag].metavar or 'a value'})")
        return None
    if value != setting.value and "\n" in setting.value:
        problems.append(f"{setting.source}: the value contains a line break")
        return None
    option = BY_FLAG[flag]
    if option.choices and value not in option.choices:
        problems.append(f"{setting.source}: {value!r} is not one of {', '.join(option.choices)}")
        return None
    return value
