"""Benchmark: wall time of the smoke suite against the testbed, and the probe's latency vs curl's.

Prints medians (the machine is noisy): the smoke suite's wall time over RUNS runs, and the total
time of GET /api/health measured by smokegate's probe and by ``curl -w '%{time_total}'``, 20 each,
both on fresh connections and on the probe's reused connection.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from smokegate.config import load_config, resolve_target
from smokegate.probe import Probe
from smokegate.testbed.control import RunningTestbed

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
SAMPLES = 20


def smoke_wall_times(testbed: RunningTestbed, reports: Path) -> list[float]:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pytest", "tests/smoke", "-q", "-p", "no:cacheprovider", "--target", "local",
             "--base-url", testbed.url, "--ca-bundle", testbed.ca_file, "--expect-version", testbed.version,
             "--reports-dir", str(reports)],
            cwd=ROOT, check=True, capture_output=True, timeout=300,
        )
        times.append(time.perf_counter() - started)
    return times


def probe_times(testbed: RunningTestbed, fresh: bool) -> list[float]:
    target = resolve_target(load_config(ROOT / "smokegate.toml"), "local", testbed.url).model_copy(
        update={"ca_bundle": testbed.ca_file})
    values = []
    probe = Probe(target)
    for _ in range(SAMPLES):
        if fresh:
            probe.close()
            probe = Probe(target)
        values.append(probe.get("/api/health").timing.total_ms)
    probe.close()
    return values


def curl_times(testbed: RunningTestbed) -> list[float]:
    values = []
    for _ in range(SAMPLES):
        out = subprocess.run(
            ["curl", "-s", "-o", "/dev/null", "-w", "%{time_total}", "--cacert", testbed.ca_file,
             "--max-time", "10", testbed.url + "/api/health"],
            check=True, capture_output=True, text=True, timeout=30,
        ).stdout
        values.append(float(out) * 1000)
    return values


def main() -> int:
    if shutil.which("curl") is None:
        print("curl not found: install it to compare (apt-get install curl)")
        return 1
    with tempfile.TemporaryDirectory() as tmp, RunningTestbed.start(Path(tmp) / "testbed") as testbed:
        walls = smoke_wall_times(testbed, Path(tmp) / "reports")
        fresh = probe_times(testbed, fresh=True)
        reused = probe_times(testbed, fresh=False)
        curl = curl_times(testbed)
    med = statistics.median
    print(f"smoke suite wall time: median {med(walls):.2f} s over {RUNS} runs "
          f"(min {min(walls):.2f}, max {max(walls):.2f})")
    print(f"GET /api/health, median of {SAMPLES}:")
    print(f"  curl -w time_total (fresh connection each): {med(curl):.2f} ms")
    print(f"  smokegate probe, fresh connection each:      {med(fresh):.2f} ms "
          f"(ratio to curl {med(fresh) / med(curl):.2f})")
    print(f"  smokegate probe, reused connection:          {med(reused):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
