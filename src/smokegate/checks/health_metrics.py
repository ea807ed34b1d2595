"""The ops guide's key metrics, read from whatever a health endpoint reports of them.

The guide promises memory usage under 80 % of available, an error rate under 1 %, response times
under 2 s and 99.9 % uptime.  Health endpoints report these in many shapes (``memory: {used_mb,
limit_mb}``, ``memoryUsage: 0.62``, ``metrics.errorRate``, ``checks.memory.percent``…); this module
finds the ones it can read without guessing units and leaves the others alone: ``uptime_s`` is
seconds since start, not availability; a bare ``memory: 512`` has no unit; a V8 ``heapTotal`` is
not what is available.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from smokegate.checks.warning_signs import ERROR_RATE_INCREASE, SLOW_RESPONSE, WarningSign


@dataclass(frozen=True)
class Thresholds:
    memory_pct: float = 80.0
    error_rate_pct: float = 1.0
    response_ms: float = 2000.0
    uptime_pct: float = 99.9


@dataclass(frozen=True)
class Metric:
    name: str
    # Where the health body reports it ("memory", "metrics.errorRate").
    source: str
    value: float
    unit: str
    limit: float
    # Uptime must stay above its limit; the others below.
    minimum: bool = False
    sign: WarningSign | None = None

    @property
    def within(self) -> bool:
        return self.value >= self.limit if self.minimum else self.value < self.limit

    @property
    def past_warning_sign(self) -> bool:
        return self.sign is not None and self.sign.exceeded(self.value, self.unit)

    def describe(self) -> str:
        relation = ">=" if self.minimum else "<"
        return (f"{self.name} {self.value:.4g} {self.unit} ({self.source}; "
                f"the guide: {relation} {self.limit:g} {self.unit})")


def _norm(key: str) -> str:
    return re.sub(r"[^a-z0-9%]", "", key.lower())


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _walk(body: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, str, Any]]:
    """(dotted path, normalized key, value) of every entry, a level before the objects in it, three deep."""
    if not isinstance(body, dict) or depth > 2:
        return
    for key, value in body.items():
        yield f"{prefix}{key}", _norm(str(key)), value
    for key, value in body.items():
        if isinstance(value, dict):
            yield from _walk(value, f"{prefix}{key}.", depth + 1)


_UNITS = ("bytes", "mib", "mb", "kib", "kb", "gib", "gb", "b", "")
_USED = ("used", "rss", "usedmemory", "memoryused")
_TOTAL = ("total", "limit", "max", "totalmemory", "memorylimit")
_PERCENT = ("percent", "percentage", "pct", "usagepercent", "usedpercent", "usage%", "used%")
_RATIO = ("ratio", "usage", "usedratio", "fraction")


def _split_unit(key: str) -> tuple[str, str]:
    for unit in _UNITS:
        if unit and key.endswith(unit) and key[: -len(unit)]:
            return key[: -len(unit)], unit
    return key, ""


def memory_percent(report: dict[str, Any]) -> float | None:
    """Memory used as a percentage of what is available, from one memory object, if it says."""
    fields = {_norm(str(k)): v for k, v in report.items()}
    for key in _PERCENT:
        value = _number(fields.get(key))
        if value is not None:
            return value
    for key in _RATIO:
        value = _number(fields.get(key))
        if value is not None and 0 <= value <= 1:
            return value * 100
    by_unit: dict[str, dict[str, float]] = {}
    for key, raw in fields.items():
        value = _number(raw)
        if value is not None:
            stem, unit = _split_unit(key)
            by_unit.setdefault(unit, {})[stem] = value
    for values in by_unit.values():
        used = next((values[k] for k in _USED if k in values), None)
        total = next((values[k] for k in _TOTAL if k in values), None)
        if used is None and total is not None and "free" in values:
            used = total - values["free"]
        if used is not None and total:
            return used / total * 100
    return None


def _memory(body: Any) -> tuple[str, float] | None:
    for path, key, value in _walk(body):
        if key in ("memory", "mem", "memoryusage", "memusage") and isinstance(value, dict):
            found = memory_percent(value)
            if found is not None:
                return path, found
        number = _number(value)
        if number is None:
            continue
        if key in ("memorypercent", "mempercent", "memoryusagepercent", "memoryusedpercent"):
            return path, number
        if key in ("memoryusage", "memusage", "memoryratio") and 0 <= number <= 1:
            return path, number * 100
    return None


def _error_rate(body: Any) -> tuple[str, float] | None:
    for path, key, value in _walk(body):
        number = _number(value)
        if number is None:
            continue
        if key in ("errorratepercent", "errorpercent", "errorrate%"):
            return path, number
        if key in ("errorrate", "errorratio") and 0 <= number <= 1:
            return path, number * 100
    return None


def _response_ms(body: Any) -> tuple[str, float] | None:
    """A response time whose key names its unit (``response_time_ms``, ``avgResponseTimeMs``, ``…_s``)."""
    for path, key, value in _walk(body):
        number = _number(value)
        if number is None or "response" not in key:
            continue
        raw = path.rsplit(".", 1)[-1].lower()
        if key.endswith("ms"):
            return path, number
        if raw.endswith(("_s", "_sec", "_secs", "seconds")):
            return path, number * 1000
    return None


def _uptime_pct(body: Any) -> tuple[str, float] | None:
    for path, key, value in _walk(body):
        number = _number(value)
        if number is None:
            continue
        if key in ("uptimepercent", "uptimepct", "availabilitypercent", "uptime%"):
            return path, number
        if key in ("availability", "uptimeratio", "availabilityratio") and 0 <= number <= 1:
            return path, number * 100
    return None


def read(body: Any, limits: Thresholds = Thresholds()) -> list[Metric]:
    """Every guide metric ``body`` reports in a form this module can read, with its threshold."""
    metrics = []
    if (found := _memory(body)) is not None:
        metrics.append(Metric("memory usage", found[0], found[1], "%", limits.memory_pct))
    if (found := _error_rate(body)) is not None:
        metrics.append(Metric("error rate", found[0], found[1], "%", limits.error_rate_pct, sign=ERROR_RATE_INCREASE))
    if (found := _response_ms(body)) is not None:
        metrics.append(Metric("response time", found[0], found[1], "ms", limits.response_ms, sign=SLOW_RESPONSE))
    if (found := _uptime_pct(body)) is not None:
        metrics.append(Metric("uptime", found[0], found[1], "%", limits.uptime_pct, minimum=True))
    return metrics
