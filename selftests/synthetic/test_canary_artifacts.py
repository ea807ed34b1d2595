"""No secret in any artifact: a journey with canary credentials fails on purpose, every file is grepped.

The testbed and the suite get canary credentials; the AI answer is made slow so a signed-in check
fails, and ``--tracing on --screenshot on`` keep every trace and screenshot (the one of the
journey that typed the password and went through the OAuth callback included).  Then every file
under the reports directory — traces and other archives unzipped — must hold neither canary, nor a
JSON web token (the session), nor an OAuth ``code=`` value.
"""

from __future__ import annotations

import base64
import re
import secrets
import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from smokegate.testbed.control import RunningTestbed
from smokegate.testbed.idp import EMAIL_ENV, PASSWORD_ENV

from ..conftest import cli_for, run_suite

pytestmark = pytest.mark.selftest_slow

SHAPES = (
    re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # a session JWT
    re.compile(rb"(?:[?&]|\\u0026)code=[A-Za-z0-9_-]{20,}"),  # an OAuth code
)


def _files(root: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        yield str(path.relative_to(root)), data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    yield f"{path.relative_to(root)}!{name}", archive.read(name)


def test_no_canary_in_any_artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    password = "canary-pw-" + secrets.token_hex(8)
    email = f"canary-{secrets.token_hex(4)}@napoleon-testbed.example"
    # The testbed process inherits these: its test user signs in with the canary password.
    monkeypatch.setenv(EMAIL_ENV, email)
    monkeypatch.setenv(PASSWORD_ENV, password)
    reports = tmp_path / "reports"
    with RunningTestbed.start(tmp_path / "testbed", faults=["ai-slow"]) as testbed:
        run = run_suite(
            [
                "tests/synthetic/test_sign_in.py",
                "tests/synthetic/test_signed_in_api.py",
                *cli_for(testbed),
                "--tracing",
                "on",
                "--screenshot",
                "on",
            ],
            reports,
            env={EMAIL_ENV: email, PASSWORD_ENV: password},
        )
    assert "synthetic/test_signed_in_api.py::test_ai_answers_within_budget" in run.with_outcome("failed"), run.output[
        -3000:
    ]
    assert run.with_outcome("passed") >= {"synthetic/test_sign_in.py::test_sign_in_reaches_dashboard"}, run.output[
        -3000:
    ]
    files = dict(_files(reports))
    assert any(name.endswith("trace.zip") or ".zip!" in name for name in files), sorted(files)[:20]
    canaries = {password, email}
    variants = {v.encode() for c in canaries for v in (c, quote(c, safe=""), quote_plus(c))}
    variants |= {base64.b64encode(c.encode()) for c in canaries}
    hits = [(name, v.decode(errors="replace")) for name, data in files.items() for v in variants if v in data]
    hits += [
        (name, pattern.pattern.decode()) for name, data in files.items() for pattern in SHAPES if pattern.search(data)
    ]
    assert not hits, f"secrets in {len(hits)} artifact(s): {hits[:10]}"
