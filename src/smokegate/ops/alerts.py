"""Alerts and incidents: what a finished run tells the people on call, and when.

A blocking run writes ``incident.md`` in the operations guide's incident template and (when
``ALERT_WEBHOOK_URL`` is set) posts a Slack-compatible message (``text`` plus ``blocks``).  Every
run's metrics go to ``MONITORING_WEBHOOK_URL`` when it is set.

Scheduled runs page only when it matters (state comes from the run history):

* alert after ``consecutive_failures`` failing runs in a row (default 2), once per incident;
* remind at most every ``remind_every_minutes`` while the target stays down (0 = never);
* send one recovery message on the first passing run after an alert.

A post-deploy run alerts on its first failure: someone just shipped and is waiting for the verdict.
A run that could not judge the target (verdict ``error``) never alerts; it may send one notice
labelled as such (:func:`notice_payload`).

Webhooks are best effort: all deliveries run in parallel under one deadline (``timeout_s``, at
most 5 s), so a webhook that is down or hangs costs the run at most that long and never changes
its verdict.  Webhook URLs are secrets: they are never written to a report, a log or the history.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import httpx

from smokegate.failures import MEANINGS, FailureKind, kind_of
from smokegate.figures import measured_vs_budget
from smokegate.gate import same_cause_note
from smokegate.ops.config import MAX_TIMEOUT_S, AlertSettings
from smokegate.ops.history import Notice, RunRow, gate_target, highest_failed_severity, parse_time

ALERT_ENV = "ALERT_WEBHOOK_URL"
MONITORING_ENV = "MONITORING_WEBHOOK_URL"
REPORT_FILES = ("summary.md", "report.html", "gate.json", "junit.xml", "allure-results/")

Kind = Literal["alert", "reminder", "recovery", "notice"]
Redact = Callable[[str], str]

DEPENDENCY_NAMES = {
    "auth": "Clerk (auth)",
    "payments": "Stripe (payments)",
    "ai": "OpenAI (AI)",
    "database": "Supabase (database)",
}


# -- decisions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """Which message (if any) this run sends to the alert webhook, and why."""

    kind: Kind | None
    why: str
    incident_id: str | None
    streak: int = 0
    since_ts: float | None = None


def new_incident_id(target: str, run_id: str, when: datetime) -> str:
    """``INC-<UTC time>-<target>-<6 hex>``: sortable, readable, and unique per run."""
    digest = hashlib.sha256(f"{target}\0{run_id}".encode()).hexdigest()[:6]
    slug = "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in target.lower()).strip("-") or "none"
    return f"INC-{when.astimezone(UTC).strftime('%Y%m%dT%H%MZ')}-{slug}-{digest}"


def incident_for(verdict: str, previous: RunRow | None, new_id: str) -> str | None:
    """A failing run continues the previous run's incident, else it opens a new one."""
    if verdict != "fail":
        return None
    if previous is not None and previous.verdict == "fail" and previous.incident_id:
        return previous.incident_id
    return new_id


def decide(
    *,
    verdict: str,
    scheduled: bool,
    now_ts: float,
    incident_id: str | None,
    streak: Sequence[RunRow],
    notices: Sequence[Notice],
    settings: AlertSettings,
) -> Decision:
    """Whether to alert, remind, send a recovery, or stay quiet.

    ``streak`` is the unbroken run of failing runs ending with this one (newest first, empty
    when this run passed); ``notices`` are the target's past alert-channel deliveries, newest
    first.  Only deliveries that were actually *sent* count: a webhook that was down gets
    another chance on the next run.
    """
    sent = [n for n in notices if n.channel == "alert" and n.status == "sent"]
    if verdict != "fail":
        last = sent[0] if sent else None
        if last is not None and last.kind in ("alert", "reminder"):
            return Decision("recovery", "passing again after an alert", last.incident_id)
        return Decision(None, "passing", None)

    count = len(streak)
    since = streak[-1].ts if streak else now_ts
    if not scheduled:
        return Decision("alert", "a post-deploy gate alerts on its first failure", incident_id, count, since)
    if count < settings.consecutive_failures:
        why = f"{count} of {settings.consecutive_failures} consecutive failing runs: alert held back"
        return Decision(None, why, incident_id, count, since)
    told = [n for n in sent if n.incident_id == incident_id and n.kind in ("alert", "reminder")]
    if not told:
        why = f"{count} consecutive failing runs (threshold {settings.consecutive_failures})"
        return Decision("alert", why, incident_id, count, since)
    if settings.remind_every_minutes <= 0:
        return Decision(None, "already alerted; reminders are off", incident_id, count, since)
    minutes = (now_ts - told[0].ts) / 60
    if minutes >= settings.remind_every_minutes:
        why = f"still failing {minutes:.0f} min after the last message"
        return Decision("reminder", why, incident_id, count, since)
    wait = settings.remind_every_minutes - minutes
    why = f"already alerted {minutes:.0f} min ago; next reminder in {wait:.0f} min"
    return Decision(None, why, incident_id, count, since)


# -- the incident ------------------------------------------------------------------------------


def severity_label(gate: Mapping[str, Any]) -> str:
    """The template's Severity: the highest failed check's, or Critical when nothing could be tested."""
    severity = highest_failed_severity(gate)
    if severity is None:
        return "Critical" if gate.get("reason") else "High"
    return severity.capitalize()


def suspected_causes(gate: Mapping[str, Any]) -> list[str]:
    """Root-cause suspicions from the failed checks' failure kinds, outages first, most frequent first."""
    failed = [c for c in gate.get("checks", []) if c.get("outcome") == "failed"]
    kinds = Counter(str(c.get("failure_kind") or "unclassified") for c in failed)
    lines = []
    if gate.get("reason"):
        lines.append(f"the run could not test the target: {gate['reason']}")
    ordered = sorted(kinds.most_common(), key=lambda item: not (kind_of(item[0]) or FailureKind.CONTRACT_BROKEN).outage)
    for name, count in ordered:
        kind = kind_of(name)
        text = MEANINGS[kind].cause if kind is not None else "unclassified failure: read the check messages"
        if kind == FailureKind.THIRD_PARTY:
            deps = sorted(
                {
                    str((c.get("details") or {}).get("dependency"))
                    for c in failed
                    if c.get("failure_kind") == name and (c.get("details") or {}).get("dependency")
                }
            )
            names = ", ".join(DEPENDENCY_NAMES.get(d, d) for d in deps)
            text = text.format(deps=f": {names}" if names else "")
        lines.append(f"{name} ({count} check{'s' if count != 1 else ''}): {text}")
    return lines


def _describe_check(check: Mapping[str, Any]) -> str:
    figures = ""
    if check.get("measured") is not None:
        figures = " — measured " + measured_vs_budget(check["measured"], check.get("budget"), check.get("unit"),
                                                      against=" vs budget ")
    kind = f", {check['failure_kind']}" if check.get("failure_kind") else ""
    area = check.get("feature") or check.get("epic") or "general"
    message = f": {first_line(str(check['message']))}" if check.get("message") else ""
    return f"`{check['check']}` ({check.get('severity', '?')}, {area}{kind}){figures}{message}"


def findings(gate: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The failed checks that are findings of their own: a check failing as a consequence of another's
    cause is named on that one's line (one finding per fault), not on a line of its own."""
    return [c for c in gate.get("checks", []) if c.get("outcome") == "failed" and not c.get("consequence_of")]


def describe_finding(check: Mapping[str, Any]) -> str:
    note = same_cause_note(check.get("consequences") or [])
    return _describe_check(check) + (f" ({note})" if note else "")


def first_line(text: str, limit: int = 300) -> str:
    """A message's first non-empty line: tracebacks belong in report.html, not in a page to on-call."""
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return _limit(line, limit)


def impact_lines(gate: Mapping[str, Any]) -> list[str]:
    failed = [c for c in gate.get("checks", []) if c.get("outcome") == "failed"]
    counts = gate.get("counts", {})
    total = sum(int(counts.get(k, 0)) for k in ("passed", "failed", "skipped"))
    lines = []
    if not failed and gate.get("reason"):
        lines.append("Unknown: the target could not be tested; assume users are affected until it is.")
    elif failed:
        areas = sorted({str(c.get("feature") or c.get("epic") or "general") for c in failed})
        blocking = sum(1 for c in failed if c.get("blocking"))
        lines.append(f"{len(failed)} of {total} checks failed ({blocking} blocking); affected: {', '.join(areas)}.")
    skipped_required = [c for c in gate.get("checks", []) if c.get("outcome") == "skipped" and c.get("blocking")]
    if skipped_required:
        names = ", ".join(f"`{c['check']}`" for c in skipped_required)
        lines.append(f"Required checks that did not run: {names}.")
    return lines


def run_links(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Where to look: the CI run when there is one (never a webhook)."""
    env = os.environ if environ is None else environ
    links: dict[str, str] = {}
    if env.get("GITHUB_SERVER_URL") and env.get("GITHUB_REPOSITORY") and env.get("GITHUB_RUN_ID"):
        links["CI run and report artifact"] = (
            f"{env['GITHUB_SERVER_URL']}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
        )
    return links


RUN_KINDS = {"scheduled": "Scheduled monitoring run", "post-deploy": "Post-deploy gate", "manual": "Manual run"}


def run_label(kind: str, suite: str | None = None) -> str:
    """How an incident names the run that found it: a watcher's run by its suite (a health-suite run is
    no "synthetic" run), a scheduled workflow's as monitoring, the post-deploy gate as such."""
    if kind == "scheduled" and suite:
        return f"Scheduled {suite}-suite run (smokegate watch)"
    return RUN_KINDS.get(kind, "Run")


def run_kind(scheduled: bool, environ: Mapping[str, str] | None = None) -> str:
    """``scheduled``, ``post-deploy`` (a CI job on a deployment event) or ``manual``."""
    env = os.environ if environ is None else environ
    if scheduled:
        return "scheduled"
    if env.get("GITHUB_EVENT_NAME") == "deployment_status" or env.get("SMOKEGATE_RUN_KIND") == "post-deploy":
        return "post-deploy"
    return "manual"


def incident_markdown(
    gate: Mapping[str, Any],
    *,
    incident_id: str,
    run_id: str,
    kind: str,
    decision: Decision,
    webhook: str,
    links: Mapping[str, str],
    reports_dir: Path,
    redact: Redact,
    suite: str | None = None,
) -> str:
    """``incident.md``: the guide's Issue Report Format, filled from the run (``suite``: the watch suite)."""
    target = gate_target(gate)
    base_url = (gate.get("target") or {}).get("base_url") or "unknown URL"
    # An incident is detected by its first failing run, not by the one that happens to write this.
    detected = parse_time(str(gate.get("finished_at") or gate["started_at"]))
    if decision.since_ts is not None:
        detected = min(detected, datetime.fromtimestamp(decision.since_ts, UTC))
    failed = [c for c in gate.get("checks", []) if c.get("outcome") == "failed"]
    label = run_label(kind, suite)
    version = gate.get("version") or "unknown"
    expected = f" (expected {gate['expected_version']})" if gate.get("expected_version") else ""
    counts = gate.get("counts", {})
    description = (
        f"{label} against {target} ({base_url}) failed: {counts.get('blocking', 0)} blocking "
        f"check(s), {len(failed)} failed. Version {version}{expected}."
    )
    if decision.streak > 1:
        since = datetime.fromtimestamp(decision.since_ts or 0, UTC).isoformat(timespec="seconds")
        description += f" Failing for {decision.streak} consecutive runs since {since}."
    causes = suspected_causes(gate) or ["no failed check carries a failure kind; read the messages below"]
    lines = [
        f"# Incident {incident_id}: {target} gate failed",
        "",
        f"**Incident ID**: {incident_id}",
        f"**Severity**: {severity_label(gate)}",
        f"**Description**: {description}",
        "**Impact**: " + " ".join(impact_lines(gate)),
        f"**Detection Time**: {detected.isoformat(timespec='seconds')}",
        "**Response Time**: pending (time to first response, filled in by the responder)",
        "**Resolution Time**: open",
        "**Root Cause**: Suspected, from the failure kinds (confirm before closing): " + "; ".join(causes),
        "**Prevention**: to be agreed in the post-incident review",
        "",
        "## Failed checks",
        "",
    ]
    lines += [f"- {describe_finding(c)}" for c in findings(gate)] or ["- none (the run could not test the target)"]
    lines += ["", "## Reports", ""]
    # Only files this run wrote: a link to a report that does not exist misleads at 3 a.m.
    lines += [f"- [{name}]({name})" for name in REPORT_FILES if (reports_dir / name.rstrip("/")).exists()]
    lines += [f"- [{title}]({url})" for title, url in links.items()]
    lines += [
        "",
        "## Alerting",
        "",
        f"- Run: `{run_id}` ({kind})",
        f"- Webhook: {webhook}",
        "",
    ]
    return redact("\n".join(lines))


# -- webhook payloads --------------------------------------------------------------------------


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _limit(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def slack_payload(
    gate: Mapping[str, Any],
    decision: Decision,
    *,
    links: Mapping[str, str],
    redact: Redact,
    settings: AlertSettings,
    now_ts: float,
    seen_from: str | None = None,
) -> dict[str, Any]:
    """A Slack-compatible message (``text`` for notifications, ``blocks`` for the layout).

    ``seen_from`` says which watcher stream saw it (``health suite, from eu-west-1``): two watchers in
    different places each page for their own stream, and the reader must tell them apart.
    """
    target = gate_target(gate)
    incident = decision.incident_id or "no incident id"
    base_url = (gate.get("target") or {}).get("base_url") or ""
    if decision.kind == "recovery":
        text = f"RECOVERED: {target} passes again ({incident})"
        version = gate.get("version") or "unknown"
        body = f"The gate for *{_slack_escape(target)}* passes again. Version {_slack_escape(str(version))}."
        fields: list[tuple[str, str]] = [("Incident ID", incident), ("Target", f"{target} {base_url}")]
    else:
        severity = severity_label(gate)
        prefix = "REMINDER" if decision.kind == "reminder" else "ALERT"
        text = f"{prefix}: {target} gate failed, severity {severity} ({incident})"
        failed = findings(gate)
        shown = [f"• {_slack_escape(describe_finding(c))}" for c in failed[: settings.max_listed]]
        if len(failed) > settings.max_listed:
            shown.append(f"… and {len(failed) - settings.max_listed} more in incident.md")
        body = "*Failed checks*\n" + ("\n".join(shown) or "none: the run could not test the target")
        since = datetime.fromtimestamp(decision.since_ts or now_ts, UTC).isoformat(timespec="seconds")
        fields = [
            ("Incident ID", incident),
            ("Severity", severity),
            ("Target", f"{target} {base_url}"),
            ("Version", str(gate.get("version") or "unknown")),
            ("Failing since", f"{since} ({decision.streak or 1} run(s))"),
            ("Suspected cause", "; ".join(suspected_causes(gate)) or "unclassified"),
        ]
    if seen_from:
        fields.append(("Seen from", seen_from))
    context = " | ".join(f"<{url}|{_slack_escape(label)}>" for label, url in links.items())
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _limit(text, 150)}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _limit(f"*{name}*\n{_slack_escape(value)}", 2000)} for name, value in fields
            ],
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": _limit(body, 3000)}},
    ]
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": _limit(context or "Reports: see the run's reports/", 3000)}],
        }
    )
    payload = {"text": text, "blocks": blocks}
    return _redacted(payload, redact)


def notice_payload(gate: Mapping[str, Any], *, links: Mapping[str, str], redact: Redact) -> dict[str, Any]:
    """A run that could not judge the target: a notice, clearly not an outage alert."""
    target = gate_target(gate)
    reason = first_line(str(gate.get("reason") or "the run could not judge the target"))
    text = f"NOTICE (not an outage): smokegate could not judge {target}: {reason}"
    context = " | ".join(f"<{url}|{_slack_escape(label)}>" for label, url in links.items())
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _limit(_slack_escape(text), 3000)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _limit(
            context or "Fix the configuration or the runner; no incident was opened and availability is unaffected.",
            3000)}]},
    ]
    return _redacted({"text": _limit(text, 300), "blocks": blocks}, redact)


def metrics_payload(
    gate: Mapping[str, Any], *, run_id: str, scheduled: bool, incident_id: str | None, redact: Redact
) -> dict[str, Any]:
    """Every run's figures for the monitoring webhook: counts plus each check's measurement."""
    counts = {k: v for k, v in (gate.get("counts") or {}).items() if k != "by_severity"}
    payload = {
        "type": "smokegate.run",
        "run_id": run_id,
        "target": gate_target(gate),
        "base_url": (gate.get("target") or {}).get("base_url"),
        "version": gate.get("version"),
        "verdict": gate.get("verdict"),
        "scheduled": scheduled,
        "incident_id": incident_id,
        "started_at": gate.get("started_at"),
        "finished_at": gate.get("finished_at"),
        "duration_s": gate.get("duration_s"),
        "requests_sent": gate.get("requests_sent"),
        "counts": counts,
        "checks": [
            {
                key: check.get(key)
                for key in (
                    "check",
                    "outcome",
                    "severity",
                    "measured",
                    "budget",
                    "unit",
                    "failure_kind",
                    "attempts",
                    "duration_s",
                )
            }
            for check in gate.get("checks", [])
        ],
    }
    return _redacted(payload, redact)


def _redacted(payload: dict[str, Any], redact: Redact) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(redact(json.dumps(payload)))
    return result


# -- delivery ----------------------------------------------------------------------------------


@dataclass
class Post:
    """One webhook message to deliver; ``env`` names the variable holding the (secret) URL."""

    channel: Literal["alert", "monitoring"]
    kind: str
    env: str
    url: str = field(repr=False)
    payload: dict[str, Any] = field(repr=False)


@dataclass
class Delivery:
    channel: str
    kind: str
    env: str
    status: Literal["sent", "failed"]
    detail: str
    elapsed_s: float


def deliver(posts: Sequence[Post], *, timeout_s: float = MAX_TIMEOUT_S) -> list[Delivery]:
    """POST every message in parallel; return within ``timeout_s`` whatever the receivers do.

    httpx timeouts are per phase (connect, each read), so a receiver that trickles bytes could
    outlast them; the join deadline is what bounds the total.  Threads are daemons so one still
    stuck in a socket can never keep the process alive.
    """
    timeout_s = min(timeout_s, MAX_TIMEOUT_S)
    results: list[Delivery | None] = [None] * len(posts)
    started = time.monotonic()

    def send(index: int, post: Post) -> None:
        began = time.monotonic()
        status: Literal["sent", "failed"] = "failed"
        try:
            with httpx.Client(timeout=httpx.Timeout(timeout_s, connect=min(2.0, timeout_s))) as client:
                response = client.post(post.url, json=post.payload)
            if 200 <= response.status_code < 300:
                status, detail = "sent", f"HTTP {response.status_code}"
            else:
                detail = f"HTTP {response.status_code}"
        except httpx.TimeoutException as exc:
            detail = f"timed out ({type(exc).__name__})"
        except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
            # Exception text can echo the request URL, which is a secret: keep only the type
            # and the OS-level reason.
            detail = type(exc).__name__ + _os_reason(exc)
        except Exception as exc:  # a webhook must never break the run, whatever it raises
            # By name: a module loaded twice (pytester restores sys.modules) raises classes of its own.
            detail = type(exc).__name__ + _os_reason(exc)
        results[index] = Delivery(post.channel, post.kind, post.env, status, detail, time.monotonic() - began)

    threads = [
        threading.Thread(target=send, args=(i, p), daemon=True, name=f"webhook-{p.channel}")
        for i, p in enumerate(posts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, timeout_s - (time.monotonic() - started)))
    elapsed = time.monotonic() - started
    return [
        result or Delivery(post.channel, post.kind, post.env, "failed", f"no answer within {timeout_s:g} s", elapsed)
        for post, result in zip(posts, results, strict=True)
    ]


def _os_reason(exc: BaseException) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.strerror:
            return f" ({cause.strerror})"
        cause = cause.__cause__ or cause.__context__
    return ""
