"""The shape of the house: no import cycles, one way to reach the run, heavy libraries loaded late."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "smokegate"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path) -> set[str]:
    """Modules imported when ``path`` is imported: module level, not under TYPE_CHECKING or in functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node) if not isinstance(node, ast.FunctionDef | ast.ClassDef) else ():
            if isinstance(sub, ast.Import):
                found |= {alias.name for alias in sub.names}
            elif isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                found.add(sub.module)
                found |= {f"{sub.module}.{alias.name}" for alias in sub.names}
    return {name for name in found if name.startswith("smokegate")}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {dep for dep in _top_level_imports(path) if dep in modules and dep != name}
            for name, path in modules.items()}


def test_no_import_cycles() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycles.append([*trail[trail.index(dep):], dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_nothing_reaches_into_the_plugin_module() -> None:
    """The run's state lives in smokegate.run; smokegate.plugin is only the entry point."""
    offenders = []
    for path in [*PACKAGE.rglob("*.py"), *(SRC.parent / "tests").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        if "from smokegate.plugin import" in text or "import smokegate.plugin" in text:
            offenders.append(str(path))
    assert not offenders, f"modules importing smokegate.plugin: {offenders}"


HEAVY = ("sslyze", "stripe", "svix", "starlette", "uvicorn", "trustme", "authlib", "httpx", "pydantic", "cryptography",
         "psycopg", "prometheus_client", "locust", "gevent")


@pytest.mark.parametrize("heavy", HEAVY)
def test_loading_the_plugin_does_not_import_heavy_libraries(heavy: str) -> None:
    code = (
        "import sys, smokegate.plugin, smokegate.fixtures, smokegate.params, smokegate.security.fixtures, "
        "smokegate.synthetic.fixtures, smokegate.ops.plugin, smokegate.load.fixtures; "
        f"print({heavy!r} in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False", f"loading the plugin imports {heavy}"


def test_only_the_locustfile_imports_locust_or_gevent() -> None:
    """Locust runs on gevent, which patches the standard library when imported: only the module Locust itself
    loads, in processes of its own, may import either (never the pytest process that drives Playwright)."""
    allowed = {"smokegate.load.locustfile"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
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
    from smokegate import params

    names = {name for spec in params.PARAMETERS for name in spec.names}
    documented = {name for name in names if getattr(params, name, None) is not None}
    assert names == documented, f"parameters without a fixture in smokegate.params: {sorted(names - documented)}"
    done = subprocess.run([sys.executable, "-m", "pytest", "--fixtures", "-p", "no:cacheprovider"],
                          cwd=SRC.parent / "tests", capture_output=True, text=True, timeout=120)
    for name in names:
        assert f"{name} -- " in done.stdout or f"{name}\n" in done.stdout, f"{name} missing from pytest --fixtures"
