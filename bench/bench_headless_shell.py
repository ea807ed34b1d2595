"""Benchmark: Debian's Chromium beside its headless shell, loading the testbed's landing page.

The synthetic suite runs ``chromium-headless-shell`` when it is installed (what Playwright itself
runs headless) and ``chromium`` otherwise.  This loads the landing page LOADS times in a fresh
context each, with each browser, alternated over ROUNDS rounds, and prints the median load time
(navigation to the load event, as the page-load check counts it) and the CPU the browser and
Playwright's driver used per load, launch included (the children's rusage).
"""

from __future__ import annotations

import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from smokegate.synthetic.browser import CHROMIUM_FLAGS
from smokegate.testbed.control import RunningTestbed

LOADS = 15
ROUNDS = 2
BROWSERS = ("chromium", "chromium-headless-shell")


def loads(executable: str, url: str) -> tuple[float, float]:
    """Median wall seconds per load, and CPU seconds per load (browser and driver, launch included).

    The testbed's own CA is not installed in the browser: the bench ignores certificate errors.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    walls = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=[*CHROMIUM_FLAGS, "--no-sandbox"],
                                             timeout=30_000)
        for _ in range(LOADS):
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            started = time.perf_counter()
            page.goto(url, wait_until="load", timeout=30_000)
            walls.append(time.perf_counter() - started)
            context.close()
        browser.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return statistics.median(walls), cpu / LOADS


def main() -> int:
    found = {name: shutil.which(name) for name in BROWSERS}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        print(f"not installed: {', '.join(missing)} (apt-get install {' '.join(missing)})")
        return 1
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in BROWSERS}
    with tempfile.TemporaryDirectory() as tmp, RunningTestbed.start(Path(tmp) / "testbed") as testbed:
        for _ in range(ROUNDS):
            for name, path in found.items():
                assert path is not None
                results[name].append(loads(path, testbed.url + "/"))
    print(f"landing page, {LOADS} loads x {ROUNDS} rounds, fresh context each:")
    for name, rounds in results.items():
        wall = statistics.median(w for w, _ in rounds) * 1000
        cpu = statistics.median(c for _, c in rounds) * 1000
        print(f"  {name}: median load {wall:.0f} ms; CPU per load {cpu:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
