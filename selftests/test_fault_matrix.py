"""Every check passes on the healthy testbed and fails on the fault meant for it, and only there.

The fault catalog is the contract: with a fault on, exactly the checks it names fail (with a
message) and every other check run beside them passes, or is skipped when the fault takes the
whole target down.  Each fault runs the whole smoke suite and the security and synthetic modules
holding its checks; the healthy runs cover every suite.  A check that no fault makes fail could
not fail at all: that is a bug too.

Each fault runs against every testbed its catalog entry names: the Python testbed, and the real
Next.js testbed (a ``next build`` served by ``next start`` behind nginx, testbed/realnext.py), which
also gets a healthy run of every suite.  On the real one a fault runs only the modules holding its
checks (and its ``quiet`` ones), to keep the matrix within ``make test``'s time.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest

from smokegate.testbed import faults
from smokegate.testbed.control import RunningTestbed

from .conftest import SUITES, SuiteRun, cli_for, env_for, load_turn, run_suite, suite_paths

pytestmark = pytest.mark.selftest_slow


def _function(check: str) -> str:
    return re.sub(r"\[.*\]$", "", check)


# The healthy Python testbed: every suite but the load check under xdist (below), the load check alone here,
# in one process.  A whole single-process healthy run is made three times elsewhere (the real Next.js
# testbed's healthy run, every suite but the load check and the providers'; the traced run behind Vercel's
# protection, synthetic/test_no_secret_in_artifacts.py; smoke and security twice in test_rerun.py, every check
# passing): a fourth on the Python testbed proved nothing those do not, at 40 CPU-seconds of make test.
def test_healthy_testbed_passes_the_load_check(healthy_testbed: RunningTestbed, tmp_path: Path) -> None:
    with load_turn():
        run = run_suite([*suite_paths(["load"]), *cli_for(healthy_testbed)], tmp_path, env=env_for(healthy_testbed))
    not_passed = {c: o for c, o in run.outcomes.items() if o != "passed"}
    assert run.gate.get("verdict") == "pass" and not not_passed and run.outcomes, (
        f"false alarms on the healthy testbed: {not_passed}\n{run.output[-3000:]}"
    )
    assert run.returncode == 0, run.output[-3000:]


# Each fault is proven on the real Next.js testbed where that can express it (a real build behind a real
# proxy is what users run); the Python testbed proves the rest: Clerk, the identity providers, Vercel's
# protection, TLS chains, network chaos, the providers' APIs, the load faults.  SMOKEGATE_FAULT_MATRIX=all
# (make matrix-all) runs every fault the Python testbed can express as well, the imitation's own proof.
PYTHON_FAULTS = [f for f in faults.for_testbed(faults.PYTHON_TESTBED)
                 if os.environ.get("SMOKEGATE_FAULT_MATRIX") == "all" or faults.NEXT_TESTBED not in f.testbeds]


# The Python testbed's faults run in batches too, as the real testbed's do (NEXT_BATCHES says what a batch
# proves and what it cannot tell apart): in a batch no two faults fail the same check function (the OAuth
# faults: not the same check for two providers either), nor touch the same provider (its status page
# beside its API), and a fault that proves a quiet answer (a partial outage) meets no fault of its module.
# The others run alone.  Tried in batches: vercel-bypass-to-third-party also failed the secret check on
# /sign-in (a true finding of that fault, the catalog names it now: one finding with its own check); the
# Python testbed's next-vulnerable and source-map-header both rewrite the chunks, and switched on together
# at run time the chunks kept the healthy version (an imitation's limit, not the checks'); a clerk-* fault
# leaves the signed-in checks without a session.
# make matrix-all runs each of them alone as well.
PYTHON_BATCHES: tuple[tuple[str, ...], ...] = (
    ("oauth-wrong-host", "oauth-wrong-client-id", "oauth-foreign-redirect", "oauth-implicit-flow",
     "oauth-constant-state"),
    ("oauth-no-state", "oauth-missing-scope", "oauth-no-pkce"),
    ("status-major-outage", "vercel-env-missing", "stripe-webhook-disabled", "clerk-no-activity"),
    ("status-stripe-api-down", "vercel-rollback-refused", "supabase-migration-pending"),
    ("status-partial-outage", "stripe-deliveries-failing"),
    ("supabase-backups-stale", "stripe-payments-failing"),
)


def _python_runs() -> list[tuple[faults.Fault, ...]]:
    if os.environ.get("SMOKEGATE_FAULT_MATRIX") == "all":
        return [(f,) for f in PYTHON_FAULTS]
    named = [name for batch in PYTHON_BATCHES for name in batch]
    assert len(named) == len(set(named)), "a fault in two batches"
    assert set(named) <= {f.name for f in PYTHON_FAULTS}, set(named) - {f.name for f in PYTHON_FAULTS}
    return ([tuple(faults.CATALOG[name] for name in batch) for batch in PYTHON_BATCHES]
            + [(f,) for f in PYTHON_FAULTS if f.name not in named])


PYTHON_RUNS = _python_runs()


@pytest.mark.parametrize("batch", [pytest.param(b, id="+".join(f.name for f in b)) for b in PYTHON_RUNS])
def test_fault_fails_exactly_its_checks(batch: tuple[faults.Fault, ...], testbed: RunningTestbed,
                                        tmp_path: Path) -> None:
    fault = _as_one(batch, faults.PYTHON_TESTBED)
    loads = any(check.startswith("load/") for check in fault.catches)
    testbed.set_faults([f.name for f in batch])
    try:
        paths = [f"tests/{path}" for path in fault.test_paths]
        with load_turn() if loads else contextlib.nullcontext():
            run = run_suite([*paths, *cli_for(testbed)], tmp_path, env=env_for(testbed))
    finally:
        testbed.set_faults([])
    _assert_exactly_its_checks_failed(fault, run, faults_on=sum(1 for f in batch if f.catches))


# Faults whose catching depends on what the run's processes share: the error-rate burst against
# latency samples, the rate-limit burst once per run and its wait joined on any worker.
XDIST_FAULTS = ("error-5pct", "ratelimit-stuck", "ratelimit-no-retry-after")


def test_healthy_testbed_passes_every_check_under_xdist(healthy_testbed: RunningTestbed, tmp_path: Path) -> None:
    """Two workers (smokegate.plugin.distribute, smokegate.shared): the same verdict, no false alarm.

    Without the load check: its peak would share this machine's two cores, and the testbed's, with the
    other worker's browsers and TLS scans (a deployment under test is elsewhere); it runs alone in
    test_healthy_testbed_passes_the_load_check, and its own distribution is proven in test_load_run.py."""
    suites = [suite for suite in SUITES if suite != "load"]
    run = run_suite([*suite_paths(suites), *cli_for(healthy_testbed), "-n", "2"], tmp_path,
                    env=env_for(healthy_testbed))
    not_passed = {c: o for c, o in run.outcomes.items() if o != "passed"}
    assert run.gate.get("verdict") == "pass" and not not_passed, (
        f"false alarms on the healthy testbed under xdist: {not_passed}\n{run.output[-3000:]}"
    )
    assert len(run.outcomes) > 150, run.output[-3000:]


@pytest.mark.parametrize("name", XDIST_FAULTS)
def test_fault_fails_exactly_its_checks_under_xdist(name: str, testbed: RunningTestbed, tmp_path: Path) -> None:
    fault = faults.CATALOG[name]
    testbed.set_faults([fault.name])
    try:
        paths = [f"tests/{path}" for path in fault.test_paths]
        run = run_suite([*paths, *cli_for(testbed), "-n", "2"], tmp_path, env=env_for(testbed))
    finally:
        testbed.set_faults([])
    _assert_exactly_its_checks_failed(fault, run)


def _assert_exactly_its_checks_failed(fault: faults.Fault, run: SuiteRun,
                                      may_skip: frozenset[str] = frozenset(), faults_on: int = 1) -> None:
    """``may_skip``: checks the testbed cannot judge (skipped with their reason whatever the fault);
    ``faults_on``: how many faults ``fault`` stands for (a batch of them: one finding each)."""
    also = run.with_outcome("failed") & set(fault.may_also)
    failed = run.with_outcome("failed") - also
    expected = set(fault.catches)
    assert failed == expected, (
        f"fault {fault.name}: not caught by {sorted(expected - failed)}; "
        f"false alarms {sorted(failed - expected)}\n{run.output[-3000:]}"
    )
    # A check the fault may also fail (a real runtime's race) fails as a consequence of its finding.
    rows = {c["check"]: c for c in run.gate["failed"]}
    alone = sorted(check for check in also if not rows.get(check, {}).get("consequence_of"))
    assert not alone, f"fault {fault.name}: {alone} failed as findings of their own, not as consequences"
    for check in expected:
        assert run.message(check).strip(), f"{check} failed without a message"
    skipped = {c: o for c, o in run.outcomes.items() if c in fault.skips}
    assert skipped == dict.fromkeys(fault.skips, "skipped"), (
        f"fault {fault.name}: these checks lose their input and must be skipped, not judged: {skipped}")
    others = {c: o for c, o in run.outcomes.items()
              if c not in expected and c not in fault.skips and not (o == "skipped" and c in may_skip)}
    # A fault that takes the target down leaves the other checks skipped, except those that can
    # still diagnose it (TLS scans), which may pass; none may fail.
    allowed = {"passed"} if fault.others == "pass" else {"skipped", "passed"}
    wrong = {c: o for c, o in others.items() if o not in allowed}
    assert not wrong, f"fault {fault.name}: other checks should have {fault.others}ed: {wrong}"
    if fault.others == "skip":
        assert "skipped" in others.values(), f"fault {fault.name} should have left checks skipped: {others}"
    # One finding per fault: its failed checks are one blocking row naming the others as consequences.
    findings = [c["check"] for c in run.gate["failed"] if not c.get("consequence_of")]
    # (A fault the catalog lists to prove it is no finding, a partial outage say, catches nothing.)
    assert len(findings) == (faults_on if fault.catches else 0), (
        f"fault {fault.name} is {faults_on} fault(s) but {len(findings)} findings: {findings} "
        f"(name a shared cause: check_record.cause, smokegate.checks.causes)")
    assert run.gate["verdict"] == "fail" or all(
        c["severity"] not in ("critical", "high") for c in run.gate["failed"]
    ), run.gate


# -- the real Next.js testbed ------------------------------------------------------------------------

NEXT_FAULTS = faults.for_testbed(faults.NEXT_TESTBED)


def _not_judged_on_next(outcomes: dict[str, str]) -> frozenset[str]:
    """The checks of this run the real testbed cannot judge (faults.NOT_JUDGED_ON_NEXT)."""
    return frozenset(c for c in outcomes if c.startswith(faults.NOT_JUDGED_ON_NEXT))


def _next_paths(fault: faults.Fault) -> list[str]:
    """The modules holding the fault's checks and its quiet ones; the whole smoke suite only for a fault
    that takes the target down (every other check must then skip, and skipping is quick)."""
    paths = {f"tests/{check.split('::', 1)[0]}" for check in fault.catches} | {f"tests/{q}" for q in fault.quiet}
    if fault.others == "skip":
        paths = {p for p in paths if not p.startswith("tests/smoke/")} | {"tests/smoke"}
    return sorted(paths)


# The real testbed's faults run in batches, to keep make test within its time: several faults on at
# once whose checks live in different modules (or, in the page-load module, on different pages), each
# batch one run of the modules holding their checks, which must fail exactly the union of their checks
# while every other check of those modules passes.  A batch observes more than each fault's own run would
# (every fault meets the other modules of its batch); what it cannot tell apart is one fault also failing
# a check another fault of the batch makes fail, the way a fault's own run cannot see into the modules it
# does not run.  Faults whose effects reach past their checks (the target gone, every request slowed or
# refused, the waitlist held, error pages changed, checks' input taken away) run alone, and so does every
# fault not named here.
# (The Supabase project's faults all fail checks of one module, test_database_access.py: one per batch.)
NEXT_BATCHES: tuple[tuple[str, ...], ...] = (
    ("health-db-down", "tls-legacy-versions", "cookie-insecure", "cors-reflect-any", "ratelimit-off",
     "webhook-unsigned", "stack-trace-malformed-json", "uncaught-exception", "console-error", "rls-disabled",
     "secret-key-in-rsc"),
    # (db-url-in-health is not beside health-db-down, which replaces the health body's database entry.)
    ("health-slow", "tls-weak-cipher", "cookie-no-samesite", "cors-null-allowed", "ratelimit-no-retry-after",
     "webhook-get-handler", "page-load-slow", "layout-shift", "anon-writes-granted", "db-url-in-health"),
    ("health-db-slow", "tls13-off", "host-cookie-domain", "cors-suffix-match", "protected-api-open",
     "secret-in-chunk", "lcp-slow", "script-broken", "bucket-listable"),
    ("wrong-version", "csp-missing", "cors-wildcard-credentials", "jwt-alg-none", "dotenv-served",
     "open-redirect-sign-out", "api-slow", "input-validation-missing", "signups-open"),
    # dashboard-public also fails the access-control redirect checks (one fault, two findings): kept apart.
    ("health-static", "http-no-redirect", "x-powered-by", "cors-no-vary", "api-error", "chunk-broken", "page-slow",
     "dashboard-public"),
    # image-optimizer-open restarts next start (a config it reads when it starts): the others stay on.
    ("health-memory-high", "cors-www-regex", "source-map-turbopack", "page-500", "no-hsts", "schema-exposed",
     "image-optimizer-open"),
    ("late-error-300ms", "late-console-error-3s"),
)


def _next_batches() -> list[tuple[faults.Fault, ...]]:
    named = [name for batch in NEXT_BATCHES for name in batch]
    assert len(named) == len(set(named)), "a fault in two batches"
    assert set(named) <= {f.name for f in NEXT_FAULTS}, set(named) - {f.name for f in NEXT_FAULTS}
    alone = [(f,) for f in NEXT_FAULTS if f.name not in named]
    return [tuple(faults.CATALOG[name] for name in batch) for batch in NEXT_BATCHES] + alone


def _as_one(batch: tuple[faults.Fault, ...], testbed: str) -> faults.Fault:
    """The batch as one fault: the union of its checks, what they skip and leave quiet."""
    if len(batch) == 1:
        return batch[0]
    assert all(f.others == "pass" for f in batch), "a fault taking the target down runs alone"
    return faults.Fault("+".join(f.name for f in batch), "; ".join(f.description for f in batch),
                        tuple(c for f in batch for c in f.catches), skips=tuple(c for f in batch for c in f.skips),
                        quiet=tuple(q for f in batch for q in f.quiet), testbeds=(testbed,),
                        may_also=tuple(c for f in batch for c in f.may_also))


NEXT_RUNS = _next_batches()


def test_healthy_next_testbed_passes_every_check(healthy_next_testbed: RunningTestbed, tmp_path: Path) -> None:
    testbed = healthy_next_testbed
    # The load check runs on the Python testbed only (testbed/load.py holds its faults).
    run = run_suite([*suite_paths([s for s in SUITES if s != "load"]), *cli_for(testbed)], tmp_path,
                    env=env_for(testbed))
    not_judged = _not_judged_on_next(run.outcomes)
    not_passed = {c: o for c, o in run.outcomes.items() if o != "passed" and not (o == "skipped" and c in not_judged)}
    assert run.gate.get("verdict") == "pass" and not not_passed, (
        f"false alarms on the healthy real Next.js testbed: {not_passed}\n{run.output[-3000:]}"
    )
    judged = {c: o for c, o in run.outcomes.items() if c in not_judged and o != "skipped"}
    assert not judged, f"faults.NOT_JUDGED_ON_NEXT names checks the real testbed judged: {judged}"
    described_out = {prefix for prefix in faults.NOT_JUDGED_ON_NEXT if any(c.startswith(prefix) for c in not_judged)}
    assert described_out == set(faults.NOT_JUDGED_ON_NEXT), (
        f"NOT_JUDGED_ON_NEXT names checks this run did not have: {set(faults.NOT_JUDGED_ON_NEXT) - described_out}")
    assert run.returncode == 0, run.output[-3000:]


@pytest.mark.parametrize("batch", [pytest.param(b, id="+".join(f.name for f in b)) for b in NEXT_RUNS])
def test_fault_fails_exactly_its_checks_on_next(batch: tuple[faults.Fault, ...], next_testbed: RunningTestbed,
                                                tmp_path: Path) -> None:
    fault = _as_one(batch, faults.NEXT_TESTBED)
    next_testbed.set_faults([f.name for f in batch])
    try:
        run = run_suite([*_next_paths(fault), *cli_for(next_testbed)], tmp_path,
                        env=env_for(next_testbed))
    finally:
        next_testbed.set_faults([])
    _assert_exactly_its_checks_failed(fault, run, _not_judged_on_next(run.outcomes),
                                      faults_on=sum(1 for f in batch if f.catches))


def test_every_check_has_a_fault_that_catches_it(tmp_path: Path) -> None:
    """Collect the suites and compare their check functions with the catalog's."""
    import subprocess
    import sys

    from .conftest import ROOT

    ca = tmp_path / "ca.pem"
    ca.write_text("")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *suite_paths(SUITES),
         "--target", "local", "--reports-dir", str(tmp_path / "reports"), "--ca-bundle", "system"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    collected = {
        _function(line.split("tests/", 1)[1]) for line in done.stdout.splitlines() if line.startswith("tests/")
    }
    assert collected, done.stdout + done.stderr
    caught = {_function(check) for fault in faults.CATALOG.values() for check in fault.catches}
    assert not collected - caught, f"checks no fault can make fail: {sorted(collected - caught)}"
    assert not caught - collected, f"catalog names checks that do not exist: {sorted(caught - collected)}"


# -- the vulnerable build (make matrix-all) -----------------------------------------------------------
# nextjs-testbed-vulnerable/: self-hosted Next.js 15.2.2 (React 19.0.0 installed; its App Router pages run
# the React canary Next.js vendors, 19.1.0-canary-029e8bd6-20250306), its middleware guarding
# /dashboard and /api/user and the routes trusting it (the pattern CVE-2025-29927 breaks).  Its install
# and build are too slow for make test (21 s npm ci, 37 s to 3 min next build): make matrix-all builds it.
# Proven here: the real CVE answers the check's own header values (checks.nextjs_holes), the real pages carry
# the versions the advisory check reads, and the middleware-bypass and next-vulnerable faults, as the
# real testbed serving this build, fail exactly their checks.
VULNERABLE_APP = Path(__file__).resolve().parents[1] / "nextjs-testbed-vulnerable"


@pytest.mark.skipif(os.environ.get("SMOKEGATE_FAULT_MATRIX") != "all",
                    reason="the vulnerable Next.js build is built and proven by make matrix-all only")
def test_the_real_next_15_2_2_middleware_lets_x_middleware_subrequest_in(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import time

    import httpx
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from smokegate.checks import nextjs_holes as nextjs
    from smokegate.checks import versions
    from smokegate.testbed import realnext

    assert (VULNERABLE_APP / ".next" / "BUILD_ID").exists(), "not built: make nextjs-testbed-vulnerable"
    public_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    port = realnext.free_port()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ", "TMPDIR")}
    env.update({"NODE_ENV": "production", "NEXT_TELEMETRY_DISABLED": "1", "SESSION_PUBLIC_KEY": public_key,
                "NODE_OPTIONS": f'--require "{realnext.APP_DIR / realnext.LOOPBACK_DNS}"'})
    log = (tmp_path / "next.log").open("wb")
    server = subprocess.Popen([shutil.which("node") or "node", str(realnext.next_binary(VULNERABLE_APP)), "start",
                               "-H", "127.0.0.1", "-p", str(port)], cwd=VULNERABLE_APP, env=env, stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=15, trust_env=False) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    home = client.get("/")
                    break
                except httpx.TransportError:
                    assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "next.log").read_text()
                    time.sleep(0.2)
            # The versions the advisory check reads, from the scripts the real pages serve.
            scripts = [src for src in re.findall(r'<script src="([^"]+)"', home.text) if src.startswith("/_next/")]
            docs = [(src, client.get(src).text) for src in scripts]
            found_next, found_react = versions.next_version(docs), versions.react_version(docs)
            assert found_next and found_next.version == "15.2.2", (found_next, scripts)
            # The App Router ships the React Next.js vendors (next/dist/compiled/react-dom), not the installed one.
            assert found_react and found_react.version == "19.1.0-canary-029e8bd6-20250306", (found_react, scripts)
            # The middleware refuses without the header, and lets the scanners' values through (the real CVE).
            for path, refused in (("/api/user", lambda a: a.status_code == 401),
                                  ("/dashboard", lambda a: a.status_code == 307
                                   and a.headers["location"].split("?")[0].endswith("/sign-in"))):
                baseline = client.get(path)
                assert refused(baseline), (path, baseline.status_code, baseline.headers)
                admitted = {value: client.get(path, headers={"x-middleware-subrequest": value}).status_code
                            for value in nextjs.SUBREQUEST_VALUES}
                # 15.x: the name five times (the polyglot and "middleware" x5); the 12.x values stay refused.
                assert admitted[nextjs.SUBREQUEST_VALUES[0]] == 200 and admitted[nextjs.SUBREQUEST_VALUES[1]] == 200, (
                    path, admitted)
                assert admitted["middleware"] != 200, (path, admitted)
    finally:
        server.terminate()
        server.wait(10)
        log.close()


# The two catalog faults are one deployment on a real build: Next.js 15.2.2 is both the middleware that
# trusts x-middleware-subrequest and the version the advisories name.  So the vulnerable build, served
# as the real testbed serves its main build (realnext: next start behind nginx, --build vulnerable), is
# one run of both faults' modules: exactly their checks fail, as one finding (the cause both name,
# the deployed Next.js: check_record.cause "framework:next"), every other check of those modules passes.
@pytest.mark.skipif(os.environ.get("SMOKEGATE_FAULT_MATRIX") != "all",
                    reason="the vulnerable Next.js build is built and proven by make matrix-all only")
def test_the_vulnerable_build_fails_exactly_the_middleware_bypass_and_advisory_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smokegate.testbed import realnext

    assert (VULNERABLE_APP / ".next" / "BUILD_ID").exists(), "not built: make nextjs-testbed-vulnerable"
    monkeypatch.setenv(realnext.APP_DIR_ENV, str(VULNERABLE_APP))
    fault = _as_one((faults.CATALOG["middleware-bypass"], faults.CATALOG["next-vulnerable"]), faults.NEXT_TESTBED)
    with RunningTestbed.start(tmp_path / "testbed", kind="next", timeout_s=120) as testbed:
        assert testbed.info["app_dir"] == str(VULNERABLE_APP)
        run = run_suite([*_next_paths(fault), *cli_for(testbed)], tmp_path, env=env_for(testbed))
    _assert_exactly_its_checks_failed(fault, run, _not_judged_on_next(run.outcomes), faults_on=1)
    assert "15.2.2" in run.message("security/test_vulnerabilities.py::test_no_critical_advisory_applies"), run.output
