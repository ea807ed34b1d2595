"""The human side of the verdict: ``summary.md`` (also the GitHub job summary) and figure formatting.

Links in the summary are relative to the reports directory, which is what CI uploads as the
artifact: they resolve inside the artifact, not on the machine that ran the suite.
"""

from __future__ import annotations

import os
from pathlib import Path

from smokegate import figures
from smokegate.gate import CheckResult, GateReport, same_cause_note

ICONS = {"pass": "✅", "fail": "❌", "error": "⚠️"}
VERDICT_WORDS = {
    "pass": "the deployment may stay",
    "fail": "the target failed a blocking check",
    "error": "the run could not judge the target",
}


def measured_vs_budget(result: CheckResult) -> str:
    """``2600 ms / budget 2000 ms``; empty when the check measured nothing (:mod:`smokegate.figures`)."""
    return figures.measured_vs_budget(result.measured, result.budget, result.unit)


def _cell(text: str | None, limit: int = 300) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")[:limit]


def summary_markdown(gate: GateReport) -> str:
    data = gate.as_dict()
    counts = data["counts"]
    verdict = gate.verdict
    lines = [
        f"## {ICONS[verdict]} smokegate: {verdict.upper()} — {gate.target_name or '?'} "
        f"({gate.base_url or 'no URL'}): {VERDICT_WORDS[verdict]}",
        "",
        f"Gate blocks on **{gate.gate_on}** and above. Version: `{gate.version or 'unknown'}`"
        + (f" (expected `{gate.expected_version}`)" if gate.expected_version else ""),
        "",
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped, "
        f"{counts['deselected']} deselected, {counts['flaky']} flaky; "
        f"{data['requests_sent']} requests in {data['duration_s']:.1f} s.",
    ]
    if data["reason"]:
        lines += ["", f"**{data['reason']}**"]
    failed = [CheckResult(**item) for item in data["failed"]]
    if failed:
        lines += ["", "| Severity | Check | Measured / budget | Kind | Message |", "|---|---|---|---|---|"]
        for result in failed:
            mark = (" (blocking)" if result.blocking else " (could not judge)" if result.inconclusive
                    else f" (consequence of `{result.consequence_of}`)" if result.consequence_of else "")
            note = same_cause_note(result.consequences)
            lines.append(
                f"| {result.severity}{mark} | `{result.check}` | {measured_vs_budget(result)} | "
                f"{result.failure_kind or ''} | {_cell(result.message)}{' — ' + note if note else ''} |"
            )
    ai_unchecked = [c for c in gate.checks if c.feature == "ai" and c.outcome == "skipped"]
    if ai_unchecked and gate.error_kind is None:
        lines += ["", f"**The AI budget was not checked:** {ai_unchecked[0].message}"]
    if gate.not_run and gate.error_kind != "usage":  # a usage error's reason already says why nothing ran
        lines += ["", "Required checks that did not run:"]
        lines += [f"- `{c.check}`: {c.message}" for c in gate.not_run]
    if gate.deselected:
        lines += ["", f"{len(gate.deselected)} intrusive checks deselected: {gate.deselected[0].reason}."]
    if gate.error_kind == "usage":
        lines += ["", "Reports (in this run's reports directory): [report.html](report.html), [gate.json](gate.json).",
                  ""]
    else:
        lines += ["", "Reports (in this run's reports directory): [report.html](report.html), "
                  "[gate.json](gate.json), [junit.xml](junit.xml), `allure-results/`.", ""]
    return "\n".join(lines) + "\n"


def write_summary(gate: GateReport, reports_dir: Path) -> Path:
    text = summary_markdown(gate)
    path = reports_dir / "summary.md"
    path.write_text(text, encoding="utf-8")
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        try:
            with open(step_summary, "a", encoding="utf-8") as handle:
                handle.write(text)
        except OSError:
            pass  # the job summary is a convenience; summary.md is already written
    return path
