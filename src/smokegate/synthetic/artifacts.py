"""Evidence of a failed browser check: screenshot, Playwright trace and console log, kept and scrubbed.

pytest-playwright takes the screenshot and keeps the trace (``--screenshot``/``--tracing``, which the
synthetic suite defaults to failures only); this module adds the console log of every context the
check made, scrubs every artifact of secrets, and attaches them to pytest-html and Allure.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from smokegate.scrub import SCRUBBER

if TYPE_CHECKING:
    from smokegate.synthetic.journey import ContextEvents

_LOG_KEY = pytest.StashKey[list["ContextEvents"]]()
_OUTPUT_KEY = pytest.StashKey[str]()
ARTIFACT_PROPERTY = "playwright_"


def remember_events(item: pytest.Item, events: ContextEvents, output_path: str) -> None:
    """Keep a context's event log with the check, for its console log on failure."""
    item.stash.setdefault(_LOG_KEY, []).append(events)
    item.stash[_OUTPUT_KEY] = output_path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.when == "teardown":
        _keep_artifacts(item, report)
    return report


def _keep_artifacts(item: pytest.Item, report: pytest.TestReport) -> None:
    logs = item.stash.get(_LOG_KEY, None)
    failed = report.failed or any(
        getattr(item, f"rep_{when}", None) is not None and getattr(item, f"rep_{when}").failed
        for when in ("setup", "call")
    )
    artifacts = [
        (name.removeprefix(ARTIFACT_PROPERTY), str(value))
        for name, value in report.user_properties
        if isinstance(name, str) and name.startswith(ARTIFACT_PROPERTY)
    ]
    for _, path in artifacts:
        file = Path(item.config.invocation_params.dir, path)
        if file.is_file():
            SCRUBBER.file(file)
    if failed and logs:
        folder = Path(item.stash.get(_OUTPUT_KEY, str(item.config.invocation_params.dir)))
        folder.mkdir(parents=True, exist_ok=True)
        console = folder / "console.log"
        lines = [line for events in logs for line in events.log] or ["(the page logged nothing)"]
        console.write_text(SCRUBBER.text("\n".join(lines)) + "\n", encoding="utf-8")
        artifacts.append(("console", str(console)))
        report.user_properties.append((ARTIFACT_PROPERTY + "console", str(console)))
        html = item.config.pluginmanager.getplugin("html")
        if html is not None:
            extras = getattr(report, "extras", [])
            extras.append(html.extras.text(console.read_text(encoding="utf-8"), name="Console log"))
            report.extras = extras  # type: ignore[attr-defined]  # pytest-html's report attribute
    if failed:
        _attach_to_allure(item, artifacts)


def _attach_to_allure(item: pytest.Item, artifacts: list[tuple[str, str]]) -> None:
    try:
        import allure
    except ImportError:
        return
    attach: Callable[..., None] = allure.attach.file  # allure-python is untyped
    kinds = {
        "screenshot": allure.attachment_type.PNG,
        "trace": None,
        "video": allure.attachment_type.WEBM,
        "console": allure.attachment_type.TEXT,
    }
    for kind, path in artifacts:
        file = Path(item.config.invocation_params.dir, path)
        if not file.is_file():
            continue
        if kind == "trace":
            attach(str(file), name=f"Playwright trace ({file.name})", extension="zip")
        else:
            attach(str(file), name=kind, attachment_type=kinds.get(kind))
