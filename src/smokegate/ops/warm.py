"""Imported once by the fork server of ``smokegate watch`` (see :mod:`smokegate.ops.runner`).

It imports what every pytest run of the suite would import, minus anything pytest rewrites, then
freezes the garbage collector's view of it: a forked run shares these pages with the server and
its own collections (pytest runs two at exit) no longer walk them.  The server ignores SIGTERM:
a signal sent to the watcher's whole process group (``timeout``, a terminal) must not kill it
while runs are in flight; it exits when the watcher does (its pipe to the watcher closes).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import signal

from smokegate.ops.runner import WARM_MODULES

for _name in WARM_MODULES:
    with contextlib.suppress(ImportError):  # e.g. pytest-httpserver's werkzeug, a dev dependency
        importlib.import_module(_name)
gc.collect()
gc.freeze()
signal.signal(signal.SIGTERM, signal.SIG_IGN)
