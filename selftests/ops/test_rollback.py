"""``smokegate rollback`` against the testbed's Vercel stand-in, from a recorded history.

The history holds what post-deploy gates recorded: deployments 1 to 4 passed (4 is a preview, never
production), deployment 5 is live and failed; scheduled runs against the production domain passed
since.  The command must choose deployment 3, say so with ``--dry-run`` and change nothing, roll
production back to it without, report Vercel's refusal (fault ``vercel-rollback-refused``), and
leave alone a failure a rollback cannot fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smokegate.cli import main as cli_main
from smokegate.ops.history import History
from smokegate.testbed.control import RunningTestbed
from smokegate.testbed.providers import TOKENS, environment
from smokegate.testbed.providers.vercel_api import known_deployments

from .conftest import check, make_gate

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.now(UTC).replace(microsecond=0)
DEPLOYMENTS = known_deployments()


@pytest.fixture
def vercel(testbed: RunningTestbed, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningTestbed]:
    for name, value in environment(testbed.provider_urls).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SMOKEGATE_HISTORY", raising=False)
    testbed.set_faults([])
    yield testbed
    testbed.set_faults([])


def _record(path: Path) -> Path:
    with History.open(path) as history:
        for n, deployment in enumerate(DEPLOYMENTS[:4], start=1):
            gate = make_gate(target="local", at=NOW - timedelta(days=5 - n), base_url=f"https://{deployment.url}",
                             version=deployment.sha)
            history.record_gate(gate, run_id=f"post-deploy-{n}", scheduled=False)
        live = DEPLOYMENTS[4]
        broken = check("smoke/test_health.py::test_health_answers_200", "failed", failure_kind="contract-broken",
                       feature="health")
        failing = make_gate(target="local", at=NOW - timedelta(minutes=5), base_url=f"https://{live.url}",
                            version=live.sha, checks=[broken])
        history.record_gate(failing, run_id="post-deploy-5", scheduled=False)
        for n in range(3):  # the production domain names whatever is live: never a candidate
            manual = make_gate(target="local", at=NOW - timedelta(minutes=n), base_url="https://localhost:8443")
            history.record_gate(manual, run_id=f"manual-{n}", scheduled=False)
    return path


def _rollback(testbed: RunningTestbed, history: Path, *extra: str) -> int:
    return cli_main(["rollback", "--target", "local", "--config", str(ROOT / "smokegate.toml"), "--history",
                     str(history), "--ca-bundle", testbed.ca_file, "--failing-url", f"https://{DEPLOYMENTS[4].url}",
                     *extra])


def test_dry_run_picks_the_last_deployment_whose_gate_passed(vercel: RunningTestbed, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    history = _record(tmp_path / "history.sqlite")
    assert _rollback(vercel, history, "--dry-run") == 0
    out = capsys.readouterr().out
    chosen, preview = DEPLOYMENTS[2], DEPLOYMENTS[3]
    assert f"would roll production of Vercel project napoleon-ai back to {chosen.id}" in out, out
    assert f"commit {chosen.sha[:12]}" in out and "run post-deploy-3" in out, out
    assert f"passed over https://{preview.url}" in out and "never served production" in out, out
    assert "nothing was changed" in out
    assert not [e for e in vercel.events() if e["kind"] == "vercel-rollback"], "a dry run sent a rollback"


def test_rollback_points_production_at_that_deployment(vercel: RunningTestbed, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    history = _record(tmp_path / "history.sqlite")
    assert _rollback(vercel, history) == 0
    out = capsys.readouterr().out
    rolled = [e for e in vercel.events() if e["kind"] == "vercel-rollback"]
    assert [e["deployment"] for e in rolled] == [DEPLOYMENTS[2].id], rolled
    assert "smokegate: gate failed for https://" in str(rolled[0]["description"])
    assert "Vercel serves it on the production domains now" in out
    assert "does not undo database migrations or environment variable changes" in out
    assert TOKENS["VERCEL_TOKEN"] not in out


def test_a_refused_rollback_says_why_and_exits_1(vercel: RunningTestbed, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    history = _record(tmp_path / "history.sqlite")
    vercel.set_faults(["vercel-rollback-refused"])
    assert _rollback(vercel, history) == 1
    err = capsys.readouterr().err
    assert "Vercel refused to roll production" in err and "409 rollback_not_allowed" in err, err
    assert "retention policy" in err


def test_a_failure_outside_the_deployment_is_not_rolled_back(vercel: RunningTestbed, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    history = _record(tmp_path / "history.sqlite")
    gate_file = tmp_path / "gate.json"
    outage = check("providers/test_status.py::test_provider_reports_no_major_outage[supabase]", "failed",
                   failure_kind="third-party", feature="external-services", epic="providers")
    gate_file.write_text(json.dumps(make_gate(target="local", checks=[outage])))
    assert _rollback(vercel, history, "--gate", str(gate_file)) == 3
    assert "rolling back would not fix it" in capsys.readouterr().out
    assert not [e for e in vercel.events() if e["kind"] == "vercel-rollback"]


def test_without_the_token_nothing_is_asked(vercel: RunningTestbed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("VERCEL_TOKEN")
    assert _rollback(vercel, _record(tmp_path / "history.sqlite")) == 2
    assert "VERCEL_TOKEN is not set" in capsys.readouterr().err


def test_a_history_without_another_passing_deployment_has_nothing_to_roll_back_to(
        vercel: RunningTestbed, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "history.sqlite"
    with History.open(path) as history:
        history.record_gate(make_gate(target="local", base_url=f"https://{DEPLOYMENTS[4].url}"),
                            run_id="only", scheduled=False)
    assert _rollback(vercel, path, "--dry-run") == 1
    assert "nothing to roll back to" in capsys.readouterr().err
