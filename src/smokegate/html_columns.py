"""pytest-html columns: severity and measured vs budget beside every check."""

from __future__ import annotations

import html
from typing import Any

from smokegate.gate import CheckResult
from smokegate.reporting import PROPERTY, measured_vs_budget


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
