"""Templates compiled once and kept in the user's cache (smokegate.templating), and a cache that
cannot be written costing nothing but the warm start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# One row of the gate report, rendered in a fresh process; prints the cells and whether each
# template came from the cache.
RENDER_ROW = """
import json
from smokegate import templating

loaded = []
original = templating._CompiledTemplates.load_bytecode

def spy(self, bucket):
    original(self, bucket)
    loaded.append(bucket.code is not None)

templating._CompiledTemplates.load_bytecode = spy
cells = templating.render("_row_cells.html.j2", severity="high", rank=1, blocking=True,
                          figures="612 ms / 500 ms", text="GET /api/plans answered in 612 ms", kind="budget-exceeded",
                          check="api/plans", consequence_of=None)
print(json.dumps({"cells": cells, "from_cache": loaded}))
"""


def _render(cache_home: Path) -> dict[str, object]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    done = subprocess.run([sys.executable, "-c", RENDER_ROW], env=env, capture_output=True, text=True, timeout=60,
                          check=True)
    data: dict[str, object] = json.loads(done.stdout)
    return data


def test_a_template_is_compiled_once_then_read_from_the_cache(tmp_path: Path) -> None:
    first = _render(tmp_path)
    assert first["from_cache"] == [False], "a cold cache served a template"
    assert list((tmp_path / "smokegate" / "jinja").iterdir()), "nothing was kept in the cache"
    second = _render(tmp_path)
    assert second["from_cache"] == [True], "the second run compiled the template again"
    assert second["cells"] == first["cells"]


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("a file where the cache directory would go")
    rendered = _render(not_a_dir)
    assert rendered["from_cache"] == [False]
    assert "612 ms / 500 ms" in str(rendered["cells"])
