"""An unreachable target gives one clear failure, every other check skipped, and a failing gate.json."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from smokegate.probe import describe_transport_error
from smokegate.testbed.control import RunningTestbed

from .conftest import ROOT, run_suite

pytestmark = pytest.mark.selftest_slow


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections but never says a word: the handshake times out."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


def config_with_timeout(tmp_path: Path) -> Path:
    extra = '\n[targets.quick]\nbase_url = "https://localhost:1"\ntimeout_s = 1\n'
    text = (ROOT / "smokegate.toml").read_text() + extra
    path = tmp_path / "smokegate.toml"
    path.write_text(text)
    return path


def assert_one_clear_failure(tmp_path: Path, args: list[str], reason: str) -> None:
    run = run_suite(["tests/smoke", *args], tmp_path / "reports")
    failed = run.with_outcome("failed")
    assert failed == {"smoke/test_reachability.py::test_target_is_reachable"}, run.output[-2000:]
    assert run.message("smoke/test_reachability.py::test_target_is_reachable").startswith(
        f"target unreachable: {reason}")
    others = {c: o for c, o in run.outcomes.items() if c not in failed}
    assert others and set(others.values()) == {"skipped"}, others
    assert run.gate["verdict"] == "fail" and run.gate["reason"].startswith(f"target unreachable: {reason}")
    assert run.returncode == 1
    assert run.output.count("Traceback") == 0
    # Said in the failure, the short summary and the verdict: a handful of lines, not one per check.
    assert len(others) > 20
    assert run.output.count(f"target unreachable: {reason}") <= 6, run.output
    assert run.output.count("___ test_") == 1, run.output


def test_connection_refused(tmp_path: Path, closed_port: int) -> None:
    assert_one_clear_failure(
        tmp_path, ["--target", "local", "--base-url", f"https://127.0.0.1:{closed_port}", "--ca-bundle", "system"],
        "connection refused")


def test_tls_handshake_failure_with_an_untrusted_certificate(tmp_path: Path, testbed: RunningTestbed) -> None:
    # The testbed's certificate checked against the OS store, which does not know the testbed CA.
    assert_one_clear_failure(tmp_path, ["--target", "local", "--base-url", testbed.url, "--ca-bundle", "system"],
                             "TLS handshake failed: certificate not trusted")


def test_timeout(tmp_path: Path, silent_port: int) -> None:
    config = config_with_timeout(tmp_path)
    assert_one_clear_failure(
        tmp_path, ["--smokegate-config", str(config), "--target", "quick",
                   "--base-url", f"https://127.0.0.1:{silent_port}", "--ca-bundle", "system"],
        "timed out after 1 s")


def test_dns_failure_is_described_as_such() -> None:
    error = httpx.ConnectError("[Errno -2] Name or service not known")
    error.__cause__ = socket.gaierror(-2, "Name or service not known")
    assert describe_transport_error(error) == "DNS lookup failed (Name or service not known)"


def test_tls_errors_are_described_as_handshake_failures() -> None:
    error = httpx.ConnectError("handshake")
    error.__context__ = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number")
    assert describe_transport_error(error).startswith("TLS handshake failed")
