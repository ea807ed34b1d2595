"""The hostile-answer corpus (issue 19): every check, against every strange-but-possible answer, ends in one
readable verdict: no suite error, no hang past its timeout.

``selftests/hostile.py`` serves :data:`~.hostile.CORPUS` at every route the smoke and security suites
read, in groups; run ``k`` puts answer ``(i + k) % N`` at group ``i``, so N runs put every answer in
front of every check (``make hostile``; ``make test`` runs every third, see :data:`RUNS`).  Each run
is the suite as CI runs it (a fresh pytest process), with a 1 s timeout and small samples, and one
instance of each check function (the instances of a function read the same group; which instance is
spread so every route is read).
Left out: the TLS scan's checks (they read handshakes, not answers) and the synthetic suite
(Chromium reads those answers, not smokegate).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smokegate.testbed import fake_secrets

from .conftest import ROOT, SuiteRun, run_suite
from .hostile import CORPUS, ROUTES, HostileServer, hostile_server

pytestmark = pytest.mark.selftest_slow

TIMEOUT_S = 1
RUN_TIMEOUT_S = 90  # the self-test's own limit on one run: a hanging run fails here instead
# A check sends a handful of requests, each bounded by 2 attempts of TIMEOUT_S (plus one wait of at
# most max_wait_s for a Retry-After): far longer than this is a hang.
CHECK_BOUND_S = 15
TLS_SCAN_CHECKS = ("test_certificate_chain_is_trusted", "test_certificate_matches_hostname",
                   "test_no_certificate_expires", "test_legacy_tls_versions_refused",
                   "test_modern_tls_versions_offered", "test_mozilla_profile_compliance")
CONFIG = f"""
[targets.hostile]
base_url = "https://localhost:1"
timeout_s = {TIMEOUT_S}
page_samples = 1
intrusive = true

[targets.hostile.health]
samples = 2

[targets.hostile.error_burst]
requests = 10

[targets.hostile.security.rate_limit]
limit = 3
max_wait_s = 1
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileServer]:
    with hostile_server(tmp_path_factory.mktemp("hostile")) as running:
        yield running


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile-config") / "smokegate.toml"
    path.write_text((ROOT / "smokegate.toml").read_text() + CONFIG)
    return path


def _args(server: HostileServer, config: Path) -> list[str]:
    return ["--smokegate-config", str(config), "--target", "hostile", "--base-url", server.url,
            "--ca-bundle", server.ca_file, "--http-url", server.http_url]


@pytest.fixture(scope="module")
def checks(server: HostileServer, config: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """One instance of every check function of the smoke and security suites, spread over their routes."""
    listed = run_suite(["tests/smoke", "tests/security", "--collect-only", *_args(server, config)],
                       tmp_path_factory.mktemp("collect"), env=fake_secrets.env(), timeout=RUN_TIMEOUT_S)
    instances: dict[str, list[str]] = {}
    for line in listed.output.splitlines():
        if line.startswith("tests/") and "::" in line and not any(name in line for name in TLS_SCAN_CHECKS):
            instances.setdefault(re.sub(r"\[.*\]$", "", line), []).append(line.strip())
    assert len(instances) > 50, listed.output[-3000:]
    return [found[i % len(found)] for i, found in enumerate(instances.values())]


def test_the_corpus_is_large_and_named_once() -> None:
    names = [answer.name for answer in CORPUS]
    assert len(names) >= 40 and len(set(names)) == len(names)


# pytest-html and Allure render the messages gate.json holds: every REPORTS_EVERY-th run writes them
# (each answer passes through them at a few routes); the others skip their cost (a third of a run).
REPORTS_EVERY = 5
WITHOUT_REPORTS = ("-p", "no:html", "-p", "no:allure_pytest", "--assert=plain")


def _run(server: HostileServer, config: Path, checks: list[str], run: int, reports: Path) -> SuiteRun:
    server.start_run(run)
    light = () if run % REPORTS_EVERY == 0 else WITHOUT_REPORTS
    return run_suite([*checks, *_args(server, config), *light], reports, env=fake_secrets.env(),
                     timeout=RUN_TIMEOUT_S)


# Every third run in `make test` (15 runs: each answer at three or four route groups, each group meets
# 15 answers); all of them, every answer in front of every check, with SMOKEGATE_HOSTILE_RUNS=all
# (`make hostile`): about 1.5 s of CPU a run.
ALL_RUNS = os.environ.get("SMOKEGATE_HOSTILE_RUNS") == "all"
RUNS = range(len(CORPUS)) if ALL_RUNS else range(0, len(CORPUS), 3)


@pytest.mark.parametrize("run", RUNS)
def test_every_check_ends_in_one_readable_verdict(
    server: HostileServer, config: Path, checks: list[str], run: int, tmp_path: Path
) -> None:
    started = time.perf_counter()
    result = _run(server, config, checks, run, tmp_path / "reports")
    wall = time.perf_counter() - started
    at = {route: CORPUS[(i + run) % len(CORPUS)].name for i, route in enumerate(ROUTES)}
    where = f"run {run}: {at}\n{result.output[-4000:]}"
    assert result.gate, f"no gate.json: {where}"
    assert result.returncode in (0, 1, 2), f"exit {result.returncode} (3 is a suite error): {where}"
    assert "INTERNALERROR" not in result.output and "Traceback" not in result.output, where
    outcomes = [c["check"] for c in result.gate["checks"]]
    assert len(outcomes) == len(checks) and len(set(outcomes)) == len(outcomes), f"one verdict per check: {where}"
    errors = {c["check"]: c["message"] for c in result.gate["checks"] if c["failure_kind"] == "suite-error"}
    assert not errors, f"suite errors: {errors}\n{where}"
    for check in result.gate["checks"]:
        if check["outcome"] != "passed":
            assert (check["message"] or "").strip(), f"{check['check']} {check['outcome']} without a reason: {where}"
        assert check["duration_s"] < CHECK_BOUND_S, f"{check['check']} took {check['duration_s']:.1f} s: {where}"
    assert wall < RUN_TIMEOUT_S
    # Scripts are read when the pages' answer links one, and no check reads other API routes.
    unread = set(ROUTES) - {"static", "other-api"} - {route for route, _ in server.served}
    assert not unread, f"routes no check read: {unread}"
