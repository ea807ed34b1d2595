"""Internals an error answer must not show: stack traces, source paths, framework names."""

from __future__ import annotations

import re

_STACK = (
    # V8/Node frames: "    at POST (webpack-internal:///(rsc)/./app/api/x/route.ts:14:32)"
    ("node stack frame", re.compile(r"^\s*at .+[(\s](?:/|node:|webpack-internal:|file:|[A-Za-z]:\\).*:\d+:\d+\)?\s*$",
                                    re.MULTILINE)),
    ("python traceback", re.compile(r"Traceback \(most recent call last\)")),
    ("source path", re.compile(r"webpack-internal:///|/node_modules/|/var/task/|/\.next/server/")),
)
_FRAMEWORKS = re.compile(
    r"\b(?:Next\.js|Express|Starlette|uvicorn|Werkzeug|Django|Flask|Vercel Runtime|Node\.js v\d+)\b"
)


def stack_trace(body: str) -> str | None:
    """The kind of stack trace or source path in ``body``, if any."""
    for name, pattern in _STACK:
        match = pattern.search(body)
        if match:
            return f"{name}: {match.group(0).strip()[:80]!r}"
    return None


def framework_name(body: str) -> str | None:
    match = _FRAMEWORKS.search(body)
    return match.group(0) if match else None
