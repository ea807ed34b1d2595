"""Which Chromium to launch and how: Playwright's own where installed, else the system's.

Never a download at test time.  As root Chromium needs ``--no-sandbox``; the quiet-run flags keep
updater, sync and background traffic out of every measurement (and off a closed network).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from smokegate.cache import cache_dir

SYSTEM_CHROMIUM = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Chromium's headless shell (Debian's chromium-headless-shell, what Playwright itself runs headless):
# the same Blink and V8 without the browser's UI layer, about 0.4 x the CPU per page load
# (bench/bench_headless_shell.py).
HEADLESS_SHELL = ("chromium-headless-shell",)
INSTALL_HINT = "apt-get install chromium"
# Quiet, reproducible runs: no updater, sync or background traffic that could land in a measurement.
CHROMIUM_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)


class NoBrowser(Exception):
    """Neither Playwright's Chromium nor a system one: the message names the install command."""


def find_chromium(playwright_executable: str | None, which: Callable[[str], str | None] = shutil.which,
                  headless: bool = True) -> str | None:
    """The browser to launch: None means Playwright's own Chromium; else a system executable path,
    the headless shell first when running headless.

    Raises :class:`NoBrowser` naming the install command when there is neither (the plugin makes it a
    usage error).
    """
    if playwright_executable and Path(playwright_executable).is_file():
        return None
    for name in (*(HEADLESS_SHELL if headless else ()), *SYSTEM_CHROMIUM):
        found = which(name)
        if found:
            return found
    raise NoBrowser(
        "no Chromium for the synthetic suite: Playwright's browser is not installed and none of "
        f"{', '.join(SYSTEM_CHROMIUM)} is on PATH; install one with `{INSTALL_HINT}`"
    )


def launch_flags() -> list[str]:
    """Chromium's command-line flags for a quiet run (and ``--no-sandbox`` as root)."""
    flags = list(CHROMIUM_FLAGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to run its sandbox as root
    return flags


def driver_compile_cache() -> Path:
    """Where Node keeps the compiled code of Playwright's driver between runs (``NODE_COMPILE_CACHE``).

    The driver is a Node program that compiles Playwright's JavaScript at every start: with the
    cache a run after the first starts it about 0.1 s sooner (of 0.35-0.5 s, on 2 cores).  A user
    cache directory (XDG), never the reports; Node skips the cache silently when it cannot write it.
    """
    return cache_dir("node-compile-cache")
