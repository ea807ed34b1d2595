"""The fork server of ``smokegate watch`` (``python -m smokegate.plugin.forkserver``, started by the watcher).

It imports once what every pytest run of the suite imports anyway, freezes the garbage
collector's view of it, and then forks one child per run; the child becomes a fresh
``pytest.main`` run.  A short health run then skips the interpreter start and most imports.

Two kinds of imports, because pytest rewrites the asserts of its plugins' modules (smokegate's
own, pytest-playwright's, anyio's...) and warns, rewriting nothing, about any it finds imported
some other way:

- :data:`WARM_MODULES`: plain libraries, imported plainly.  None of them may be, or import, a
  module pytest rewrites.
- the pytest plugins themselves (:func:`preload_plugins`): imported through pytest's own
  assertion-rewriting import hook, marked exactly as pytest marks them, so a run finds them
  already rewritten, as if it had imported them itself.  If pytest's internals ever refuse this,
  the server says so on stderr and the runs import the plugins themselves (slower, the same).

A self-test runs a forked pytest with pytest's rewrite warning as an error and checks that the
plugins' modules were loaded by the rewriting hook, as in a fresh run.

Protocol on stdin and stdout, one JSON object per line::

    server -> watcher  {"ready": true, "plugins_preloaded": B}  once warm
    watcher -> server  {"id": N, "args": [...], "cwd": "...", "env": {...}, "log": "..."}
    server -> watcher  {"id": N, "pid": P}                      the run's process
    server -> watcher  {"pid": P, "exit": CODE}                 it ended (negative: killed by signal -CODE)

The server ignores SIGINT and SIGTERM (a signal to the watcher's whole process group must not
take it down while runs are in flight) and exits when its stdin closes: the watcher is gone.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.metadata
import json
import os
import selectors
import signal
import sys
import traceback
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

# What a run imports anyway; see the module docstring for what must never be here.
WARM_MODULES = (
    "pytest",
    "_pytest.assertion.rewrite",
    "asyncio",
    "playwright.sync_api",
    "httpx",
    "h11",
    "h2.connection",
    "pydantic",
    "sslyze",
    "cryptography.x509",
    "allure_commons",
    "trustme",
    "requests",
    "urllib3",
    "charset_normalizer",
    "certifi",
    "jinja2",
    "markupsafe",
    "slugify",
    "execnet",
    "packaging.version",
    "psycopg",
    "sqlite3",
    "tomllib",
    "xml.etree.ElementTree",
    "unittest",
    "doctest",
    "pdb",
    "difflib",
    "statistics",
    "werkzeug",  # pytest-httpserver's, where the dev extras are installed
)


def warm() -> None:
    for name in WARM_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def _forget_smokegate() -> None:
    for name in [n for n in sys.modules if n == "smokegate" or n.startswith("smokegate.")]:
        del sys.modules[name]


def preload_plugins() -> bool:
    """Import the pytest plugins (and the plugins they list) through pytest's rewriting hook."""
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return False  # runs will not load them either
    from smokegate.plugin import compat

    # This server was itself imported without the hook: forget it, so that smokegate is imported
    # below, rewritten, like any plugin.  (The code running here stays alive.)
    _forget_smokegate()
    hook = compat.plugin_rewrite_hook()
    if hook is None:  # a pytest whose internals differ: compat said so; each run imports its plugins
        print("smokegate fork server: pytest plugins not preloaded; each run imports them", file=sys.stderr)
        return False
    sys.meta_path.insert(0, hook)
    try:
        for entry in importlib.metadata.entry_points(group="pytest11"):
            try:
                module = entry.load()
                for name in getattr(module, "pytest_plugins", ()) or ():
                    importlib.import_module(name)
            except Exception:  # a plugin that cannot import fails the same way in a run
                continue
        _import_run_modules()
    finally:
        sys.meta_path.remove(hook)
    return True


# Never imported here: the testbed (a run has its own, elsewhere), the load generator's Locust file
# (gevent patches the standard library: only its own processes import it), the CLI's entry script.
NOT_PRELOADED = ("smokegate.testbed", "smokegate.load.locustfile", "smokegate.__main__")
AFTER_PLUGINS = ("stripe",)


def _import_run_modules() -> None:
    """smokegate's own modules, through the same hook: the plugin imports most of them lazily (config,
    preflight, reports, the checks the tests call), which cost a run 0.12-0.24 s of CPU each time
    (a fork of a warm server, measured); imported once here, a run finds them ready.  A module's import
    reads no environment or clock (each run sets its own after the fork), so a run sees what a fresh
    import would give it."""
    import pkgutil

    packages = ["smokegate"]
    while packages:
        package = importlib.import_module(packages.pop())
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            if info.name.startswith(NOT_PRELOADED):
                continue
            if info.ispkg:
                packages.append(info.name)
                continue
            with contextlib.suppress(Exception):  # one that cannot import fails the same way in a run
                importlib.import_module(info.name)
    # Libraries the checks import when they run, not a warm module: stripe imports anyio, which pytest
    # rewrites (a plugin), so it comes after the plugins.  The webhook checks sign with it (0.29 s).
    for name in AFTER_PLUGINS:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def run_pytest(args: Sequence[str], cwd: str, env: Mapping[str, str], log: str, *, preloaded: bool) -> NoReturn:
    """In the forked child: become a fresh pytest run in its own process group; exit with its code."""
    os.setpgid(0, 0)  # a terminal's Ctrl-C must not interrupt a run half-way (and record it as failed)
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the watcher stops a run that overstays its timeout
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    os.chdir(cwd)
    os.environ.update(env)
    if not preloaded:
        _forget_smokegate()  # imported plainly by the server: pytest must import and rewrite it itself
    code = 3  # pytest's "internal error", should anything below raise
    try:
        import pytest

        code = int(pytest.main(list(args)))
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


def _send(message: Mapping[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(1, data) :]


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _send({"pid": pid, "exit": os.waitstatus_to_exitcode(status)})


def serve() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)  # wakes the selector below
    warm()
    preloaded = preload_plugins()
    # Forks share these pages with the server; a frozen generation is not walked by the child's
    # collections (pytest runs two at exit), so the pages stay shared and the collections cheap.
    gc.collect()
    gc.freeze()
    _send({"ready": True, "plugins_preloaded": preloaded})
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    pending = b""
    while True:
        for key, _events in selector.select():
            if key.fd == wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
                _reap()
                continue
            data = os.read(0, 65536)
            if not data:
                return  # the watcher is gone; runs in flight finish and record themselves
            pending += data
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    os.close(wake_r)
                    os.close(wake_w)
                    run_pytest(request["args"], request["cwd"], request["env"], request["log"], preloaded=preloaded)
                _send({"id": request["id"], "pid": pid})


if __name__ == "__main__":
    serve()
