"""Locust's side of the load check: the virtual user, the shape, and the timeline the gate reads.

This module runs only in Locust's own processes (``python -m locust -f <this file>``, started by
:mod:`smokegate.load.engine`, or a worker started by :mod:`smokegate.load.worker`): Locust runs on
gevent and monkey-patches the standard library when it is imported, which must never happen in the
pytest process that also drives Playwright.  Nothing imports this module; Locust loads it by path.

* :class:`PlatformUser` (``FastHttpUser``): each task is one request of the plan's traffic mix, a
  route picked by weight, at ``user_rps`` requests per second per user (``constant_throughput``).
  An answer counts as served when it has the route's status (and a page's text).
* :class:`SmokegateShape` (``LoadTestShape``): the plan's steps, 1x up to the peak, the hold, 1x.
* The timeline: every process (a local runner, or each worker) files each request under the
  second it *started* and its route, with its response time (rounded as Locust rounds them) and
  error category, and sends what it gathered once a second to the master (a custom message; a local
  runner hands it to itself).  The master merges them, notes when each step actually began and its
  users were all running, and writes ``timeline.json`` when Locust quits.  Each process also
  reports its own CPU and its event loop's lag every second, so the gate can tell a saturated
  generator from a slow target.

The plan reaches the master as a file (``SMOKEGATE_LOAD_PLAN``); the master forwards it, with the
start time, to its workers in Locust's own spawn messages (custom arguments travel with them).
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import random
import socket
import ssl
import time
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar, cast

import gevent
import psutil
from gevent import ssl as gevent_ssl
from locust import FastHttpUser, LoadTestShape, constant_throughput, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from smokegate.checks.load_timeline import (
    CONNECTION,
    CONTENT,
    SERVER_ERROR,
    TIMEOUT,
    WRONG_STATUS,
    RouteTick,
    Step,
    Timeline,
    bucket,
)
from smokegate.load.plan import Plan, Route, Session
from smokegate.load.session import SessionError, needs_refresh, refresh

PLAN_ENV = "SMOKEGATE_LOAD_PLAN"
OUT_ENV = "SMOKEGATE_LOAD_OUT"
TICKS = "smokegate_ticks"
RESULT_FILE = "timeline.json"
SCHEMA = 1


class _Process:
    """This process's part of the run: the plan, the start, and what it gathered since its last report."""

    def __init__(self) -> None:
        self.plan: Plan | None = None
        self.t0: float | None = None
        self.name = "local"
        self.routes: dict[str, Route] = {}
        self.expect: dict[str, int] = {}
        self.pending: dict[tuple[int, str], RouteTick] = {}
        self.messages: dict[str, Counter[str]] = {}
        self.samples: list[list[Any]] = []
        self.session_jwt: str | None = None
        self.session_errors: list[str] = []
        self.greenlets: list[gevent.Greenlet] = []

    def configure(self, plan: Plan, t0: float) -> None:
        self.plan, self.t0 = plan, t0
        self.routes = {r.id: r for r in plan.routes}
        self.expect = {r.id: r.expect_status for r in plan.routes}
        self.session_jwt = plan.session.jwt if plan.session else None
        PlatformUser.configure(plan)

    def record(self, name: str, start_time: float, response_time: float, category: str | None, message: str) -> None:
        if self.t0 is None:
            return
        key = (int(start_time - self.t0), name)
        tick = self.pending.get(key)
        if tick is None:
            tick = self.pending[key] = RouteTick()
        tick.n += 1
        tick.hist[bucket(response_time)] += 1
        if category is not None:
            tick.errors[category] += 1
            self.messages.setdefault(name, Counter())[message] += 1

    def drain(self) -> dict[str, Any]:
        ticks: dict[str, dict[str, Any]] = {}
        for (t, route), tick in self.pending.items():
            ticks.setdefault(str(t), {})[route] = tick.as_dict()
        data = {"ticks": ticks, "messages": {r: dict(c) for r, c in self.messages.items()},
                "generator": self.samples, "session_errors": self.session_errors}
        self.pending, self.messages, self.samples, self.session_errors = {}, {}, [], []
        return data


PROCESS = _Process()


class _Master:
    """The merged timeline (on the master, or the local runner): written to ``timeline.json`` at quit."""

    def __init__(self) -> None:
        self.timeline = Timeline()
        self.messages: dict[str, Counter[str]] = {}
        self.generator: list[list[Any]] = []
        self.session_errors: Counter[str] = Counter()
        self.as_run: dict[int, dict[str, float]] = {}
        self.workers: set[str] = set()
        # The step the shape last switched to (the shape instance is Locust's; this is where we keep it).
        self.current: int | None = None

    def merge(self, data: dict[str, Any], sender: str) -> None:
        self.workers.add(sender)
        for t, routes in data.get("ticks", {}).items():
            for route, tick in routes.items():
                self.timeline.add(int(t), route, RouteTick.from_dict(tick), sender)
        for route, counts in data.get("messages", {}).items():
            self.messages.setdefault(route, Counter()).update(counts)
        self.generator += data.get("generator", [])
        self.session_errors.update(data.get("session_errors", []))

    def step_began(self, step: Step, elapsed: float) -> None:
        self.current = step.index
        self.as_run.setdefault(step.index, {})["began_s"] = round(elapsed, 3)

    def step_ready(self, index: int, elapsed: float) -> None:
        self.as_run.setdefault(index, {}).setdefault("ready_s", round(elapsed, 3))

    def write(self, environment: Environment, mode: str) -> None:
        out = os.environ.get(OUT_ENV)
        if not out:
            return
        stats = {name: {"requests": entry.num_requests, "failures": entry.num_failures}
                 for (name, _method), entry in environment.stats.entries.items()}
        data = {
            "schema": SCHEMA, "mode": mode, "t0": PROCESS.t0, "processes": sorted(self.workers),
            "as_run": {str(k): v for k, v in sorted(self.as_run.items())},
            "timeline": {
                **self.timeline.as_dict(),
                "generator": self.generator,
                "messages": {r: dict(c) for r, c in self.messages.items()},
            },
            "session_errors": dict(self.session_errors),
            "locust": stats,
        }
        path = Path(out) / RESULT_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)


MASTER = _Master()


# -- the virtual user ------------------------------------------------------------------------------------


class _Request:
    """One route's request, made ready once: what the user sends and what counts as served."""

    __slots__ = ("body", "expect", "headers", "method", "name", "path", "plain", "signed_in", "text")

    def __init__(self, route: Route, common: dict[str, str]) -> None:
        self.method, self.path, self.name, self.expect = route.method, route.path, route.id, route.expect_status
        self.text = route.text.encode() if route.text else None
        self.signed_in = route.signed_in
        self.headers = {**common, "accept": "text/html" if route.text else "application/json"}
        self.body = None
        if route.json_body is not None:
            self.body = json.dumps(route.json_body)
            self.headers["content-type"] = "application/json"
        # A 200 with nothing to read in it is judged by Locust's own rule (an answer under 400 is served; with
        # redirects not followed, the listener still counts a 3xx as the wrong status): no response context.
        self.plain = self.expect == 200 and self.text is None


class PlatformUser(FastHttpUser):
    """A visitor of the platform: one request of the plan's mix per task, ``user_rps`` tasks per second."""

    # Replaced from the plan before any user starts (configure): Locust needs the attributes at import.
    wait_time = constant_throughput(1.0)
    insecure = False
    _requests: ClassVar[tuple[_Request, ...]] = ()
    _cum_weights: ClassVar[tuple[float, ...]] = ()
    _total: ClassVar[float] = 1.0
    _user_rps: ClassVar[float] = 1.0

    @classmethod
    def configure(cls, plan: Plan) -> None:
        mix = plan.mix
        cls.wait_time = constant_throughput(plan.user_rps)
        cls._user_rps = plan.user_rps
        cls.network_timeout = cls.connection_timeout = plan.request_timeout_s
        cls.ssl_context_factory = _shared_context(plan.ca_pem)
        cls._requests = tuple(_Request(route, dict(plan.headers)) for route in mix)
        cls._cum_weights = tuple(itertools.accumulate(route.weight for route in mix))
        cls._total = cls._cum_weights[-1] if mix else 1.0

    def on_start(self) -> None:
        # Users started together would send together, every second in step: a herd no real traffic makes.
        # Each waits a random part of its pacing interval first, so their requests spread over the second.
        gevent.sleep(random.uniform(0, 1 / self._user_rps))

    @task
    def visit(self) -> None:
        request = self._requests[bisect.bisect(self._cum_weights, random.random() * self._total)]
        headers = request.headers
        if request.signed_in and PROCESS.session_jwt:
            headers = {**headers, "authorization": f"Bearer {PROCESS.session_jwt}"}
        if request.plain:
            self.client.request(request.method, request.path, name=request.name, headers=headers, data=request.body,
                                allow_redirects=False)
            return
        with self.client.request(request.method, request.path, name=request.name, headers=headers, data=request.body,
                                 allow_redirects=False, catch_response=True) as answer:
            status = answer.status_code
            if status == request.expect:
                if request.text is not None and request.text not in (answer.content or b""):
                    answer.failure(f"HTTP {status} without the page's text")
                else:
                    answer.success()
            elif status:
                answer.failure(f"HTTP {status}")
            # No status: no answer at all; Locust keeps the exception (timeout, reset) as the failure.


def _shared_context(ca_pem: str | None) -> Any:
    """One TLS context for every user: geventhttpclient builds one per client, and loading a CA bundle
    costs tens of milliseconds, which every new user paid before its first request."""
    context = gevent_ssl.create_default_context(cadata=ca_pem) if ca_pem else gevent_ssl.create_default_context()

    def factory(*_args: Any, **_kwargs: Any) -> ssl.SSLContext:
        return context  # type: ignore[no-any-return]

    return factory


def _category(route: str, response: Any, exception: BaseException | None) -> tuple[str | None, str]:
    status = int(getattr(response, "status_code", 0) or 0)
    if exception is None:
        # Served, by Locust's rule or the check's; a redirect where the route answers itself is not.
        return (None, "") if status == PROCESS.expect.get(route, status) or not 300 <= status < 400 else (
            WRONG_STATUS, f"HTTP {status}")
    if status >= 500:
        return SERVER_ERROR, f"HTTP {status}"
    if status:
        return (CONTENT if status == PROCESS.expect.get(route) else WRONG_STATUS), str(exception)[:120]
    text = f"{type(exception).__name__}: {exception}"[:120]
    timed_out = isinstance(exception, TimeoutError | socket.timeout | gevent.Timeout) or "timed out" in text.lower()
    return (TIMEOUT if timed_out else CONNECTION), text


def _on_request(request_type: str, name: str, response_time: float, response_length: int, response: Any = None,
                context: Any = None, exception: BaseException | None = None, start_time: float | None = None,
                **_: Any) -> None:
    category, message = _category(name, response, exception)
    PROCESS.record(name, start_time if start_time is not None else time.time(), response_time or 0.0, category,
                   message)


# -- the shape -----------------------------------------------------------------------------------------


class SmokegateShape(LoadTestShape):
    """The plan's steps: users for each step's rate, all of them started within a quarter of a second."""

    steps: tuple[Step, ...] = ()

    def tick(self) -> tuple[int, float] | None:
        elapsed = time.perf_counter() - self.start_time  # get_run_time(), which is untyped
        step = next((s for s in self.steps if s.start_s <= elapsed < s.end_s), None)
        if step is None:
            return None
        if step.index != MASTER.current:
            MASTER.step_began(step, elapsed)
        return step.users, max(10.0, 4.0 * step.users)


# -- wiring: plan, start time, reports ------------------------------------------------------------------


def _arguments(parser: Any) -> None:
    # Custom arguments travel from the master to its workers in every spawn message.
    parser.add_argument("--smokegate-plan", default="", include_in_web_ui=False, help="(set by smokegate)")
    parser.add_argument("--smokegate-t0", type=float, default=0.0, include_in_web_ui=False, help="(set by smokegate)")


def _init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return  # the plan comes with the first spawn message (test_start)
    plan_file = os.environ.get(PLAN_ENV)
    if not plan_file or environment.parsed_options is None:
        raise SystemExit(f"smokegate's locustfile needs its plan: set {PLAN_ENV} (smokegate.load.engine does)")
    text = Path(plan_file).read_text(encoding="utf-8")
    environment.parsed_options.smokegate_plan = text
    SmokegateShape.steps = Plan.from_json(text).steps
    if runner is not None:
        runner.register_message(TICKS, _on_ticks)
        if isinstance(runner, MasterRunner):
            PROCESS.name = "master"


def _on_ticks(environment: Environment, msg: Any, **_: Any) -> None:
    MASTER.merge(msg.data, "local" if msg.node_id == "local" else f"worker {msg.data.get('worker', msg.node_id)}")


def _test_start(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    assert options is not None
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        options.smokegate_t0 = time.time()  # before the spawn messages that carry it are built
    plan = Plan.from_json(options.smokegate_plan)
    PROCESS.configure(plan, float(options.smokegate_t0))
    if isinstance(runner, WorkerRunner):
        PROCESS.name = f"worker {runner.worker_index}"
    if not PROCESS.greenlets:
        PROCESS.greenlets = [gevent.spawn(_report, environment), gevent.spawn(_watch_self)]
        if plan.session is not None and not isinstance(runner, MasterRunner):
            PROCESS.greenlets.append(gevent.spawn(_keep_session, plan.session, plan.ca_pem, plan.request_timeout_s))


def _spawned(user_count: int, **_: Any) -> None:
    if PROCESS.t0 is not None and MASTER.current is not None:
        MASTER.step_ready(MASTER.current, time.time() - PROCESS.t0)


def _send(environment: Environment) -> None:
    runner = environment.runner
    if runner is None:
        return
    if isinstance(runner, MasterRunner):
        MASTER.merge(PROCESS.drain(), "master")  # the master's own CPU and lag
        return
    data = PROCESS.drain()
    data["worker"] = PROCESS.name.removeprefix("worker ")
    runner.send_message(TICKS, data)


def _report(environment: Environment) -> None:
    """Once a second, what this process gathered goes to the master (a local runner keeps it)."""
    while True:
        gevent.sleep(1.0)
        _send(environment)


def _watch_self() -> None:
    """Every second: this process's CPU (% of one core) and its event loop's worst lag, from 100 ms naps.

    A nap that ends late marks every second it spanned with its lateness: a process that stalls longer
    than a second (starved of CPU, throttled, stopped) has every one of those seconds marked, not one.
    """
    process = psutil.Process()
    process.cpu_percent(None)
    worst: dict[int, float] = {}
    while True:
        began = time.perf_counter()
        gevent.sleep(0.1)
        ended = time.time()
        late = max(0.0, (time.perf_counter() - began - 0.1) * 1000)
        t0 = PROCESS.t0
        if t0 is None:
            continue
        now = int(ended - t0)
        for second in range(int(ended - late / 1000 - 0.1 - t0), now + 1):
            worst[second] = max(worst.get(second, 0.0), late)
        done = sorted(s for s in worst if s < now)
        if done:
            cpu = round(process.cpu_percent(None), 1)
            for second in done:
                PROCESS.samples.append([second, PROCESS.name, cpu, round(worst.pop(second), 1)])


def _keep_session(session: Session, ca_pem: str | None, timeout_s: float) -> None:
    """Keep the synthetic user's session token fresh, as clerk-js does (Clerk's tokens last a minute)."""
    context = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
    current = session
    while True:
        jwt = PROCESS.session_jwt
        if jwt and needs_refresh(jwt):
            try:
                PROCESS.session_jwt = refresh(current, context, timeout_s)
            except SessionError as exc:
                PROCESS.session_errors.append(str(exc))
        gevent.sleep(5.0)


def _test_stop(environment: Environment, **_: Any) -> None:
    _send(environment)  # the last second's requests, before the master writes


def _quitting(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return
    MASTER.write(environment, "master" if isinstance(runner, MasterRunner) else "local")


# Locust's event hooks are untyped: the listeners are added here rather than by decorator.
for _hook, _listener in (
    (events.request, _on_request),
    (events.init_command_line_parser, _arguments),
    (events.init, _init),
    (events.test_start, _test_start),
    (events.spawning_complete, _spawned),
    (events.test_stop, _test_stop),
    (events.quitting, _quitting),
):
    cast(Any, _hook).add_listener(_listener)
