"""What happens after every run: record it, decide about alerts, write the incident, notify.

:func:`finish_run` is the whole sequence, free of pytest so it can be driven directly with
``gate.json`` dicts (the self-tests replay a week of runs through it).  Nothing in here may change
a run's verdict: a broken history or a dead webhook is reported through ``say`` and recorded.

By verdict:

``fail``
    recorded; continues or opens an incident; ``incident.md``; an alert as :func:`decide` says.
``pass``
    recorded; a recovery message when an alert was sent for the open incident.
inside a maintenance window (any verdict)
    recorded, labelled with the window's name; no incident, no alert, no notice, not an
    availability sample (:mod:`smokegate.ops.maintenance`).
``error``
    the run could not judge the target.  Never an outage: no incident, no alert, no recovery, not an
    availability sample.  A usage error (bad option, config or file) is not a run of the target: it
    is not recorded and nothing is sent for it (its one message is on the terminal, its exit code
    fails the CI job, and a webhook URL may be the very input that was wrong).  A run that could not
    judge at run time (network, a bug in the suite) is recorded as ``error`` and may send one clearly
    labelled notice (post-deploy: every time, someone waits for the verdict; scheduled: once per
    streak of errors).
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
    Decision,
    Delivery,
    Post,
    decide,
    deliver,
    incident_for,
    incident_markdown,
    metrics_payload,
    new_incident_id,
    notice_payload,
    run_kind,
    run_links,
    slack_payload,
)
from smokegate.ops.attribution import incident_section, with_hints
from smokegate.ops.config import AlertSettings, parse_alert_settings
from smokegate.ops.history import History, HistoryError, HistorySource, Notice, RunRow, gate_target, parse_time
from smokegate.ops.maintenance import MaintenanceWindow, window_at
from smokegate.scrub import Scrubber

INCIDENT_FILE = "incident.md"
ALERTS_FILE = "alerts.json"
Say = Callable[[str], None]


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
    maintenance: str | None = None  # the window the run started in (its name)


@dataclass
class _Run:
    """One finished run as the steps below need it."""

    gate: Mapping[str, Any]
    run_id: str
    target: str
    verdict: str
    usage_error: bool
    scheduled: bool
    now_ts: float
    settings: AlertSettings
    redact: Scrubber
    env: Mapping[str, str]
    # Where the run ran from, and the watch suite it belongs to: with the target, its alert stream.
    location: str | None = None
    suite: str | None = None
    # The maintenance window the run started in (its name and description), if any.
    maintenance: tuple[str, str] | None = None
    # What the providers' status pages said, for a failing run's incident and alert (a hint).
    hints: Sequence[str] = ()


@dataclass
class _State:
    """What the history says about the target before this run."""

    history: History | None = None
    incident_id: str | None = None
    streak: list[RunRow] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    previous: RunRow | None = None


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
    alerts: AlertSettings | Mapping[str, Any] | None = None,
    secret_env: Sequence[str] = (),
    say: Say = print,
    environ: Mapping[str, str] | None = None,
    location: str | None = None,
    suite: str | None = None,
    maintenance: Sequence[MaintenanceWindow] = (),
    hints: Callable[[], Sequence[str]] | None = None,
) -> FinishOutcome:
    """Record the run, write ``incident.md`` when it fails, and send what the decision says.

    ``location`` is where the run ran from; ``suite`` is set by ``smokegate watch`` and, with the
    location, makes the run's alert stream its own (see :mod:`smokegate.ops.history`).
    ``maintenance`` are the target's windows; ``hints`` reads what the providers' status pages say,
    asked only for a failing run outside a window (:mod:`smokegate.ops.attribution`).
    """
    env = os.environ if environ is None else environ
    try:
        settings = parse_alert_settings(alerts)
    except ValueError as exc:
        say(f"invalid alert settings, using defaults: {exc}")
        settings = AlertSettings()
    verdict = str(gate.get("verdict", "fail"))
    run = _Run(
        gate=gate,
        run_id=run_id or str(gate.get("run_id") or "") or default_run_id(gate),
        target=gate_target(gate),
        verdict=verdict,
        usage_error=verdict == "error" and gate.get("error_kind") == "usage",
        scheduled=scheduled,
        now_ts=parse_time(str(gate.get("finished_at") or gate["started_at"])).timestamp(),
        settings=settings,
        redact=Scrubber.from_env({ALERT_ENV, MONITORING_ENV, *secret_env}, env),
        env=env,
        location=location,
        suite=suite,
    )
    started = parse_time(str(gate.get("started_at") or gate.get("finished_at")))
    inside = window_at(maintenance, started)
    if inside is not None:
        run.maintenance = (inside[0].name, inside[1])
        say(f"run inside {inside[1]}: labelled, no page, not an availability sample")
    elif verdict == "fail" and hints is not None:
        run.hints = list(hints())
    state = _State() if run.usage_error or history_path is None else _record(run, history_path, say)
    decision = _decide(run, state)
    outcome = FinishOutcome(run.run_id, run.target, verdict, state.incident_id, decision,
                            history_path=None if run.usage_error else history_path,
                            history_ok=state.history is not None,
                            maintenance=run.maintenance[0] if run.maintenance else None)
    outcome.deliveries = _send(run, decision, say)
    outcome.incident_path = _write_incident(run, state, decision, outcome.deliveries, reports_dir, say)
    _record_deliveries(run, state, decision, outcome.deliveries, say)
    _report(outcome, say)
    _write_alerts_json(reports_dir / ALERTS_FILE, outcome, say)
    return outcome


def _record(run: _Run, history_path: HistorySource, say: Say) -> _State:
    """Store the run; read the streak and past notices alerting decides on."""
    state = _State()
    stream = {"suite": run.suite, "location": run.location}  # the run's alert stream within its target
    try:
        history = state.history = History.open(history_path, notice=say)
        recent = history.recent_runs(run.target, limit=20, before_ts=run.now_ts, **stream)
        judged = [r for r in recent if r.verdict != "error"]
        state.previous = judged[0] if judged else None
        new_id = new_incident_id(run.target, run.run_id, parse_time(str(run.gate.get("finished_at")
                                                                       or run.gate["started_at"])))
        state.incident_id = incident_for(run.verdict, state.previous, new_id)
        if run.maintenance is not None:
            state.incident_id = None  # a window opens no incident and continues none
        history.record_gate(run.gate, run_id=run.run_id, scheduled=run.scheduled, incident_id=state.incident_id,
                            redact=run.redact, maintenance=run.maintenance[0] if run.maintenance else None,
                            **stream)
        if run.verdict == "fail":
            state.streak = history.failing_streak(run.target, upto_ts=run.now_ts, **stream)
        state.notices = history.notices(run.target, channel="alert", suite=run.suite, location=run.location)
    except (HistoryError, sqlite3.Error, OSError) as exc:
        say(f"run history unavailable, run not recorded: {exc}")
        if state.history is not None:
            state.history.close()
        state.history = None
    return state


def _decide(run: _Run, state: _State) -> Decision:
    if run.usage_error:
        return Decision(None, "a usage error is not a run of the target: nothing recorded, nothing sent", None)
    if run.maintenance is not None:
        return Decision(None, f"inside {run.maintenance[1]}: nobody is paged", None)
    if run.verdict == "error":
        return _decide_notice(run, state)
    if state.history is None and run.verdict == "fail":
        incident = state.incident_id or new_incident_id(run.target, run.run_id, parse_time(
            str(run.gate.get("finished_at") or run.gate["started_at"])))
        state.incident_id = incident
        if run.scheduled:
            # Without state we cannot count consecutive failures; paging too often beats staying silent.
            return Decision("alert", "no run history to count consecutive failures", incident, 1, run.now_ts)
        return Decision("alert", "a post-deploy gate alerts on its first failure", incident, 1, run.now_ts)
    if state.history is None:
        return Decision(None, "passing (no run history, so no recovery state)", None)
    return decide(verdict=run.verdict, scheduled=run.scheduled, now_ts=run.now_ts, incident_id=state.incident_id,
                  streak=state.streak, notices=state.notices, settings=run.settings)


def _decide_notice(run: _Run, state: _State) -> Decision:
    """An ``error`` run pages nobody; it may send one labelled notice."""
    if run.scheduled and state.history is not None:
        latest = state.history.recent_runs(run.target, limit=2, before_ts=run.now_ts, suite=run.suite,
                                           location=run.location)
        if latest and latest[0].verdict == "error":
            return Decision(None, "the run could not judge the target; a notice was already due for this streak",
                            None)
    return Decision("notice", "the run could not judge the target (not an outage)", None)


def _send(run: _Run, decision: Decision, say: Say) -> list[Delivery]:
    posts: list[Post] = []
    if decision.kind is not None:
        url = run.env.get(ALERT_ENV, "")
        if url:
            if decision.kind == "notice":
                payload = notice_payload(run.gate, links=run_links(run.env), redact=run.redact)
            else:
                payload = slack_payload(run.gate, decision, links=run_links(run.env), redact=run.redact,
                                        seen_from=_seen_from(run),
                                        settings=run.settings, now_ts=run.now_ts)
                if decision.kind in ("alert", "reminder"):
                    payload = json.loads(run.redact(json.dumps(with_hints(payload, run.hints))))
            posts.append(Post("alert", decision.kind, ALERT_ENV, url, payload))
        else:
            say(f"{decision.kind} not sent: {ALERT_ENV} is not set")
    if run.env.get(MONITORING_ENV) and not run.usage_error:
        payload = metrics_payload(run.gate, run_id=run.run_id, scheduled=run.scheduled, incident_id=None,
                                  redact=run.redact)
        posts.append(Post("monitoring", "metrics", MONITORING_ENV, run.env[MONITORING_ENV], payload))
    return deliver(posts, timeout_s=run.settings.timeout_s) if posts else []


def _seen_from(run: _Run) -> str | None:
    parts = [f"{run.suite} suite" if run.suite else "", f"from {run.location}" if run.location else ""]
    return ", ".join(p for p in parts if p) or None


def _webhook_line(run: _Run, decision: Decision, deliveries: Sequence[Delivery]) -> str:
    """What the alert webhook actually got, in words (never "alert" when nothing was sent)."""
    sent = [d for d in deliveries if d.channel == "alert"]
    if decision.kind is None:
        return f"no message ({decision.why})"
    if not sent:
        return f"{decision.kind} not sent: {ALERT_ENV} is not set"
    delivery = sent[0]
    verb = "sent" if delivery.status == "sent" else "FAILED"
    return f"{decision.kind} {verb} ({delivery.detail}; {decision.why})"


def _write_incident(run: _Run, state: _State, decision: Decision, deliveries: Sequence[Delivery],
                    reports_dir: Path, say: Say) -> Path | None:
    path = reports_dir / INCIDENT_FILE
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
        if run.verdict != "fail" or not state.incident_id or run.maintenance is not None:
            # Only a failing run has an incident; never leave an earlier run's lying in these reports.
            path.unlink(missing_ok=True)
            return None
        path.write_text(
            incident_markdown(run.gate, incident_id=state.incident_id, run_id=run.run_id,
                              kind=run_kind(run.scheduled, run.env), decision=decision,
                              webhook=_webhook_line(run, decision, deliveries), links=run_links(run.env),
                              reports_dir=reports_dir, redact=run.redact, suite=run.suite)
            + run.redact(incident_section(run.hints)),
            encoding="utf-8",
        )
    except OSError as exc:
        say(f"could not write {path}: {exc}")
        return None
    return path


def _record_deliveries(run: _Run, state: _State, decision: Decision, deliveries: Sequence[Delivery],
                       say: Say) -> None:
    if state.history is None:
        return
    try:
        for delivery in deliveries:
            state.history.record_notice(Notice(
                run.run_id, run.target, run.now_ts, delivery.channel, delivery.kind, delivery.status,
                decision.incident_id if delivery.channel == "alert" else state.incident_id, delivery.detail,
                run.location, run.suite,
            ))
    except (HistoryError, sqlite3.Error) as exc:
        say(f"could not record webhook deliveries in the history: {exc}")
    finally:
        state.history.close()


def _report(outcome: FinishOutcome, say: Say) -> None:
    if outcome.history_ok:
        say(f"run {outcome.run_id} recorded in {outcome.history_path}")
    elif outcome.verdict == "error" and outcome.history_path is None:
        say("run not recorded: it could not judge the target (not an availability sample)")
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


def _write_alerts_json(path: Path, outcome: FinishOutcome, say: Say) -> None:
    data = {
        "run_id": outcome.run_id,
        "target": outcome.target,
        "verdict": outcome.verdict,
        "incident_id": outcome.incident_id,
        "history_recorded": outcome.history_ok,
        "decision": asdict(outcome.decision),
        "maintenance": outcome.maintenance,
        "deliveries": [asdict(d) for d in outcome.deliveries],
    }
    try:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        say(f"could not write {path}: {exc}")
