"""``smokegate watch`` against the real testbed: cadence, alerts, metrics, overruns, SIGTERM, shared history.

Every watcher here is the real command (``python -m smokegate watch``) in its own process, running
the real suite through pytest; the tests read what it wrote (history, stdout, metrics over HTTP)
and switch the testbed's faults while it runs.  Intervals are seconds, not the guide's 30 s (the
benchmark, ``bench/bench_watch.py``, runs the real cadence for ten minutes).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from smokegate.cli import main as cli_main
from smokegate.config import load_config
from smokegate.ops.history import History
from smokegate.ops.watch import Watcher, WatchOptions
from smokegate.testbed.control import RunningTestbed

from ..conftest import OFFLINE_PROVIDERS

ROOT = Path(__file__).resolve().parents[2]
RUN_LINE = re.compile(r"^smokegate-watch: (?P<target>\S+) (?P<suite>\S+): (?P<verdict>pass|fail|error) in "
                      r"(?P<duration>[\d.]+) s \(planned (?P<planned>[\d:.]+)Z, lag (?P<lag>[\d.]+) s;"
                      r".* run (?P<run_id>\S+)\)$")
SKIPPED = re.compile(r"^smokegate-watch: \S+ \S+: (\d+) planned run\(s\) skipped")


def write_config(tmp_path: Path, testbed: RunningTestbed, *, every_s: float = 1.0, timeout_s: float = 60.0,
                 alerts: str = "") -> Path:
    """A config with the testbed as target ``local``: the health suite only, on a short interval."""
    path = tmp_path / "smokegate.toml"
    disabled = "".join(f"[defaults.watch.{suite}]\nenabled = false\n" for suite in ("smoke", "security", "synthetic",
                                                                                           "providers"))
    path.write_text(
        f"[defaults.watch.health]\nevery_s = {every_s}\ntimeout_s = {timeout_s}\n{disabled}\n"
        f'[targets.local]\nbase_url = "{testbed.url}"\nca_bundle = "{testbed.ca_file}"\n'
        f"[targets.local.alerts]\n{alerts}\n"
    )
    return path


class Watch:
    """A ``smokegate watch`` process; its stdout goes to a file the test reads as it grows."""

    def __init__(self, tmp_path: Path, config: Path, *, name: str = "watch", location: str = "lab",
                 history: str | None = None, extra: tuple[str, ...] = (), env: dict[str, str] | None = None) -> None:
        self.log = tmp_path / f"{name}.out"
        self.history = history or str(tmp_path / "history.sqlite")
        environment = {k: v for k, v in os.environ.items()
                       if not k.startswith(("SMOKEGATE_", "PYTEST_", "ALERT_", "MONITORING_"))}
        # As deployed: pytest caches the modules it rewrites (this sandbox's PYTHONDONTWRITEBYTECODE
        # would have every run re-compile every plugin module).
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
        environment.update(OFFLINE_PROVIDERS)  # a failing run's incident reads no real status page
        environment.update(env or {})
        environment["SMOKEGATE_HISTORY"] = self.history  # the environment, where a URL belongs
        command = [sys.executable, "-m", "smokegate", "watch", "--target", "local", "--config", str(config),
                   "--location", location, "--reports-dir", str(tmp_path / f"{name}-reports"),
                   "--project-dir", str(ROOT), *extra]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                            env=environment)

    def lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()

    def runs(self) -> list[re.Match[str]]:
        return [m for line in self.lines() if (m := RUN_LINE.match(line))]

    def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.process.poll() is not None:
                raise AssertionError(f"watcher exited ({self.process.returncode}) waiting for {what}:\n"
                                     + "\n".join(self.lines()[-30:]))
            if time.monotonic() > deadline:
                raise AssertionError(f"no {what} after {timeout:g} s:\n" + "\n".join(self.lines()[-30:]))
            time.sleep(0.1)

    def wait_runs(self, count: int, timeout: float = 60.0) -> None:
        self.wait_for(lambda: len(self.runs()) >= count, f"{count} recorded runs", timeout)

    def stop(self, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("watcher did not stop after SIGTERM:\n" + "\n".join(self.lines()[-30:])) from None

    def metrics_url(self) -> str:
        self.wait_for(lambda: any("metrics on http://" in line for line in self.lines()), "metrics address")
        line = next(line for line in self.lines() if "metrics on http://" in line)
        return line.split("metrics on ", 1)[1].strip()


@pytest.fixture
def watches() -> Iterator[list[Watch]]:
    """Watchers a test started; any still running at the end are stopped."""
    started: list[Watch] = []
    yield started
    for watch in started:
        if watch.process.poll() is None:
            watch.process.kill()
            watch.process.wait()


def _stored_runs(history: str, location: str | None = None) -> list[tuple[Any, ...]]:
    with History.open(history) as store:
        sql = "SELECT run_id, started_at, finished_at, verdict, location, suite FROM runs"
        params: list[Any] = []
        if location is not None:
            sql += " WHERE location = ?"
            params.append(location)
        return store.query(sql + " ORDER BY started_at, run_id", params)


def _scrape(url: str) -> dict[str, list[Any]]:
    text = httpx.get(url, timeout=10, trust_env=False).text
    families: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        families.setdefault(family.name, []).extend(family.samples)
    return families


def _value(families: dict[str, list[Any]], sample_name: str, **labels: str) -> float:
    family = re.sub(r"_(total|bucket|count|sum)$", "", sample_name)
    matches = [s.value for s in families.get(family, []) if s.name == sample_name
               and all(s.labels.get(k) == v for k, v in labels.items())]
    assert len(matches) == 1, f"{sample_name} {labels}: {matches}"
    return float(matches[0])


# -- cadence, history, metrics -----------------------------------------------------------------------


def test_a_health_run_every_interval_recorded_and_served_as_metrics(
    tmp_path: Path, healthy_testbed: RunningTestbed, watches: list[Watch]
) -> None:
    config = write_config(tmp_path, healthy_testbed, every_s=2)
    watch = Watch(tmp_path, config, extra=("--metrics-port", "0", "--metrics-address", "127.0.0.1"))
    watches.append(watch)
    watch.wait_runs(4)
    families = _scrape(watch.metrics_url())
    assert watch.stop() == 0

    runs = watch.runs()
    stored = _stored_runs(watch.history)
    # Every run the watcher reported is in the history, with the watcher's location and suite.
    assert [row[0] for row in stored] == [m["run_id"] for m in runs]
    assert {(row[3], row[4], row[5]) for row in stored} == {("pass", "lab", "health")}
    # Each run started on its planned slot (a 2 s grid); a slot not run (the machine was too slow
    # to finish the previous run in time) was reported skipped, never silently lost or stacked.
    assert all(float(m["lag"]) < 1.5 for m in runs), [m["lag"] for m in runs]
    planned = [datetime.strptime(m["planned"], "%H:%M:%S.%f") for m in runs]
    slots = [round((later - earlier).total_seconds() / 2, 3) for earlier, later in itertools.pairwise(planned)]
    assert all(gap == int(gap) >= 1 for gap in slots), slots
    lines = watch.lines()
    last = max(index for index, line in enumerate(lines) if RUN_LINE.match(line))
    # A run's skips are reported after it: those before the last run are the gaps' missing slots.
    skipped = sum(int(m.group(1)) for line in lines[:last] if (m := SKIPPED.match(line)))
    assert skipped == sum(int(gap) - 1 for gap in slots), (skipped, slots, lines)
    # The history keeps whole seconds: consecutive runs never overlap.
    for earlier, later in itertools.pairwise(stored):
        assert later[1] >= earlier[2], (earlier, later)

    # The metrics, as Prometheus would parse them.
    check = "smoke/test_health.py::test_health_latency_within_budget"
    scraped_runs = _value(families, "smokegate_runs_total", target="local", suite="health", location="lab",
                          verdict="pass")
    assert 4 <= scraped_runs <= len(runs)
    assert _value(families, "smokegate_target_up", target="local", location="lab") == 1.0
    assert _value(families, "smokegate_availability_ratio", target="local", location="lab") == 1.0
    assert _value(families, "smokegate_availability_samples", target="local", location="lab") >= 4
    assert _value(families, "smokegate_check_outcome", target="local", location="lab", check=check,
                  smokegate_check_outcome="passed") == 1.0
    assert _value(families, "smokegate_check_budget_seconds", target="local", location="lab", check=check) == 0.5
    measured = _value(families, "smokegate_check_measured_seconds", target="local", location="lab", check=check)
    assert 0 < measured < 0.5
    assert _value(families, "smokegate_check_runs_total", target="local", location="lab", check=check) >= 4
    assert _value(families, "smokegate_run_duration_seconds_count", target="local", suite="health",
                  location="lab") >= 4
    assert _value(families, "smokegate_watch_schedule_lag_seconds_count", target="local", suite="health") >= 4
    assert families["process_cpu_seconds"], "the watcher's own process metrics"


def test_alerts_once_after_n_failures_and_once_on_recovery(
    tmp_path: Path, healthy_testbed: RunningTestbed, httpserver: HTTPServer, watches: list[Watch]
) -> None:
    httpserver.expect_request("/alert", method="POST").respond_with_data("ok")
    config = write_config(tmp_path, healthy_testbed, every_s=1,
                          alerts="consecutive_failures = 2\nremind_every_minutes = 0\n")
    watch = Watch(tmp_path, config, env={"ALERT_WEBHOOK_URL": httpserver.url_for("/alert")})
    watches.append(watch)
    messages = lambda: [json.loads(request.data)["text"] for request, _ in httpserver.log]  # noqa: E731
    verdicts = lambda: [m["verdict"] for m in watch.runs()]  # noqa: E731

    watch.wait_runs(2)
    healthy_testbed.set_faults(["health-db-down"])
    watch.wait_for(lambda: len(messages()) == 1, "alert")
    # Keep failing for a few more runs: no second message (reminders are off).
    failing = verdicts().count("fail")
    watch.wait_for(lambda: verdicts().count("fail") >= failing + 2, "more failing runs")
    assert len(messages()) == 1
    healthy_testbed.set_faults([])
    watch.wait_for(lambda: len(messages()) == 2, "recovery")
    watch.wait_runs(len(watch.runs()) + 1)
    assert watch.stop() == 0

    alert, recovery = messages()
    assert alert.startswith("ALERT: local gate failed, severity Critical (INC-")
    assert recovery.startswith("RECOVERED: local passes again (INC-")
    incident = alert.rsplit("(", 1)[1].rstrip(")")
    assert incident in recovery
    with History.open(watch.history) as store:
        sent = store.query("SELECT run_id, kind, status, location, suite FROM notifications"
                           " WHERE channel = 'alert' ORDER BY ts, id")
        assert [row[1:] for row in sent] == [("alert", "sent", "lab", "health"), ("recovery", "sent", "lab", "health")]
        runs = store.query("SELECT run_id, verdict, incident_id FROM runs ORDER BY ts, run_id")
    assert {incident_id for _run, verdict, incident_id in runs if verdict == "fail"} == {incident}, runs
    # Paged on the second failing run in a row, not on the first: a health probe never pages on one
    # blip; the recovery came with the first passing run after them.
    ids = [run_id for run_id, _verdict, _incident in runs]
    verdict_of = [verdict for _run, verdict, _incident in runs]
    alerted, recovered = ids.index(sent[0][0]), ids.index(sent[1][0])
    assert verdict_of[alerted - 2 : alerted + 1] == ["pass", "fail", "fail"]
    assert verdict_of[alerted:recovered] == ["fail"] * (recovered - alerted)
    assert verdict_of[recovered] == "pass"
    assert "smokegate-watch: local health: alert sent (HTTP 200)" in watch.lines()


# -- overruns, timeouts, SIGTERM ------------------------------------------------------------------------


def test_a_run_that_overruns_its_interval_is_reported_not_stacked(
    tmp_path: Path, healthy_testbed: RunningTestbed, watches: list[Watch]
) -> None:
    healthy_testbed.set_faults(["health-slow"])  # each health request takes 800 ms: a run takes ~5 s
    config = write_config(tmp_path, healthy_testbed, every_s=1)
    watch = Watch(tmp_path, config)
    watches.append(watch)
    watch.wait_runs(2, timeout=90)
    assert watch.stop() == 0

    lines = watch.lines()
    assert any(re.search(r"local health: run \S+ overran its 1 s interval by [\d.]+ s; not stacking runs", line)
               for line in lines), lines
    assert any(re.search(r"local health: \d+ planned run\(s\) skipped \(the previous run overran\)", line)
               for line in lines), lines
    stored = _stored_runs(watch.history)
    assert len(stored) == len(watch.runs())
    # One run at a time: each starts no earlier than the previous one finished.
    for earlier, later in itertools.pairwise(stored):
        assert later[1] >= earlier[2], (earlier, later)


def test_a_run_past_its_timeout_is_stopped_and_not_recorded(
    tmp_path: Path, healthy_testbed: RunningTestbed, watches: list[Watch]
) -> None:
    healthy_testbed.set_faults(["health-slow"])
    config = write_config(tmp_path, healthy_testbed, every_s=30, timeout_s=2)
    watch = Watch(tmp_path, config)
    watches.append(watch)
    watch.wait_for(lambda: any("incomplete" in line for line in watch.lines()), "a stopped run", timeout=60)
    assert watch.stop() == 0
    (line,) = [line for line in watch.lines() if "incomplete" in line]
    assert "still going after its 2 s timeout; stopped" in line
    assert _stored_runs(watch.history) == []


def test_sigterm_mid_run_finishes_it_and_a_restart_resumes_the_schedule(
    tmp_path: Path, healthy_testbed: RunningTestbed, watches: list[Watch]
) -> None:
    healthy_testbed.set_faults(["health-slow"])  # a run takes ~5 s: long enough to signal in the middle
    config = write_config(tmp_path, healthy_testbed, every_s=60)
    watch = Watch(tmp_path, config)
    watches.append(watch)
    log = tmp_path / "watch-reports" / "local" / "health" / "pytest.log"
    # In flight and under way: the run's pytest has written to its log (so the watcher, which
    # registers a run as soon as it is started, counts it), and the run is not recorded yet.
    watch.wait_for(lambda: log.exists() and log.stat().st_size > 0, "a run in flight")
    assert watch.runs() == []
    assert watch.stop() == 0

    lines = watch.lines()
    assert any("SIGTERM: no new runs; waiting for 1 run(s) in flight to finish" in line for line in lines), lines
    (run,) = watch.runs()
    assert run["verdict"] == "fail"  # health latency over budget: judged and recorded like any run
    assert lines[-1] == "smokegate-watch: stopped"
    with History.open(watch.history) as store:
        assert store.query("SELECT run_id, verdict FROM runs") == [(run["run_id"], "fail")]
        # Every check of the health suite was recorded: the run finished, it was not cut short.
        recorded = store.query("SELECT passed + failed + skipped FROM runs WHERE run_id = ?", (run["run_id"],))
        assert store.query("SELECT COUNT(*) FROM checks WHERE run_id = ?", (run["run_id"],)) == recorded
        assert recorded[0][0] >= 5

    # Restarted, the watcher continues the schedule from the history instead of running at once: its
    # plan, read from the history, puts the next run a whole interval after the recorded one ...
    healthy_testbed.set_faults([])
    (recorded_start,) = [datetime.fromisoformat(row[1]).timestamp() for row in _stored_runs(watch.history)]
    now = time.time()
    planner = Watcher(WatchOptions(targets={"local": load_config(config).suite.targets["local"]}, config=config,
                                   project_dir=ROOT, reports_dir=tmp_path / "plan", history=Path(watch.history),
                                   location="lab", suites=("health",)), say=lambda _line: None)
    (slot,) = planner._plan(now)["local"]
    assert slot.planned == pytest.approx(recorded_start + 60, abs=1.5) and slot.planned > now + 30, (slot, now)
    # ... and the watcher itself says so, and stops with no run started (no sleep: the plan is the proof).
    again = Watch(tmp_path, config, name="again")
    watches.append(again)
    again.wait_for(lambda: any("resuming" in line for line in again.lines()), "resume")
    assert again.stop() == 0
    (resumed,) = [line for line in again.lines() if "resuming" in line]
    assert re.search(r"local health: resuming, last run started [\d.]+ s ago, next in [\d.]+ s", resumed)
    assert float(resumed.rsplit("next in ", 1)[1].split()[0]) > 30, resumed
    assert any("waiting for 0 run(s) in flight" in line for line in again.lines()), again.lines()
    assert again.runs() == []
    assert not (tmp_path / "again-reports" / "local" / "health" / "pytest.log").exists()
    assert len(_stored_runs(watch.history)) == 1


# -- many watchers, one PostgreSQL history ------------------------------------------------------------


def test_two_watchers_on_one_postgres_history_lose_no_run(
    tmp_path: Path, healthy_testbed: RunningTestbed, postgres_url: str, watches: list[Watch]
) -> None:
    config = write_config(tmp_path, healthy_testbed, every_s=1)
    pair = [Watch(tmp_path, config, name=place, location=place, history=postgres_url) for place in ("eu", "us")]
    watches.extend(pair)
    for watch in pair:
        watch.wait_runs(3, timeout=90)
    assert [watch.stop() for watch in pair] == [0, 0]

    for watch, place in zip(pair, ("eu", "us"), strict=True):
        reported = sorted(m["run_id"] for m in watch.runs())
        assert not any("incomplete" in line or "unavailable" in line for line in watch.lines()), watch.lines()
        assert sorted(row[0] for row in _stored_runs(postgres_url, place)) == reported
    with History.open(postgres_url) as store:
        counts = store.query(
            "SELECT r.run_id, COUNT(c.run_id), r.passed + r.failed + r.skipped FROM runs r"
            " LEFT JOIN checks c ON c.run_id = r.run_id GROUP BY r.run_id, r.passed, r.failed, r.skipped")
        # Every run's checks were all recorded, none lost or doubled by the other writer.
        assert all(stored == judged and stored >= 5 for _run, stored, judged in counts), counts


# -- the command line ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["watch"], "smokegate: watch: no target chosen: pass --target NAME (env SMOKEGATE_TARGET)"),
        (["watch", "--target", "nosuch"],
         "unknown target(s) 'nosuch' (known targets: local, local-next, production, staging)"),
        (["watch", "--target", "local", "--history", "postgresql://w:hunter22@db/h"],
         "--history: postgresql://w@db/h: do not put a password on the command line"),
        (["watch", "--target", "local", "--availability-window", "soon"],
         "--availability-window: wants a period like 24h, 7d, 90m or 2w, not 'soon'"),
        (["watch", "--target", "local", "--project-dir", "/"], "--project-dir /: no tests/smoke"),
    ],
)
def test_usage_errors_are_one_message_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    for name in [n for n in os.environ if n.startswith("SMOKEGATE_")]:
        monkeypatch.delenv(name)
    assert cli_main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert message in line
    assert "hunter22" not in captured.err


LOADERS = """
import sys


def test_plugins_were_imported_through_pytests_rewriting_hook():
    for name in ("smokegate.plugin", "smokegate.plugin.operations", "pytest_playwright.pytest_playwright", "anyio"):
        assert type(sys.modules[name].__loader__).__name__ == "AssertionRewritingHook", name
"""


@pytest.mark.parametrize("runner_name", ["fork", "subprocess"])
def test_a_forked_run_imports_and_rewrites_the_plugins_like_a_fresh_one(tmp_path: Path, runner_name: str) -> None:
    """Same plugins, rewritten the same way, and no 'already imported' warning (an error here)."""
    from smokegate.ops.runner import ForkRunner, RunRequest, make_runner

    (tmp_path / "test_loaders.py").write_text(LOADERS)
    log = tmp_path / "run.log"
    runner = make_runner(runner_name)
    try:
        if isinstance(runner, ForkRunner):
            assert runner.plugins_preloaded
        args = ("-p", "no:cacheprovider", "-W", "error::pytest.PytestAssertRewriteWarning", "-q",
                str(tmp_path / "test_loaders.py"))
        handle = runner.start(RunRequest(args, cwd=str(ROOT), log=str(log)))
        assert handle.wait(120) == 0, log.read_text()
    finally:
        runner.close()
    assert "1 passed" in log.read_text()
