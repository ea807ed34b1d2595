"""Fixtures shared by the suites: cached samples, so each page and endpoint is fetched once per run."""

from __future__ import annotations

import pytest

from smokegate.config import Target
from smokegate.probe import Exchange, Probe, Sampler
from smokegate.timing import Samples


@pytest.fixture(scope="session")
def page_samples(target: Target, probe: Probe) -> Sampler:
    """``page_samples(path)``: the page fetched ``page_samples`` times in a row, cached per run.

    Status, text and timing checks of one page read the same answers, which keeps the request
    count per page at N instead of 3N.
    """
    cache: dict[str, tuple[list[Exchange], Samples]] = {}

    def sample(path: str) -> tuple[list[Exchange], Samples]:
        if path not in cache:
            cache[path] = probe.sample("GET", path, target.page_samples, headers={"accept": "text/html"})
        return cache[path]

    return sample
