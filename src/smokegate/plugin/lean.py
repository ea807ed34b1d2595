"""Work a run skips because it costs time and changes no result (part of the HTTP gate's speed).

- **A frozen heap.**  Once the checks are collected, the objects that live for the whole run
  (modules, the config, the collected checks) move to the collector's permanent generation
  (:func:`gc.freeze`), so neither the collections during the run nor pytest's forced ones at its end
  (unraisableexception's ``gc.collect``) walk them again: 0.17 of 0.19 s of the HTTP gate's
  collecting went.  Garbage made by the checks is still collected; the heap is unfrozen when the
  run's config is cleaned up, so an in-process run (pytester) leaves nothing frozen behind.
- **A frozen heap at exit.**  After the last exit handler the interpreter tears its heap down, and
  the collector frees every cycle it finds there (modules, functions, the run's objects): 0.2-0.3 s
  of the HTTP gate's 3 s, after every report was written.  Freezing the heap again at exit (an
  ``atexit`` handler, registered when the heap is first frozen, so it runs after the handlers of
  everything imported later) leaves that memory to the operating system, as ending the process
  does anyway; nothing is lost but the collection of cycles, whose finalizers the interpreter does
  not promise to run at exit.
- **No browser bookkeeping on HTTP checks.**  pytest-playwright adds its autouse fixture
  ``_pw_trace_api_requests`` to every test; it does something only for a test that uses the
  ``playwright`` fixture (and so the browser).  For the others it is dropped from the check's
  fixtures before the run, sparing each of them a fixture setup and teardown and Allure's record of
  it (one JSON file per check).

All three start only when a target is chosen (the plugin is inert otherwise).
"""

from __future__ import annotations

import atexit
import gc

import pytest

from smokegate.plugin import compat
from smokegate.plugin import run as runs


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # Registered before pytest's own cleanups (its plugins configure after this tryfirst hook), so
    # it runs after them: their forced collections still see the frozen heap.
    config.add_cleanup(gc.unfreeze)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if runs.current(config) is None:
        return
    for item in items:
        if "playwright" not in getattr(item, "fixturenames", ("playwright",)):
            compat.drop_fixture(item, compat.PW_TRACE_API_REQUESTS)


_frozen_at_exit: list[bool] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    if runs.current(session.config) is not None:
        gc.freeze()
        if not _frozen_at_exit:  # once per process, however many in-process runs it makes
            atexit.register(gc.freeze)
            _frozen_at_exit.append(True)
