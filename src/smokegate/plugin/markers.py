"""What makes a test a smokegate check: its markers, never its folder.

A check carries ``@pytest.mark.check(...)``; the keys of every ``check`` marker on it merge, the
closest winning, so a module can say ``pytestmark = [pytest.mark.safe, pytest.mark.check(epic="smoke")]``
and each function adds its severity and feature.  Its id is ``<epic>/<module file>::<name>`` — the
form the fault catalog uses — computed from the item, never by rewriting pytest's node ids.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import pytest

from smokegate.plugin import foreign_options
from smokegate.severity import SEVERITIES

EPICS = ("smoke", "security", "synthetic", "providers", "load")
MARKERS = (
    "check(severity, epic, feature='', required=False, diagnoses=None, measures=False): a smokegate check; severity "
    "is critical, high, medium or low (the incident scale); epic is smoke, security, synthetic, providers or load; "
    "required checks block the gate when they do not run; diagnoses='tls' checks still run when the target's TLS "
    "handshake fails; measures=True checks time the target and never run while a check loads it (a burst), in any "
    "process",
    "reachability: the check that decides whether the target can be tested at all (runs first)",
    "safe: a read-only check, fine against production",
    "intrusive: a check that sends load or malformed input; deselected on targets that forbid it",
)
# pytest-playwright adds the browser to a parameter id: ``[pricing-chromium]`` or ``[chromium]``.
_BROWSER_ID = re.compile(r"(?:-(?:chromium|firefox|webkit)(?=\])|\[(?:chromium|firefox|webkit)\])")


@dataclass(frozen=True)
class CheckInfo:
    severity: str
    epic: str
    feature: str
    required: bool
    diagnoses: str | None
    # Times the target: kept apart from checks that load it (smokegate.shared.RunLocks).
    measures: bool = False
    # ``smoke/test_health.py::test_health_answers_200`` (:func:`check_id`).
    id: str = ""


_INFO = pytest.StashKey["CheckInfo | None"]()


def check_info(item: pytest.Item) -> CheckInfo | None:
    """The item's check metadata (None: not a check): read from its markers once, at collection, and kept
    on the item for every later hook."""
    if _INFO not in item.stash:
        info = _read_markers(item)
        item.stash[_INFO] = info and dataclasses.replace(
            info, id=check_id(item, info, foreign_options.browsers(item.config)))
    return item.stash[_INFO]


def _read_markers(item: pytest.Item) -> CheckInfo | None:
    """The merged ``check`` marker of an item, or None when it is not a check."""
    merged: dict[str, object] = {}
    found = False
    for marker in item.iter_markers("check"):  # closest first
        found = True
        for key, value in marker.kwargs.items():
            merged.setdefault(key, value)
    if not found:
        return None
    return CheckInfo(
        severity=str(merged.get("severity", "")),
        epic=str(merged.get("epic", "")),
        feature=str(merged.get("feature") or item.path.stem.removeprefix("test_")),
        required=bool(merged.get("required", False)),
        diagnoses=str(merged["diagnoses"]) if merged.get("diagnoses") else None,
        measures=bool(merged.get("measures", False)),
    )


def normalise_name(name: str, browsers: int = 1) -> str:
    """A test name as the catalog writes it: with one browser in use, its id is left out."""
    return _BROWSER_ID.sub("", name) if browsers == 1 else name


def check_id(item: pytest.Item, info: CheckInfo, browsers: int = 1) -> str:
    """``smoke/test_health.py::test_health_answers_200``: the epic, the module file, the test name."""
    return f"{info.epic}/{item.path.name}::{normalise_name(item.name, browsers)}"


def is_reachability(item: pytest.Item) -> bool:
    return item.get_closest_marker("reachability") is not None


def problems(item: pytest.Item) -> list[str]:
    """What a check lacks to be run safely and reported; empty when it is fine."""
    info = check_info(item)
    if info is None:
        return [f"{item.nodeid}: not a smokegate check (no @pytest.mark.check(severity=..., epic=...))"]
    found = []
    if info.severity not in SEVERITIES:
        found.append(f"{item.nodeid}: check severity must be one of {', '.join(SEVERITIES)}")
    if info.epic not in EPICS:
        found.append(f"{item.nodeid}: check epic must be one of {', '.join(EPICS)}")
    safety = [name for name in ("safe", "intrusive") if item.get_closest_marker(name)]
    if len(safety) != 1:
        found.append(f"{item.nodeid}: needs exactly one of @pytest.mark.safe / @pytest.mark.intrusive")
    return found
