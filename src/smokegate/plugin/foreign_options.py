"""Other plugins' options, read and written in this one place.

smokegate sends every report into its reports dir unless the user named a path (pytest-html, JUnit,
Allure, pytest-metadata's environment table), hands the target's URL to pytest-base-url (which
pytest-playwright and pytest-html read too), retries network failures once through
pytest-rerunfailures, and points pytest-playwright's artifacts (and its Node driver's CA and compile
cache) where they belong.  What the user gave on the command line always wins; nothing else in
smokegate reads or writes another plugin's ``config.option``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from smokegate.options import Setting


def given(config: pytest.Config, flag: str) -> bool:
    """Was ``flag`` written on the command line (not just defaulted by its plugin)?"""
    return any(arg == flag or arg.startswith(flag + "=") for arg in config.invocation_params.args)


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


def html_path(config: pytest.Config) -> str | None:
    """pytest-html's ``--html``, as given or as :func:`route_reports` set it (None: no HTML report)."""
    value = config.getoption("htmlpath", None)
    return str(value) if value else None


def browsers(config: pytest.Config) -> int:
    """How many browsers pytest-playwright runs each browser check in (``--browser``, repeatable)."""
    return len(config.getoption("--browser", None) or ["chromium"])


def tracing(config: pytest.Config) -> str | None:
    value = config.getoption("--tracing", None)
    return str(value) if value is not None else None


def screenshot(config: pytest.Config) -> str | None:
    value = config.getoption("--screenshot", None)
    return str(value) if value is not None else None


def route_reports(config: pytest.Config, reports: Path, base_url: str, metadata: Mapping[str, str]) -> None:
    """Every report goes to the reports dir unless the user named its path."""
    # pytest-base-url, pytest-playwright and pytest-html all read the URL from here.
    config.option.base_url = base_url
    if not config.getoption("htmlpath", None):
        config.option.htmlpath = str(reports / "report.html")
        config.option.self_contained_html = True
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = str(reports / "junit.xml")
    if hasattr(config.option, "allure_report_dir") and not config.option.allure_report_dir:
        config.option.allure_report_dir = str(reports / "allure-results")
        config.option.clean_alluredir = True
    try:
        from pytest_metadata.plugin import metadata_key

        config.stash[metadata_key].update(metadata)
    except (ImportError, KeyError):
        pass


def rerun_network_failures(config: pytest.Config, delay_s: float, patterns: Iterable[str]) -> None:
    """pytest-rerunfailures: once, after ``delay_s``, only failures matching ``patterns``."""
    option = config.option
    # An explicit --reruns/--only-rerun from the user wins; otherwise ours apply.
    if getattr(option, "reruns", None) is None and not config.getini("reruns"):
        option.reruns = 1
    if getattr(option, "reruns_delay", None) is None and not config.getini("reruns_delay"):
        option.reruns_delay = delay_s
    if not getattr(option, "only_rerun", None) and not config.getini("only_rerun"):
        option.only_rerun = list(patterns)


def playwright_output(config: pytest.Config, directory: Path) -> None:
    """pytest-playwright's ``--output`` (its traces and screenshots) under the reports dir, unless given."""
    # Traces and screenshots of failed checks: smokegate's own (smokegate.plugin.evidence), paid
    # for only on failure; --tracing/--screenshot given on the command line hand them to pytest-playwright.
    if not given(config, "--output"):
        config.option.output = str(directory)


def playwright_driver_env(ca_bundle: str, compile_cache: Path) -> None:
    """The environment Playwright's Node driver starts with (set before the ``playwright`` fixture starts it)."""
    if ca_bundle != "system":
        # Playwright's own HTTP stack (route.fetch, context.request) runs in its Node driver, which
        # reads no CA file either: NODE_EXTRA_CA_CERTS adds exactly the target's CA to its roots.
        # Set before the driver starts (the `playwright` fixture), on every xdist worker.
        os.environ["NODE_EXTRA_CA_CERTS"] = ca_bundle
    os.environ.setdefault("NODE_COMPILE_CACHE", str(compile_cache))
