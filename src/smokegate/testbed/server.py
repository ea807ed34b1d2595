"""Run the testbed: HTTPS platform, HTTP redirector and admin API, each a uvicorn server on loopback.

The HTTPS listener can be restarted at runtime with another TLS setup (faults such as an expired
certificate need a new handshake) or stopped altogether (the ``target-down`` fault), while the admin
API stays up to switch it back.

In chaos mode (``chaos=ChaosSettings(...)``) a :class:`~smokegate.testbed.chaos.ChaosProxy` listens
on the public HTTPS and HTTP ports and the listeners move behind it to free loopback ports: every
URL the testbed hands out (testbed.json, redirects, its identity provider) is the proxied one.
One testbed per state directory (:mod:`smokegate.testbed.instance`).

SIGINT and SIGTERM stop every server, whatever restarts happened: the testbed handles them itself,
once, on its event loop. uvicorn's own per-server handlers are switched off (:class:`_Server`): each
server installs them when it starts and puts back, when it stops, whatever was there before it. With
three servers started in turn and the HTTPS one restarted, that "before" is stale: a restarted HTTPS
listener hands a signal on to the disposition the process started with, and a testbed started with
SIGINT ignored (a shell's background job) then ignored it for good, its other servers serving on.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import ssl
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from smokegate.testbed import clerk as clerk_api
from smokegate.testbed import idp as identity_provider
from smokegate.testbed import osv, supabase_project
from smokegate.testbed import providers as provider_apis
from smokegate.testbed import vercel as vercel_edge
from smokegate.testbed.app import create_admin_app, create_public_app, create_redirect_app
from smokegate.testbed.auth import CALLBACK_PATH
from smokegate.testbed.certs import Certificates
from smokegate.testbed.chaos import ChaosProxy, ChaosSettings
from smokegate.testbed.context import Testbed
from smokegate.testbed.instance import STATE_FILE, claim, write_info
from smokegate.testbed.state import TestbedState
from smokegate.testbed.tls_setups import TLS_FACTORIES, healthy_context

LISTENER_FAULTS = {"target-down"}
__all__ = ["STATE_FILE", "ListenerError", "TestbedServer"]

# What stops the testbed: Ctrl-C, and `kill` (RunningTestbed.stop sends SIGINT).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How long a stopping server waits for requests in flight (a client that never finishes its request
# would otherwise hold the testbed up for good): then they are cancelled.
GRACEFUL_CLOSE_S = 3

# Faults that need another TLS setup register a context factory here: fault name -> factory.
TlsFactory = Callable[[Certificates], ssl.SSLContext]
TLS_FAULTS: dict[str, TlsFactory] = {}
TLS_FAULTS.update(TLS_FACTORIES)


class ListenerError(RuntimeError):
    """A port the testbed needs cannot be listened on (most often: already in use)."""


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this: without it, headers and body written apart meet the client's
    # delayed ACK and every answer gains ~40 ms that no real edge server adds.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        what = "already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise ListenerError(f"cannot listen on {host}:{port}: {what}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _bind_all(hosts: Sequence[str], port: int, attempts: int = 8) -> list[socket.socket]:
    """One listening socket per host, all on one port; port 0 picks one free on every host.

    The kernel picks a free port for the first host only: on ``::1`` that port may be some other
    socket's (another test's testbed, a client's local port), so a taken one is tried again with a new
    pick, never reported as a port the user asked for."""
    for attempt in range(attempts if port == 0 else 1):
        socks: list[socket.socket] = []
        try:
            for host in hosts:
                socks.append(_bind(host, socks[0].getsockname()[1] if socks else port))
            return socks
        except ListenerError:
            for sock in socks:
                sock.close()
            if port != 0 or attempt == attempts - 1 or not socks:
                raise
    raise AssertionError("unreachable")


def _ipv6_loopback() -> bool:
    try:
        _bind("::1", 0).close()
    except OSError:
        return False
    return True


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handlers alone: :meth:`TestbedServer.serve` owns them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # uvicorn's version installs handle_exit for this server alone and, on the way out, restores
        # the handlers it found and raises the signal again: stale ones once another server started
        # or this one was restarted (see the module's docstring).
        yield


@contextlib.contextmanager
def _stopping_on_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` on SIGINT and SIGTERM, then put back the handlers that were there before.

    Installed whatever the process inherited: one started with SIGINT ignored is still stopped by the
    SIGINT that :class:`~smokegate.testbed.control.RunningTestbed` sends. The loop's handler also
    wakes its selector at once (a plain ``signal.signal`` handler runs, but the loop acts on it only
    when its select() next returns).
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread can take signals (uvicorn's own handlers skip them there too)
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            if handler is not None:
                signal.signal(sig, handler)


def _server(app: Any, port: int, ssl_context: ssl.SSLContext | None = None) -> uvicorn.Server:
    # proxy_headers=False: the testbed is the edge itself, so a client's X-Forwarded-For must not
    # become the peer address (uvicorn trusts it from 127.0.0.1 by default: a limiter bypass).
    config = uvicorn.Config(app, port=port, log_level="warning", lifespan="off", access_log=False,
                            timeout_keep_alive=5, http="h11", server_header=False, proxy_headers=False,
                            timeout_graceful_shutdown=GRACEFUL_CLOSE_S)
    config.load()
    # uvicorn only builds a context from files; ours is built in memory and may change per fault.
    config.ssl = ssl_context
    return _Server(config)


@dataclass
class TestbedServer:
    state_dir: Path
    https_port: int = 0
    http_port: int = 0
    admin_port: int = 0
    faults: list[str] = field(default_factory=list)
    version: str | None = None
    protection: bool = False
    chaos: ChaosSettings | None = None

    def __post_init__(self) -> None:
        self.state = TestbedState(version=self.version) if self.version else TestbedState()
        self.state.protected = self.protection
        self.tb = Testbed(self.state)
        self.hosts = ["127.0.0.1", *(["::1"] if _ipv6_loopback() else [])]
        # Where the HTTPS listener binds: the public port, or a private one behind the chaos proxy.
        self._https_listen_port = self.https_port
        # The HTTPS port's listening sockets, held from the first bind to the stop (closed only while
        # target-down): each server started on it gets duplicates. Closed and bound again, the port
        # was free in between, and another process's pick took it (seen: a testbed start failing
        # "already in use" on the port it had itself just picked, while its certificates were made).
        self._https_socks: list[socket.socket] = []
        self.proxies: dict[str, ChaosProxy] = {}
        self._https: uvicorn.Server | None = None
        self._https_task: asyncio.Task[None] | None = None
        self._tls_key: tuple[str, ...] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # One HTTPS restart at a time: two admin switches restarting it together both bound its port
        # (the second failed, in use) and lost track of the server the first had started (HTTP 500).
        self._restart_lock = asyncio.Lock()
        self._closing = False  # set, under the lock, once the testbed stops: no restart after it
        self._stop = asyncio.Event()
        self._signals = 0
        self._servers: list[uvicorn.Server] = []  # the redirect and admin servers

    def _listener_key(self, active: set[str]) -> tuple[str, ...]:
        return tuple(sorted(active & (LISTENER_FAULTS | set(TLS_FAULTS))))

    def _tls_context(self, active: set[str]) -> ssl.SSLContext:
        for name in sorted(active):
            if name in TLS_FAULTS:
                return TLS_FAULTS[name](self.certs)
        return healthy_context(self.certs)

    async def _start_https(self) -> None:
        active = set(self.state.active)
        self._tls_key = self._listener_key(active)
        if "target-down" in active:
            self._https = None
            self._release_https_port()  # down is down: a connection is refused, not queued
            return
        if not self._https_socks:
            self._https_socks = _bind_all(self.hosts, self._https_listen_port)
        # Connections that arrive while a restart is under way wait in the held sockets' queue.
        sockets = [sock.dup() for sock in self._https_socks]
        server = _server(self.tb_app, self._https_listen_port, self._tls_context(active))
        task = asyncio.create_task(server.serve(sockets=sockets))
        self._https, self._https_task = server, task
        while not server.started:
            if task.done():
                # It ended before it served: say why, and let the next switch start afresh.
                self._https, self._https_task, self._tls_key = None, None, None
                for sock in sockets:
                    sock.close()
                task.result()
                raise ListenerError(f"the HTTPS listener on port {self._https_listen_port} stopped at start")
            await asyncio.sleep(0.01)

    def _release_https_port(self) -> None:
        for sock in self._https_socks:
            sock.close()
        self._https_socks = []

    async def _stop_https(self) -> None:
        if self._https is not None and self._https_task is not None:
            self._https.should_exit = True
            self._https.force_exit = True
            await self._https_task
        self._https = None
        self._https_task = None

    async def _restart_https(self) -> None:
        await self._stop_https()
        await self._start_https()

    async def apply_faults(self, active: set[str]) -> None:
        """Restart the HTTPS listener when the faults that shape it changed.

        ``active`` is what this switch set; the listener follows the faults as they are once it is
        this switch's turn (a later switch may have changed them meanwhile: the last one wins).
        """
        async with self._restart_lock:
            if not self._closing and self._listener_key(set(self.state.active)) != self._tls_key:
                await self._restart_https()

    def run(self) -> None:
        """Serve until interrupted, holding the state directory (see :func:`instance.claim`)."""
        with claim(self.state_dir):
            asyncio.run(self.serve())

    async def _start_proxy(self, name: str, upstream_port: int, public_port: int) -> int:
        assert self.chaos is not None
        proxy = ChaosProxy(("127.0.0.1", upstream_port), tuple(self.hosts), public_port, self.chaos)
        try:
            port = await proxy.start()
        except OSError as exc:
            await proxy.stop()
            what = "already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
            raise ListenerError(f"cannot listen on port {public_port}: {what}") from None
        self.proxies[name] = proxy
        return port

    def _on_signal(self) -> None:
        """SIGINT or SIGTERM: the first stops every server gracefully, the next one at once."""
        self._signals += 1
        self._stop.set()
        if self._signals > 1:
            for server in [*self._servers, *([self._https] if self._https else [])]:
                server.should_exit = server.force_exit = True

    async def serve(self) -> None:
        """Serve until SIGINT or SIGTERM (or until a server fails), then stop every server."""
        self._loop = asyncio.get_running_loop()
        with _stopping_on_signals(self._loop, self._on_signal):
            await self._serve()

    async def _serve(self) -> None:
        self.state.set_faults(self.faults)
        self.tb.on_faults_changed = self.apply_faults
        self.tb_app = create_public_app(self.tb)

        # Behind a chaos proxy the listeners take free ports and the proxies the public ones.
        listen_https = 0 if self.chaos else self.https_port
        self._https_socks = _bind_all(self.hosts, listen_https)
        self._https_listen_port = self._https_socks[0].getsockname()[1]
        http_socks = _bind_all(self.hosts, 0 if self.chaos else self.http_port)
        http_listen_port = http_socks[0].getsockname()[1]
        admin_sock = _bind("127.0.0.1", self.admin_port)
        self.admin_port = admin_sock.getsockname()[1]
        if self.chaos:
            self.https_port = await self._start_proxy("https", self._https_listen_port, self.https_port)
            self.http_port = await self._start_proxy("http", http_listen_port, self.http_port)
        else:
            self.https_port, self.http_port = self._https_listen_port, http_listen_port
        # Written only now: a testbed that cannot listen leaves the state directory as it was.
        self.certs = Certificates.create(self.state_dir)
        self.tb.public_origin = f"https://localhost:{self.https_port}"
        # The identity provider gets an origin of its own, as Google, Microsoft and Slack have:
        # https://127.0.0.1:<port>, routed by Host on the same listener, so it presents the very
        # certificate the app presents (the browser trusts exactly that one key).
        idp_url = f"https://127.0.0.1:{self.https_port}"
        self.tb.idp.configure(idp_url, self.tb.public_origin, CALLBACK_PATH)
        if self.chaos:
            # The chaos is on the runner's path to the platform, not on the platform's own calls.
            self.tb.idp.backchannel = f"https://127.0.0.1:{self._https_listen_port}"
        self.tb_app = identity_provider.by_host(self.tb_app, self.tb.idp)
        # That origin also serves Clerk's Backend API (/v1/), and records any request reaching it with
        # the Vercel bypass (testbed/vercel.py): no other origin may ever see it.
        self.tb.other_origin = idp_url
        self.tb_app = clerk_api.backend_by_host(self.tb_app, self.tb.clerk, "127.0.0.1")
        # And the Supabase project's APIs (/rest/v1, /storage/v1, /auth/v1), as at https://<ref>.supabase.co.
        self.tb.serve_supabase_at(idp_url)
        self.tb_app = supabase_project.by_host(self.tb_app, self.tb.supabase, "127.0.0.1")
        # And OSV's query API (testbed/osv.py): the advisory checks never reach the network from a self-test.
        self.tb_app = osv.by_host(self.tb_app, "127.0.0.1")
        from smokegate.testbed.providers import clerk_activity

        self.tb_app = clerk_activity.by_host(self.tb_app, self.tb, "127.0.0.1")
        self.tb_app = vercel_edge.watch_other_origin(self.tb_app, self.tb, "127.0.0.1")
        self.tb.auth.ca_file = str(self.certs.ca_file.resolve())

        info = {
            "https_url": f"https://localhost:{self.https_port}",
            "http_url": f"http://localhost:{self.http_port}",
            "admin_url": f"http://127.0.0.1:{self.admin_port}",
            "idp_url": idp_url,
            "clerk_api_url": idp_url,
            "protected": self.state.protected,
            "ca_file": str(self.certs.ca_file.resolve()),
            "version": self.state.version,
            "pid": os.getpid(),
            "chaos": self.chaos.as_dict() if self.chaos else None,
        }
        await self._start_https()
        # The providers' APIs and status pages, each on an origin of its own (testbed/providers).
        urls, provider_servers, provider_tasks = await provider_apis.serve(
            provider_apis.StandIns(self.tb), _bind, _server, healthy_context(self.certs))
        info["providers"] = urls
        redirect = _server(create_redirect_app(self.https_port, self.tb, self.tb_app), http_listen_port)
        admin = _server(create_admin_app(self.tb, info, self.proxies), self.admin_port)
        self._servers = [redirect, admin, *provider_servers]
        tasks = [
            asyncio.create_task(redirect.serve(sockets=http_socks)),
            asyncio.create_task(admin.serve(sockets=[admin_sock])),
            *provider_tasks,
        ]
        while not all(server.started for server in self._servers):
            if any(task.done() for task in tasks):
                await self._close(tasks)  # raises what ended it
                return
            await asyncio.sleep(0.01)
        logging.getLogger("smokegate.testbed").warning(
            "testbed up: %s (HTTP %s, CA %s)%s", info["https_url"], info["http_url"], info["ca_file"],
            f" through network chaos: {self.chaos.describe()}" if self.chaos else "",
        )
        # Last: whoever waits for testbed.json finds the testbed serving and done writing.
        write_info(self.state_dir, {**info, "admin_token": self.state.admin_token,
                                    "bypass_secret": self.tb.protection.secret})
        stopping = asyncio.create_task(self._stop.wait())
        try:
            # A server that ends on its own has failed: the others stop too, and gather says why.
            await asyncio.wait([stopping, *tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            await self._close(tasks)

    async def _close(self, tasks: list[asyncio.Task[None]]) -> None:
        """Stop the servers together: each takes uvicorn's graceful close (~0.2 s when idle)."""
        # Under the lock: a restart under way finishes first, and none starts after this.
        async with self._restart_lock:
            self._closing = True
        https_tasks = [self._https_task] if self._https is not None and self._https_task is not None else []
        for server in [*self._servers, *([self._https] if self._https else [])]:
            server.should_exit = True
        try:
            await asyncio.gather(*tasks, *https_tasks)
        finally:
            for proxy in self.proxies.values():
                await proxy.stop()
            await self._stop_https()
            self._release_https_port()
