"""A failed browser check's trace and screenshot, paid for only when a check fails.

pytest-playwright's ``--tracing retain-on-failure`` and ``--screenshot only-on-failure`` record
every browser context and, whenever one closes, export its trace and take a screenshot, passing or
not; only afterwards are they thrown away.  On a page that loads in 200 ms that is most of the cost
of a sample.  Unless ``--tracing`` or ``--screenshot`` is given (then pytest-playwright does exactly
what was asked, for every context), smokegate keeps the same evidence its own way:

- a check's own contexts (the sign-in journeys, the signed-in checks) are traced with DOM snapshots
  but no screencast; when the check fails, each context still open gets a screenshot of its pages
  (inputs masked) and its trace exported, under pytest-playwright's names (``test-failed-N.png``,
  ``trace.zip``); when it passes, the trace is dropped unexported;
- samples (the page loads and captured OAuth redirects several checks judge) are not traced at
  all.  When a check judging them fails, the page is loaded once more (the button clicked once
  more) in a traced context of that check: its screenshot and trace are the evidence, a fresh load
  made after the failure and not one of the loads judged.  Each page gets one such load per worker;
  a later check failing on the same page links it.

The console and request logs of every context (:mod:`smokegate.plugin.artifacts`) are kept as
before, samples included.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from smokegate.plugin import compat, foreign_options

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

# Snapshots give the trace viewer each action's DOM; the screencast (screenshots=True) is what
# makes recording expensive, and the failure screenshot shows the end state anyway.
TRACE_SCREENCAST = False
MASK_INPUTS_CSS = (
    "input, textarea, [contenteditable] { color: transparent !important; text-shadow: none !important;"
    " -webkit-text-security: disc !important; caret-color: transparent !important; }"
)
KEPT_KEY = pytest.StashKey[list[tuple[str, str]]]()
NOTE_KEY = pytest.StashKey[str]()
_SHARED_KEY = pytest.StashKey[dict[str, list[tuple[str, str]]]]()


@dataclass(frozen=True)
class Policy:
    """Which evidence smokegate records itself (what the command line left to it)."""

    traces: bool
    screenshots: bool

    @classmethod
    def of(cls, config: pytest.Config) -> Policy:
        return cls(traces=not foreign_options.given(config, "--tracing"),
                   screenshots=not foreign_options.given(config, "--screenshot"))

    @property
    def any(self) -> bool:
        return self.traces or self.screenshots


def failed_before_teardown(item: pytest.Item) -> bool:
    """Did the check fail (setup or call), as far as known while its fixtures are torn down?"""
    call = getattr(item, "rep_call", None)
    if call is not None:
        return bool(call.failed)
    setup = getattr(item, "rep_setup", None)
    return setup is not None and bool(setup.failed)


@dataclass
class _Watched:
    context: BrowserContext
    traced: bool
    shows: str | None


@dataclass
class Recorder:
    """The contexts one check made, and what is kept of them if it fails."""

    policy: Policy
    output_path: str
    open: list[_Watched] = field(default_factory=list)
    # Traces of contexts closed while the check ran, exported then (the check's outcome unknown yet).
    closed_traces: list[Path] = field(default_factory=list)

    def watch(self, context: BrowserContext, traced: bool, shows: str | None = None) -> None:
        """Follow ``context`` until it closes; ``traced``: trace it (kept if the check fails);
        ``shows`` names the evidence it makes (``page:/pricing``) for later checks to link."""
        watched = _Watched(context, traced and self.policy.traces, shows)
        if watched.traced:
            context.tracing.start(snapshots=True, screenshots=TRACE_SCREENCAST, sources=False)
        self.open.append(watched)

        def closing() -> None:
            if watched in self.open:
                self.open.remove(watched)
                if watched.traced:
                    with contextlib.suppress(Exception):
                        path = Path(tempfile.mkdtemp(prefix="smokegate-trace-")) / "trace.zip"
                        context.tracing.stop(path=path)
                        self.closed_traces.append(path)

        compat.before_close(context, closing)

    def finish(self, failed: bool, shared: dict[str, list[tuple[str, str]]]) -> list[tuple[str, str]]:
        """At the check's teardown, before its contexts close: its evidence if it failed, else nothing."""
        kept: list[tuple[str, str]] = []
        closed, self.closed_traces = self.closed_traces, []
        still_open, self.open = self.open, []
        if not failed:
            for watched in still_open:
                if watched.traced:
                    with contextlib.suppress(Exception):
                        watched.context.tracing.stop()
            for path in closed:
                shutil.rmtree(path.parent, ignore_errors=True)
            return kept
        folder = Path(self.output_path)
        folder.mkdir(parents=True, exist_ok=True)
        total = len(closed) + sum(w.traced for w in still_open)
        names = iter(["trace.zip"] if total == 1 else [f"trace-{n}.zip" for n in range(1, total + 1)])
        for path in closed:
            target = folder / next(names)
            shutil.move(str(path), target)
            shutil.rmtree(path.parent, ignore_errors=True)
            kept.append(("trace", str(target)))
        screenshots = 0
        for watched in still_open:
            files: list[tuple[str, str]] = []
            if self.policy.screenshots:
                for page in watched.context.pages:
                    with contextlib.suppress(Exception):
                        page.add_style_tag(content=MASK_INPUTS_CSS)
                    screenshots += 1
                    target = folder / f"test-failed-{screenshots}.png"
                    with contextlib.suppress(Exception):
                        page.screenshot(path=target, timeout=5000)
                        files.append(("screenshot", str(target)))
            if watched.traced:
                target = folder / next(names)
                with contextlib.suppress(Exception):
                    watched.context.tracing.stop(path=target)
                    files.append(("trace", str(target)))
            if watched.shows is not None:
                shared[watched.shows] = files
            kept += files
        return kept


def shared_evidence(config: pytest.Config) -> dict[str, list[tuple[str, str]]]:
    """Evidence already made on this worker, by what it shows: a later failure on it links it."""
    return config.stash.setdefault(_SHARED_KEY, {})


def keep(item: pytest.Item, kept: list[tuple[str, str]], note: str | None = None) -> None:
    """Files the check keeps as evidence, named on its teardown report by the artifacts plugin."""
    stash = item.stash.setdefault(KEPT_KEY, [])
    stash.extend(k for k in kept if k not in stash)
    if note:
        item.stash[NOTE_KEY] = note


def evidence_once(item: pytest.Item, shows: str, make: Callable[[str], None], description: str) -> None:
    """Make evidence showing ``shows`` — ``make(shows)`` loads or clicks once more in a traced context
    of this check, left open — unless an earlier check on this worker did: then link that."""
    done = shared_evidence(item.config)
    if shows in done:
        if done[shows]:
            keep(item, done[shows], f"The screenshot and trace linked here are of {description}, made when an "
                                    "earlier check failed on it: not one of the loads this check judged.")
        return
    done[shows] = []  # filled in by Recorder.finish when this check's contexts are torn down
    item.stash[NOTE_KEY] = (f"The screenshot and trace linked here are of {description}, made after this check "
                            "failed: not one of the loads it judged (samples are not traced).")
    with contextlib.suppress(Exception):
        make(shows)
