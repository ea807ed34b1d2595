"""Allure results that group failures by what they mean: the categories file and each failure's kind.

``allure generate`` groups failed tests by ``categories.json`` in the results directory, matching
each category's regular expression against a result's message.  This plugin writes one category
per :class:`smokegate.failures.FailureKind` (saying whether the kind is an outage and whose it is),
and, once the run has classified its failures on the controller, starts each failed result's
message with its kind (``[budget-exceeded] /pricing median load 2600 ms > budget 2000 ms``) — the
check's own words, as in the HTML report, instead of pytest's assertion introspection.  A result
is matched to its check by the ``smokegate_check`` label the main plugin adds at setup.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from smokegate.failures import FailureKind

if TYPE_CHECKING:  # loaded with the plugin: the config model (pydantic) loads only when a target is chosen
    from smokegate.config import Target
    from smokegate.options import Settings

CATEGORIES_FILE = "categories.json"
CHECK_LABEL = "smokegate_check"
FAILED_STATUSES = ("failed", "broken")


def category_name(kind: FailureKind) -> str:
    """A failure kind as Allure's category tree names it: the kind, outage or not, whose."""
    meaning = kind.meaning
    return f"{kind} ({'outage' if meaning.outage else 'not an outage'}; {meaning.owner})"


def categories() -> list[dict[str, Any]]:
    """Allure's categories: one per failure kind (matched on the ``[kind]`` prefix), then skipped checks."""
    found: list[dict[str, Any]] = [
        {
            "name": category_name(kind),
            # Kind names are lower-case words and hyphens: nothing to escape for Allure's (Java) regex.
            "messageRegex": rf"^\[{kind}\][\s\S]*",
            "matchedStatuses": list(FAILED_STATUSES),
        }
        for kind in FailureKind
    ]
    found.append({"name": "not run (skipped checks)", "matchedStatuses": ["skipped"]})
    return found


def kind_message(kind: str, message: str | None) -> str:
    return f"[{kind}] {message or ''}".rstrip()


def annotate(results_dir: Path, failed: Mapping[str, Mapping[str, Any]]) -> int:
    """Start each failed result's message with its check's failure kind; return how many changed."""
    changed = 0
    if not failed:
        return changed  # a passing run: no result file to read
    for path in sorted(results_dir.glob("*-result.json")):
        try:
            result = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not ours to repair; Allure reports a broken file itself
        check = next((label.get("value") for label in result.get("labels", [])
                      if label.get("name") == CHECK_LABEL), None)
        data = failed.get(str(check)) if check else None
        if data is None or result.get("status") not in FAILED_STATUSES or not data.get("failure_kind"):
            continue
        details = result.setdefault("statusDetails", {})
        details["message"] = kind_message(str(data["failure_kind"]), data.get("message"))
        _write(path, result)
        changed += 1
    return changed


def _write(path: Path, data: Any) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, path)


def write_categories(results_dir: Path) -> Path:
    path = results_dir / CATEGORIES_FILE
    _write(path, categories())
    return path


@pytest.hookimpl(optionalhook=True)
def pytest_smokegate_run_finished(
    config: pytest.Config, gate: dict[str, Any], reports_dir: Path, target: Target | None, settings: Settings
) -> None:
    """After the verdict (controller only): categories and kinds into this run's Allure results."""
    results = getattr(config.option, "allure_report_dir", None)
    if not results:
        return
    results_dir = Path(config.invocation_params.dir, results)
    if not results_dir.is_dir():
        return  # Allure did not run (a usage error stops the run before it starts)
    write_categories(results_dir)
    annotate(results_dir, {str(c["check"]): c for c in gate.get("failed", [])})
