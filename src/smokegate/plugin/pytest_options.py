"""smokegate's options as pytest sees them: added to its parser, read from its config.

The table is :mod:`smokegate.options` (plain data the CLI and the preflight read too); this module
resolves each option CLI > env > ini > default and validates them all at once (:func:`read`), and
reads pytest-base-url's ``--base-url`` from its own sources.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from smokegate.options import (
    BY_FLAG,
    DEFAULT_CONFIG_NAME,
    DEFAULT_REPORTS_DIR,
    FALSE,
    OPTIONS,
    TRUE,
    Setting,
    Settings,
    checked,
)
from smokegate.plugin.foreign_options import base_url_setting
from smokegate.severity import Severity


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


# Options of other plugins a stopped invocation still reads: their environment variable and ini key.
_FOREIGN = {"--base-url": ("PYTEST_BASE_URL", "base_url"), "--html": (None, None)}


def scanned(config: pytest.Config, flag: str, args: list[str]) -> Setting:
    """``flag`` read from the raw words of a command line pytest could not parse, then env, ini, default.

    Only for the verdict of a refused command line (:mod:`smokegate.plugin.stopped`); the last occurrence
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


def _text(config: pytest.Config, flag: str, problems: list[str]) -> str | None:
    return checked(lookup(config, flag), flag, problems)


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
