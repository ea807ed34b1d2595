"""``python -m smokegate.synthetic.browser_setup``: exit 0 when a usable Chromium is on this machine.

Used by ``make`` to decide whether to install Debian's chromium; it never downloads anything.
The choice is the synthetic suite's own (:func:`smokegate.synthetic.browser.find_chromium`).
"""

from __future__ import annotations

import sys

from playwright.sync_api import sync_playwright

from smokegate.synthetic.browser import NoBrowser, find_chromium


def main() -> int:
    with sync_playwright() as playwright:
        own = playwright.chromium.executable_path
    try:
        system = find_chromium(own)
    except NoBrowser as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"browser: {system or own}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
