"""Which published advisories apply to a version: OSV records, matched as OSV matches them.

An OSV record (https://ossf.github.io/osv-schema/) lists, per affected package, ``ranges`` of type
``SEMVER`` or ``ECOSYSTEM`` whose ``events`` open (``introduced``) and close (``fixed``, exclusive;
``last_affected``, inclusive) intervals, and sometimes explicit ``versions``.  npm versions compare as
semantic versions, a prerelease (``19.2.0-canary-…``) before its release.  GitHub's advisories, which
OSV serves for npm, carry their severity in ``database_specific.severity`` (CRITICAL, HIGH, MODERATE,
LOW).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SEVERITY_ORDER = ("low", "moderate", "high", "critical")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")

Key = tuple[int, int, int, tuple[tuple[int, int | str], ...] | None]


def version_key(version: str) -> Key | None:
    """A sort key following semver 2.0 precedence; None when ``version`` is not a semantic version."""
    match = _VERSION.match(version.strip())
    if match is None:
        return None
    major, minor, patch, pre = match.groups()
    if pre is None:
        return int(major), int(minor), int(patch), None
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return int(major), int(minor), int(patch), parts


def _before(a: Key, b: Key) -> bool:
    """a < b in semver precedence (a release sorts after its prereleases)."""
    if a[:3] != b[:3]:
        return a[:3] < b[:3]
    if a[3] is None or b[3] is None:
        return a[3] is not None and b[3] is None
    return a[3] < b[3]


def precedes(a: str, b: str) -> bool:
    """Does version ``a`` come before ``b`` (semver precedence)?  False when either is not a version."""
    key_a, key_b = version_key(a), version_key(b)
    return key_a is not None and key_b is not None and _before(key_a, key_b)


@dataclass(frozen=True)
class Applies:
    id: str
    aliases: tuple[str, ...]
    summary: str
    severity: str  # critical, high, moderate, low or unknown
    package: str
    fixed: str | None  # the first fixed version above the deployed one (None: no fix published)

    def describe(self, version: str) -> str:
        names = " / ".join((self.id, *self.aliases))
        fix = f"fixed in {self.fixed}" if self.fixed else "no fixed version published"
        return f"{names} ({self.severity}): {self.summary} — {self.package} {version}, {fix}"


def severity(record: Mapping[str, Any]) -> str:
    label = str((record.get("database_specific") or {}).get("severity") or "").lower()
    return label if label in SEVERITY_ORDER else "unknown"


_ZERO: Key = (0, 0, 0, None)


def _order(a: tuple[Key, Any], b: tuple[Key, Any]) -> int:
    return -1 if _before(a[0], b[0]) else (1 if _before(b[0], a[0]) else 0)


def _in_range(version: Key, events: list[Mapping[str, str]]) -> tuple[bool, str | None]:
    """OSV's evaluation: events sorted, ``introduced`` at or below the version opens, ``fixed`` at or
    below it closes, a ``last_affected`` below it closes; and the first ``fixed`` above it, the fix."""
    keyed = []
    for event in events:
        value = next(iter(event.values()), "")
        key = _ZERO if value == "0" else version_key(value)
        if key is not None:
            keyed.append((key, event))
    keyed.sort(key=functools.cmp_to_key(_order))
    affected = False
    for key, event in keyed:
        if "introduced" in event and not _before(version, key):
            affected = True
        elif ("fixed" in event and not _before(version, key)) or ("last_affected" in event and _before(key, version)):
            affected = False
    if not affected:
        return False, None
    fixed = next((e["fixed"] for k, e in keyed if "fixed" in e and _before(version, k)), None)
    return True, fixed


def applies(record: Mapping[str, Any], package: str, version: str) -> Applies | None:
    """The record as it applies to ``package`` at ``version``; None when it does not."""
    key = version_key(version)
    if key is None:
        return None
    for affected in record.get("affected") or []:
        info = affected.get("package") or {}
        if info.get("name") != package or str(info.get("ecosystem", "")).lower() != "npm":
            continue
        hit, fixed = version in (affected.get("versions") or []), None
        for span in affected.get("ranges") or []:
            if span.get("type") in ("SEMVER", "ECOSYSTEM") and not hit:
                hit, fixed = _in_range(key, list(span.get("events") or []))
        if hit:
            aliases = tuple(a for a in record.get("aliases") or [] if a != record.get("id"))
            return Applies(str(record.get("id")), aliases,
                           str(record.get("summary") or record.get("details", "")[:100]).strip(),
                           severity(record), package, fixed)
    return None


def at_least(found: str, threshold: str) -> bool:
    """Is severity ``found`` at or above ``threshold`` (unknown severities never are)?"""
    return found in SEVERITY_ORDER and SEVERITY_ORDER.index(found) >= SEVERITY_ORDER.index(threshold)


def matching(records: Iterable[Mapping[str, Any]], package: str, version: str) -> list[Applies]:
    """Every record that applies, worst first, one per advisory id."""
    found: dict[str, Applies] = {}
    for record in records:
        hit = applies(record, package, version)
        if hit is not None:
            found.setdefault(hit.id, hit)
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    return sorted(found.values(), key=lambda a: (-rank.get(a.severity, -1), a.id))
