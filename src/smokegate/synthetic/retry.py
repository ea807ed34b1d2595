"""A browser step the network cut, tried once more: :func:`goto` for a navigation, :func:`retry_cut` for
one request.  Whether a failure is the network's is :func:`smokegate.failures.is_transient`'s call, as
for every caller; cut twice, the step could not be determined (:class:`~smokegate.failures.Inconclusive`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from smokegate.failures import Inconclusive, is_transient
from smokegate.synthetic.steps import redact_url

T = TypeVar("T")


def goto(page: Page, url: str, timeout: float | None = None) -> Any:
    """``page.goto``, once more when the network cut the navigation; cut twice: Inconclusive.

    A cut navigation fails with the network error, or (cut in the middle of the page) never fires
    "load" and times out while a request of it failed with the network error.
    """
    reason = ""
    cuts: list[str] = []

    def on_failed(request: Any) -> None:
        if is_transient(request.failure or ""):
            cuts.append(f"{request.method} {redact_url(request.url)}: {request.failure}")

    for _attempt in (1, 2):
        cuts.clear()
        page.on("requestfailed", on_failed)
        try:
            return page.goto(url, timeout=timeout)
        except PlaywrightError as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            if not is_transient(first_line) and not cuts:
                raise
            reason = cuts[0] if cuts else first_line
        finally:
            page.remove_listener("requestfailed", on_failed)
    shown = redact_url(url) if "://" in url else url
    raise Inconclusive(f"the network cut the navigation to {shown} twice (2 attempts); last: {reason}")


def retry_cut(step: Callable[[], T], what: str) -> tuple[T, float]:
    """Run one browser request; if the network cuts it, run it once more. Returns the result and the
    successful attempt's milliseconds; cut twice, the step could not be determined (Inconclusive)."""
    reason = ""
    for _attempt in (1, 2):
        started = time.monotonic()
        try:
            result = step()
        except PlaywrightError as exc:
            line = str(exc).splitlines()[0] if str(exc) else ""
            if not is_transient(line):
                raise
            reason = line.split(": ", 1)[-1]  # without Playwright's "APIRequestContext.get: "
            continue
        return result, (time.monotonic() - started) * 1000
    raise Inconclusive(f"{what}: {reason} (2 attempts)")
