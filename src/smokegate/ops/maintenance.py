"""Maintenance windows: planned time in which a failing target pages nobody and counts for nothing.

``[[targets.NAME.maintenance]]`` in the target config, either one-off or weekly (UTC)::

    [[targets.production.maintenance]]
    name = "postgres-15-upgrade"
    start = "2026-12-13T22:00:00Z"
    end = "2026-12-13T23:30:00Z"

    [[targets.production.maintenance]]
    name = "sunday-backups"
    weekly = "sun 02:00-02:30"

A run that starts inside a window is still run and judged (its verdict, exit code and reports are
what they are), but :func:`smokegate.ops.finish.finish_run` records it labelled with the window's
name: it opens no incident, sends no alert, and is no availability sample (the history leaves it
out of availability, streaks and badges; the daily report counts it apart).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

_WEEKLY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) ([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class MaintenanceWindow(BaseModel):
    """One window: ``start``/``end`` (aware timestamps) or ``weekly`` (``"sun 02:00-03:00"``, UTC)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$", max_length=80)
    start: datetime | None = None
    end: datetime | None = None
    weekly: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> MaintenanceWindow:
        if self.weekly is not None:
            if self.start is not None or self.end is not None:
                raise ValueError("a window is either weekly or has start and end, not both")
            match = _WEEKLY.match(self.weekly.strip().lower())
            if match is None:
                raise ValueError(f"weekly must look like 'sun 02:00-03:00' (UTC), not {self.weekly!r}")
            begin = int(match.group(2)) * 60 + int(match.group(3))
            finish = int(match.group(4)) * 60 + int(match.group(5))
            if finish <= begin:
                raise ValueError(f"weekly window {self.weekly!r} ends before it starts (windows stay within a day)")
            return self
        if self.start is None or self.end is None:
            raise ValueError("a window needs start and end (ISO 8601 with a time zone), or weekly")
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end need a time zone (2026-12-13T22:00:00Z)")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def span_at(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence of this window that holds ``moment``, or None."""
        moment = moment.astimezone(UTC)
        if self.weekly is None:
            assert self.start is not None and self.end is not None
            start, end = self.start.astimezone(UTC), self.end.astimezone(UTC)
            return (start, end) if start <= moment < end else None
        match = _WEEKLY.match(self.weekly.strip().lower())
        assert match is not None
        day = _DAYS.index(match.group(1))
        midnight = (moment - timedelta(days=(moment.weekday() - day) % 7)).replace(
            hour=0, minute=0, second=0, microsecond=0)
        start = midnight + timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
        end = midnight + timedelta(hours=int(match.group(4)), minutes=int(match.group(5)))
        return (start, end) if start <= moment < end else None

    def describe(self, span: tuple[datetime, datetime]) -> str:
        start, end = span
        return f"maintenance window {self.name!r} ({start:%Y-%m-%d %H:%M}-{end:%H:%M} UTC)"


def window_at(windows: Iterable[MaintenanceWindow], moment: datetime) -> tuple[MaintenanceWindow, str] | None:
    """The window holding ``moment`` and its description, or None."""
    for window in windows:
        span = window.span_at(moment)
        if span is not None:
            return window, window.describe(span)
    return None
