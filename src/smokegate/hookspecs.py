"""Hooks smokegate offers to other plugins (the operations plugin implements them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from smokegate.config import Target


@pytest.hookspec
def pytest_smokegate_run_finished(
    config: pytest.Config, gate: dict[str, Any], reports_dir: Path, target: Target | None
) -> None:
    """Called once per run on the controller, after gate.json and summary.md are written.

    Also called for runs that could not test at all (invalid config: ``target`` is None;
    unreachable target: ``gate["reason"]`` says why).
    """
