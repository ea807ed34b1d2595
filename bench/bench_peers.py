"""Benchmark: smokegate's parts beside the peers doing the same job, in one run against one testbed.

Starts its own testbed on free loopback ports and measures, printing a markdown table of medians:

1. ``GET /api/health``: smokegate's probe against ``curl -w '%{time_total}'`` (bench_smoke.py's code).
2. TLS: ``pytest tests/security/test_tls.py`` wall time from the shell against the sslyze CLI
   (``--mozilla_config=intermediate --certinfo_ca_file=<testbed CA>``), once with sslyze's default
   scan commands and once with only the commands Mozilla's checker reads (what smokegate scans).
3. Page load: ``pytest tests/synthetic/test_page_load.py`` wall per URL against Lighthouse's wall per
   URL (one CLI run per URL, system Chromium, ``--throttling-method=provided``: no simulated
   throttling, both measure the same unthrottled load), and, with the testbed's ``page-load-slow``
   and ``lcp-slow`` faults on (3 s each, testbed/auth.py), the load time and LCP each tool reports.
4. The whole suite (smoke + security + synthetic, as ``make demo`` runs it: no ``-n``) and the
   HTTP-only gate (``tests/smoke tests/security -m "not intrusive"``), wall time from the shell.

Chromium trusts the testbed the way the synthetic suite makes it (synthetic/cert_pin.py): Python
verifies the certificate against the testbed's CA, then Chromium gets
``--ignore-certificate-errors-spki-list`` with that one key; Lighthouse's Chromium gets the same
flag.  The testbed's HTTP listener only redirects to HTTPS, so pages are measured over HTTPS.
Nothing leaves loopback: Chromium runs with the quiet flags (no background networking, updater, sync).

``make bench`` installs Lighthouse into bench/node_modules (bench/package.json, pinned) first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench_smoke import curl_times, probe_times
from smokegate.synthetic.browser import CHROMIUM_FLAGS, find_chromium
from smokegate.synthetic.cert_pin import spki_pin
from smokegate.testbed.auth import LCP_SLOW_S, PAGE_LOAD_SLOW_S
from smokegate.testbed.control import RunningTestbed
from smokegate.testbed.suite_env import SUITES, testbed_environment

ROOT = Path(__file__).resolve().parent.parent
LIGHTHOUSE = ROOT / "bench" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
PAGE_LOAD = "tests/synthetic/test_page_load.py"
TLS = "tests/security/test_tls.py"
PAGES = {"landing": "/", "pricing": "/pricing", "sign-in": "/sign-in"}
FAULTS = {"page-load-slow": PAGE_LOAD_SLOW_S, "lcp-slow": LCP_SLOW_S}  # both slow the landing page
SUBPROCESS_TIMEOUT_S = 900.0
LIGHTHOUSE_TIMEOUT_S = 180.0


@dataclass
class Runs:
    """How many times each measurement is repeated (HTTP latency: bench_smoke.SAMPLES requests each)."""

    tls: int = 5
    page_load: int = 3
    lighthouse: int = 3
    fault: int = 3
    suite: int = 3
    gate: int = 5


@dataclass
class Results:
    machine: dict[str, Any] = field(default_factory=dict)
    values: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, key: str, value: float) -> None:
        self.values.setdefault(key, []).append(value)

    def median(self, key: str) -> float | None:
        values = self.values.get(key)
        return statistics.median(values) if values else None

    def n(self, key: str) -> int:
        return len(self.values.get(key, []))


def machine() -> dict[str, Any]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, str]:
    found: dict[str, str] = {}
    for name, command in {
        "chromium": [CHROMIUM, "--version"],
        "node": ["node", "--version"],
        "curl": ["curl", "--version"],
    }.items():
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=30).stdout
            found[name] = out.splitlines()[0].strip() if out else "?"
        except (OSError, subprocess.TimeoutExpired):
            found[name] = "not found"
    package = ROOT / "bench" / "node_modules" / "lighthouse" / "package.json"
    found["lighthouse"] = json.loads(package.read_text())["version"] if package.exists() else "not installed"
    from importlib.metadata import version

    found["sslyze"] = version("sslyze")
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            own = playwright.chromium.executable_path
        found["smokegate's browser"] = find_chromium(own, headless=True) or own
    except Exception as exc:
        found["smokegate's browser"] = f"? ({exc})"
    return found


def wall(command: Sequence[str], *, env: dict[str, str] | None = None,
         timeout: float = SUBPROCESS_TIMEOUT_S) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of ``command`` from the shell prompt (process start to exit), and its result."""
    started = time.perf_counter()
    done = subprocess.run(list(command), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return time.perf_counter() - started, done


def pytest_command(testbed: RunningTestbed, reports: Path, *paths: str) -> list[str]:
    """The suite's command line against the testbed, as tools/demo.py builds it."""
    return [
        sys.executable, "-m", "pytest", *paths, "-q", "--target", "local", "--base-url", testbed.url,
        "--ca-bundle", testbed.ca_file, "--http-url", testbed.http_url, "--expect-version", testbed.version,
        "--reports-dir", str(reports), "-p", "no:cacheprovider",
    ]


def gate(reports: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((reports / "gate.json").read_text())
    return data


def measured(gate_data: dict[str, Any], check: str) -> float | None:
    for row in gate_data["checks"]:
        if row["check"] == check:
            value = row.get("measured")
            return None if value is None else float(value)
    return None


class Bench:
    def __init__(self, testbed: RunningTestbed, tmp: Path, runs: Runs, results: Results) -> None:
        self.testbed = testbed
        self.tmp = tmp
        self.runs = runs
        self.results = results
        self.env = {**os.environ, **testbed_environment(testbed)}
        self._count = 0

    def reports(self) -> Path:
        self._count += 1
        return self.tmp / f"reports-{self._count}"

    def pytest(self, key: str, *paths: str, extra: Sequence[str] = (), must_pass: bool = True) -> dict[str, Any]:
        reports = self.reports()
        seconds, done = wall([*pytest_command(self.testbed, reports, *paths), *extra], env=self.env)
        if must_pass and done.returncode != 0:
            raise RuntimeError(f"{' '.join(paths)} failed against the healthy testbed:\n{done.stdout[-2000:]}")
        self.results.add(key, seconds)
        return gate(reports)

    # 1. HTTP latency -------------------------------------------------------------------------
    def latency(self) -> None:
        for value in curl_times(self.testbed):
            self.results.add("curl_ms", value)
        for value in probe_times(self.testbed, fresh=True):
            self.results.add("probe_fresh_ms", value)
        for value in probe_times(self.testbed, fresh=False):
            self.results.add("probe_reused_ms", value)

    # 2. TLS ----------------------------------------------------------------------------------
    def tls(self) -> None:
        from sslyze.mozilla_tls_profile.tls_config_checker import SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER

        parts = urlsplit(self.testbed.url)
        server = f"{parts.hostname}:{parts.port}"
        sslyze = [str(Path(sys.executable).parent / "sslyze"), "--mozilla_config=intermediate",
                  f"--certinfo_ca_file={self.testbed.ca_file}", "--quiet"]
        # The CLI's option for each command Mozilla's checker reads (what smokegate's scan runs).
        options = {"certificate_info": "--certinfo", "elliptic_curves": "--elliptic_curves",
                   "heartbleed": "--heartbleed", "openssl_ccs_injection": "--openssl_ccs", "robot": "--robot",
                   "session_renegotiation": "--reneg", "ssl_2_0_cipher_suites": "--sslv2",
                   "ssl_3_0_cipher_suites": "--sslv3", "tls_1_0_cipher_suites": "--tlsv1",
                   "tls_1_1_cipher_suites": "--tlsv1_1", "tls_1_2_cipher_suites": "--tlsv1_2",
                   "tls_1_3_cipher_suites": "--tlsv1_3", "tls_compression": "--compression",
                   "tls_extended_master_secret": "--ems", "tls_fallback_scsv": "--fallback"}
        mozilla_only = sorted(options[c.value] for c in SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER)
        from smokegate.security.tls_scan import scan

        for i in range(self.runs.tls):
            self.pytest("tls_smokegate_s", TLS)
            started = time.perf_counter()
            result = scan(parts.hostname or "", parts.port or 443, ca_file=self.testbed.ca_file)
            self.results.add("tls_scan_s", time.perf_counter() - started)
            if result.unknown or result.error or not result.trusted:
                raise RuntimeError(f"smokegate's scan of {server} did not complete: {result.unknown or result.error}")
            for key, command in (("tls_sslyze_default_s", [*sslyze, server]),
                                 ("tls_sslyze_mozilla_s", [*sslyze, *mozilla_only, server])):
                out = self.tmp / f"sslyze-{key}-{i}.json"
                seconds, done = wall([*command, f"--json_out={out}"], timeout=300)
                if done.returncode != 0:
                    raise RuntimeError(f"sslyze failed ({done.returncode}): {done.stderr[-2000:]}")
                self.results.add(key, seconds)
                if i == 0:
                    self.results.notes.append(f"sslyze ({key}): {sslyze_verdict(out)}")

    # 3. Page load against Lighthouse --------------------------------------------------------------
    def page_load(self) -> None:
        for _ in range(self.runs.page_load):
            data = self.pytest("pageload_smokegate_s", PAGE_LOAD)
            pages = {row["check"].rsplit("[", 1)[1].rstrip("]") for row in data["checks"] if "[" in row["check"]}
            self.results.values["pageload_smokegate_s"][-1] /= len(pages)
            self.record_smokegate(data, "healthy")

    def record_smokegate(self, data: dict[str, Any], state: str) -> None:
        load = measured(data, "synthetic/test_page_load.py::test_page_loads_within_budget[landing]")
        lcp = measured(data, "synthetic/test_page_load.py::test_largest_contentful_paint_is_good[landing]")
        if load is not None:
            self.results.add(f"{state}_smokegate_load_ms", load)
        if lcp is not None:
            self.results.add(f"{state}_smokegate_lcp_ms", lcp)

    def lighthouse_available(self) -> bool:
        if not LIGHTHOUSE.exists():
            self.results.notes.append(f"Lighthouse not installed ({LIGHTHOUSE}): run `make bench`, which runs npm ci")
            return False
        if not Path(CHROMIUM).exists():
            self.results.notes.append(f"no {CHROMIUM}: Lighthouse rows left out")
            return False
        return True

    def lighthouse(self, path: str, state: str, pin: str, throttling: str = "provided") -> None:
        """One Lighthouse CLI run on ``path``; its wall time, and for the landing page its load and LCP.

        ``provided``: no simulated throttling, the metrics are the load Chromium observed (and Lighthouse
        waits 5.25 s of network quiet and 5.25 s of CPU quiet, its nonSimulatedSettingsOverrides);
        ``simulate`` (its default): wall time only, its metrics are a model's, not comparable.
        """
        out = self.tmp / f"lighthouse-{self._next()}.json"
        # A flag Chromium ignores, naming this run: chrome-launcher starts Chromium in a session of its own,
        # so a Lighthouse killed at its timeout would leave it running; the marker finds it (and only it).
        marker = f"--smokegate-bench-run={os.getpid()}-{self._next()}"
        flags = [*CHROMIUM_FLAGS, "--headless=new", "--no-sandbox", f"--ignore-certificate-errors-spki-list={pin}",
                 marker]
        command = [
            str(LIGHTHOUSE), self.testbed.url + path, "--only-categories=performance",
            f"--throttling-method={throttling}", "--output=json", f"--output-path={out}", "--quiet",
            f"--chrome-flags={' '.join(flags)}",
            # smokegate's viewport (plugin/browser_fixtures.py): a 1280 × 720 desktop, not Lighthouse's phone.
            "--form-factor=desktop", "--screenEmulation.mobile=false", "--screenEmulation.width=1280",
            "--screenEmulation.height=720", "--screenEmulation.deviceScaleFactor=1",
        ]
        try:
            # TMPDIR: chrome-launcher's profile directory lands in the bench's temporary directory, removed at
            # the end even when a killed run could not remove it.
            env = {**os.environ, "CHROME_PATH": CHROMIUM, "TMPDIR": str(self.tmp)}
            seconds, done = wall(command, env=env, timeout=LIGHTHOUSE_TIMEOUT_S)
        finally:
            left = kill_marked(marker)
        if left:
            self.results.notes.append(f"Lighthouse on {path} left {left} Chromium process(es) running: killed")
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"lighthouse {path} failed ({done.returncode}): {done.stderr[-2000:]}")
        report = json.loads(out.read_text())
        if report.get("runtimeError"):
            raise RuntimeError(f"lighthouse {path}: {report['runtimeError']}")
        audits = report["audits"]
        if throttling != "provided":
            self.results.add(f"{state}_lighthouse_{throttling}_s", seconds)
            return
        self.results.add(f"{state}_lighthouse_s", seconds)
        if path == "/":
            observed = audits["metrics"]["details"]["items"][0]
            self.results.add(f"{state}_lighthouse_lcp_ms", float(audits["largest-contentful-paint"]["numericValue"]))
            self.results.add(f"{state}_lighthouse_load_ms", float(observed["observedLoad"]))

    def _next(self) -> int:
        self._count += 1
        return self._count

    def lighthouse_pages(self, pin: str) -> None:
        for _ in range(self.runs.lighthouse):
            for path in PAGES.values():
                self.lighthouse(path, "healthy", pin)
                self.lighthouse(path, "healthy", pin, throttling="simulate")

    def faults(self, pin: str | None) -> None:
        for fault in FAULTS:
            self.testbed.set_faults([fault])
            try:
                for _ in range(self.runs.fault):
                    # The fault's check fails (that is the point): wall times here are not compared.
                    data = self.pytest(f"{fault}_smokegate_run_s", PAGE_LOAD, extra=["-k", "landing"], must_pass=False)
                    self.record_smokegate(data, fault)
                    if pin is not None:
                        self.lighthouse("/", fault, pin)
            finally:
                self.testbed.set_faults([])

    # 4. Whole suite and HTTP-only gate -------------------------------------------------------------
    def suites(self) -> None:
        suites = [s for s in SUITES if any((ROOT / s).glob("test_*.py"))]
        for _ in range(self.runs.gate):
            data = self.pytest("gate_s", "tests/smoke", "tests/security", extra=["-m", "not intrusive"])
            self.results.machine["gate_checks"] = data["counts"]["passed"]
        for _ in range(self.runs.suite):
            data = self.pytest("suite_s", *suites)
            self.results.machine["suite_checks"] = data["counts"]["passed"]
            self.results.machine["suite_requests"] = data["requests_sent"]


def kill_marked(marker: str) -> int:
    """SIGKILL the processes whose command line holds ``marker`` (one Lighthouse run's Chromium)."""
    killed = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            arguments = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in arguments:
            try:
                os.kill(int(proc.name), signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


def sslyze_verdict(path: Path) -> str:
    """What sslyze concluded: the chain's trust against the supplied CA, and Mozilla compliance."""
    try:
        data = json.loads(path.read_text())
        result = data["server_scan_results"][0]["scan_result"]["certificate_info"]["result"]
        deployments = result["certificate_deployments"]
        validations = deployments[0]["path_validation_results"]
        trusted = [r["trust_store"]["name"] for r in validations if r.get("was_validation_successful")]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        return f"could not read its JSON ({exc!r})"
    return f"chain trusted by {', '.join(trusted) or 'no store'}"


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def spread(results: Results, key: str, digits: int = 2) -> str:
    """``median (min–max)`` of ``key``."""
    values = results.values.get(key)
    if not values:
        return "—"
    return f"{fmt(statistics.median(values), digits)} ({fmt(min(values), digits)}–{fmt(max(values), digits)})"


def ratio(peer: float | None, ours: float | None) -> str:
    return "—" if peer is None or ours is None or ours == 0 else f"{peer / ours:.2f} ×"


def diff(peer: float | None, ours: float | None) -> str:
    if peer is None or ours is None or ours == 0:
        return "—"
    return f"{peer - ours:+.0f} ms ({(peer - ours) / ours * 100:+.1f} %)"


def table(results: Results, runs: Runs) -> str:
    m, n = results.median, results.n

    def c(key: str, digits: int = 2) -> str:
        return spread(results, key, digits)

    rows: list[tuple[str, str, str, str, str]] = [
        ("`GET /api/health`, fresh connection each (ms)", f"probe {c('probe_fresh_ms')}",
         f"`curl -w '%{{time_total}}'` {c('curl_ms')}", ratio(m("curl_ms"), m("probe_fresh_ms")),
         f"{n('probe_fresh_ms')} each"),
        ("`GET /api/health`, probe's reused connection (ms)", f"probe {c('probe_reused_ms')}", "—", "—",
         str(n("probe_reused_ms"))),
        ("TLS checks, wall from the shell (s)", f"`pytest {TLS}` (11 checks) {c('tls_smokegate_s')}",
         f"`sslyze --mozilla_config=intermediate --certinfo_ca_file=…`, default scans {c('tls_sslyze_default_s')}",
         ratio(m("tls_sslyze_default_s"), m("tls_smokegate_s")), f"{n('tls_smokegate_s')} each"),
        ("", f"its sslyze scan alone, in process (`security.tls_scan.scan`) {c('tls_scan_s')}",
         f"same, only the 15 scans Mozilla's checker reads {c('tls_sslyze_mozilla_s')}",
         f"{ratio(m('tls_sslyze_mozilla_s'), m('tls_smokegate_s'))} the pytest run, "
         f"{ratio(m('tls_sslyze_mozilla_s'), m('tls_scan_s'))} the scan alone", str(n("tls_sslyze_mozilla_s"))),
        ("Page load, wall per URL (s)",
         f"`pytest {PAGE_LOAD}` (3 loads/URL, 6 checks) {c('pageload_smokegate_s')}",
         f"Lighthouse, `--throttling-method=provided` (1 load/URL) {c('healthy_lighthouse_s')}",
         ratio(m("healthy_lighthouse_s"), m("pageload_smokegate_s")),
         f"{n('pageload_smokegate_s')} runs × {len(PAGES)} URLs / {n('healthy_lighthouse_s')} Lighthouse runs"),
        ("", "", f"Lighthouse, default simulated throttling (wall only) {c('healthy_lighthouse_simulate_s')}",
         ratio(m("healthy_lighthouse_simulate_s"), m("pageload_smokegate_s")),
         f"{n('healthy_lighthouse_simulate_s')} Lighthouse runs"),
    ]
    for state, label in [("healthy", "landing `/`, healthy")] + [
            (f, f"landing `/`, `{f}` (+{d:g} s)") for f, d in FAULTS.items()]:
        for metric, name in (("load", "load event"), ("lcp", "LCP")):
            ours, peer = f"{state}_smokegate_{metric}_ms", f"{state}_lighthouse_{metric}_ms"
            rows.append((f"{label}: {name} (ms)", f"{c(ours, 0)}, each a median of 3 loads", f"Lighthouse {c(peer, 0)}",
                         diff(m(peer), m(ours)), f"{n(ours)} / {n(peer)}"))
    machine = results.machine
    rows += [
        (f"Whole suite, smoke + security + synthetic, no `-n` ({machine.get('suite_checks', '?')} checks, "
         f"{machine.get('suite_requests', '?')} requests) (s)", c("suite_s"), "—", "—", str(n("suite_s"))),
        (f"HTTP-only gate, `tests/smoke tests/security -m \"not intrusive\"` "
         f"({machine.get('gate_checks', '?')} checks) (s)", c("gate_s"), "—", "—", str(n("gate_s"))),
    ]
    lines = ["| job | smokegate, median (min–max) | peer, median (min–max) | peer vs smokegate (medians) | n |",
             "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report(results: Results, runs: Runs) -> str:
    machine = results.machine
    start, end = (" / ".join(map(str, machine.get(k, []))) for k in ("loadavg_start", "loadavg_end"))
    head = [
        f"Machine: {machine['nproc']} CPUs, {machine['cpu']}; load average at start {start}, at end {end}"
        f" (1/5/15 min); {machine['date']}; {machine['os']}, Python {machine['python']}.",
        "Versions: " + "; ".join(f"{k} {v}" for k, v in machine.get("versions", {}).items()) + ".",
        f"Bench wall time {machine.get('bench_s', 0):.0f} s. Ratio = peer / smokegate; difference = Lighthouse − "
        "smokegate. Lighthouse: `--throttling-method=provided` (no simulated throttling, so it waits 5.25 s of "
        "network quiet and 5.25 s of CPU quiet after load), desktop 1280 × 720, system Chromium trusting the "
        "testbed's key by SPKI pin as the synthetic suite does; smokegate's Chromium is the headless shell when "
        "installed. Fault rows: smokegate runs `-k landing` (its failing checks take evidence: wall not compared).",
    ]
    return "\n".join(head) + "\n\n" + table(results, runs) + "\n" + "".join(f"\n- {note}" for note in results.notes)


def run(runs: Runs, json_out: Path | None) -> int:
    if shutil.which("curl") is None:
        print("curl not found: install it to compare (apt-get install curl)")
        return 1
    results = Results(machine=machine())
    results.machine["versions"] = versions()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="smokegate-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with RunningTestbed.start(tmp / "testbed") as testbed:
            bench = Bench(testbed, tmp, runs, results)
            steps: list[tuple[str, Callable[[], None]]] = [
                ("HTTP latency", bench.latency), ("TLS", bench.tls), ("page load (smokegate)", bench.page_load)]
            pin: str | None = None
            if bench.lighthouse_available():
                pin = spki_pin(testbed.url, testbed.ca_file)
                pinned = pin
                steps.append(("page load (Lighthouse)", lambda: bench.lighthouse_pages(pinned)))
            steps += [("slow-page faults", lambda: bench.faults(pin)), ("whole suite and HTTP gate", bench.suites)]
            for name, step in steps:
                print(f"[{time.perf_counter() - started:6.0f} s] {name} ...", file=sys.stderr, flush=True)
                step()
    results.machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    results.machine["bench_s"] = time.perf_counter() - started
    text = report(results, runs)
    print(text)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps({"machine": results.machine, "values": results.values,
                                        "notes": results.notes, "runs": runs.__dict__}, indent=2))
        print(f"\nraw figures: {json_out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one run of everything (to try the bench itself)")
    parser.add_argument("--json", type=Path, default=ROOT / "reports" / "bench-peers.json",
                        help="where to write the raw figures (default reports/bench-peers.json)")
    args = parser.parse_args(argv)
    runs = Runs(tls=1, page_load=1, lighthouse=1, fault=1, suite=1, gate=1) if args.quick else Runs()
    return run(runs, args.json)


if __name__ == "__main__":
    sys.exit(main())
