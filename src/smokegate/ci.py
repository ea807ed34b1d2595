"""``python -m smokegate.ci REPORTS_DIR [--run-id ID]``: the CI job's decision, from ``gate.json`` alone.

Every workflow decides the same way: this reads the one verdict, prints a GitHub annotation for
each blocking check (its name and its measured-vs-budget message) and for a run that could not
judge, and exits 0 for ``pass``, 1 for ``fail`` and 2 for ``error`` — including a missing or
unreadable ``gate.json`` (the suite never got to judge).  It also writes ``verdict=...`` to
``$GITHUB_OUTPUT`` when set, so later steps (rollback) can read it.

A ``gate.json`` is only this run's verdict if it says so: given the run's id (``--run-id``, else
``SMOKEGATE_RUN_ID``, the variable the run itself was given), a ``gate.json`` of another run, left
by an earlier job on a reused runner or a QA machine, is an ``error``, never its ``pass``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from smokegate.figures import measured_vs_budget
from smokegate.gate import same_cause_note

EXIT = {"pass": 0, "fail": 1, "error": 2}


def _escape(text: str) -> str:
    """GitHub workflow-command escaping for the message part."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def _figures(check: Mapping[str, Any]) -> str:
    text = measured_vs_budget(check.get("measured"), check.get("budget"), check.get("unit"))
    return f" [{text}]" if text else ""


def workflow_commands(gate: Mapping[str, Any]) -> list[str]:
    """The workflow commands for one gate: errors for blocking checks, a warning for could-not-judge."""
    lines = []
    verdict = gate.get("verdict")
    target = (gate.get("target") or {}).get("name") or "?"
    for check in gate.get("failed", []):
        if check.get("blocking"):
            title = _escape_property(f"{check['check']} ({check.get('severity')}, {check.get('failure_kind')})")
            message = (check.get("message") or "failed").splitlines()[0][:500]
            note = same_cause_note(check.get("consequences") or [])
            text = message + _figures(check) + (f" ({note})" if note else "")
            lines.append(f"::error title={title}::{_escape(text)}")
    if verdict == "error":
        reason = str(gate.get("reason") or "the run could not judge the target")
        lines.append(f"::error title={_escape_property(f'smokegate could not judge {target}')}::{_escape(reason)}")
    elif verdict == "fail" and gate.get("reason"):
        lines.append(f"::error title={_escape_property(f'smokegate: {target}')}::{_escape(str(gate['reason']))}")
    return lines


def decide(reports_dir: Path, run_id: str | None = None) -> tuple[str, list[str]]:
    """The verdict and the lines to print; with ``run_id``, only that run's gate.json counts."""
    path = reports_dir / "gate.json"
    try:
        gate = json.loads(path.read_text(encoding="utf-8"))
        verdict = str(gate["verdict"])
        if verdict not in EXIT:
            raise ValueError(f"unknown verdict {verdict!r}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return "error", [f"::error title=smokegate::no usable verdict in {path} ({exc}): the suite did not judge"]
    if run_id is not None and gate.get("run_id") != run_id:
        found = f"run {gate['run_id']!r}" if gate.get("run_id") else "a run without an id"
        when = f", finished {gate['finished_at']}" if gate.get("finished_at") else ""
        message = (f"{path} is the verdict of {found}{when}, not of this run ({run_id!r}): the suite wrote no "
                   "verdict for this run (did pytest stop before it started?)")
        return "error", [f"::error title=smokegate::{_escape(message)}"]
    counts = gate.get("counts") or {}
    summary = (
        f"smokegate verdict: {verdict.upper()} — {counts.get('passed', 0)} passed, {counts.get('failed', 0)} failed, "
        f"{counts.get('blocking', 0)} blocking (gate on {gate.get('gate_on')})"
    )
    return verdict, [*workflow_commands(gate), summary]


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m smokegate.ci", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("reports_dir", nargs="?", type=Path, default=Path("reports"),
                        help="the run's reports directory, holding gate.json (default: reports)")
    parser.add_argument("--run-id", default=None,
                        help="the id the run was given: a gate.json of any other run is refused "
                             "(default: env SMOKEGATE_RUN_ID, when set)")
    args = parser.parse_args(argv)
    if args.run_id is None:
        args.run_id = os.environ.get("SMOKEGATE_RUN_ID", "").strip() or None
    elif not args.run_id.strip():
        parser.error("--run-id: empty value (leave it out, or give the id the run was given)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(list(sys.argv[1:] if argv is None else argv))
    verdict, lines = decide(args.reports_dir, args.run_id)
    for line in lines:
        print(line)
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(f"verdict={verdict}\n")
    return EXIT[verdict]


if __name__ == "__main__":
    sys.exit(main())
