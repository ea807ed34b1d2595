"""The ops guide's key metrics, read from whatever a health endpoint reports of them.

The guide promises memory usage under 80 % of available, an error rate under 1 %, response times
under 2 s and 99.9 % uptime.  Health endpoints report these in many shapes (``memory: {used_mb,
limit_mb}``, ``memory: {used_pct: 91}``, ``memoryUsage: 0.62``, ``heapUsed``/``heapLimit``,
``metrics.errorRate``, ``checks.memory.usedPercent``…).  A key is read as the words it is made of
(``used_pct`` and ``usedPercent`` are both *used* + *percent*), and a figure is judged only when its
key says its unit: ``uptime_s`` is seconds since start, not availability; a bare ``memory: 512`` has
no unit; V8's ``heapTotal`` is the heap grown so far, not what is available.  What looks like one of
the guide's metrics but cannot be read that way is returned as *unread*, with why, so a skip can name
it; a target whose health has an unusual shape points at the field in its config
(:class:`MetricField`, ``health.metrics``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from smokegate.checks.warning_signs import ERROR_RATE_INCREASE, SLOW_RESPONSE, WarningSign

MetricName = Literal["memory", "error_rate", "response_time", "uptime"]
FieldUnit = Literal["percent", "ratio", "ms", "s"]


@dataclass(frozen=True)
class Thresholds:
    memory_pct: float = 80.0
    error_rate_pct: float = 1.0
    response_ms: float = 2000.0
    uptime_pct: float = 99.9


@dataclass(frozen=True)
class MetricField:
    """Where a health body reports one metric, when its shape is not one this module reads by itself:
    ``path`` (dotted) and its ``unit``, or for memory a ``path`` to what is used and a ``limit_path``
    to what is available (same unit)."""

    path: str
    unit: FieldUnit | None = None
    limit_path: str | None = None


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


@dataclass
class Reading:
    """What a health body says of the guide's metrics: those read, and those seen but not readable."""

    metrics: list[Metric] = field(default_factory=list)
    # "memory.rss (no limit beside it)", "uptime_s (seconds since start, not availability)"
    unread: list[str] = field(default_factory=list)
    # A field the config points at that the body does not have (or not as a number).
    missing: list[str] = field(default_factory=list)


# -- keys as words --------------------------------------------------------------------------------


def words(key: str) -> tuple[str, ...]:
    """``usedPercent`` -> (used, percent); ``used_pct`` -> (used, pct); ``memoryUsedMB`` -> (memory, used, mb)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    spaced = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", spaced)
    return tuple(re.findall(r"[a-z]+|[0-9]+|%", spaced.lower()))


_PERCENT = frozenset({"percent", "percentage", "pct", "perc", "%"})
_RATIO = frozenset({"ratio", "fraction"})
# Words that make a value in [0, 1] a share when nothing else says its unit ("usage": 0.62).
_SHARE = frozenset({"usage", "utilization", "utilisation", "util", "load"})
_MEMORY = frozenset({"memory", "mem", "ram"})
_USED = frozenset({"used", "rss", "usage", "resident"})
_LIMIT = frozenset({"limit", "max", "maximum", "total", "capacity"})
_FREE = frozenset({"free"})
_BYTES = {"bytes": 1, "byte": 1, "b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2,
          "gb": 1000**3, "gib": 1024**3}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _walk(body: Any, prefix: str = "", depth: int = 0) -> Iterator[tuple[str, tuple[str, ...], Any]]:
    """(dotted path, key words, value) of every entry, a level before the objects in it, three deep."""
    if not isinstance(body, dict) or depth > 2:
        return
    for key, value in body.items():
        yield f"{prefix}{key}", words(str(key)), value
    for key, value in body.items():
        if isinstance(value, dict):
            yield from _walk(value, f"{prefix}{key}.", depth + 1)


# -- memory ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _MemoryField:
    role: Literal["percent", "ratio", "used", "limit", "free"]
    # Bytes per unit for sizes whose key names a unit; None for a size without one.
    scale: int | None
    # "heap" for V8 heap figures, "" otherwise: a heap is only compared with a heap.
    family: str
    free: bool = False


def _memory_field(key_words: tuple[str, ...], value: float) -> _MemoryField | None:
    """What one number of a memory object is, from its key's words (memory words left out)."""
    rest = [w for w in key_words if w not in _MEMORY]
    family = "heap" if "heap" in rest else ""
    free = any(w in _FREE for w in rest)
    if any(w in _PERCENT for w in rest):
        return _MemoryField("percent", None, family, free)
    if any(w in _RATIO for w in rest) or (set(rest) <= _SHARE | {"heap"} and rest and 0 <= value <= 1):
        return _MemoryField("ratio", None, family, free) if 0 <= value <= 1 else None
    scales = [_BYTES[w] for w in rest if w in _BYTES]
    scale = scales[-1] if scales else None
    if free:
        return _MemoryField("free", scale, family)
    if any(w in _USED for w in rest) and not (rest == ["usage"] and scale is None):
        return _MemoryField("used", scale, family)
    # V8's heapTotal is the heap allocated so far (it grows on demand): not what is available.
    limit_words = _LIMIT - {"total"} if family == "heap" else _LIMIT
    if any(w in limit_words for w in rest) and not (family == "heap" and "total" in rest and "limit" not in rest):
        return _MemoryField("limit", scale, family)
    return None


def memory_percent(report: Mapping[str, Any]) -> float | None:
    """Memory used as a percentage of what is available, from one memory object, if it says."""
    fields: list[tuple[_MemoryField, float]] = []
    for key, raw in report.items():
        value = _number(raw)
        if value is not None and (found := _memory_field(words(str(key)), value)) is not None:
            fields.append((found, value))
    for found, value in fields:
        if found.role == "percent":
            return 100 - value if found.free else value
    for found, value in fields:
        if found.role == "ratio":
            return (1 - value) * 100 if found.free else value * 100
    for family in ("", "heap"):
        for scale_key in {f.scale for f, _ in fields if f.family == family}:
            of = {f.role: v for f, v in fields if f.family == family and f.scale == scale_key}
            used, limit = of.get("used"), of.get("limit")
            if used is None and limit is not None and "free" in of:
                used = limit - of["free"]
            if used is not None and limit:
                return used / limit * 100
        # Sizes in different named units of one family are compared in bytes.
        sized = {f.role: v * f.scale for f, v in fields if f.family == family and f.scale is not None}
        if sized.get("used") is not None and sized.get("limit"):
            return sized["used"] / sized["limit"] * 100
    return None


def _is_memory(key_words: tuple[str, ...]) -> bool:
    return bool(_MEMORY & set(key_words)) or key_words[:1] == ("heap",)


def _memory(body: Any, unread: list[str]) -> tuple[str, float] | None:
    # Memory figures flat among other keys ({"memoryUsage": 0.5}, {"heapUsed": …, "heapLimit": …}),
    # grouped by the object that holds them.
    flat: dict[str, dict[str, Any]] = {}
    seen: list[str] = []
    for path, key_words, value in _walk(body):
        if not key_words or not _is_memory(key_words):
            continue
        if isinstance(value, dict):
            found = memory_percent(value)
            if found is not None:
                return path, found
            seen.append(f"{path} ({', '.join(map(str, value)) or 'empty'}: no share of a limit)")
        elif (number := _number(value)) is not None:
            parent, _, key = path.rpartition(".")
            flat.setdefault(parent, {})[key] = value
            if set(key_words) <= _MEMORY | _SHARE and not 0 <= number <= 1:
                seen.append(f"{path}: {number:g} (no unit)")
    for parent, group in flat.items():
        if (found := memory_percent(group)) is not None:
            return ", ".join(f"{parent}.{key}" if parent else key for key in sorted(group)), found
    if flat and not seen:
        seen += [f"{', '.join(f'{p}.{k}' if p else k for k in sorted(g))} (no share of a limit)"
                 for p, g in flat.items()]
    unread += seen
    return None


# -- the other metrics -------------------------------------------------------------------------------


def _error_rate(body: Any, unread: list[str]) -> tuple[str, float] | None:
    for path, key_words, value in _walk(body):
        number = _number(value)
        if number is None or not ({"error", "errors"} & set(key_words)):
            continue
        if not ({"rate", "ratio", "share"} & set(key_words) or _PERCENT & set(key_words)):
            continue
        if _PERCENT & set(key_words):
            return path, number
        if 0 <= number <= 1:
            return path, number * 100
        unread.append(f"{path}: {value:g} (a rate above 1 without a percent unit)")
    return None


def _response_ms(body: Any, unread: list[str]) -> tuple[str, float] | None:
    """A response time whose key names its unit (``response_time_ms``, ``avgResponseTimeMs``, ``…_s``)."""
    for path, key_words, value in _walk(body):
        number = _number(value)
        if number is None or "response" not in key_words:
            continue
        if key_words[-1] == "ms" or "milliseconds" in key_words:
            return path, number
        if key_words[-1] in ("s", "sec", "secs", "seconds"):
            return path, number * 1000
        unread.append(f"{path} (no unit)")
    return None


def _uptime_pct(body: Any, unread: list[str]) -> tuple[str, float] | None:
    for path, key_words, value in _walk(body):
        number = _number(value)
        if number is None or not ({"uptime", "availability", "sla"} & set(key_words)):
            continue
        if _PERCENT & set(key_words):
            return path, number
        if ({"ratio"} & set(key_words) or key_words in (("availability",), ("sla",))) and 0 <= number <= 1:
            return path, number * 100
        if key_words[-1] in ("s", "sec", "secs", "seconds", "ms", "h", "hours", "days"):
            unread.append(f"{path} (time since start, not availability)")
        else:
            unread.append(f"{path} (no unit)")
    return None


# -- configured fields ----------------------------------------------------------------------------------


def _at(body: Any, path: str) -> float | None:
    cursor = body
    for part in path.split("."):
        if not isinstance(cursor, dict) or part not in cursor:
            return None
        cursor = cursor[part]
    return _number(cursor)


def _configured(body: Any, name: MetricName, spec: MetricField, missing: list[str]) -> tuple[str, float] | None:
    value = _at(body, spec.path)
    if value is None:
        missing.append(f"{spec.path} (health.metrics.{name})")
        return None
    if spec.limit_path is not None:
        limit = _at(body, spec.limit_path)
        if not limit:
            missing.append(f"{spec.limit_path} (health.metrics.{name}.limit_path)")
            return None
        return f"{spec.path} / {spec.limit_path}", value / limit * 100
    factor = {"percent": 1.0, "ratio": 100.0, "ms": 1.0, "s": 1000.0}[spec.unit or "percent"]
    return spec.path, value * factor


Finder = Callable[[Any, list[str]], "tuple[str, float] | None"]
FINDERS: dict[MetricName, Finder] = {
    "memory": _memory, "error_rate": _error_rate, "response_time": _response_ms, "uptime": _uptime_pct,
}


def read(body: Any, limits: Thresholds = Thresholds(),
         fields: Mapping[MetricName, MetricField] | None = None) -> Reading:
    """Every guide metric ``body`` reports in a form this module can read, with its threshold;
    ``fields`` (the target's ``health.metrics``) say where a metric is when the shape is unusual."""
    reading = Reading()
    found: dict[MetricName, tuple[str, float] | None] = {}
    for name, finder in FINDERS.items():
        spec = (fields or {}).get(name)
        found[name] = (finder(body, reading.unread) if spec is None
                       else _configured(body, name, spec, reading.missing))
    if (memory := found["memory"]) is not None:
        reading.metrics.append(Metric("memory usage", memory[0], memory[1], "%", limits.memory_pct))
    if (rate := found["error_rate"]) is not None:
        reading.metrics.append(Metric("error rate", rate[0], rate[1], "%", limits.error_rate_pct,
                                      sign=ERROR_RATE_INCREASE))
    if (response := found["response_time"]) is not None:
        reading.metrics.append(Metric("response time", response[0], response[1], "ms", limits.response_ms,
                                      sign=SLOW_RESPONSE))
    if (uptime := found["uptime"]) is not None:
        reading.metrics.append(Metric("uptime", uptime[0], uptime[1], "%", limits.uptime_pct, minimum=True))
    return reading
