"""Command-line options, each with an environment variable and an ini key, resolved in one place.

Precedence is CLI, then environment, then ini, then the default, as pytest-base-url does it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from smokegate.config import DEFAULT_CONFIG_NAME, SEVERITIES


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    ini: str
    help: str
    default: str | None = None
    choices: tuple[str, ...] | None = None

    @property
    def dest(self) -> str:
        return "smokegate_" + self.flag.lstrip("-").replace("-", "_").removeprefix("smokegate_")


OPTIONS = (
    Option("--target", "SMOKEGATE_TARGET", "smokegate_target",
           "target to test, by name from the target config (default: the config's default_target)"),
    Option("--smokegate-config", "SMOKEGATE_CONFIG", "smokegate_config",
           f"target config file (default: {DEFAULT_CONFIG_NAME} in the rootdir)"),
    Option("--ca-bundle", "SMOKEGATE_CA_BUNDLE", "smokegate_ca_bundle",
           "PEM file of CAs to trust for the target, overriding the config ('system' for the OS store)"),
    Option("--reports-dir", "SMOKEGATE_REPORTS_DIR", "smokegate_reports_dir",
           "where report.html, junit.xml, allure-results/, gate.json and summary.md go", "reports"),
    Option("--gate-on", "SMOKEGATE_GATE_ON", "smokegate_gate_on",
           "lowest severity whose failure blocks the deployment", "high", SEVERITIES),
    Option("--http-url", "SMOKEGATE_HTTP_URL", "smokegate_http_url",
           "plain-HTTP URL of the target for the HTTPS-redirect check (default: the config's, else http://<host>)"),
    Option("--expect-version", "SMOKEGATE_EXPECT_VERSION", "smokegate_expect_version",
           "build SHA the target's health endpoint must report (the deployment under test)"),
)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("smokegate", "smokegate: target, gate and reports")
    for option in OPTIONS:
        choices = f" (one of: {', '.join(option.choices)})" if option.choices else ""
        group.addoption(option.flag, dest=option.dest, default=None, choices=option.choices,
                        help=f"{option.help}{choices}; env {option.env}, ini {option.ini}")
        parser.addini(option.ini, help=option.help, default=None)


def resolve(config: pytest.Config, flag: str) -> str | None:
    option = next(o for o in OPTIONS if o.flag == flag)
    value = config.getoption(option.dest) or os.environ.get(option.env) or config.getini(option.ini)
    value = value or option.default
    if value is not None and option.choices and value not in option.choices:
        raise pytest.UsageError(
            f"{option.flag} / {option.env}: {value!r} is not one of {', '.join(option.choices)}"
        )
    return value or None


def config_path(config: pytest.Config) -> Path:
    given = resolve(config, "--smokegate-config")
    return Path(given) if given else config.rootpath / DEFAULT_CONFIG_NAME


def reports_dir(config: pytest.Config) -> Path:
    path = Path(resolve(config, "--reports-dir") or "reports")
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path
