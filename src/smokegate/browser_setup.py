"""``python -m smokegate.browser_setup``: exit 0 when a usable Chromium is on this machine.

Used by ``make`` to decide whether to install Debian's chromium; it never downloads anything.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

SYSTEM_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def playwright_chromium() -> str | None:
    """The Chromium that ``playwright install chromium`` put on this machine, if any."""
    root = Path.home() / ".cache" / "ms-playwright"
    for candidate in sorted(root.glob("chromium-*/chrome-linux*/chrome"), reverse=True):
        if candidate.is_file():
            return str(candidate)
    return None


def system_chromium() -> str | None:
    for name in SYSTEM_BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def find_chromium() -> str | None:
    return playwright_chromium() or system_chromium()


def main() -> int:
    found = find_chromium()
    if found:
        print(f"browser: {found}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
