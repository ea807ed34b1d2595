"""Uptime badges: one small SVG per target and period (24 h, 7 d, 30 d), from the run history.

``smokegate badge`` writes ``<target>-uptime-24h.svg`` (and ``-7d``, ``-30d``) for a README or a
status wiki, in the flat style shields.io made common.  Uptime is the report's availability: the
share of runs whose verdict was ``pass`` among those that judged the target (``pass`` and ``fail``),
leaving out runs that could not judge it (``error``) and runs inside a maintenance window.  Green at
or above the guide's 99.9 %, amber from 99 %, red below; grey "no data" without a sample.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from smokegate.ops.history import History

PERIODS: tuple[tuple[str, timedelta], ...] = (("24h", timedelta(hours=24)), ("7d", timedelta(days=7)),
                                              ("30d", timedelta(days=30)))
GOAL = 99.9
COLOURS = {"good": "#2da44e", "fair": "#d29922", "poor": "#cf222e", "none": "#8c959f"}
# Approximate advance widths of 11 px Verdana (what shields.io measures with): narrow, wide, default.
_NARROW, _WIDE = set("fijlrt1 .:%()"), set("mwMW@")


@dataclass(frozen=True)
class Uptime:
    target: str
    period: str
    samples: int
    passing: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.passing / self.samples if self.samples else None

    @property
    def text(self) -> str:
        percent = self.percent
        if percent is None:
            return "no data"
        return "100%" if self.passing == self.samples else f"{min(percent, 99.99):.2f}%"

    @property
    def grade(self) -> str:
        percent = self.percent
        if percent is None:
            return "none"
        return "good" if percent >= GOAL else "fair" if percent >= 99 else "poor"


def uptime(history: History, target: str, period: str, since: timedelta, now: datetime | None = None) -> Uptime:
    start = (now or datetime.now(UTC)) - since
    rows = history.query(
        "SELECT COUNT(*), COUNT(CASE WHEN verdict = 'pass' THEN 1 END) FROM runs WHERE target = ? AND ts >= ?"
        " AND verdict IN ('pass', 'fail') AND maintenance IS NULL",
        (target, start.timestamp()),
    )
    return Uptime(target, period, int(rows[0][0]), int(rows[0][1]))


def _width(text: str) -> int:
    return int(sum(4 if ch in _NARROW else 10 if ch in _WIDE else 7 for ch in text)) + 10


def svg(label: str, value: str, colour: str) -> str:
    """A flat badge: ``label`` on grey, ``value`` on ``colour``, with an accessible title."""
    left, right = _width(label), _width(value)
    total = left + right
    label_e, value_e = html.escape(label), html.escape(value)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label="{label_e}: {value_e}"><title>{label_e}: {value_e}</title>'
        f'<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        f'<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{label_e}</text>'
        f'<text x="{left / 2:.1f}" y="14">{label_e}</text>'
        f'<text x="{left + right / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{value_e}</text>'
        f'<text x="{left + right / 2:.1f}" y="14">{value_e}</text></g></svg>\n'
    )


def badge(up: Uptime) -> str:
    return svg(f"uptime {up.period}", up.text, COLOURS[up.grade])


def write_badges(history: History, targets: Iterable[str], out: Path, now: datetime | None = None) -> list[Path]:
    """Every target's three badges into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for target in targets:
        slug = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in target)
        for period, since in PERIODS:
            path = out / f"{slug}-uptime-{period}.svg"
            path.write_text(badge(uptime(history, target, period, since, now)), encoding="utf-8")
            written.append(path)
    return written


def recorded_targets(history: History) -> list[str]:
    return [str(row[0]) for row in history.query("SELECT DISTINCT target FROM runs ORDER BY 1")]
