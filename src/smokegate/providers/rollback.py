"""Rollback in seconds: point production back at the last deployment whose gate passed (Vercel's instant
rollback), before the revert on ``main`` rebuilds anything.

Which deployment: the run history knows every post-deploy gate (``runs``: the deployment's own URL
as ``base_url``, its commit as ``version``).  The candidates are the target's passing runs that were
not scheduled, newest first, whose URL is a deployment's own (not the target's production domain,
which names whatever is live) and is neither the failing deployment's nor of its commit.  Each is
looked up at Vercel (``GET /v13/deployments/{url}``) and taken if it belongs to the project, is
ready and has served production (only those can be rolled back to); otherwise the next one is.

Whether at all: only for a ``fail`` verdict, and only if one of its blocking failures is one a
rollback can fix.  A provider's outage (failure kind ``third-party``), backups, the webhook endpoint's
settings at Stripe and user activity are not in the deployment: rolling back would change nothing but
the code that is live (see :data:`NOT_FIXED_BY_ROLLBACK`).  Undelivered Stripe events are (the
receiver is the deployment's), and so are missing environment variables and pending migrations (the
previous deployment was built without the variable, and its code expects the schema that exists).

What it does: ``POST /v1/projects/{projectId}/rollback/{deploymentId}``: Vercel moves the production
domains to that deployment's existing build (no rebuild, seconds).  It does not undo database
migrations, environment variable changes or anything a provider holds; and while rolled back, Vercel
stops assigning new production deployments to the domains until one is promoted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from smokegate.failures import FailureKind

if TYPE_CHECKING:
    from smokegate.config import Target
    from smokegate.ops.history import History
    from smokegate.providers.client import ProviderApi

# Check features whose failure lives outside the deployment (a rollback cannot fix it).
NOT_FIXED_BY_ROLLBACK = frozenset({"external-services", "backups", "payment-settings", "user-activity"})
MAX_CANDIDATES = 10


@dataclass(frozen=True)
class Candidate:
    run_id: str
    passed_at: datetime
    url: str
    version: str | None


@dataclass
class Plan:
    project_id: str
    deployment_id: str
    url: str
    sha: str | None
    candidate: Candidate
    passed_over: list[str] = field(default_factory=list)  # why newer candidates were not taken


def _host(url: str | None) -> str:
    return (urlsplit(url).hostname or "").lower() if url else ""


def rollback_helps(gate: Mapping[str, Any]) -> tuple[bool, str]:
    """Would a rollback fix the failing run ``gate`` describes?  (and why, in words)"""
    if gate.get("verdict") != "fail":
        return False, f"the gate's verdict is {gate.get('verdict')!r}, not 'fail': nothing to roll back"
    blocking = [c for c in gate.get("checks", []) if c.get("blocking")]
    if not blocking and gate.get("reason"):
        return True, f"the deployment could not be tested: {gate['reason']}"
    fixable = [c for c in blocking if c.get("failure_kind") != FailureKind.THIRD_PARTY
               and c.get("feature") not in NOT_FIXED_BY_ROLLBACK]
    if not fixable:
        names = ", ".join(str(c.get("check")) for c in blocking[:5])
        return False, (f"every blocking failure is outside the deployment (a provider's outage, backups, payment "
                       f"settings, user activity: {names}); rolling back would not fix it")
    return True, f"{len(fixable)} blocking failure(s) in the deployment, first {fixable[0].get('check')}"


def candidates(history: History, target: Target, *, alias: str, failing_url: str | None,
               failing_version: str | None) -> list[Candidate]:
    """Deployments whose gate passed, newest first (see the module docstring)."""
    skip = {_host(alias), _host(failing_url)} - {""}
    found: list[Candidate] = []
    seen: set[str] = set()
    for run_id, ts, base_url, version in history.query(
        "SELECT run_id, ts, base_url, version FROM runs WHERE target = ? AND verdict = 'pass' AND scheduled = 0"
        " AND base_url IS NOT NULL AND maintenance IS NULL ORDER BY ts DESC LIMIT 500",
        (target.name,),
    ):
        host = _host(base_url)
        if not host or host in skip or host in seen or (failing_version and version == failing_version):
            continue
        seen.add(host)
        found.append(Candidate(str(run_id), datetime.fromtimestamp(ts, UTC), str(base_url), version))
    return found


def plan(api: ProviderApi, target: Target, found: Sequence[Candidate]) -> Plan | list[str]:
    """The deployment to roll back to, or why none of the candidates can be (one line each)."""
    from smokegate.providers.apis import vercel_deployment, vercel_project

    cfg = target.providers.vercel
    project = vercel_project(api, cfg)
    passed_over: list[str] = []
    for candidate in found[:MAX_CANDIDATES]:
        deployment = vercel_deployment(api, cfg, candidate.url)
        why = _not_eligible(deployment, str(project["id"]))
        if why:
            passed_over.append(f"{candidate.url} (gate passed {candidate.passed_at:%Y-%m-%d %H:%M} UTC): {why}")
            continue
        assert deployment is not None
        found_meta = deployment.get("meta")
        meta: Mapping[str, Any] = found_meta if isinstance(found_meta, Mapping) else {}
        return Plan(str(project["id"]), str(deployment["id"]), f"https://{deployment.get('url')}",
                    str(meta.get("githubCommitSha")) if meta.get("githubCommitSha") else candidate.version,
                    candidate, passed_over)
    return passed_over


def _not_eligible(deployment: Mapping[str, Any] | None, project_id: str) -> str | None:
    if deployment is None:
        return "Vercel knows no such deployment (deleted, or of another team)"
    if deployment.get("projectId") not in (None, project_id):
        return "a deployment of another project"
    if deployment.get("readyState") != "READY":
        return f"not ready ({deployment.get('readyState')})"
    if deployment.get("target") != "production":
        return "never served production (a preview): instant rollback only returns to production deployments"
    return None
