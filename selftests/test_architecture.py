"""The shape of the house: no import cycle, pytest only in the plugin layer, no module name used twice,
heavy libraries loaded late.

Every import counts, wherever it stands: at module level, inside a function (a cycle is a cycle whether
it is paid at import time or later) and under ``if TYPE_CHECKING:`` (the modules still need each
other to be read), absolute or relative.
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "smokegate"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _tree(path: Path) -> ast.Module:
    """A module's syntax tree, parsed once per process (the tests below read the same files)."""
    return ast.parse(path.read_text(encoding="utf-8"))


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


@dataclass(frozen=True)
class Import:
    name: str  # the module imported, or module.name for ``from module import name``
    line: int
    type_only: bool  # under ``if TYPE_CHECKING:``


def _under_type_checking(tree: ast.Module) -> set[int]:
    """The ids of import nodes inside ``if TYPE_CHECKING:`` blocks."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for stmt in node.body:
                found |= {id(sub) for sub in ast.walk(stmt) if isinstance(sub, ast.Import | ast.ImportFrom)}
    return found


def imports_of(path: Path, module: str | None = None) -> list[Import]:
    """Every import of the module at ``path``: module level, in functions, under TYPE_CHECKING, relative too."""
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = _tree(path)
    typed = _under_type_checking(tree)
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno, id(node) in typed) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, node.module] if node.module else parts)
            else:
                base = node.module or ""
            found.append(Import(base, node.lineno, id(node) in typed))
            found += [Import(f"{base}.{alias.name}", node.lineno, id(node) in typed) for alias in node.names]
    return found


def _edges() -> dict[tuple[str, str], list[Import]]:
    """(importer, imported) for every pair of smokegate modules, with the imports that make the edge."""
    modules = _modules()
    edges: dict[tuple[str, str], list[Import]] = {}
    for name, path in modules.items():
        for imp in imports_of(path):
            target = imp.name
            while target and target not in modules:  # ``from pkg.mod import name``: the module is pkg.mod
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("smokegate"):
                edges.setdefault((name, target), []).append(imp)
    return edges


# Edges that close a loop and may stay, each for a reason, and only while they are type-only: a service
# the testbed holds (testbed/context.py's Testbed builds them) is handed the testbed back and names its
# type.  To go, a service must be handed the parts it uses instead of the whole testbed.
TYPE_ONLY_BACK_REFERENCES = {
    ("smokegate.testbed.auth", "smokegate.testbed.context"),
    ("smokegate.testbed.clerk", "smokegate.testbed.context"),
    ("smokegate.testbed.vercel", "smokegate.testbed.context"),
}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest loop through each strongly connected group of modules (Tarjan, then a BFS back)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if dep not in index:
                connect(dep)
                low[node] = min(low[node], low[dep])
            elif dep in stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    loops = []
    for group in groups:
        start = min(group)
        came_from: dict[str, str] = {}
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for dep in sorted(graph[node] & group):
                if dep == start:
                    loop = [start]
                    while node != start:
                        loop.append(node)
                        node = came_from[node]
                    loops.append([start, *reversed(loop[1:]), start])
                    queue.clear()
                    break
                if dep not in came_from:
                    came_from[dep] = node
                    queue.append(dep)
    return loops


def test_no_import_cycles() -> None:
    edges = _edges()
    graph: dict[str, set[str]] = {}
    for (importer, imported) in edges:
        if (importer, imported) not in TYPE_ONLY_BACK_REFERENCES:
            graph.setdefault(importer, set()).add(imported)
            graph.setdefault(imported, set())
    loops = _cycles(graph)
    described = []
    for loop in loops:
        steps = [f"{a} -> {b} (line {edges[(a, b)][0].line}"
                 f"{', type only' if all(i.type_only for i in edges[(a, b)]) else ''})" for a, b in pairwise(loop)]
        described.append("; ".join(steps))
    assert not loops, "import cycles (move what both need to a module both can import):\n" + "\n".join(described)
    for edge in sorted(TYPE_ONLY_BACK_REFERENCES):
        assert edge in edges, f"{edge[0]} no longer imports {edge[1]}: drop it from TYPE_ONLY_BACK_REFERENCES"
        assert all(i.type_only for i in edges[edge]), f"{edge[0]} -> {edge[1]} is no longer type-only"


def test_the_cycle_finder_sees_function_level_and_type_only_imports(tmp_path: Path) -> None:
    """The reader the two tests above stand on: a loop closed inside a function or under TYPE_CHECKING counts."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    source = tmp_path / "mod.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from smokegate.x import Y\n"
                      "def f():\n    from . import z\n    import smokegate.w\n", encoding="utf-8")
    found = {(i.name, i.type_only) for i in imports_of(source, "smokegate.mod")}
    assert {("smokegate.x.Y", True), ("smokegate.z", False), ("smokegate.w", False)} <= found


# -- the plugin layer ------------------------------------------------------------------------------

# What only the plugin layer may import: pytest and the plugins smokegate drives.  The playwright package
# itself (the browser driver) is not here: the synthetic journeys below the layer drive a browser too.
PYTEST_WORLD = ("pytest", "_pytest", "pluggy", "xdist", "pytest_playwright", "pytest_html", "pytest_metadata",
                "pytest_base_url", "pytest_rerunfailures", "pytest_timeout", "allure", "allure_commons",
                "allure_pytest")
# Where they may be imported: the plugin layer; the testbed, a stand-in platform a developer may drive
# from a test of their own (bench/ and the self-tests are outside the package).
PYTEST_ALLOWED_IN = ("smokegate.plugin", "smokegate.testbed")

def _within(module: str, places: tuple[str, ...]) -> bool:
    return any(module == place or module.startswith(place + ".") for place in places)


def test_only_the_plugin_layer_imports_pytest_and_its_plugins() -> None:
    offenders: dict[str, list[str]] = {}
    for name, path in _modules().items():
        if _within(name, PYTEST_ALLOWED_IN):
            continue
        for imp in imports_of(path):
            if imp.name.split(".")[0] in PYTEST_WORLD:
                offenders.setdefault(name, []).append(f"{imp.name} (line {imp.line})")
    assert not offenders, f"pytest (or a plugin of it) imported outside smokegate.plugin: {offenders}"


def test_nothing_below_the_plugin_layer_imports_it() -> None:
    """Below smokegate.plugin, plain Python: importing the layer would bring pytest back in."""
    offenders = sorted(f"{importer} -> {imported}" for importer, imported in _edges()
                       if _within(imported, ("smokegate.plugin",)) and not _within(importer, PYTEST_ALLOWED_IN))
    assert not offenders, f"modules below the plugin layer importing it: {offenders}"


def test_the_plugin_lists_where_every_hook_lives() -> None:
    """Every module of the layer that implements a hook is in ``pytest_plugins`` or registered by one that is."""
    from smokegate import plugin

    listed = set(plugin.pytest_plugins)
    # lifecycle registers the result collector and the HTML report's hooks at configure, and adds the specs.
    otherwise = {"smokegate.plugin.results", "smokegate.plugin.html_report", "smokegate.plugin.hookspecs"}
    for name, path in _modules().items():
        if not _within(name, ("smokegate.plugin",)) or name in listed | otherwise:
            continue
        text = path.read_text(encoding="utf-8")
        assert "def pytest_" not in text, f"{name} implements a hook but is not in smokegate.plugin.pytest_plugins"


# -- names -----------------------------------------------------------------------------------------

# A module's name says what it holds, once.  The names that stand more than once, and why they may.
NAMES_USED_TWICE = {
    "__init__": "a package's own module",
    "__main__": "what ``python -m`` runs",
    "config": "each suite's section of the target config, beside the code that reads it (smokegate.config "
              "puts them together)",
}


def test_no_module_name_is_used_twice() -> None:
    by_name: dict[str, list[str]] = {}
    for name, path in _modules().items():
        by_name.setdefault(path.stem, []).append(name)
    twice = {stem: sorted(names) for stem, names in by_name.items() if len(names) > 1}
    unexplained = {stem: names for stem, names in twice.items() if stem not in NAMES_USED_TWICE}
    assert not unexplained, f"module names used twice (name each for what it holds): {unexplained}"
    stale = sorted(set(NAMES_USED_TWICE) - set(twice))
    assert not stale, f"used once now: drop from NAMES_USED_TWICE: {stale}"


# -- other plugins' options ------------------------------------------------------------------------

FOREIGN_OPTIONS = ("htmlpath", "self_contained_html", "xmlpath", "allure_report_dir", "clean_alluredir", "base_url",
                   "reruns", "reruns_delay", "only_rerun", "output", "--browser", "--tracing", "--screenshot",
                   "--output")


def test_other_plugins_options_are_read_and_written_in_one_place() -> None:
    """``config.option.X = ...`` and ``getoption(X)`` of another plugin's option: only in plugin/foreign_options.py."""
    offenders = []
    for name, path in _modules().items():
        if name == "smokegate.plugin.foreign_options":
            continue
        for node in ast.walk(_tree(path)):
            written = [t for t in node.targets if isinstance(t, ast.Attribute)] if isinstance(node, ast.Assign) else []
            for target in written:
                if isinstance(target.value, ast.Attribute) and target.value.attr == "option":
                    offenders.append(f"{name}:{node.lineno} writes option.{target.attr}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "getoption"
                    and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value in FOREIGN_OPTIONS):
                offenders.append(f"{name}:{node.lineno} reads {node.args[0].value}")
    assert not offenders, offenders


HEAVY = ("sslyze", "stripe", "svix", "starlette", "uvicorn", "trustme", "authlib", "httpx", "pydantic", "cryptography",
         "psycopg", "prometheus_client", "locust", "gevent")


def test_loading_the_plugin_does_not_import_heavy_libraries() -> None:
    """One fresh interpreter loads the plugin and names every heavy library it finds imported (one process for
    all of them: a Python start and the plugin's imports are most of what this costs)."""
    code = (
        "import sys, importlib, json, smokegate.plugin as p\n"
        "for name in p.pytest_plugins:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps([heavy for heavy in {list(HEAVY)!r} if heavy in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [], f"loading the plugin imports {json.loads(done.stdout)}"


def test_only_the_locustfile_imports_locust_or_gevent() -> None:
    """Locust runs on gevent, which patches the standard library when imported: only the module Locust itself
    loads, in processes of its own, may import either (never the pytest process that drives Playwright)."""
    allowed = {"smokegate.load.locustfile"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(_tree(path)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] in ("locust", "gevent", "geventhttpclient") for n in names):
                offenders.append(_module_name(path))
    assert set(offenders) <= allowed, f"modules importing Locust or gevent: {sorted(set(offenders) - allowed)}"
    assert allowed <= set(offenders), "the locustfile no longer imports Locust: update this test"


# The TLS checks' modules read certificates with cryptography; any run that holds them scans with sslyze,
# which loads it anyway.
CHECKS_THAT_MAY_LOAD = {"chain": {"cryptography"}, "tls": {"cryptography"}}


def test_importing_the_checks_loads_heavy_libraries_only_where_their_checks_use_them() -> None:
    """Every check module is imported at collection, by every run: what one check needs (joserfc for a
    forged token, sslyze for a scan) is imported by the function that needs it."""
    code = (
        "import sys, importlib, pkgutil, smokegate.checks as c\n"
        f"heavy = {(*HEAVY, 'joserfc', 'playwright')!r}\n"
        "for m in pkgutil.iter_modules(c.__path__):\n"
        "    before = {h for h in heavy if h in sys.modules}\n"
        "    importlib.import_module('smokegate.checks.' + m.name)\n"
        "    print(m.name, *sorted(h for h in heavy if h in sys.modules and h not in before))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loads = {line.split()[0]: set(line.split()[1:]) for line in done.stdout.splitlines()}
    assert len(loads) >= 15, done.stdout
    offenders = {name: libs - CHECKS_THAT_MAY_LOAD.get(name, set()) for name, libs in loads.items()}
    assert not {name: libs for name, libs in offenders.items() if libs}


def test_every_config_parameter_is_a_listed_fixture() -> None:
    """``pytest --fixtures`` documents every parameter the config generates."""
    from smokegate.plugin import params

    names = {name for spec in params.PARAMETERS for name in spec.names}
    documented = {name for name in names if getattr(params, name, None) is not None}
    assert names == documented, f"parameters without a fixture in smokegate.plugin.params: {sorted(names - documented)}"
    done = subprocess.run([sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider"],
                          cwd=SRC.parent / "tests", capture_output=True, text=True, timeout=120)
    for name in names:
        assert f"{name} -- " in done.stdout or f"{name}\n" in done.stdout, f"{name} missing from pytest --fixtures"


def test_the_readmes_layout_map_names_every_module() -> None:
    """README's *Layout* block names every subpackage, every top-level module and every module of the plugin
    layer by its file name, and nothing that is gone."""
    import re

    readme = (SRC.parent / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("```\nsrc/smokegate/\n"):]
    block = block[: block.index("\n```", 4)]
    wanted = {f"{p.name}/" for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    wanted |= {p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    wanted |= {p.name for p in (PACKAGE / "plugin").glob("*.py") if p.name != "__init__.py"}
    missing = sorted(name for name in wanted if name not in block)
    assert not missing, f"the README's layout map does not name: {missing}"
    named = set(re.findall(r"\b([a-z_]+\.py)\b", block))
    folders = (PACKAGE, SRC.parent / "tools", SRC.parent / "bench")
    existing = {p.name for folder in folders for p in folder.rglob("*.py")}
    assert named <= existing, f"the layout map names modules that are gone: {sorted(named - existing)}"
