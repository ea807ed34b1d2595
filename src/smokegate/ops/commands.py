"""``smokegate rollback`` and ``smokegate badge``: the commands beside ``report`` and ``watch``.

``smokegate rollback --target production --failing-url URL [--gate reports/gate.json] [--dry-run]``
asks Vercel to serve the last deployment whose gate passed (:mod:`smokegate.providers.rollback`);
``--dry-run`` says what it would do and sends nothing but reads.  Exit codes: 0 rolled back (or
would), 1 could not (no eligible deployment, Vercel refused, the network failed), 2 a usage or setup
problem (option, config, history, token), 3 decided against it (the failure is not the deployment's).

``smokegate badge [--target NAME] [--out DIR]`` writes each target's uptime badges (24 h, 7 d, 30 d)
from the history (:mod:`smokegate.ops.badge`).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smokegate import options

if TYPE_CHECKING:
    from smokegate.ops.history import HistorySource

NAMES = ("rollback", "badge")


def add_parsers(commands: Any, *, default_history: Path, default_config: str) -> None:
    rollback = commands.add_parser(
        "rollback", help="roll production back to the last deployment whose gate passed (Vercel instant rollback)",
        description="Ask Vercel to serve the last deployment whose gate passed again (instant rollback, no rebuild). "
        "--dry-run says what would be done. Exit codes: 0 rolled back (or would), 1 could not, 2 usage or setup "
        "problem, 3 decided against it (what failed is not in the deployment).")
    rollback.add_argument("--target", default=None, help="target of the config (env SMOKEGATE_TARGET)")
    rollback.add_argument("--config", default=None,
                          help=f"target config (env SMOKEGATE_CONFIG; default {default_config})")
    rollback.add_argument("--history", default=None,
                          help=f"run history: SQLite file or postgresql:// URL (env SMOKEGATE_HISTORY; "
                               f"default {default_history})")
    rollback.add_argument("--failing-url", default=None, help="the deployment whose gate failed (never chosen)")
    rollback.add_argument("--failing-version", default=None, help="its commit (no deployment of it is chosen)")
    rollback.add_argument("--gate", type=Path, default=None,
                          help="gate.json of the failing run: roll back only if a rollback can fix what failed")
    rollback.add_argument("--ca-bundle", default=None, help="PEM file of CAs to trust besides the system's")
    rollback.add_argument("--dry-run", action="store_true", help="say what would be done; change nothing")

    badge = commands.add_parser("badge", help="write uptime badges (SVG: 24 h, 7 d, 30 d) per target from the history")
    badge.add_argument("--target", action="append", default=None, help="a target (repeat; default: every recorded one)")
    badge.add_argument("--history", default=None,
                       help=f"run history: SQLite file or postgresql:// URL (env SMOKEGATE_HISTORY; "
                            f"default {default_history})")
    badge.add_argument("--out", type=Path, default=Path("reports/badges"), help="directory (default reports/badges)")


def run(args: argparse.Namespace, *, default_history: Path, default_config: str) -> int:
    if args.command == "badge":
        return _badge(args, default_history)
    return _rollback(args, default_history, default_config)


def _say(message: str) -> None:
    print(f"smokegate rollback: {message}", flush=True)


def _fail(message: str, code: int) -> int:
    print(f"smokegate: {message}", file=sys.stderr)
    return code


def history_source(given: str | None, default: Path) -> HistorySource:
    """``--history``, else ``SMOKEGATE_HISTORY`` (:func:`smokegate.options.command_setting`), else the
    default file, checked as the pytest option is (an empty value is an error, never "not given"; a
    file that is no smokegate history is refused); raises HistoryError naming where it was written."""
    from smokegate.ops.history import checked_source

    setting = options.command_setting("--history", given)
    if setting.value is None:
        return checked_source(str(default), origin=f"the run history (default {default})")
    return checked_source(setting.value, origin=setting.source)


def _badge(args: argparse.Namespace, default_history: Path) -> int:
    from smokegate.ops.badge import recorded_targets, write_badges
    from smokegate.ops.history import History, HistoryError

    try:
        source = history_source(args.history, default_history)
    except HistoryError as exc:  # what the user wrote: a usage error, as for every command
        return _fail(str(exc), 2)
    try:
        if isinstance(source, Path) and not source.is_file():
            return _fail(f"no run history at {source} (run the suite first, or pass --history)", 1)
        with History.open(source) as history:
            written = write_badges(history, args.target or recorded_targets(history), args.out)
    except (HistoryError, sqlite3.Error, OSError) as exc:
        return _fail(f"cannot write the badges: {exc}", 1)
    for path in written:
        print(path)
    return 0


def _rollback(args: argparse.Namespace, default_history: Path, default_config: str) -> int:
    from smokegate.config import ConfigError, load_config, resolve_target
    from smokegate.failures import CheckFailure, Inconclusive
    from smokegate.ops.history import History, HistoryError
    from smokegate.preflight import ca_bundle_problem
    from smokegate.providers.apis import vercel_api, vercel_rollback
    from smokegate.providers.rollback import candidates, plan, rollback_helps
    from smokegate.scrub import SCRUBBER

    problems: list[str] = []
    name = options.command_text("--target", args.target, problems)
    config = options.command_text("--smokegate-config", args.config, problems, written="--config") or default_config
    if problems:
        return _fail("; ".join(problems), 2)
    if not name:
        return _fail("rollback: no target chosen: pass --target NAME (env SMOKEGATE_TARGET)", 2)
    try:
        loaded = load_config(config)
        target = resolve_target(loaded, name)
        alias = target.base_url
        if args.ca_bundle:
            target = target.model_copy(update={"ca_bundle": str(Path(args.ca_bundle).resolve())})
    except ConfigError as exc:
        return _fail(str(exc), 2)
    problem = ca_bundle_problem(target.ca_bundle, "--ca-bundle" if args.ca_bundle else f"{config}: ca_bundle")
    if problem:
        return _fail(problem, 2)
    SCRUBBER.add_env(*target.secret_env)
    if args.gate is not None:
        try:
            gate = json.loads(args.gate.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return _fail(f"--gate {args.gate}: cannot read the gate's verdict ({exc})", 2)
        helps, why = rollback_helps(gate if isinstance(gate, dict) else {})
        _say(why)
        if not helps:
            return 3
        args.failing_url = args.failing_url or (gate.get("target") or {}).get("base_url")
        args.failing_version = args.failing_version or gate.get("expected_version") or gate.get("version")
    cfg = target.providers.vercel
    api = vercel_api(target)
    if api is None:
        return _fail(f"rollback: {cfg.token_env} is not set: Vercel's REST API cannot be asked "
                     f"(providers.vercel.token_env); nothing was rolled back", 2)
    try:
        source = history_source(args.history, default_history)
        if isinstance(source, Path) and not source.is_file():
            return _fail(f"rollback: no run history at {source}: no deployment is known to have passed its gate", 2)
        with History.open(source) as history:
            found = candidates(history, target, alias=alias, failing_url=args.failing_url,
                               failing_version=args.failing_version)
    except (HistoryError, sqlite3.Error, OSError) as exc:
        return _fail(f"rollback: cannot read the run history: {exc}", 2)
    if not found:
        return _fail(f"rollback: the history ({source}) records no passing gate of another deployment of "
                     f"{target.name}: nothing to roll back to", 1)
    with api:
        try:
            chosen = plan(api, target, found)
            if isinstance(chosen, list):
                for line in chosen:
                    _say(f"passed over {line}")
                return _fail("rollback: no deployment that passed its gate can be rolled back to", 1)
            for line in chosen.passed_over:
                _say(f"passed over {line}")
            when = f"{chosen.candidate.passed_at:%Y-%m-%d %H:%M} UTC"
            what = (f"production of Vercel project {cfg.project} back to {chosen.deployment_id} ({chosen.url}, commit "
                    f"{(chosen.sha or 'unknown')[:12]}; its gate passed {when}, run {chosen.candidate.run_id})")
            if args.dry_run:
                _say(f"would roll {what} with POST /v1/projects/{chosen.project_id}/rollback/{chosen.deployment_id}"
                     " (instant rollback: no rebuild)")
                _say("dry run: nothing was changed")
                return 0
            answer = vercel_rollback(api, cfg, chosen.project_id, chosen.deployment_id,
                                     f"smokegate: gate failed for {args.failing_url or 'the latest deployment'}")
        except (Inconclusive, CheckFailure) as exc:
            return _fail(f"rollback: {SCRUBBER.text(str(exc))}; nothing was rolled back", 1)
    if answer.status >= 300:
        return _fail(f"rollback: Vercel refused to roll {what}: {answer.status} {SCRUBBER.text(answer.detail)}", 1)
    _say(f"rolled {what}: Vercel serves it on the production domains now")
    _say("a rollback does not undo database migrations or environment variable changes, and Vercel assigns no new "
         "production deployment to the domains until one is promoted; the revert on main follows")
    return 0
