"""Jinja2 templates of the HTML smokegate writes: the gate report's additions and the health report.

Markup, styles and SVG live in ``smokegate/templates/*.html.j2``; the Python side prepares plain
data (figures already formatted, bar positions already computed) and renders it here.  Autoescape
is on for every template, and an undefined name is an error rather than an empty string, so a
typo in a template fails the self-tests instead of printing nothing.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined, select_autoescape
from jinja2.bccache import Bucket
from markupsafe import Markup, escape

from smokegate.cache import cache_dir


class _CompiledTemplates(FileSystemBytecodeCache):
    """Templates compiled by an earlier run (Jinja checks each against its source's checksum):
    compiling the gate report's templates is 0.03 s of every run.  A cache that cannot be read or
    written is skipped."""

    def load_bytecode(self, bucket: Bucket) -> None:
        # Jinja itself skips a missing file, not a cache path that is not a directory.
        with contextlib.suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            Path(self.directory).mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)


_ENV = Environment(
    bytecode_cache=_CompiledTemplates(str(cache_dir("jinja"))),
    loader=PackageLoader("smokegate", "templates"),
    autoescape=select_autoescape(enabled_extensions=("j2", "html")),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def breakable(check_id: str) -> Markup:
    """A check id that wraps at its natural joints (after ``::``, before ``[``) rather than mid-word."""
    return Markup(str(escape(check_id)).replace("::", "::<wbr>").replace("[", "<wbr>["))


_ENV.filters["breakable"] = breakable


def render(name: str, **context: Any) -> str:
    """One template rendered with ``context``."""
    return _ENV.get_template(name).render(**context)


# -- a scale for "measured against budget" that keeps 150 % and 300 % apart ---------------------

# Bars are drawn on a log scale of measured / budget from 1/16 to 4 times the budget: the budget
# sits at two thirds of the width, twice the budget is clearly shorter than four times, and
# anything beyond 4x is drawn at full width with a cap marker (stated in every legend).
RATIO_LOW = 1 / 16
RATIO_HIGH = 4.0


def ratio_position(ratio: float | None) -> tuple[float, bool]:
    """Where ``measured / budget`` lands on the bar, 0..1, and whether it was capped at either end."""
    if ratio is None or ratio <= 0 or math.isnan(ratio):
        return 0.0, ratio is not None and ratio <= 0
    span = math.log(RATIO_HIGH) - math.log(RATIO_LOW)
    position = (math.log(ratio) - math.log(RATIO_LOW)) / span
    if position > 1:
        return 1.0, True
    return max(0.0, position), position < 0


BUDGET_POSITION = ratio_position(1.0)[0]
