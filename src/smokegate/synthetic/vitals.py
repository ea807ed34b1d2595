"""Page-load measurements as the browser reports them: Navigation Timing, LCP and layout shifts.

:data:`OBSERVE_VITALS` is injected into every page before its own scripts (an init script), so the
``PerformanceObserver``\\ s see the whole load; :data:`READ_VITALS` reads them back after the load
event and a short quiet time.  The arithmetic (Cumulative Layout Shift's session windows, the
median over N loads) is plain Python here so it is unit-tested without a browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from smokegate.synthetic.late import LateError, merged
from smokegate.timing import Samples

OBSERVE_VITALS = """
(() => {
  if (window.__smokegateVitals) return;
  const vitals = window.__smokegateVitals = {lcp: null, lcpElement: null, shifts: []};
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        vitals.lcp = entry.startTime;
        vitals.lcpElement = entry.element ? entry.element.tagName.toLowerCase() : null;
      }
    }).observe({type: "largest-contentful-paint", buffered: true});
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        vitals.shifts.push([entry.startTime, entry.value, entry.hadRecentInput]);
      }
    }).observe({type: "layout-shift", buffered: true});
  } catch (error) { vitals.unsupported = String(error); }
})();
"""

# ``delayMs`` later, after the next frame (so a paint still pending has been made and reported).
READ_VITALS = """
(delayMs) => new Promise((resolve) => setTimeout(() => requestAnimationFrame(() => setTimeout(() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const vitals = window.__smokegateVitals || {lcp: null, shifts: []};
  resolve({
    ttfb: nav ? nav.responseStart : null,
    dcl: nav ? nav.domContentLoadedEventEnd : null,
    load: nav ? nav.loadEventEnd : null,
    status: nav ? nav.responseStatus : null,
    lcp: vitals.lcp, lcpElement: vitals.lcpElement || null, shifts: vitals.shifts,
    now: performance.now(), origin: performance.timeOrigin,
  });
}, 0)), delayMs || 0))
"""

# Chromium logs every failed subresource as a console error too; those are judged by the
# subresource check (with their URL), so the console check leaves them out.
RESOURCE_ERROR_PREFIX = "Failed to load resource:"

# CLS session windows (web.dev/cls): shifts less than 1 s apart, a window at most 5 s long.
SESSION_GAP_MS = 1000.0
SESSION_MAX_MS = 5000.0


def cumulative_layout_shift(shifts: Iterable[Sequence[Any]]) -> float:
    """The largest session window's sum of layout-shift scores, shifts after user input excluded."""
    best = current = 0.0
    window_start = last = None
    for start, value, had_input in sorted((float(s[0]), float(s[1]), bool(s[2])) for s in shifts):
        if had_input:
            continue
        if (
            window_start is None
            or last is None
            or start - last >= SESSION_GAP_MS
            or start - window_start >= SESSION_MAX_MS
        ):
            window_start, current = start, 0.0
        current += value
        last = start
        best = max(best, current)
    return best


@dataclass(frozen=True)
class PageLoad:
    """One load of one page in a fresh browser context."""

    load_ms: float
    ttfb_ms: float
    dcl_ms: float
    lcp_ms: float | None
    cls: float
    status: int | None
    wall_ms: float
    lcp_element: str | None = None
    console_errors: tuple[str, ...] = ()
    page_errors: tuple[str, ...] = ()
    failed_requests: tuple[str, ...] = ()
    # What the page threw or logged after the sample, while it was watched (synthetic.late): only the
    # sample each page's watch followed has them, with how far after load it was watched and the cost.
    late_console_errors: tuple[LateError, ...] = ()
    late_page_errors: tuple[LateError, ...] = ()
    watched_ms: float | None = None
    watch_wall_ms: float | None = None

    @classmethod
    def from_browser(cls, raw: dict[str, Any], wall_ms: float, **events: Any) -> PageLoad:
        return cls(
            load_ms=float(raw.get("load") or 0.0),
            ttfb_ms=float(raw.get("ttfb") or 0.0),
            dcl_ms=float(raw.get("dcl") or 0.0),
            lcp_ms=None if raw.get("lcp") is None else float(raw["lcp"]),
            cls=cumulative_layout_shift(raw.get("shifts") or ()),
            status=raw.get("status") or None,
            wall_ms=wall_ms,
            lcp_element=raw.get("lcpElement"),
            **events,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "load_ms": round(self.load_ms, 1),
            "ttfb_ms": round(self.ttfb_ms, 1),
            "dcl_ms": round(self.dcl_ms, 1),
            "lcp_ms": None if self.lcp_ms is None else round(self.lcp_ms, 1),
            "cls": round(self.cls, 4),
            "status": self.status,
            "wall_ms": round(self.wall_ms, 1),
            **({} if self.watched_ms is None else {"watched_ms": self.watched_ms, "watch_wall_ms": self.watch_wall_ms}),
        }


@dataclass
class PageLoads:
    """N loads of one page: the statistics the checks judge, and what went wrong in any of them."""

    path: str
    loads: list[PageLoad] = field(default_factory=list)

    @property
    def load(self) -> Samples:
        return Samples.of(x.load_ms for x in self.loads)

    @property
    def ttfb(self) -> Samples:
        return Samples.of(x.ttfb_ms for x in self.loads)

    @property
    def lcp(self) -> Samples | None:
        values = [x.lcp_ms for x in self.loads if x.lcp_ms is not None]
        return Samples.of(values) if values else None

    @property
    def cls(self) -> Samples:
        return Samples.of(x.cls for x in self.loads)

    @property
    def wall(self) -> Samples:
        return Samples.of(x.wall_ms for x in self.loads)

    def _union(self, attribute: str) -> list[str]:
        seen: dict[str, None] = {}
        for load in self.loads:
            for item in getattr(load, attribute):
                seen.setdefault(item, None)
        return list(seen)

    def _late(self, attribute: str) -> list[LateError]:
        return [error for load in self.loads for error in getattr(load, attribute)]

    @property
    def console_errors(self) -> list[str]:
        """Console errors of every sample, and those logged after one while it was watched."""
        return merged(self._union("console_errors"), self._late("late_console_errors"))

    @property
    def page_errors(self) -> list[str]:
        """Uncaught exceptions of every sample, and those thrown after one while it was watched."""
        return merged(self._union("page_errors"), self._late("late_page_errors"))

    @property
    def watched_ms(self) -> float | None:
        """How far after load the page was watched for late errors (its furthest watch); None: not watched."""
        values = [x.watched_ms for x in self.loads if x.watched_ms is not None]
        return max(values) if values else None

    @property
    def failed_requests(self) -> list[str]:
        return self._union("failed_requests")
