"""Where smokegate keeps what it can rebuild: the user's cache directory (XDG), never the reports.

Only derived data goes here (compiled code of templates and of Playwright's driver), keyed so that
a change of its source is seen, and written by the user running the suite.  Losing it costs the
next run its warm start and nothing else; a cache that cannot be written is skipped.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(name: str) -> Path:
    """``$XDG_CACHE_HOME/smokegate/<name>`` (``~/.cache`` without it); not created here."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "smokegate" / name
