"""How a run under xdist hands its checks to the workers: ``-n auto --dist loadgroup``.

Checks of one module share work each worker does once (a page's loads, the TLS scan, the captured
OAuth redirects, the signed-in session), so a module is one unit of work, sent whole to one worker;
checks marked ``xdist_group(name)`` form one unit across modules.  Units start in a useful order:
those that start a wait first (the rate-limit burst, whose window then runs out while the others
run), then the costliest (browser checks) before the cheap ones, so two workers finish together,
and last the checks that join a wait.

xdist's own ``loadgroup`` learns a check's group from a suffix it writes into the node id, which
pytest 9 no longer lets it set (pytest-xdist issue 1386): the groups are silently ignored.  Here the
groups travel beside the ids instead: each worker writes, once it has collected, every check's unit,
band and cost to the run's shared directory (:mod:`smokegate.shared`), and the controller's
scheduler — xdist's ``LoadScopeScheduling`` with these units — reads them.  A node id the file does
not name (a worker that could not write it) falls back to its module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

SCOPES_FILE = "units.json"
# When a unit starts: 0 first (it starts a wait), 1 by cost, 2 last (it joins a wait).
BAND = pytest.StashKey[int]()
EARLY, NORMAL, LATE = 0, 1, 2
# Rough cost of a check: one in a browser costs about twenty HTTP checks.
BROWSER_FIXTURES = frozenset({"browser", "new_context", "page", "context", "page_loads", "authorize_urls",
                              "signed_in_context", "signed_in_session"})
BROWSER_COST, HTTP_COST = 20, 1


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


def unit_of(item: pytest.Item) -> str:
    """The unit of work an item belongs to: its ``xdist_group`` name, else its module."""
    names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                    for m in item.iter_markers("xdist_group")})
    return "group:" + "_".join(names) if names else module_of(item.nodeid)


def cost_of(item: pytest.Item) -> int:
    return BROWSER_COST if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())) else HTTP_COST


def describe(items: list[pytest.Item]) -> dict[str, Any]:
    """What the controller needs to know of each collected item, by node id."""
    return {item.nodeid: {"unit": unit_of(item), "band": item.stash.get(BAND, NORMAL), "cost": cost_of(item)}
            for item in items}


def write(shared_dir: Path, items: list[pytest.Item]) -> None:
    """Written by each worker once it has collected (every worker collects the same items)."""
    path = shared_dir / SCOPES_FILE
    partial = path.with_name(f"{SCOPES_FILE}.{id(items)}.partial")
    partial.write_text(json.dumps(describe(items)))
    partial.replace(path)


def read(shared_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        data: dict[str, dict[str, Any]] = json.loads((shared_dir / SCOPES_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data


def order(collection: list[str], known: dict[str, dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """The units of ``collection`` in the order they start, each with its node ids in collection order."""
    units: dict[str, list[str]] = {}
    band: dict[str, int] = {}
    cost: dict[str, int] = {}
    for nodeid in collection:
        info = known.get(nodeid, {})
        unit = str(info.get("unit") or module_of(nodeid))
        units.setdefault(unit, []).append(nodeid)
        band[unit] = min(band.get(unit, LATE), int(info.get("band", NORMAL)))
        cost[unit] = cost.get(unit, 0) + int(info.get("cost", HTTP_COST))
    first = {unit: index for index, unit in enumerate(units)}
    return sorted(units.items(), key=lambda kv: (band[kv[0]], -cost[kv[0]], first[kv[0]]))


def scheduler(config: pytest.Config, log: Any, shared_dir: Path) -> Any:
    """xdist's LoadScopeScheduling with the units above (imported only when xdist runs)."""
    from xdist.scheduler.loadscope import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):  # type: ignore[misc]
        """Units of work from the workers' own description (module, group, band, cost)."""

        _known: dict[str, dict[str, Any]] | None = None
        collection: list[str] | None

        def _units(self) -> dict[str, dict[str, Any]]:
            if self._known is None:
                self._known = read(shared_dir)
            return self._known

        def _split_scope(self, nodeid: str) -> str:
            return str(self._units().get(nodeid, {}).get("unit") or module_of(nodeid))

        def schedule(self) -> None:
            # xdist's LoadScopeScheduling.schedule (3.8), with the units in our order instead of
            # largest-first by count.
            assert self.collection_is_completed
            if self.collection is not None:
                for node in self.nodes:
                    self._reschedule(node)
                return
            if not self._check_nodes_have_same_collection():
                self.log("**Different tests collected, aborting run**")
                return
            self.collection = list(next(iter(self.registered_collections.values())))
            if not self.collection:
                return
            for unit, nodeids in order(self.collection, self._units()):
                self.workqueue[unit] = dict.fromkeys(nodeids, False)
            for _ in range(len(self.nodes) - len(self.workqueue)):
                unused, _assigned = self.assigned_work.popitem()
                unused.shutdown()
            for node in self.nodes:
                self._assign_work_unit(node)
            for node in self.nodes:
                self._reschedule(node)
            if not self.workqueue:
                for node in self.nodes:
                    node.shutdown()

    return UnitScheduling(config, log)


# -- hooks (registered by smokegate.plugin) -------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """On a worker, before xdist tells the controller what it collected: the units, for the scheduler."""
    from smokegate.plugin import run as runs

    run = runs.current(session.config)
    if run is not None and run.shared_dir is not None and runs.is_worker(session.config):
        write(run.shared_dir, session.items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadgroup`` in a smokegate run: the units above (xdist's own ignores groups on pytest 9)."""
    from smokegate.plugin import run as runs

    run = runs.current(config)
    if run is None or run.shared_dir is None or config.getvalue("dist") != "loadgroup":
        return None
    return scheduler(config, log, run.shared_dir)
