"""Reading the providers' status pages: for the gate's check and for the hint on every incident.

Each page's answer is cached for ``providers.status.cache_s`` (a minute) per URL in the user's
cache directory, so the runs of one machine (a watcher's health probe every 30 s, the gate's check
and the incident of the same run) ask each page at most once a minute.  A cache that cannot be
written is skipped.  Reading a page for the hint never raises: a page that cannot be read is said
to be so, and a hint never changes a verdict.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smokegate.cache import cache_dir
from smokegate.checks.provider_status import PageReport, read_statuspage, read_stripe
from smokegate.failures import UNDETERMINED_PREFIX, CheckFailure, Inconclusive

if TYPE_CHECKING:
    from smokegate.config import Target
    from smokegate.providers.config import StatusPage

CACHE = "provider-status"


def _cache_file(url: str) -> Path:
    return cache_dir(CACHE) / (hashlib.sha256(url.encode()).hexdigest()[:32] + ".json")


def _cached(url: str, max_age_s: float) -> tuple[Any, float] | None:
    if max_age_s <= 0:
        return None
    try:
        data = json.loads(_cache_file(url).read_text(encoding="utf-8"))
        fetched = float(data["fetched_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not 0 <= time.time() - fetched <= max_age_s or data.get("url") != url:
        return None
    return data["body"], fetched


def _store(url: str, body: Any, fetched: float) -> None:
    path = _cache_file(url)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"url": url, "fetched_at": fetched, "body": body}, out)
        os.replace(temporary, path)
    except OSError:
        return  # the cache only saves a request


def fetch_page(page: StatusPage, *, ca_bundle: str, timeout_s: float, cache_s: float,
               on_request: Callable[[], None] | None = None) -> PageReport:
    """One page's report; raises :class:`Inconclusive` (network) or :class:`CheckFailure` (an answer
    no status page gives) when it cannot be read."""
    from smokegate.providers.client import ProviderApi, verify_context

    url, source = page.resolved_url()
    hit = _cached(url, cache_s)
    if hit is not None:
        body, fetched = hit
    else:
        with ProviderApi(f"{page.label}'s status page", url, timeout_s, verify_context(ca_bundle),
                         url_source=source, on_request=on_request) as api:
            body = api.send("GET", url).body
        fetched = time.time()
        _store(url, body, fetched)
    reader = read_stripe if page.kind == "stripe" else read_statuspage
    report = reader(page.label, url, body, page.components)
    report.fetched_at = datetime.fromtimestamp(fetched, UTC)
    return report


def _read_one(target: Target, page: StatusPage) -> PageReport:
    status = target.providers.status
    try:
        return fetch_page(page, ca_bundle=target.ca_bundle, timeout_s=status.timeout_s, cache_s=status.cache_s)
    except (Inconclusive, CheckFailure) as exc:
        reason = getattr(exc, "detail", None) or str(exc).removeprefix(UNDETERMINED_PREFIX)
        return PageReport(page.label, page.resolved_url()[0], unreadable=reason)
    except Exception as exc:  # a hint must never break the run that asks for it
        return PageReport(page.label, page.resolved_url()[0], unreadable=type(exc).__name__)


def read_all(target: Target, pages: Sequence[StatusPage] | None = None) -> list[PageReport]:
    """Every configured page, read in parallel, each either read or marked unreadable (never raises).

    The whole read ends after about one page timeout: a page still silent then is reported as such,
    so a failing run's incident is written in seconds whatever the status pages do.
    """
    import threading

    status = target.providers.status
    chosen = list(pages if pages is not None else status.pages)
    results: list[PageReport | None] = [None] * len(chosen)

    def read(index: int) -> None:
        results[index] = _read_one(target, chosen[index])

    threads = [threading.Thread(target=read, args=(i,), daemon=True, name=f"status-{p.name}")
               for i, p in enumerate(chosen)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + status.timeout_s + 1.0
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [result or PageReport(page.label, page.resolved_url()[0],
                                 unreadable=f"no answer within {status.timeout_s:g} s")
            for page, result in zip(chosen, results, strict=True)]
