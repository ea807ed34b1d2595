"""The daily health report, from the run history to one HTML file (``smokegate report``).

:mod:`smokegate.ops.report` computes the figures, :mod:`smokegate.ops.provider_report` the providers'
sections and the watcher's gaps, :mod:`smokegate.ops.report_page` lays them out; this module puts them
together, above all three, so none of them imports another's caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from smokegate.ops.history import History, HistorySource
from smokegate.ops.report import ReportData, collect

if TYPE_CHECKING:
    from smokegate.ops.provider_report import Extras


def render(data: ReportData, trends: Mapping[tuple[str, str], list[float | None]] | None = None,
           extras: Extras | None = None) -> str:
    """The whole page as one string (layout in ``report_page``, markup in its template)."""
    # Imported here: the CLI imports this module, and only ``smokegate report`` needs Jinja2.
    from smokegate.ops.report_page import render_page

    return render_page(data, trends, extras)


def build_report(history: History, *, since: timedelta, now: datetime | None = None) -> str:
    from smokegate.ops.provider_report import collect_extras
    from smokegate.ops.report_page import collect_trends

    data = collect(history, since=since, now=now)
    return render(data, collect_trends(history, data), collect_extras(history, data))


def write_report(
    history_path: HistorySource | str,
    out: Path,
    *,
    since: timedelta,
    now: datetime | None = None,
    notice: Callable[[str], None] | None = None,
    recover: bool = True,
) -> Path:
    """Render the report for ``history_path`` into ``out`` and return ``out`` (``recover``: see
    :meth:`History.open`)."""
    with History.open(history_path, notice=notice, recover=recover) as history:
        page = build_report(history, since=since, now=now)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
