"""The state of one smokegate run, and the one way to reach it.

Every module that needs the run imports it from here: :func:`current` for the run of a pytest
config, :func:`record_of` for the record of one check.  Nothing imports ``smokegate.plugin``.
On the controller the run is made from the validated options and config; xdist workers rebuild it
from what the controller hands them (:meth:`SmokegateRun.for_worker`), so they never re-read files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from smokegate.checks.warning_signs import WarningSign
from smokegate.gate import CAUSE, Deselected, GateReport
from smokegate.options import Settings

if TYPE_CHECKING:
    from smokegate.config import Target
    from smokegate.reach import Reachability
    from smokegate.security.tls_job import ScanJob
    from smokegate.shared import RunLocks


@dataclass
class SmokegateRun:
    """State of one smokegate run on one process (controller or worker)."""

    settings: Settings
    target: Target
    gate: GateReport
    reach: Reachability | None = None
    requests: int = 0
    deselected: list[Deselected] = field(default_factory=list)
    # The directory every process of the run shares (smokegate.shared): made by the controller.
    shared_dir: Path | None = None
    # The TLS scan running in the background (smokegate.security.tls_job), and the check it starts at.
    tls_scan_starts_at: str | None = None
    tls_job: ScanJob | None = None

    @property
    def reports_dir(self) -> Path:
        return Path(self.settings.reports_dir)

    @property
    def locks(self) -> RunLocks:
        """The run's cross-process locks (load vs measurement, rate-limit windows)."""
        from smokegate.shared import RunLocks, make_dir

        if self.shared_dir is None:
            self.shared_dir = make_dir()
        return RunLocks(self.shared_dir)

    def count_request(self) -> None:
        self.requests += 1

    def worker_input(self) -> dict[str, Any]:
        return {
            "settings": self.settings.as_dict(),
            "target": self.target.model_dump(mode="json"),
            "reach": self.reach.as_dict() if self.reach else None,
            "shared_dir": str(self.shared_dir) if self.shared_dir else None,
        }

    @classmethod
    def for_worker(cls, data: dict[str, Any]) -> SmokegateRun:
        from smokegate.config import Target
        from smokegate.reach import Reachability

        settings = Settings.from_dict(data["settings"])
        run = cls(settings=settings, target=Target.model_validate(data["target"]),
                  gate=GateReport(gate_on=settings.gate_on))
        run.reach = Reachability.from_dict(data["reach"]) if data.get("reach") else None
        run.shared_dir = Path(data["shared_dir"]) if data.get("shared_dir") else None
        return run


# The CheckRecord detail that asks the collector to raise a failed check's severity one step.
SEVERITY_RAISED = "severity_raised_by"


class CheckRecord:
    """What a check measured, for the reports and gate.json; given to tests as ``check_record``."""

    def __init__(self, run: SmokegateRun) -> None:
        self._run = run
        self._start = run.requests
        self.extra_requests = 0
        self.measured: float | None = None
        self.budget: float | None = None
        self.unit: str | None = None
        self.details: dict[str, Any] = {}

    def measure(self, measured: float, budget: float | None, unit: str = "ms", *,
                warning_sign: WarningSign | None = None, **details: Any) -> None:
        """The figure the check is judged on, beside its budget (or threshold).

        With ``warning_sign``, a figure past that sign of the ops guide raises the check's severity
        one step if it fails (see :mod:`smokegate.checks.warning_signs`).
        """
        self.measured, self.budget, self.unit = float(measured), budget, unit
        self.details.update(details)
        if warning_sign is not None and warning_sign.exceeded(self.measured, unit):
            self.raise_severity(warning_sign.describe())
        _allure_attach("measurement", {"measured": self.measured, "budget": budget, "unit": unit, **details})

    def raise_severity(self, reason: str) -> None:
        """If the check fails, it fails one severity higher, for ``reason`` (read by the collector)."""
        self.details[SEVERITY_RAISED] = reason

    def cause(self, summary: str, *keys: str) -> None:
        """What this check's failure would be a symptom of, said before it asserts: ``summary`` for a
        reader ("the CORS policy of the API routes"), ``keys`` that other checks' failures of the same
        cause name too (``asset:https://host/x.css``).  Checks that fail sharing a key are one finding
        (:mod:`smokegate.gate`); a check that passes leaves nothing."""
        found = self.details.setdefault(CAUSE, {"summary": summary, "keys": []})
        found["keys"] += [key for key in keys if key not in found["keys"]]

    def add_requests(self, count: int) -> None:
        """Requests the check sent outside the run's counted probes (rare)."""
        self.extra_requests += count

    def detail(self, key: str, value: Any) -> None:
        self.details[key] = value

    @property
    def requests(self) -> int:
        return self._run.requests - self._start + self.extra_requests


def _allure_attach(name: str, data: dict[str, Any]) -> None:
    try:
        import allure
    except ImportError:
        return
    allure.attach(json.dumps(data, indent=2, default=str), name=name,
                  attachment_type=allure.attachment_type.JSON)


RUN_KEY = pytest.StashKey[SmokegateRun]()
RECORD_KEY = pytest.StashKey[CheckRecord]()


def current(config: pytest.Config) -> SmokegateRun | None:
    """The run of this pytest session, or None when smokegate is not testing anything."""
    return config.stash.get(RUN_KEY, None)


def start(config: pytest.Config, run: SmokegateRun) -> None:
    config.stash[RUN_KEY] = run


def record_of(item: pytest.Item) -> CheckRecord | None:
    """The record of one check while it runs (None for tests that are not checks)."""
    return item.stash.get(RECORD_KEY, None)


def open_record(item: pytest.Item, run: SmokegateRun) -> CheckRecord:
    record = item.stash[RECORD_KEY] = CheckRecord(run)
    return record


def settle(gate: GateReport, exitstatus: int | pytest.ExitCode) -> None:
    """What pytest's own exit status says about a run that did not judge every check.

    Called by the plugin before the verdict is written, and by the HTML report before it states it,
    so both read the same verdict; settling twice changes nothing.
    """
    if gate.error_kind is not None:
        return
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        gate.reason, gate.error_kind = "run interrupted (or checks failed to collect)", "interrupted"
    elif exitstatus == pytest.ExitCode.INTERNAL_ERROR:
        gate.reason, gate.error_kind = "internal error in the test run", "internal"
    elif not gate.checks and not gate.unreachable:
        gate.reason, gate.error_kind = "no checks ran", "no-checks"


def is_worker(config: pytest.Config) -> bool:
    """An xdist worker (the controller alone decides, writes reports and alerts)."""
    return hasattr(config, "workerinput")
