"""The watcher's dead-man's switch: ``SMOKEGATE_HEARTBEAT_URL`` is called at start and after every run,
never printed, and a dead heartbeat service never slows or stops the watcher."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from smokegate.ops.heartbeat import HEARTBEAT_ENV, Heartbeat
from smokegate.testbed.control import RunningTestbed

from .test_watch import Watch, watches, write_config  # noqa: F401 - watches is a fixture

SECRET_PATH = "/ping/8c6f0e2a-94b1-4c1e-a7d2-secret-uuid"


def _wait(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_beat_is_one_get_at_most_every_interval(httpserver: HTTPServer) -> None:
    httpserver.expect_request(SECRET_PATH, method="GET").respond_with_data("OK")
    said: list[str] = []
    beat = Heartbeat(httpserver.url_for(SECRET_PATH), say=said.append, min_interval_s=60)
    assert beat.beat() is True
    _wait(lambda: beat.sent == 1)
    assert beat.beat() is False, "a second beat within the interval is not sent"
    assert len(httpserver.log) == 1 and not said


def test_a_failing_heartbeat_is_said_once_without_its_url_and_its_recovery_too(httpserver: HTTPServer) -> None:
    httpserver.expect_ordered_request(SECRET_PATH).respond_with_data("no", status=503)
    httpserver.expect_ordered_request(SECRET_PATH).respond_with_data("no", status=503)
    httpserver.expect_ordered_request(SECRET_PATH).respond_with_data("OK")
    said: list[str] = []
    beat = Heartbeat(httpserver.url_for(SECRET_PATH), say=said.append, min_interval_s=0)
    for expected in (1, 2):
        assert beat.beat()
        _wait(lambda expected=expected: beat.failed == expected)
    assert beat.beat()
    _wait(lambda: beat.sent == 1)
    _wait(lambda: len(said) == 2)
    assert said[0].startswith(f"heartbeat ({HEARTBEAT_ENV}) failed: HTTP 503")
    assert said[1] == f"heartbeat ({HEARTBEAT_ENV}) answered again"
    assert not any("ping" in line or "127.0.0.1" in line for line in said)


def test_a_hanging_heartbeat_never_holds_the_caller() -> None:
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)  # accepts, never answers
        said: list[str] = []
        beat = Heartbeat(f"http://127.0.0.1:{server.getsockname()[1]}/ping", say=said.append, min_interval_s=0,
                         timeout_s=2.0)
        started = time.monotonic()
        assert beat.beat() is True
        # Returns at once: far under the 2 s the ping itself waits (a thread's start, even on a loaded machine).
        assert time.monotonic() - started < 1.0
        assert beat.beat() is False, "one ping at a time"
        _wait(lambda: beat.failed == 1)
    assert said and "ReadTimeout" in said[0]


def test_unset_or_empty_means_no_heartbeat() -> None:
    assert Heartbeat.from_env({}, say=print) is None
    assert Heartbeat.from_env({HEARTBEAT_ENV: " "}, say=print) is None


@pytest.mark.selftest_slow
def test_the_watcher_calls_it_at_start_and_after_every_run(
        testbed: RunningTestbed, tmp_path: Path, watches: list[Watch], httpserver: HTTPServer) -> None:  # noqa: F811
    httpserver.expect_request(SECRET_PATH).respond_with_data("OK")
    url = httpserver.url_for(SECRET_PATH)
    testbed.set_faults([])
    watch = Watch(tmp_path, write_config(tmp_path, testbed, every_s=2.0), env={HEARTBEAT_ENV: url})
    watches.append(watch)
    watch.wait_runs(3)
    _wait(lambda: len(httpserver.log) >= 3, timeout=30)
    assert watch.stop() == 0
    runs = len(watch.runs())
    # At start and after each run; beats closer than 5 s apart fold into one (the service needs no more).
    assert 1 <= len(httpserver.log) <= runs + 1
    assert any(f"heartbeat: {HEARTBEAT_ENV} is called" in line for line in watch.lines())
    assert not any(SECRET_PATH in line for line in watch.lines()), "the heartbeat URL is a secret"
