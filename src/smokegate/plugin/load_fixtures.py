"""The load check's fixtures: one Locust run per pytest run, read by every check of ``tests/load``.

``load_outcome`` signs the synthetic Clerk user in (when Clerk is configured), builds the plan from
the target config, runs it through Locust in a child process (:mod:`smokegate.load.engine`) while no
other check of the run measures the target, reads the master's timeline once
(:class:`~smokegate.checks.load_verdict.Analysis`) and writes the load report beside Locust's own.  It never
imports Locust: the pytest process is not patched by gevent.  ``load_route`` is the route a
``test_*[route]`` check judges (made from the config in :mod:`smokegate.plugin.params`).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from smokegate.plugin import foreign_options
from smokegate.plugin.run import SmokegateRun
from smokegate.shared import private_dir

if TYPE_CHECKING:
    from smokegate.checks.load_verdict import Analysis
    from smokegate.config import Target
    from smokegate.load.engine import Distribution, RunOutput
    from smokegate.load.plan import Plan

REPORT_DIR = "load"
REPORT_FILE = "report.html"
# Waiting for the run's other checks to leave the target alone before the load starts.
LOAD_LOCK_WAIT_S = 600.0


@dataclass
class LoadOutcome:
    """One load run, read once: the plan, what Locust's master gathered, and the analysis every check reads."""

    plan: Plan
    output: RunOutput
    analysis: Analysis
    distribution: Distribution
    # Why the signed-in routes were left out of the mix (no synthetic Clerk user, or its sign-in failed).
    signed_in_skipped: str | None
    report: Path
    evidence: list[tuple[str, Path]] = field(default_factory=list)


def distribution(run: SmokegateRun, target: Target) -> Distribution:
    from smokegate.load.engine import Distribution

    load = target.load
    return Distribution(processes=run.settings.load_processes, workers=run.settings.load_workers,
                        bind_host=load.master_bind_host, bind_port=load.master_bind_port,
                        workers_wait_s=load.workers_wait_s)


def _session(request: pytest.FixtureRequest, target: Target) -> tuple[Any, str | None]:
    """The synthetic user's session, or why there is none (the signed-in routes are then left out)."""
    from smokegate.failures import CheckFailure, Inconclusive
    from smokegate.load.session import SessionError, sign_in
    from smokegate.scrub import SCRUBBER
    from smokegate.synthetic.clerk_testing import backend_context

    clerk = target.synthetic.clerk
    reason = clerk.not_configured()
    if reason is not None:
        return None, f"signed-in routes left out of the load: {reason}"
    try:
        tickets = request.getfixturevalue("clerk_tickets")
        return sign_in(tickets, backend_context(target.ca_bundle), clerk.timeout_s), None
    except (CheckFailure, Inconclusive, SessionError) as exc:
        first = SCRUBBER.text(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return None, f"signed-in routes left out of the load: the synthetic user could not be signed in: {first}"


@pytest.fixture(scope="session")
def load_plan_dir() -> Iterator[Path]:
    """Private to this process and outside reports/: the plan holds the synthetic user's session."""
    with private_dir("smokegate-load-") as directory:
        yield directory


@pytest.fixture(scope="session")
def load_outcome(request: pytest.FixtureRequest, target: Target, smokegate_run: SmokegateRun,
                 load_plan_dir: Path) -> LoadOutcome:
    """The run's one load test (the shape of ``[load]``), its timeline read once for every load check."""
    from smokegate.checks.load_verdict import Analysis
    from smokegate.load import engine
    from smokegate.load import load_report as report
    from smokegate.load.plan import plan_for

    load = target.load
    session, skipped = _session(request, target)
    ca_pem = None if target.ca_bundle == "system" else Path(target.ca_bundle).read_text(encoding="utf-8")
    bypass = target.bypass()
    headers = bypass.headers_for(target.base_url) if bypass else {}
    plan = plan_for(target, session=session, ca_pem=ca_pem, headers=headers)
    dist = distribution(smokegate_run, target)
    out_dir = smokegate_run.reports_dir / REPORT_DIR
    with smokegate_run.locks.load("the load test", wait_s=LOAD_LOCK_WAIT_S):
        output = engine.run(plan, out_dir, load_plan_dir, dist)
    sent = sum(tick.n for second in output.timeline.ticks.values() for tick in second.values())
    smokegate_run.requests += sent
    labels = {r.id: r.label for r in plan.routes}
    analysis = Analysis.of(output.timeline, output.as_run, settle_s=load.settle_s, max_cpu=load.max_generator_cpu,
                           max_lag_ms=load.max_generator_lag_ms, error_budget=target.budgets.error_rate, labels=labels)
    page = out_dir / REPORT_FILE
    report.write(page, target=target, plan=plan, output=output, analysis=analysis, distribution=dist,
                 signed_in_skipped=skipped)
    evidence = [("load report", page)]
    evidence += [(kind, output.files[name]) for kind, name in (("Locust report", engine.HTML_FILE),
                                                               ("Locust CSV", f"{engine.CSV_PREFIX}_stats.csv"),
                                                               ("Locust CSV history",
                                                                f"{engine.CSV_PREFIX}_stats_history.csv"))
                 if name in output.files]
    return LoadOutcome(plan, output, analysis, dist, skipped, page, evidence)


@pytest.fixture
def load_evidence(request: pytest.FixtureRequest, load_outcome: LoadOutcome) -> LoadOutcome:
    """The load run, with its reports linked from the check's row of the gate report (pass or fail)."""
    from smokegate.plugin.artifacts import ARTIFACT_PROPERTY

    root = Path(request.config.invocation_params.dir)
    extras = request.node.stash.setdefault(_EXTRAS, [])
    for kind, path in load_outcome.evidence:
        shown = _relative(path, root)
        request.node.user_properties.append((ARTIFACT_PROPERTY + kind, shown))
        extras.append((kind, str(path)))
    return load_outcome


_EXTRAS = pytest.StashKey[list[tuple[str, str]]]()


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    """pytest-html shows a report's ``extras`` links in every row, passed or failed: the load reports."""
    report = yield
    links = item.stash.get(_EXTRAS, None)
    if not links or call.when != "call":
        return report
    try:
        from pytest_html import extras
    except ImportError:
        return report
    html = foreign_options.html_path(item.config)
    html_dir = Path(html).parent if html else None
    for kind, path in links:
        href = _href(Path(path), html_dir)
        report.extras = [*getattr(report, "extras", []), extras.url(href, name=kind)]
    return report


def _href(path: Path, html_dir: Path | None) -> str:
    import os
    import urllib.parse

    if html_dir is None:
        return path.as_uri()
    try:
        return urllib.parse.quote(Path(os.path.relpath(path, html_dir)).as_posix())
    except ValueError:
        return path.as_uri()
