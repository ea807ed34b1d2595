"""Alerts: the payload a loopback receiver gets, and when scheduled runs page, remind and recover."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from smokegate.ops.alerts import AlertSettings, Decision, decide
from smokegate.ops.config import parse_alert_settings
from smokegate.ops.finish import FinishOutcome, finish_run
from smokegate.ops.history import Notice, RunRow

CheckFactory = Callable[..., dict[str, Any]]
GateFactory = Callable[..., dict[str, Any]]
WEEK_END = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)


def _failing(check_factory: CheckFactory) -> list[dict[str, Any]]:
    return [
        check_factory("health", measured=130.0, budget=500.0, unit="ms"),
        check_factory(
            "api-status",
            "failed",
            severity="critical",
            feature="api",
            failure_kind="contract-broken",
            message="GET /api/status returned 500, expected 200",
        ),
        check_factory(
            "checkout-session",
            "failed",
            severity="high",
            epic="synthetic",
            feature="payments",
            failure_kind="third-party",
            details={"dependency": "payments"},
            message="Stripe answered 503",
        ),
        check_factory(
            "page-home",
            "failed",
            severity="medium",
            measured=2600.0,
            budget=2000.0,
            unit="ms",
            failure_kind="budget-exceeded",
        ),
    ]


@pytest.fixture
def receiver(httpserver: HTTPServer) -> HTTPServer:
    httpserver.expect_request("/alert", method="POST").respond_with_data("ok")
    httpserver.expect_request("/metrics", method="POST").respond_with_data("ok")
    return httpserver


def _posts(server: HTTPServer, path: str) -> list[dict[str, Any]]:
    return [json.loads(request.get_data()) for request, _ in server.log if request.path == path]


def _run(
    tmp_path: Path,
    gate: dict[str, Any],
    env: dict[str, str],
    *,
    scheduled: bool,
    alerts: dict[str, Any] | None = None,
    lines: list[str] | None = None,
    secret_env: tuple[str, ...] = (),
) -> FinishOutcome:
    reports = tmp_path / "reports" / gate["finished_at"].replace(":", "")
    reports.mkdir(parents=True, exist_ok=True)
    for name in ("summary.md", "report.html", "gate.json"):  # what the plugin writes before finish_run
        (reports / name).write_text("{}")
    return finish_run(
        gate,
        reports_dir=reports,
        history_path=tmp_path / "history.sqlite",
        scheduled=scheduled,
        alerts=alerts,
        secret_env=secret_env,
        say=(lines.append if lines is not None else lambda _line: None),
        environ=env,
    )


def test_scheduled_runs_alert_after_two_failures_remind_hourly_and_recover_once(
    tmp_path: Path, receiver: HTTPServer, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    env = {
        "ALERT_WEBHOOK_URL": receiver.url_for("/alert"),
        "MONITORING_WEBHOOK_URL": receiver.url_for("/metrics"),
    }
    # Every 15 minutes: pass, then fail x7 (alert on the 2nd, reminder 60 min after), then pass x2.
    plan = ["pass"] + ["fail"] * 7 + ["pass", "pass"]
    expected = [None, None, "alert", None, None, None, "reminder", None, "recovery", None]
    outcomes = []
    for index, state in enumerate(plan):
        at = WEEK_END + timedelta(minutes=15 * index)
        checks = _failing(check_factory) if state == "fail" else None
        outcomes.append(_run(tmp_path, gate_factory(at=at, checks=checks), env, scheduled=True))

    assert [o.decision.kind for o in outcomes] == expected, [o.decision.why for o in outcomes]
    assert outcomes[1].decision.why == "1 of 2 consecutive failing runs: alert held back"
    alerts = _posts(receiver, "/alert")
    assert [a["text"].split(":")[0] for a in alerts] == ["ALERT", "REMINDER", "RECOVERED"]
    # One outage, one incident id: from the first failing run through the recovery message.
    incident = outcomes[1].incident_id
    assert incident is not None
    assert incident.startswith("INC-")
    assert {o.incident_id for o in outcomes[1:8]} == {incident}
    assert all(incident in a["text"] for a in alerts)
    # Later runs of the outage keep the first failing run as the incident's detection time.
    assert outcomes[6].incident_path is not None
    assert "**Detection Time**: 2025-03-10T06:15:00+00:00" in outcomes[6].incident_path.read_text()
    # Metrics go out for every run, passing or not.
    metrics = _posts(receiver, "/metrics")
    assert len(metrics) == len(plan)
    assert [m["verdict"] for m in metrics] == [s for s in plan]
    assert metrics[1]["checks"][3] == {
        "check": "page-home",
        "outcome": "failed",
        "severity": "medium",
        "measured": 2600.0,
        "budget": 2000.0,
        "unit": "ms",
        "failure_kind": "budget-exceeded",
        "attempts": 1,
        "duration_s": 0.1,
    }


def test_alert_payload_is_slack_compatible_and_names_the_incident(
    tmp_path: Path, receiver: HTTPServer, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    env = {
        "ALERT_WEBHOOK_URL": receiver.url_for("/alert"),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "napoleon/app",
        "GITHUB_RUN_ID": "4242",
    }
    outcome = _run(tmp_path, gate_factory(checks=_failing(check_factory)), env, scheduled=False)

    assert outcome.decision.kind == "alert"
    (payload,) = _posts(receiver, "/alert")
    assert payload["text"] == f"ALERT: production gate failed, severity Critical ({outcome.incident_id})"
    assert [b["type"] for b in payload["blocks"]] == ["header", "section", "section", "context"]
    fields = {f["text"].split("\n")[0]: f["text"].split("\n", 1)[1] for f in payload["blocks"][1]["fields"]}
    assert fields["*Incident ID*"] == outcome.incident_id
    assert fields["*Severity*"] == "Critical"
    assert fields["*Target*"] == "production https://napoleonai.app"
    assert "contract-broken (1 check)" in fields["*Suspected cause*"]
    assert "Stripe (payments)" in fields["*Suspected cause*"]
    failed_text = payload["blocks"][2]["text"]["text"]
    for name in ("api-status", "checkout-session", "page-home"):
        assert f"`{name}`" in failed_text
    assert "measured 2600 ms vs budget 2000 ms" in failed_text
    assert payload["blocks"][3]["elements"][0]["text"] == (
        "<https://github.com/napoleon/app/actions/runs/4242|CI run and report artifact>"
    )
    assert len(payload["blocks"][0]["text"]["text"]) <= 150


def test_a_watchers_alert_says_which_stream_saw_it(
    tmp_path: Path, receiver: HTTPServer, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    """Two watchers in different places page for their own streams: the reader must tell them apart."""
    reports = tmp_path / "reports"
    reports.mkdir()
    outcome = finish_run(
        gate_factory(checks=_failing(check_factory)), reports_dir=reports, history_path=tmp_path / "h.sqlite",
        scheduled=False, alerts=None, secret_env=(), say=lambda _line: None,
        environ={"ALERT_WEBHOOK_URL": receiver.url_for("/alert")}, location="eu-west-1", suite="health",
    )
    assert outcome.decision.kind == "alert"
    (payload,) = _posts(receiver, "/alert")
    fields = {f["text"].split("\n")[0]: f["text"].split("\n", 1)[1] for f in payload["blocks"][1]["fields"]}
    assert fields["*Seen from*"] == "health suite, from eu-west-1"


def test_incident_md_follows_the_guide_template(
    tmp_path: Path, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    checks = _failing(check_factory)
    checks[1]["message"] = "response leaked sk_live_abcdef123456 in body\nTraceback (most recent call last):\n  ..."
    env = {"STRIPE_SECRET_KEY": "sk_live_abcdef123456"}
    outcome = _run(tmp_path, gate_factory(checks=checks), env, scheduled=False, secret_env=("STRIPE_SECRET_KEY",))

    assert outcome.incident_path is not None
    text = outcome.incident_path.read_text()
    fields = dict(line[2:].split("**: ", 1) for line in text.splitlines() if line.startswith("**"))
    assert list(fields) == [
        "Incident ID",
        "Severity",
        "Description",
        "Impact",
        "Detection Time",
        "Response Time",
        "Resolution Time",
        "Root Cause",
        "Prevention",
    ]
    assert fields["Incident ID"] == outcome.incident_id
    assert fields["Severity"] == "Critical"
    assert fields["Detection Time"] == "2025-03-10T06:00:00+00:00"
    assert fields["Impact"].startswith("3 of 4 checks failed (2 blocking); affected: api, payments, smoke.")
    assert fields["Root Cause"].startswith("Suspected, from the failure kinds")
    assert "third-party (1 check): a third-party dependency is degraded: Stripe (payments)" in fields["Root Cause"]
    for link in ("[summary.md](summary.md)", "[report.html](report.html)", "[gate.json](gate.json)"):
        assert link in text
    # The secret the check message carried is gone from the incident.
    assert "sk_live_abcdef123456" not in text
    assert "response leaked [redacted STRIPE_SECRET_KEY, 20 chars] in body\n" in text
    assert "Traceback" not in text  # only a message's first line goes into the incident


def test_unreachable_run_is_a_critical_incident_even_without_failed_checks(
    tmp_path: Path, gate_factory: GateFactory
) -> None:
    gate = gate_factory(checks=[], reason="target unreachable: ConnectError (Connection refused)")
    outcome = _run(tmp_path, gate, {}, scheduled=False)
    assert outcome.incident_path is not None
    text = outcome.incident_path.read_text()
    assert "**Severity**: Critical" in text
    assert "the run could not test the target: target unreachable" in text


def test_post_deploy_failure_alerts_on_the_first_failing_run(
    tmp_path: Path, receiver: HTTPServer, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    env = {"ALERT_WEBHOOK_URL": receiver.url_for("/alert")}
    outcome = _run(tmp_path, gate_factory(checks=_failing(check_factory)), env, scheduled=False)
    assert outcome.decision == Decision(
        "alert",
        "a post-deploy gate alerts on its first failure",
        outcome.incident_id,
        1,
        outcome.decision.since_ts,
    )
    assert len(_posts(receiver, "/alert")) == 1


def test_threshold_and_reminders_come_from_the_target_alerts_config(
    tmp_path: Path, receiver: HTTPServer, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    env = {"ALERT_WEBHOOK_URL": receiver.url_for("/alert")}
    alerts = {"consecutive_failures": 3, "remind_every_minutes": 0}
    kinds = []
    for index in range(8):
        gate = gate_factory(at=WEEK_END + timedelta(hours=index), checks=_failing(check_factory))
        kinds.append(_run(tmp_path, gate, env, scheduled=True, alerts=alerts).decision.kind)
    assert kinds == [None, None, "alert", None, None, None, None, None]


def test_a_failed_delivery_is_retried_on_the_next_run(
    tmp_path: Path, httpserver: HTTPServer, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    # The receiver is broken for the first alert, then healthy: the next run alerts again.
    httpserver.expect_ordered_request("/alert", method="POST").respond_with_data("boom", status=502)
    httpserver.expect_ordered_request("/alert", method="POST").respond_with_data("ok")
    env = {"ALERT_WEBHOOK_URL": httpserver.url_for("/alert")}
    results = []
    for index in range(3):
        gate = gate_factory(at=WEEK_END + timedelta(minutes=15 * index), checks=_failing(check_factory))
        results.append(_run(tmp_path, gate, env, scheduled=True))
    assert [r.decision.kind for r in results] == [None, "alert", "alert"]
    assert [d.status for d in results[1].deliveries] == ["failed"]
    assert results[1].deliveries[0].detail == "HTTP 502"
    assert [d.status for d in results[2].deliveries] == ["sent"]
    httpserver.check_assertions()


def test_invalid_alert_settings_fall_back_to_defaults_and_say_so(tmp_path: Path, gate_factory: GateFactory) -> None:
    with pytest.raises(ValueError, match=r"alerts\.consecutive_failures"):
        parse_alert_settings({"consecutive_failures": 0})
    with pytest.raises(ValueError, match=r"alerts\.page_me"):
        parse_alert_settings({"page_me": True})
    lines: list[str] = []
    _run(tmp_path, gate_factory(), {}, scheduled=True, alerts={"consecutive_failures": "two"}, lines=lines)
    assert any(line.startswith("invalid alert settings, using defaults: alerts.consecutive_failures") for line in lines)


def test_decide_without_alert_history_is_quiet_when_passing() -> None:
    settings = AlertSettings.model_validate({})
    passing = decide(
        verdict="pass", scheduled=True, now_ts=0.0, incident_id=None, streak=[], notices=[], settings=settings
    )
    assert passing == Decision(None, "passing", None)
    # A recovery only follows an alert that was actually delivered.
    failed_alert = Notice("r1", "production", 0.0, "alert", "alert", "failed", "INC-1", "HTTP 500")
    assert (
        decide(
            verdict="pass",
            scheduled=True,
            now_ts=1.0,
            incident_id=None,
            streak=[],
            notices=[failed_alert],
            settings=settings,
        ).kind
        is None
    )
    sent = Notice("r1", "production", 0.0, "alert", "alert", "sent", "INC-1", "HTTP 200")
    recovery = decide(
        verdict="pass",
        scheduled=True,
        now_ts=1.0,
        incident_id=None,
        streak=[],
        notices=[sent],
        settings=settings,
    )
    assert recovery == Decision("recovery", "passing again after an alert", "INC-1")
    streak = [RunRow(f"r{i}", "production", float(i), "fail", True, "INC-1", "high", None, None) for i in (3, 2)]
    still = decide(
        verdict="fail",
        scheduled=True,
        now_ts=3.0 + 59 * 60,
        incident_id="INC-1",
        streak=streak,
        notices=[sent],
        settings=settings,
    )
    assert still.kind is None
    assert "next reminder in" in still.why


def test_webhook_urls_never_reach_reports_history_or_terminal(
    tmp_path: Path, receiver: HTTPServer, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    env = {
        "ALERT_WEBHOOK_URL": receiver.url_for("/alert"),
        "MONITORING_WEBHOOK_URL": receiver.url_for("/metrics"),
    }
    lines: list[str] = []
    outcome = _run(tmp_path, gate_factory(checks=_failing(check_factory)), env, scheduled=False, lines=lines)
    assert any("alert webhook (ALERT_WEBHOOK_URL): alert sent" in line for line in lines), lines
    assert outcome.incident_path is not None
    written = [
        outcome.incident_path.read_text(),
        (outcome.incident_path.parent / "alerts.json").read_text(),
        "\n".join(lines),
    ]
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        written.append("\n".join(db.iterdump()))
    host_port = receiver.url_for("/")[len("http://") :].rstrip("/")
    for text in written:
        assert host_port not in text


# -- webhooks that are down or hang ------------------------------------------------------------


def test_webhook_down_leaves_the_verdict_and_finishes_at_once(
    tmp_path: Path, closed_port_url: str, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    gate = gate_factory(checks=_failing(check_factory))
    before = json.dumps(gate, sort_keys=True)
    lines: list[str] = []
    started = time.monotonic()
    outcome = _run(
        tmp_path,
        gate,
        {"ALERT_WEBHOOK_URL": closed_port_url, "MONITORING_WEBHOOK_URL": closed_port_url},
        scheduled=False,
        lines=lines,
    )
    elapsed = time.monotonic() - started

    assert elapsed < 3.0, f"a refused connection took {elapsed:.1f} s"
    assert json.dumps(gate, sort_keys=True) == before  # the gate (and its verdict) is untouched
    assert outcome.verdict == "fail"
    assert [(d.channel, d.status) for d in outcome.deliveries] == [
        ("alert", "failed"),
        ("monitoring", "failed"),
    ]
    assert outcome.deliveries[0].detail.startswith("ConnectError")
    assert any(
        "alert webhook (ALERT_WEBHOOK_URL): alert FAILED, ConnectError" in line
        and "the run's verdict is unaffected" in line
        for line in lines
    ), lines
    recorded = json.loads((outcome.incident_path.parent / "alerts.json").read_text())  # type: ignore[union-attr]
    assert [d["status"] for d in recorded["deliveries"]] == ["failed", "failed"]
    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        rows = db.execute("SELECT channel, kind, status FROM notifications ORDER BY id").fetchall()
    assert rows == [("alert", "alert", "failed"), ("monitoring", "metrics", "failed")]


def test_hanging_webhooks_cost_at_most_the_five_second_budget_together(
    tmp_path: Path, hanging_url: str, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    gate = gate_factory(checks=_failing(check_factory))
    started = time.monotonic()
    outcome = _run(
        tmp_path,
        gate,
        {"ALERT_WEBHOOK_URL": hanging_url, "MONITORING_WEBHOOK_URL": hanging_url},
        scheduled=False,
    )
    elapsed = time.monotonic() - started

    # Both receivers hang; they share one 5 s deadline instead of 5 s each.
    assert 4.0 <= elapsed < 6.5, f"hanging webhooks took {elapsed:.1f} s"
    assert outcome.verdict == "fail"
    assert gate["verdict"] == "fail"
    assert [d.status for d in outcome.deliveries] == ["failed", "failed"]
    assert all("timed out" in d.detail or "no answer" in d.detail for d in outcome.deliveries)


def test_a_shorter_configured_timeout_is_honoured(tmp_path: Path, hanging_url: str, gate_factory: GateFactory) -> None:
    started = time.monotonic()
    outcome = _run(
        tmp_path,
        gate_factory(),
        {"MONITORING_WEBHOOK_URL": hanging_url},
        scheduled=True,
        alerts={"timeout_s": 0.5},
    )
    assert time.monotonic() - started < 2.0
    assert outcome.deliveries[0].status == "failed"
    with pytest.raises(ValueError, match="timeout_s"):
        parse_alert_settings({"timeout_s": 30})


def test_a_manual_run_says_so_and_the_incident_says_what_the_webhook_got(
    tmp_path: Path, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    outcome = _run(tmp_path, gate_factory(checks=_failing(check_factory)), {}, scheduled=False)
    assert outcome.incident_path is not None
    text = outcome.incident_path.read_text()
    assert "**Description**: Manual run against production" in text
    assert f"- Run: `{outcome.run_id}` (manual)" in text
    assert "- Webhook: alert not sent: ALERT_WEBHOOK_URL is not set" in text
    ci = _run(tmp_path, gate_factory(checks=_failing(check_factory), at=WEEK_END + timedelta(minutes=1)),
              {"GITHUB_EVENT_NAME": "deployment_status"}, scheduled=False)
    assert ci.incident_path is not None and "(post-deploy)" in ci.incident_path.read_text()


def test_a_watchers_health_run_is_named_by_its_suite_not_called_synthetic(
    tmp_path: Path, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    """incident.md says which run found it: a watcher's health-suite run, a scheduled workflow's run."""
    texts = []
    for minute, suite in enumerate(("health", None)):
        reports = tmp_path / f"r{minute}"
        outcome = finish_run(gate_factory(checks=_failing(check_factory), at=WEEK_END + timedelta(minutes=minute)),
                             reports_dir=reports, history_path=None, scheduled=True, suite=suite, location="eu",
                             say=lambda _line: None, environ={})
        assert outcome.incident_path is not None
        texts.append(outcome.incident_path.read_text())
    assert "**Description**: Scheduled health-suite run (smokegate watch) against production" in texts[0]
    assert "**Description**: Scheduled monitoring run against production" in texts[1]
    assert not any("synthetic run" in text for text in texts)


def test_incident_links_only_the_reports_that_exist(
    tmp_path: Path, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    outcome = _run(tmp_path, gate_factory(checks=_failing(check_factory)), {}, scheduled=False)
    assert outcome.incident_path is not None
    (outcome.incident_path.parent / "report.html").unlink()
    again = finish_run(gate_factory(checks=_failing(check_factory), at=WEEK_END + timedelta(minutes=1)),
                       reports_dir=outcome.incident_path.parent, history_path=None, say=lambda _l: None, environ={})
    assert again.incident_path is not None
    text = again.incident_path.read_text()
    assert "[summary.md](summary.md)" in text and "report.html" not in text


def test_error_runs_never_page_and_never_count_as_availability(
    tmp_path: Path, receiver: HTTPServer, gate_factory: GateFactory, check_factory: CheckFactory
) -> None:
    """Could-not-judge runs are recorded as error, open no incident, send a notice once per streak."""
    env = {"ALERT_WEBHOOK_URL": receiver.url_for("/alert")}
    plan = ["fail", "error", "error", "fail", "pass"]
    outcomes = []
    for index, state in enumerate(plan):
        at = WEEK_END + timedelta(minutes=15 * index)
        if state == "error":
            gate = gate_factory(at=at, checks=[check_factory("tls", "failed", failure_kind="network")],
                                reason="1 blocking check(s) could not be determined", error_kind="inconclusive")
        else:
            gate = gate_factory(at=at, checks=_failing(check_factory) if state == "fail" else None)
        outcomes.append(_run(tmp_path, gate, env, scheduled=True))
    kinds = [o.decision.kind for o in outcomes]
    # fail (1 of 2: held), error (notice), error (notice already sent), fail (2nd consecutive failure:
    # the errors in between neither count nor break the streak), pass (recovery).
    assert kinds == [None, "notice", None, "alert", "recovery"], [o.decision.why for o in outcomes]
    assert [o.incident_path is not None for o in outcomes] == [True, False, False, True, False]
    assert outcomes[0].incident_id == outcomes[3].incident_id, "an error run does not close an incident"
    texts = [json.loads(request.get_data())["text"] for request, _ in receiver.log if request.path == "/alert"]
    assert texts[0].startswith("NOTICE (not an outage): smokegate could not judge production")
    import sqlite3

    with sqlite3.connect(tmp_path / "history.sqlite") as db:
        verdicts = [row[0] for row in db.execute("SELECT verdict FROM runs ORDER BY ts")]
    assert verdicts == plan


@pytest.mark.parametrize("scheduled", [True, False])
def test_a_usage_error_is_not_a_run_of_the_target(
    tmp_path: Path, receiver: HTTPServer, gate_factory: GateFactory, scheduled: bool
) -> None:
    """Not recorded, and nothing posted: not a notice, not metrics (the bad input may be a webhook URL)."""
    gate = gate_factory(checks=[], reason="--gate-on: 'bogus' is not one of ...", error_kind="usage")
    env = {"ALERT_WEBHOOK_URL": receiver.url_for("/alert"), "MONITORING_WEBHOOK_URL": receiver.url_for("/metrics"),
           "SMOKEGATE_RUN_KIND": "post-deploy"}
    lines: list[str] = []
    outcome = _run(tmp_path, gate, env, scheduled=scheduled, lines=lines)
    assert not outcome.history_ok and outcome.incident_path is None
    assert not (tmp_path / "history.sqlite").exists()
    assert outcome.decision.kind is None and outcome.deliveries == []
    assert receiver.log == []
    assert "run not recorded: it could not judge the target (not an availability sample)" in lines
