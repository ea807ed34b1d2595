"""Every smokegate option in one table, each with an environment variable and an ini key.

Precedence is CLI, then environment, then ini, then the default, as pytest-base-url does it.
:func:`read` resolves and validates them all at once, on the controller, before anything is sent:
each bad value becomes one :class:`UsageProblem` naming where the user wrote it (``--gate-on``,
``env SMOKEGATE_GATE_ON`` or ``ini smokegate_gate_on``).  An empty value that was given is an error,
never "not given": ``--expect-version ''`` must not silently skip the identity check.  The commands of
``python -m smokegate`` (watch, report, rollback, badge) read the same table's environment variables
through :func:`command_setting` and :func:`command_text`, with the same messages.
"""

from __future__ import annotations

import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from smokegate.severity import SEVERITIES, Severity

if TYPE_CHECKING:  # annotations only: the commands of python -m smokegate read this table without pytest
    import pytest

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


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("smokegate", "smokegate: target, gate, reports and operations")
    for option in OPTIONS:
        choices = f" (one of: {', '.join(option.choices)})" if option.choices else ""
        where = f"; env {option.env}, ini {option.ini}"
        if option.kind == "flag":
            group.addoption(option.flag, dest=option.dest, action="store_const", const=True, default=None,
                            help=f"{option.help}{where}")
        else:
            # No argparse ``choices``: a bad value must still produce gate.json, so we validate it ourselves.
            group.addoption(option.flag, dest=option.dest, default=None, metavar=option.metavar,
                            help=f"{option.help}{choices}{where}")
        parser.addini(option.ini, help=option.help, default=None)


@dataclass(frozen=True)
class Setting:
    """A resolved value and where it came from (for error messages)."""

    value: str | None
    source: str


def lookup(config: pytest.Config, flag: str) -> Setting:
    """The raw value of one option, CLI > env > ini > default, with its source; nothing validated."""
    option = BY_FLAG[flag]
    given = config.getoption(option.dest, None)
    if given is not None:
        return Setting("true" if given is True else str(given), option.flag)
    if option.env in os.environ:
        return Setting(os.environ[option.env], f"env {option.env}")
    ini = config.getini(option.ini)
    if ini not in (None, "", []):
        return Setting(str(ini), f"ini {option.ini}")
    return Setting(option.default, "default")


def base_url_setting(config: pytest.Config) -> Setting:
    """pytest-base-url's option, read from its sources (``--base-url``, env ``PYTEST_BASE_URL``, ini
    ``base_url``); not from ``config.option``, which pytest-base-url itself overwrites with the ini value."""
    if any(a == "--base-url" or a.startswith("--base-url=") for a in config.invocation_params.args):
        return Setting(config.getoption("base_url", None), "--base-url")
    if "PYTEST_BASE_URL" in os.environ:
        return Setting(os.environ["PYTEST_BASE_URL"], "env PYTEST_BASE_URL")
    try:
        ini = config.getini("base_url")
    except ValueError:  # pytest-base-url is not loaded
        ini = None
    return Setting(str(ini) if ini else None, "ini base_url")


# Options of other plugins a stopped invocation still reads: their environment variable and ini key.
_FOREIGN = {"--base-url": ("PYTEST_BASE_URL", "base_url"), "--html": (None, None)}


def scanned(config: pytest.Config, flag: str, args: list[str]) -> Setting:
    """``flag`` read from the raw words of a command line pytest could not parse, then env, ini, default.

    Only for the verdict of a refused command line (:mod:`smokegate.stopped`); the last occurrence
    wins, as in argparse, and a word starting with ``-`` is never taken as a value.
    """
    value: str | None = None
    for index, word in enumerate(args):
        if word == flag and index + 1 < len(args) and not args[index + 1].startswith("-"):
            value = args[index + 1]
        elif word.startswith(flag + "="):
            value = word.split("=", 1)[1]
    if value is not None:
        return Setting(value, flag)
    option = BY_FLAG.get(flag)
    env, ini = (option.env, option.ini) if option else _FOREIGN.get(flag, (None, None))
    if env and env in os.environ:
        return Setting(os.environ[env], f"env {env}")
    try:
        found = config.getini(ini) if ini else None
    except ValueError:  # the ini key's plugin is not loaded
        found = None
    if found not in (None, "", []):
        return Setting(str(found), f"ini {ini}")
    return Setting(option.default if option else None, "default")


def help_only(config: pytest.Config) -> bool:
    """``--help``, ``--version``, ``--markers``: pytest prints and exits; no option of ours is even read."""
    return any(getattr(config.option, name, False) for name in ("help", "version", "markers"))


def listing(config: pytest.Config) -> bool:
    """Does this invocation only list (``--collect-only``, ``--fixtures``, ``--help``…)?  Then it is no
    run: nothing is sent, no verdict is written, nothing recorded or posted, no report replaced."""
    option = config.option
    return any(getattr(option, name, False) for name in
               ("collectonly", "showfixtures", "show_fixtures_per_test", "help", "version", "markers"))


def selected(config: pytest.Config) -> bool:
    """Is smokegate asked to test something? A target or a base URL was given somewhere."""
    return lookup(config, "--target").value is not None or base_url_setting(config).value is not None


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
    return _checked(command_setting(flag, given, written=written), flag, problems)


def _text(config: pytest.Config, flag: str, problems: list[str]) -> str | None:
    return _checked(lookup(config, flag), flag, problems)


def _checked(setting: Setting, flag: str, problems: list[str]) -> str | None:
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


def _flag(config: pytest.Config, flag: str, problems: list[str]) -> bool:
    setting = lookup(config, flag)
    if setting.value is None:
        return False
    value = setting.value.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    problems.append(f"{setting.source}: {setting.value!r} is not a boolean (use true or false)")
    return False


def _count(config: pytest.Config, flag: str, problems: list[str], low: int, high: int) -> int:
    setting = lookup(config, flag)
    text = _text(config, flag, problems)
    default = int(BY_FLAG[flag].default or low)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        problems.append(f"{setting.source}: {text!r} is not a whole number from {low} to {high}")
        return default
    return value


def _base_url(config: pytest.Config, problems: list[str]) -> str | None:
    setting = base_url_setting(config)
    if setting.value is None:
        return None
    if not setting.value.strip():
        problems.append(f"{setting.source}: empty value (leave it out to test the target's configured URL)")
        return None
    return setting.value.strip()


def read(config: pytest.Config) -> tuple[Settings, list[str]]:
    """Resolve and validate every option; return the settings and the problems found (empty when fine)."""
    problems: list[str] = []
    target = _text(config, "--target", problems)
    config_given = _text(config, "--smokegate-config", problems)
    reports = _text(config, "--reports-dir", problems) or DEFAULT_REPORTS_DIR
    reports_path = Path(reports)
    if not reports_path.is_absolute():
        reports_path = Path(config.invocation_params.dir) / reports_path
    config_path = Path(config_given) if config_given else config.rootpath / DEFAULT_CONFIG_NAME
    if not config_path.is_absolute():
        config_path = Path(config.invocation_params.dir) / config_path
    ca = _text(config, "--ca-bundle", problems)
    settings = Settings(
        target=target,
        config_path=str(config_path),
        ca_bundle=ca,
        ca_bundle_source=lookup(config, "--ca-bundle").source,
        reports_dir=str(reports_path),
        gate_on=_text(config, "--gate-on", problems) or Severity.HIGH,
        http_url=_text(config, "--http-url", problems),
        expect_version=_text(config, "--expect-version", problems),
        base_url=_base_url(config, problems),
        history=_text(config, "--history", problems),
        history_source=lookup(config, "--history").source,
        no_history=_flag(config, "--no-history", problems),
        scheduled=_flag(config, "--scheduled", problems),
        run_id=_text(config, "--run-id", problems),
        no_network_retry=_flag(config, "--no-network-retry", problems),
        location=_text(config, "--location", problems) or socket.gethostname(),
        watch_suite=_text(config, "--watch-suite", problems),
        load_processes=_count(config, "--load-processes", problems, 1, 256),
        load_workers=_count(config, "--load-workers", problems, 0, 10_000),
    )
    if settings.load_processes > 1 and settings.load_workers:
        problems.append("--load-processes and --load-workers: choose one (workers started elsewhere can run "
                        "--processes themselves: python -m smokegate.load.worker --processes N)")
    if settings.base_url is not None and settings.target is None:
        problems.append("--base-url given without --target: choose the target whose checks and budgets apply "
                        "(for example --target production --base-url https://my-preview.vercel.app)")
    return settings, problems
