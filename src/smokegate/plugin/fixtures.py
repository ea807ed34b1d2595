"""The fixtures every check may ask for: the run, its target, a timed probe, the check's record.

Suite-specific fixtures live beside their suites (``smokegate.plugin.security_fixtures``,
``smokegate.plugin.browser_fixtures``); parameters made from the target config are in
``smokegate.plugin.params``.  ``pytest --fixtures`` lists them all with these docstrings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from smokegate.plugin import run as runs
from smokegate.plugin.run import CheckRecord, SmokegateRun

if TYPE_CHECKING:  # httpx and pydantic load with the checks that use them, not at every pytest start-up
    from smokegate.config import Target
    from smokegate.probe import Exchange, Probe, Sampler
    from smokegate.reach import Reachability
    from smokegate.timing import Samples


@pytest.fixture(scope="session")
def smokegate_run(pytestconfig: pytest.Config) -> SmokegateRun:
    """The state of this run: target, settings, reachability, request count."""
    run = runs.current(pytestconfig)
    if run is None:
        raise pytest.UsageError("no target chosen: pass --target NAME (env SMOKEGATE_TARGET)")
    return run


@pytest.fixture(scope="session")
def target(smokegate_run: SmokegateRun) -> Target:
    """The target under test, validated from the config (and --base-url / --ca-bundle)."""
    return smokegate_run.target


@pytest.fixture(scope="session")
def probe(smokegate_run: SmokegateRun) -> Iterator[Probe]:
    """A timed, counted HTTP client for the target, shared by the checks of one worker.

    Its checks judge availability: a 503 with Retry-After is theirs to report (smokegate.intercepted)."""
    from smokegate.intercepted import About
    from smokegate.probe import Probe

    with Probe(smokegate_run.target, on_request=smokegate_run.count_request, about=About.AVAILABILITY) as client:
        yield client


@pytest.fixture(scope="session")
def reachability(smokegate_run: SmokegateRun) -> Reachability:
    """Whether the target answered at all, probed once by the controller before the checks ran."""
    if smokegate_run.reach is None:
        from smokegate.reach import probe_target

        smokegate_run.reach = probe_target(smokegate_run.target)
    return smokegate_run.reach


@pytest.fixture
def check_record(request: pytest.FixtureRequest) -> CheckRecord:
    """Record measured vs budget (and details) for the reports and gate.json."""
    record = runs.record_of(request.node)
    if record is None:
        raise pytest.UsageError(f"{request.node.nodeid}: check_record is only for smokegate checks")
    return record


@pytest.fixture(scope="session")
def expected_version(smokegate_run: SmokegateRun) -> str | None:
    """The build the deployment must report (``--expect-version``), or None when not given."""
    return smokegate_run.settings.expect_version


@pytest.fixture(scope="session")
def page_samples(target: Target, probe: Probe) -> Sampler:
    """``page_samples(path)``: the page fetched ``page_samples`` times in a row, cached per run.

    Status, text and timing checks of one page read the same answers, which keeps the request
    count per page at N instead of 3N; a page that could not be read is remembered as such too.
    """
    from smokegate.probe import remembered

    cache: dict[str, tuple[list[Exchange], Samples] | BaseException] = {}

    def sample(path: str) -> tuple[list[Exchange], Samples]:
        return remembered(cache, path, lambda: probe.sample("GET", path, target.page_samples,
                                                            headers={"accept": "text/html"}))

    return sample
