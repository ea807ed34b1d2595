"""Prometheus metrics of ``smokegate watch`` (``--metrics-port``), from each run's ``gate.json``.

Names follow Prometheus conventions: base units (seconds, ratios), ``_total`` for counters,
``_seconds`` for durations.  Every series carries the watcher's ``location``.

Per run (labels ``target``, ``suite``, ``location``):
    ``smokegate_runs_total{verdict}``, ``smokegate_run_duration_seconds`` (histogram),
    ``smokegate_last_run_timestamp_seconds``, ``smokegate_alerts_total{kind, status}``.
Per target (``target``, ``location``):
    ``smokegate_target_up`` (1 when the latest run that judged the target passed, else 0),
    ``smokegate_availability_ratio`` and ``smokegate_availability_samples`` over the window
    (``smokegate_availability_window_seconds``; samples are pass and fail runs, never error).
Per check (``target``, ``check``, ``location``):
    ``smokegate_check_outcome{smokegate_check_outcome="passed"|"failed"|"skipped"}`` (last outcome),
    ``smokegate_check_duration_seconds``, ``smokegate_check_runs_total``,
    ``smokegate_check_failures_total{failure_kind}``, and the last measured value and budget:
    ``smokegate_check_measured_seconds`` / ``smokegate_check_budget_seconds`` for timings,
    ``smokegate_check_measured{unit}`` / ``smokegate_check_budget{unit}`` for anything else.
The scheduler (``target``, ``suite``):
    ``smokegate_watch_schedule_lag_seconds`` (histogram of actual − planned start),
    ``smokegate_watch_overruns_total``, ``smokegate_watch_skipped_runs_total``,
    ``smokegate_watch_incomplete_runs_total{reason}`` (stopped at the timeout, or no verdict
    written), ``smokegate_watch_runs_in_progress``; and the watcher's own ``process_*`` figures.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import start_http_server

OUTCOMES = ["passed", "failed", "skipped"]
RUN_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
# Units the suite measures time in, and the factor to seconds.
TIME_UNITS = {"ms": 1e-3, "s": 1.0}


class WatchMetrics:
    """The watcher's metrics in their own registry (several watchers can live in one process)."""

    def __init__(self, location: str, *, window_s: float) -> None:
        # No "<name>_created" series: in the Prometheus text format they are extra gauges per series
        # (a process-wide switch of prometheus_client; the watcher is the only exporter in its process).
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.location = location
        self.registry = CollectorRegistry()
        self._server: Any = None
        r = self.registry
        ProcessCollector(registry=r)
        run = ["target", "suite", "location"]
        self.runs = Counter("smokegate_runs", "Runs finished, by verdict.", [*run, "verdict"], registry=r)
        self.run_duration = Histogram(
            "smokegate_run_duration_seconds", "Wall time of each run.", run, buckets=RUN_BUCKETS, registry=r
        )
        self.last_run = Gauge(
            "smokegate_last_run_timestamp_seconds", "When the latest run finished (Unix time).", run, registry=r
        )
        self.alerts = Counter(
            "smokegate_alerts",
            "Alert-webhook messages, by kind and delivery status.",
            [*run, "kind", "status"],
            registry=r,
        )
        per_target = ["target", "location"]
        self.up = Gauge(
            "smokegate_target_up",
            "1 when the latest run that judged the target passed, 0 when it failed.",
            per_target,
            registry=r,
        )
        self.availability = Gauge(
            "smokegate_availability_ratio",
            "Share of passing runs over the window (pass and fail runs only).",
            per_target,
            registry=r,
        )
        self.samples = Gauge(
            "smokegate_availability_samples", "Runs counted in smokegate_availability_ratio.", per_target, registry=r
        )
        self.window = Gauge(
            "smokegate_availability_window_seconds", "Period smokegate_availability_ratio covers.", registry=r
        )
        self.window.set(window_s)
        check = ["target", "check", "location"]
        self.check_outcome = Enum(
            "smokegate_check_outcome", "Outcome of the check's latest run.", check, states=OUTCOMES, registry=r
        )
        self.check_duration = Gauge(
            "smokegate_check_duration_seconds", "Duration of the check's latest run.", check, registry=r
        )
        self.check_runs = Counter("smokegate_check_runs", "Check runs (passed or failed).", check, registry=r)
        self.check_failures = Counter(
            "smokegate_check_failures", "Failed check runs, by failure kind.", [*check, "failure_kind"], registry=r
        )
        self.measured_s = Gauge(
            "smokegate_check_measured_seconds", "Latest measured time of the check.", check, registry=r
        )
        self.budget_s = Gauge("smokegate_check_budget_seconds", "The check's time budget.", check, registry=r)
        self.measured = Gauge(
            "smokegate_check_measured",
            "Latest measured value of a check that does not measure time.",
            [*check, "unit"],
            registry=r,
        )
        self.budget = Gauge(
            "smokegate_check_budget", "Budget of a check that does not measure time.", [*check, "unit"], registry=r
        )
        sched = ["target", "suite"]
        self.lag = Histogram(
            "smokegate_watch_schedule_lag_seconds",
            "Actual minus planned start of each run.",
            sched,
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.overruns = Counter(
            "smokegate_watch_overruns", "Runs that were still going when their next run was due.", sched, registry=r
        )
        self.skipped = Counter(
            "smokegate_watch_skipped_runs",
            "Planned runs not started because the previous one overran.",
            sched,
            registry=r,
        )
        self.incomplete = Counter(
            "smokegate_watch_incomplete_runs",
            "Runs that wrote no verdict (stopped at their timeout, crashed).",
            [*sched, "reason"],
            registry=r,
        )
        self.in_progress = Gauge("smokegate_watch_runs_in_progress", "Runs going on right now.", registry=r)
        self._lock = threading.Lock()

    # -- updates ---------------------------------------------------------------------------------

    def run_finished(
        self,
        *,
        target: str,
        suite: str,
        gate: Mapping[str, Any],
        duration_s: float,
        finished_ts: float,
        alerts: Mapping[str, Any] | None,
    ) -> None:
        """Everything one run's ``gate.json`` (and ``alerts.json``) says."""
        loc = self.location
        verdict = str(gate.get("verdict", "fail"))
        with self._lock:
            self.runs.labels(target, suite, loc, verdict).inc()
            self.run_duration.labels(target, suite, loc).observe(duration_s)
            self.last_run.labels(target, suite, loc).set(finished_ts)
            if verdict in ("pass", "fail"):
                self.up.labels(target, loc).set(1.0 if verdict == "pass" else 0.0)
            for check in gate.get("checks", []):
                self._check(target, check)
            for delivery in (alerts or {}).get("deliveries", []):
                if delivery.get("channel") == "alert":
                    self.alerts.labels(target, suite, loc, str(delivery.get("kind")), str(delivery.get("status"))).inc()

    def _check(self, target: str, check: Mapping[str, Any]) -> None:
        name = str(check.get("check"))
        labels = (target, name, self.location)
        outcome = str(check.get("outcome"))
        if outcome in OUTCOMES:
            self.check_outcome.labels(*labels).state(outcome)
        self.check_duration.labels(*labels).set(float(check.get("duration_s") or 0.0))
        if outcome == "skipped":
            return
        self.check_runs.labels(*labels).inc()
        if outcome == "failed":
            self.check_failures.labels(*labels, str(check.get("failure_kind") or "unclassified")).inc()
        unit = str(check.get("unit") or "")
        measured, budget = check.get("measured"), check.get("budget")
        if unit in TIME_UNITS:
            factor = TIME_UNITS[unit]
            if isinstance(measured, int | float):
                self.measured_s.labels(*labels).set(float(measured) * factor)
            if isinstance(budget, int | float):
                self.budget_s.labels(*labels).set(float(budget) * factor)
        else:
            if isinstance(measured, int | float):
                self.measured.labels(*labels, unit).set(float(measured))
            if isinstance(budget, int | float):
                self.budget.labels(*labels, unit).set(float(budget))

    def set_availability(self, target: str, *, samples: int, passing: int) -> None:
        with self._lock:
            self.samples.labels(target, self.location).set(samples)
            if samples:
                self.availability.labels(target, self.location).set(passing / samples)

    # -- serving ---------------------------------------------------------------------------------

    def serve(self, port: int, address: str = "0.0.0.0") -> int:
        """Serve ``/metrics`` in a background thread; returns the port (useful with port 0)."""
        server, _thread = start_http_server(port, addr=address, registry=self.registry)
        self._server = server
        return int(server.server_address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
