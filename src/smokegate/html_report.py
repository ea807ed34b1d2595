"""The gate report: pytest-html, extended through its hooks (severity and measured vs budget per check)."""

from __future__ import annotations

import html
from typing import Any

from smokegate import run as runs
from smokegate.gate import CheckResult
from smokegate.results import PROPERTY
from smokegate.summary import measured_vs_budget


def _info(report: Any) -> dict[str, Any]:
    for name, value in getattr(report, "user_properties", []):
        if name == PROPERTY and isinstance(value, dict):
            return value
    return {}


def pytest_html_results_table_header(cells: list[str]) -> None:
    cells.insert(2, '<th class="sortable" data-column-type="severity">Severity</th>')
    cells.insert(3, "<th>Measured / budget</th>")


def pytest_html_results_table_row(report: Any, cells: list[str]) -> None:
    info = _info(report)
    result = CheckResult(check=report.nodeid, outcome="passed", measured=info.get("measured"),
                         budget=info.get("budget"), unit=info.get("unit"))
    cells.insert(2, f'<td class="col-severity">{html.escape(str(info.get("severity", "")))}</td>')
    cells.insert(3, f"<td>{html.escape(measured_vs_budget(result))}</td>")


def pytest_html_results_summary(prefix: list[str], summary: list[str], postfix: list[str], session: Any) -> None:
    """State, above the results, which intrusive checks were left out and why."""
    run = runs.current(session.config)
    if run is None or not run.gate.deselected:
        return
    names = ", ".join(html.escape(d.check) for d in run.gate.deselected)
    prefix.append(
        f"<p><strong>{len(run.gate.deselected)} intrusive checks deselected</strong> "
        f"({html.escape(run.gate.deselected[0].reason)}): {names}</p>"
    )
