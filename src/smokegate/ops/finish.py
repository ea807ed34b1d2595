"""What happens after every run: record it, decide about alerts, write the incident, notify.

:func:`finish_run` is the whole sequence, free of pytest so it can be driven directly with
``gate.json`` dicts (the self-tests replay a week of runs through it).  Nothing in here may change
a run's verdict: a broken history or a dead webhook is reported through ``say`` and recorded.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from smokegate.ops.alerts import (
    ALERT_ENV,
    MONITORING_ENV,
    AlertSettings,
    Decision,
    Delivery,
    Post,
    Redactor,
    decide,
    deliver,
    incident_for,
    incident_markdown,
    metrics_payload,
    new_incident_id,
    parse_alert_settings,
    run_links,
    slack_payload,
)
from smokegate.ops.history import History, HistoryError, HistorySource, Notice, RunRow, gate_target, parse_time

INCIDENT_FILE = "incident.md"
ALERTS_FILE = "alerts.json"


@dataclass
class FinishOutcome:
    """What :func:`finish_run` did, for the terminal, ``alerts.json`` and the self-tests."""

    run_id: str
    target: str
    verdict: str
    incident_id: str | None
    decision: Decision
    deliveries: list[Delivery] = field(default_factory=list)
    incident_path: Path | None = None
    history_path: HistorySource | None = None
    history_ok: bool = False


def default_run_id(gate: Mapping[str, Any]) -> str:
    finished = parse_time(str(gate.get("finished_at") or gate["started_at"]))
    return f"{finished.strftime('%Y%m%dT%H%M%SZ')}-{gate_target(gate)}-{uuid.uuid4().hex[:8]}"


def finish_run(
    gate: Mapping[str, Any],
    *,
    reports_dir: Path,
    history_path: HistorySource | None,
    run_id: str | None = None,
    scheduled: bool = False,
    alerts: Mapping[str, Any] | None = None,
    secret_env: Sequence[str] = (),
    say: Callable[[str], None] = print,
    environ: Mapping[str, str] | None = None,
    location: str | None = None,
    suite: str | None = None,
) -> FinishOutcome:
    """Record the run, write ``incident.md`` when it blocks, and send what the decision says.

    ``location`` is where the run ran from; ``suite`` is set by ``smokegate watch`` and, with the
    location, makes the run's alert stream its own (see :mod:`smokegate.ops.history`).
    """
    env = os.environ if environ is None else environ
    target = gate_target(gate)
    verdict = str(gate.get("verdict", "fail"))
    run_id = run_id or default_run_id(gate)
    finished = parse_time(str(gate.get("finished_at") or gate["started_at"]))
    now_ts = finished.timestamp()
    redact = Redactor.from_env(secret_env, env)
    try:
        settings = parse_alert_settings(alerts)
    except ValueError as exc:
        say(f"invalid alert settings, using defaults: {exc}")
        settings = AlertSettings.model_validate({})

    incident_id = incident_for(verdict, None, new_incident_id(target, run_id, finished))
    streak: list[RunRow] = []
    notices: list[Notice] = []
    history: History | None = None
    if history_path is not None:
        try:
            history = History.open(history_path, notice=say)
            previous = history.recent_runs(target, limit=1, before_ts=now_ts, suite=suite, location=location)
            incident_id = incident_for(verdict, previous[0] if previous else None, incident_id or "")
            history.record_gate(
                gate,
                run_id=run_id,
                scheduled=scheduled,
                incident_id=incident_id,
                redact=redact,
                suite=suite,
                location=location,
            )
            if verdict == "fail":
                streak = history.failing_streak(target, upto_ts=now_ts, suite=suite, location=location)
            notices = history.notices(target, channel="alert", suite=suite, location=location)
        except (HistoryError, sqlite3.Error, OSError) as exc:
            say(f"run history unavailable, run not recorded: {exc}")
            if history is not None:
                history.close()
            history = None

    if history is None and verdict == "fail" and scheduled:
        # Without state we cannot count consecutive failures; paging too often beats staying silent.
        decision = Decision("alert", "no run history to count consecutive failures", incident_id, 1, now_ts)
    elif history is None and verdict != "fail":
        decision = Decision(None, "passing (no run history, so no recovery state)", None)
    else:
        decision = decide(
            verdict=verdict,
            scheduled=scheduled,
            now_ts=now_ts,
            incident_id=incident_id,
            streak=streak,
            notices=notices,
            settings=settings,
        )

    outcome = FinishOutcome(
        run_id,
        target,
        verdict,
        incident_id,
        decision,
        history_path=history_path,
        history_ok=history is not None,
    )
    links = run_links(env)
    incident_path = reports_dir / INCIDENT_FILE
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
        if verdict == "fail" and incident_id:
            incident_path.write_text(
                incident_markdown(
                    gate,
                    incident_id=incident_id,
                    run_id=run_id,
                    scheduled=scheduled,
                    decision=decision,
                    links=links,
                    redact=redact,
                ),
                encoding="utf-8",
            )
            outcome.incident_path = incident_path
        else:
            # A passing run must not leave an earlier run's incident lying in its reports.
            incident_path.unlink(missing_ok=True)
    except OSError as exc:
        say(f"could not write {incident_path}: {exc}")

    posts: list[Post] = []
    if decision.kind is not None:
        url = env.get(ALERT_ENV, "")
        if url:
            payload = slack_payload(gate, decision, links=links, redact=redact, settings=settings, now_ts=now_ts)
            posts.append(Post("alert", decision.kind, ALERT_ENV, url, payload))
        else:
            say(f"{decision.kind} not sent: {ALERT_ENV} is not set")
    if env.get(MONITORING_ENV):
        payload = metrics_payload(gate, run_id=run_id, scheduled=scheduled, incident_id=incident_id, redact=redact)
        posts.append(Post("monitoring", "metrics", MONITORING_ENV, env[MONITORING_ENV], payload))
    outcome.deliveries = deliver(posts, timeout_s=settings.timeout_s) if posts else []

    if history is not None:
        try:
            for delivery in outcome.deliveries:
                history.record_notice(
                    Notice(
                        run_id,
                        target,
                        now_ts,
                        delivery.channel,
                        delivery.kind,
                        delivery.status,
                        decision.incident_id if delivery.channel == "alert" else incident_id,
                        delivery.detail,
                        location,
                        suite,
                    )
                )
        except (HistoryError, sqlite3.Error) as exc:
            say(f"could not record webhook deliveries in the history: {exc}")
        finally:
            history.close()

    _report(outcome, say)
    _write_alerts_json(reports_dir / ALERTS_FILE, outcome, say)
    return outcome


def _report(outcome: FinishOutcome, say: Callable[[str], None]) -> None:
    if outcome.history_ok:
        say(f"run {outcome.run_id} recorded in {outcome.history_path}")
    decision = outcome.decision
    if decision.kind is None:
        say(f"alerting: no message ({decision.why})")
    for delivery in outcome.deliveries:
        verb = "sent" if delivery.status == "sent" else "FAILED"
        tail = "" if delivery.status == "sent" else "; the run's verdict is unaffected"
        say(
            f"{delivery.channel} webhook ({delivery.env}): {delivery.kind} {verb}, {delivery.detail}, "
            f"{delivery.elapsed_s:.2f} s{tail}"
        )
    if outcome.incident_path is not None:
        say(f"incident {outcome.incident_id} written to {outcome.incident_path}")


def _write_alerts_json(path: Path, outcome: FinishOutcome, say: Callable[[str], None]) -> None:
    data = {
        "run_id": outcome.run_id,
        "target": outcome.target,
        "verdict": outcome.verdict,
        "incident_id": outcome.incident_id,
        "history_recorded": outcome.history_ok,
        "decision": asdict(outcome.decision),
        "deliveries": [asdict(d) for d in outcome.deliveries],
    }
    try:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        say(f"could not write {path}: {exc}")
