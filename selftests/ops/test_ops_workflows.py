"""The GitHub Actions workflows, validated offline: schema, zizmor, and what the issue asks of them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github" / "workflows"
NAMES = ("post-deploy.yml", "synthetic.yml", "ci.yml")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; it comes with the dev extra: pip install -e '.[dev]'")
    return found


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((WORKFLOWS / name).read_text())
    return data


def _on(workflow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 readers turn the bare key `on` into True.
    trigger: dict[str, Any] = workflow["on"] if "on" in workflow else workflow[True]
    return trigger


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("name", NAMES)
def test_matches_the_github_workflow_schema(name: str) -> None:
    done = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOWS / name)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_finds_nothing_at_medium_or_above() -> None:
    done = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            "--min-severity",
            "medium",
            "--format",
            "plain",
            "--color",
            "never",
            *(str(WORKFLOWS / name) for name in NAMES),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


@pytest.mark.parametrize("name", NAMES)
def test_actions_are_pinned_and_permissions_explicit(name: str) -> None:
    workflow = _load(name)
    uses = [step["uses"] for step in _steps(workflow) if "uses" in step]
    assert uses, "a workflow with no actions at all is not what this suite ships"
    assert [u for u in uses if not PINNED.match(u)] == []
    assert workflow["permissions"] == {}, "top-level permissions must default to none"
    for job_name, job in workflow["jobs"].items():
        assert "permissions" in job, f"{name}: job {job_name} must declare its permissions"
        assert "timeout-minutes" in job, f"{name}: job {job_name} must be bounded in time"
    text = (WORKFLOWS / name).read_text()
    for use in uses:
        assert re.search(re.escape(use) + r" # v\d", text), f"{use} lacks a version comment"


VERDICT = 'python -m smokegate.ci reports --run-id "$SMOKEGATE_RUN_ID"'


def test_post_deploy_gates_the_deployment_and_rolls_back_only_when_allowed() -> None:
    workflow = _load("post-deploy.yml")
    trigger = _on(workflow)
    assert set(trigger) == {"deployment_status", "workflow_dispatch"}
    assert trigger["workflow_dispatch"]["inputs"]["url"]["required"] is True
    gate = workflow["jobs"]["gate"]
    assert "github.event.deployment_status.state == 'success'" in gate["if"]
    assert gate["permissions"] == {"contents": "read"}
    run = next(step["run"] for step in gate["steps"] if step.get("id") == "run")
    assert 'tests/smoke tests/security tests/synthetic --target production --base-url "$DEPLOY_URL"' in run
    assert "--expect-version" in run
    assert "github.event.deployment.sha" in gate["env"]["DEPLOY_SHA"]
    steps = gate["steps"]
    assert any(
        s.get("uses", "").startswith("actions/upload-artifact@") and s["with"]["path"] == "reports/" for s in steps
    )
    assert any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in steps)
    assert any("playwright install --with-deps chromium" in s.get("run", "") for s in steps)
    assert steps[-1]["run"] == VERDICT and steps[-1]["if"] == "always()"
    # The run and the verdict share the run's id: a gate.json of another run is never this one's verdict.
    assert gate["env"]["SMOKEGATE_RUN_ID"] == "post-deploy-${{ github.run_id }}-${{ github.run_attempt }}"
    assert "secrets.ALERT_WEBHOOK_URL" in str(next(s for s in steps if s.get("id") == "run")["env"])
    # No URL, no gate: a deployment event without one must not fall back to the config's URL.
    url_check = next(s for s in steps if s.get("name") == "Check the deployment URL")
    assert '[ -z "$DEPLOY_URL" ]' in url_check["run"] and "exit 1" in url_check["run"]
    assert steps.index(url_check) < steps.index(next(s for s in steps if s.get("id") == "run"))

    # Rollback in seconds first (Vercel's instant rollback, from the history and the gate's verdict),
    # then the revert, which alone may write to the repository.
    instant = workflow["jobs"]["instant-rollback"]
    assert instant["needs"] == "gate" and instant["permissions"] == {"contents": "read"}
    assert "vars.AUTO_ROLLBACK == 'true'" in instant["if"] and "needs.gate.outputs.verdict == 'fail'" in instant["if"]
    command = next(s["run"] for s in instant["steps"] if "smokegate rollback" in s.get("run", ""))
    assert "--target production --history reports/history.sqlite" in command
    assert '--failing-url "$DEPLOY_URL"' in command
    assert "--gate reports/gate.json" in command
    assert "secrets.VERCEL_TOKEN" in str(instant["steps"])
    restored = [s["with"]["path"] for s in instant["steps"] if s.get("uses", "").startswith("actions/cache/restore@")]
    assert restored == ["reports/history.sqlite", "reports/gate.json"]
    assert any(s.get("uses", "").startswith("actions/cache/save@") and s["with"]["path"] == "reports/gate.json"
               for s in steps)
    assert "tests/providers" in run and "secrets.VERCEL_TOKEN" in str(gate["steps"])

    rollback = workflow["jobs"]["rollback"]
    assert rollback["needs"] == ["gate", "instant-rollback"]
    assert "vars.AUTO_ROLLBACK == 'true'" in rollback["if"]
    assert "needs.gate.outputs.verdict == 'fail'" in rollback["if"]
    assert rollback["permissions"] == {"contents": "write"}
    assert "git revert" in rollback["steps"][-1]["run"]
    assert "HEAD:main" in rollback["steps"][-1]["run"]
    writers = [n for n, job in workflow["jobs"].items() if "write" in str(job.get("permissions"))]
    assert writers == ["rollback"]


def test_synthetic_runs_on_schedule_per_target_without_piling_up() -> None:
    workflow = _load("synthetic.yml")
    crons = [entry["cron"] for entry in _on(workflow)["schedule"]]
    assert crons == ["*/15 * * * *", "7 * * * *"]
    monitor = workflow["jobs"]["monitor"]
    assert monitor["strategy"]["matrix"]["target"] == "${{ fromJSON(needs.plan.outputs.targets) }}"
    assert monitor["concurrency"] == {"group": "synthetic-${{ matrix.target }}", "cancel-in-progress": False}
    uses = [s.get("uses", "") for s in monitor["steps"]]
    assert any(u.startswith("actions/cache/restore@") for u in uses)
    assert any(u.startswith("actions/cache/save@") for u in uses)
    runs = "\n".join(s.get("run", "") for s in monitor["steps"])
    assert "--scheduled" in runs
    # Decided the same way as the post-deploy gate.
    assert monitor["steps"][-1]["run"] == VERDICT
    assert monitor["env"]["SMOKEGATE_RUN_ID"].startswith("synthetic-${{ matrix.target }}-${{ github.run_id }}")
    assert "smokegate report --since 24h" in runs
    plan = workflow["jobs"]["plan"]["steps"][0]["run"]
    assert '"*/15 * * * *") targets=\'["production"]\'' in plan
    assert '"7 * * * *") targets=\'["staging"]\'' in plan


def test_ci_runs_make_test_on_push_and_pull_request() -> None:
    workflow = _load("ci.yml")
    assert {"push", "pull_request"} <= set(_on(workflow))
    runs = [step.get("run", "") for step in _steps(workflow)]
    assert "make test" in runs
    assert any("playwright install --with-deps chromium" in run for run in runs)


def test_both_workflows_decide_by_the_same_verdict_command() -> None:
    for name in ("post-deploy.yml", "synthetic.yml"):
        runs = [s.get("run", "") for s in _steps(_load(name))]
        assert VERDICT in runs, name
        assert not any("EXIT_CODE" in run or 'test "$VERDICT"' in run for run in runs), name
