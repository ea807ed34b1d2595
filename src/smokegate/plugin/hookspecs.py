"""Hooks smokegate offers to other plugins (the operations plugin implements them)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from smokegate.config import Target
    from smokegate.options import Settings


@pytest.hookspec
def pytest_smokegate_run_finished(
    config: pytest.Config, gate: dict[str, Any], reports_dir: Path, target: Target | None, settings: Settings
) -> None:
    """Called once per run on the controller, after gate.json and summary.md are written.

    Also called for runs that could not judge anything (verdict ``error`` with ``error_kind``
    ``usage``: ``target`` is None when the config could not be used).
    """
