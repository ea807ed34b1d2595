"""Evidence of a failed browser check: screenshot, Playwright trace, console messages and failed
requests, kept beside the report, scrubbed, and attached to Allure.

pytest-playwright takes the screenshots and keeps the traces (its own ``--screenshot``,
``--tracing`` and ``--output`` options; the synthetic suite defaults them to failures only, in
``<reports>/playwright/<test>/``) and names each kept file in the teardown report's
``playwright_<kind>`` user properties.  This module adds what Playwright does not keep: the
console messages and the failed requests of every context the check used, written as
``console.log`` and ``failed-requests.log`` in the same folder and named the same way.  Every
artifact is scrubbed of secrets before any reporter reads it.  Passing checks keep nothing unless
``--tracing on`` asks for it.

Several checks judge one set of page loads (made once per page and worker by the first check that
needs them, see ``page_loads``): a later check that fails gets the console messages and failed
requests of those loads, and links their screenshot and trace when the check that made them kept
them; a note on its report says which check made them.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from smokegate.plugin import foreign_options
from smokegate.scrub import SCRUBBER

if TYPE_CHECKING:
    from smokegate.synthetic.journey import ContextEvents

_LOG_KEY = pytest.StashKey[list["ContextEvents"]]()
_OUTPUT_KEY = pytest.StashKey[str]()
_BORROWED_KEY = pytest.StashKey[list["_Owner"]]()
_OWNERS_KEY = pytest.StashKey[dict[str, "_Owner"]]()
# pytest-playwright names kept artifacts ``playwright_screenshot``/``_trace``/``_video``; ours follow.
ARTIFACT_PROPERTY = "playwright_"
NOTE_PROPERTY = "smokegate_evidence_note"
CONSOLE_FILE = "console.log"
REQUESTS_FILE = "failed-requests.log"
_CONSOLE_PREFIXES = ("console.", "uncaught exception:")
_REQUEST_PREFIXES = ("request failed:", "HTTP ")
_KEPT_SUFFIXES = {".png": "screenshot", ".zip": "trace", ".webm": "video"}


@dataclass
class _Owner:
    """The check whose browser contexts made a cached set of loads."""

    nodeid: str
    events: list[ContextEvents]
    output_path: str


def remember_events(item: pytest.Item, events: ContextEvents, output_path: str) -> None:
    """Keep a context's event log with the check, for its console and request logs on failure."""
    item.stash.setdefault(_LOG_KEY, []).append(events)
    item.stash[_OUTPUT_KEY] = output_path


def share_events(item: pytest.Item, key: str, output_path: str) -> None:
    """A check judged the cached loads named ``key``: the first to ask made them and owns their
    evidence, every later one borrows it."""
    owners = item.config.stash.setdefault(_OWNERS_KEY, {})
    item.stash.setdefault(_OUTPUT_KEY, output_path)
    owner = owners.get(key)
    if owner is None:
        owners[key] = _Owner(item.nodeid, item.stash.setdefault(_LOG_KEY, []), output_path)
    elif owner.nodeid != item.nodeid:
        borrowed = item.stash.setdefault(_BORROWED_KEY, [])
        if owner not in borrowed:
            borrowed.append(owner)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.when == "teardown":
        _keep_artifacts(item, report)
    return report


def _failed(item: pytest.Item, report: pytest.TestReport) -> bool:
    return report.failed or any(
        (phase := getattr(item, f"rep_{when}", None)) is not None and phase.failed for when in ("setup", "call")
    )


def _keep_artifacts(item: pytest.Item, report: pytest.TestReport) -> None:
    from smokegate.plugin.evidence import KEPT_KEY, NOTE_KEY

    failed = _failed(item, report)
    root = Path(item.config.invocation_params.dir)
    # smokegate's own failure evidence (smokegate.plugin.evidence), named as pytest-playwright names its.
    for kind, path in item.stash.get(KEPT_KEY, []):
        report.user_properties.append((ARTIFACT_PROPERTY + kind, _for_report(Path(path), root)))
    if NOTE_KEY in item.stash and item.stash.get(KEPT_KEY, []) and not item.stash.get(_BORROWED_KEY, []):
        report.user_properties.append((NOTE_PROPERTY, item.stash[NOTE_KEY]))
    artifacts = [
        (name.removeprefix(ARTIFACT_PROPERTY), str(value))
        for name, value in report.user_properties
        if isinstance(name, str) and name.startswith(ARTIFACT_PROPERTY)
    ]
    for _, path in artifacts:
        file = root / path
        if file.is_file():
            SCRUBBER.file(file)
    keep_logs = failed or foreign_options.tracing(item.config) == "on"
    own = item.stash.get(_LOG_KEY, [])
    borrowed = item.stash.get(_BORROWED_KEY, [])
    if keep_logs and (own or borrowed):
        folder = Path(item.stash.get(_OUTPUT_KEY, str(root)))
        groups = [("this check", own)] if own else []
        groups += [(f"loads made by {owner.nodeid}", owner.events) for owner in borrowed]
        for kind, name, prefixes in (("console", CONSOLE_FILE, _CONSOLE_PREFIXES),
                                     ("requests", REQUESTS_FILE, _REQUEST_PREFIXES)):
            log = _write_log(folder / name, groups, prefixes)
            artifacts.append((kind, str(log)))
            report.user_properties.append((ARTIFACT_PROPERTY + kind, _for_report(log, root)))
        own_evidence = bool(item.stash.get(KEPT_KEY, []))
        for owner in borrowed:
            kept = _kept_by(owner, artifacts)
            for kind, file in kept:
                artifacts.append((kind, str(file)))
                report.user_properties.append((ARTIFACT_PROPERTY + kind, _for_report(file, root)))
            report.user_properties.append((NOTE_PROPERTY, _borrow_note(owner, bool(kept), own_evidence)))
    if failed:
        _attach_to_allure(root, artifacts)


def _write_log(path: Path, groups: list[tuple[str, list[ContextEvents]]], prefixes: tuple[str, ...]) -> Path:
    """One log of every context the check used, lines of one kind, a header per context, scrubbed."""
    lines: list[str] = []
    contexts = sum(len(events) for _, events in groups)
    number = 0
    for origin, events_list in groups:
        for events in events_list:
            number += 1
            lines.append(f"--- browser context {number} of {contexts} ({events.label or origin}) ---")
            picked = [line for line in events.log if line.split(" ", 1)[-1].startswith(prefixes)]
            lines += picked or ["(nothing)"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SCRUBBER.text("\n".join(lines)) + "\n", encoding="utf-8")
    return path


def _kept_by(owner: _Owner, already: Iterable[tuple[str, str]]) -> list[tuple[str, Path]]:
    """Screenshots, traces and videos pytest-playwright kept for the check that made the loads."""
    folder = Path(owner.output_path)
    if not folder.is_dir():
        return []
    known = {Path(path).resolve() for _, path in already}
    return [
        (_KEPT_SUFFIXES[file.suffix], file) for file in sorted(folder.iterdir())
        if file.suffix in _KEPT_SUFFIXES and file.resolve() not in known
    ]


def _borrow_note(owner: _Owner, kept: bool, own_evidence: bool = False) -> str:
    made = (f"The page loads this check judged were made by {owner.nodeid} (each page is loaded once per worker "
            "and judged by several checks); their console messages and failed requests are linked here.")
    if kept:
        return made + " Its screenshot and trace are linked here too."
    if own_evidence:
        return (made + " The loads themselves are not traced; the screenshot and trace linked here are of one "
                "more load made after this check failed.")
    return made + " Run with --tracing on --screenshot on to keep a trace of every load."


def _for_report(path: Path, root: Path) -> str:
    # As pytest-playwright names its artifacts: relative to where pytest started, when inside it.
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _attach_to_allure(root: Path, artifacts: list[tuple[str, str]]) -> None:
    try:
        import allure
    except ImportError:
        return
    attach: Callable[..., None] = allure.attach.file  # allure-python is untyped
    kinds = {
        "screenshot": allure.attachment_type.PNG,
        "video": allure.attachment_type.WEBM,
        "console": allure.attachment_type.TEXT,
        "requests": allure.attachment_type.TEXT,
    }
    names = {"console": "console messages", "requests": "failed requests"}
    for kind, path in artifacts:
        file = root / path
        if not file.is_file():
            continue
        if kind == "trace":
            # A zip Allure offers for download; `playwright show-trace <file>` opens it.
            attach(str(file), name=f"Playwright trace ({file.name})", extension="zip")
        else:
            attach(str(file), name=names.get(kind, f"{kind} ({file.name})"), attachment_type=kinds.get(kind))
