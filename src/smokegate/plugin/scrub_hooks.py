"""Whatever a check raises or reports leaves the process with its secrets scrubbed.

An exception text can quote a request header or a URL with a token in it; pytest, pytest-html and
Allure format it before any report is written, so the scrubbing happens here, in the setup and
call phases (the per-worker sign-in fails in setup) and on the report itself.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from smokegate.scrub import SCRUBBER


def _scrubbed_phase() -> Generator[None, None, None]:
    try:
        return (yield)
    except BaseException as exc:
        _scrub_exception(exc)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _scrubbed_phase())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _scrubbed_phase())


def _scrub_exception(exc: BaseException) -> None:
    """Mask secrets in an exception's text before pytest, pytest-html and Allure format it."""
    if exc.args and isinstance(exc.args[0], str):
        cleaned = SCRUBBER.text(exc.args[0])
        if cleaned != exc.args[0]:
            exc.args = (cleaned, *exc.args[1:])
            if hasattr(exc, "_message"):
                exc._message = cleaned  # playwright.Error keeps its own copy
            if hasattr(exc, "msg") and isinstance(exc.msg, str):
                exc.msg = cleaned  # pytest.fail's Failed keeps its message here


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.failed and report.longrepr is not None:
        report.longrepr = _scrub_repr(report.longrepr)
    report.sections = [(title, SCRUBBER.text(body)) for title, body in report.sections]
    return report


def _scrub_repr(value: Any, depth: int = 0) -> Any:
    """Scrub a pytest failure representation in place, keeping its structure (crash line, entries)."""
    if isinstance(value, str):
        return SCRUBBER.text(value)
    if depth > 8 or value is None or isinstance(value, int | float | bool):
        return value
    if isinstance(value, list):
        value[:] = [_scrub_repr(v, depth + 1) for v in value]
        return value
    if isinstance(value, tuple):
        return tuple(_scrub_repr(v, depth + 1) for v in value)
    attributes = getattr(value, "__dict__", None)
    if attributes is not None:
        for name, item in list(attributes.items()):
            try:
                object.__setattr__(value, name, _scrub_repr(item, depth + 1))
            except (AttributeError, TypeError):
                continue
    return value
