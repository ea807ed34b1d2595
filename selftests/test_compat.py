"""The private APIs smokegate.plugin.compat leans on, checked on the installed pytest, pytest-playwright
and Playwright: a release that changes one fails here, naming itself and the release compat was written
against, before a run quietly takes the slower public path."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from smokegate.plugin import compat
from smokegate.synthetic.browser import find_chromium, launch_flags

pytest_plugins = ["pytester"]


@pytest.mark.parametrize("probe", compat.probes(), ids=lambda p: f"{p.package}: {p.what}")
def test_each_private_api_is_where_compat_expects_it(probe: compat.Probe) -> None:
    failure = probe.failure()
    assert failure is None, failure


def test_the_releases_compat_was_written_against_are_named() -> None:
    for package, pinned in compat.WRITTEN_AGAINST.items():
        assert compat.version(package) != "not installed", package
        assert pinned.count(".") == 2, f"{package}: pin a full release, not {pinned!r}"


def test_a_dropped_fixture_is_not_set_up(pytester: pytest.Pytester) -> None:
    """pytest sets up exactly item.fixturenames: what drop_fixture removes does not run."""
    pytester.makeconftest(textwrap.dedent("""
        import pytest
        from smokegate.plugin import compat

        SET_UP = []

        @pytest.fixture(autouse=True)
        def costly():
            SET_UP.append(True)

        def pytest_collection_modifyitems(items):
            for item in items:
                if item.name == "test_without":
                    assert compat.drop_fixture(item, "costly")
    """))
    pytester.makepyfile(textwrap.dedent("""
        from conftest import SET_UP

        def test_without():
            assert SET_UP == []

        def test_with():
            assert SET_UP == [True]
    """))
    result = pytester.runpytest_subprocess("-p", "no:smokegate", "-p", "no:cacheprovider", timeout=60)
    result.assert_outcomes(passed=2)


def test_start_playwright_hands_it_to_pytest_playwrights_request_tracing(pytester: pytest.Pytester) -> None:
    """With --tracing on, playwright.request.new_context is pytest-playwright's traced one."""
    pytester.makeconftest(textwrap.dedent("""
        import pytest
        from smokegate.plugin import compat

        @pytest.fixture(scope="session")
        def playwright(request):
            started = compat.start_playwright(request)
            yield started
            started.stop()
    """))
    pytester.makepyfile(textwrap.dedent("""
        def test_traced(playwright):
            assert playwright.request.new_context.__name__ == "_new_context"
    """))
    result = pytester.runpytest_subprocess("-p", "no:smokegate", "-p", "no:cacheprovider", "--tracing", "on",
                                           "-W", "error::UserWarning", timeout=120)
    result.assert_outcomes(passed=1)


def test_work_registered_before_close_runs_while_the_context_is_open() -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        executable = find_chromium(playwright.chromium.executable_path)
        browser = playwright.chromium.launch(executable_path=executable, args=launch_flags())
        try:
            context = browser.new_context()
            context.new_page()
            pages_seen: list[int] = []
            assert compat.before_close(context, lambda: pages_seen.append(len(context.pages)))
            context.close()
            assert pages_seen == [1]
        finally:
            browser.close()


def test_the_rewrite_hook_marks_smokegate_as_a_run_would() -> None:
    """In a fresh interpreter, as the fork server uses it: smokegate is imported through pytest's rewriter."""
    code = textwrap.dedent("""
        import sys
        from smokegate.plugin import compat
        for name in [n for n in sys.modules if n == "smokegate" or n.startswith("smokegate.")]:
            del sys.modules[name]
        hook = compat.plugin_rewrite_hook()
        spec = hook.find_spec("smokegate", None) if hook is not None else None
        print(spec is not None and spec.loader is hook)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True", done.stderr


def test_the_private_apis_are_used_through_compat_only() -> None:
    """_pytest imports, pytest-playwright's _pw_ fixtures, config._mark_plugins_for_rewrite, edits of
    item.fixturenames and replaced close methods: nowhere in smokegate but plugin/compat.py."""
    import ast
    from pathlib import Path

    package = Path(compat.__file__).resolve().parent.parent
    offenders = []
    for path in package.rglob("*.py"):
        if path.name == "compat.py" and path.parent.name == "plugin":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            where = f"{path.relative_to(package)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                offenders += [f"{where} imports {n}" for n in names if n.split(".")[0] == "_pytest"]
            elif isinstance(node, ast.Attribute) and node.attr == "_mark_plugins_for_rewrite":
                offenders.append(f"{where} calls {node.attr}")
            elif isinstance(node, ast.arg | ast.Name | ast.Constant) and str(
                    getattr(node, "arg", None) or getattr(node, "id", None) or getattr(node, "value", "")
            ).startswith("_pw_"):
                offenders.append(f"{where} names a pytest-playwright private fixture")
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "close"
                                                      for t in node.targets):
                offenders.append(f"{where} replaces a close method")
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "fixturenames"
                  and node.func.attr in ("remove", "append", "insert", "extend", "pop")):
                offenders.append(f"{where} edits item.fixturenames")
    assert not offenders, offenders
