"""Network chaos: a TCP proxy that delays, resets and stalls connections on their way to the testbed.

It sits in front of a listener and knows nothing above TCP: no check can see it, nothing in the app
changes, and TLS passes through untouched, so certificates validate through it as they would
directly (same host name; only the port is the proxy's).  Each new connection draws its fate from
one seeded random generator, in accept order:

- **delay**: wait a uniform ``delay_ms`` range before connecting upstream (what a far-away or
  congested path adds to every new connection);
- **reset**: close with a TCP RST (``SO_LINGER`` 0), either *at accept* (before a byte of the
  answer, so the client sees it in its TLS handshake or its first read) or *mid-stream* (after a
  random number of the server's bytes, up to :data:`MID_STREAM_MAX_BYTES`, so it can land in the
  handshake or in an answer; a connection that ends sooner is reset at its end instead of closed);
- **stall**: accept and never answer (at accept), or stop forwarding mid-stream (withholding the
  server's close on a shorter connection), holding the connection open until the client gives up.

Rates make a soak realistic; ``reset_next(n)`` and ``stall_next(n)`` make a test deterministic.
``settings`` is read per connection, so it may be changed while the proxy runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import random
import re
import socket
import struct
import termios
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

When = Literal["accept", "mid"]
Action = Literal["pass", "reset", "stall"]
MID_STREAM_MAX_BYTES = 4096
_CHUNK = 65536


class ChaosSpecError(ValueError):
    """A chaos spec that cannot be used; the message says which part and why."""


@dataclass(frozen=True)
class ChaosSettings:
    """What happens to new connections.  Rates are shares of connections (0.01 = 1 %)."""

    delay_ms: tuple[float, float] = (0.0, 0.0)
    reset_rate: float = 0.0
    stall_rate: float = 0.0
    seed: int | None = None

    def __post_init__(self) -> None:
        low, high = self.delay_ms
        if not 0 <= low <= high:
            raise ChaosSpecError(f"delay must be a range low-high with 0 <= low <= high, not {low:g}-{high:g}")
        for name in ("reset_rate", "stall_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ChaosSpecError(f"{name.removesuffix('_rate')} must be a share between 0 and 1 (or 0-100 %)")
        if self.reset_rate + self.stall_rate > 1:
            raise ChaosSpecError("reset and stall together cannot exceed 100 % of connections")

    @classmethod
    def parse(cls, spec: str) -> ChaosSettings:
        """``delay=0-150,reset=1%,stall=0,seed=7`` (each part optional; ``ms`` and ``%`` allowed)."""
        values: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, sep, raw = part.partition("=")
            key, raw = key.strip(), raw.strip()
            if not sep or not raw:
                raise ChaosSpecError(f"{part!r}: expected key=value (delay, reset, stall, seed)")
            if key == "delay":
                match = re.fullmatch(r"(\d+(?:\.\d+)?)(?:\s*-\s*(\d+(?:\.\d+)?))?\s*(?:ms)?", raw)
                if not match:
                    raise ChaosSpecError(f"delay={raw!r}: expected milliseconds like 0-150 or 50")
                low = float(match.group(1))
                values["delay_ms"] = (low, float(match.group(2)) if match.group(2) else low)
            elif key in ("reset", "stall"):
                values[f"{key}_rate"] = _share(key, raw)
            elif key == "seed":
                if not raw.isdigit():
                    raise ChaosSpecError(f"seed={raw!r}: expected a whole number")
                values["seed"] = int(raw)
            else:
                raise ChaosSpecError(f"{key!r}: unknown chaos setting (delay, reset, stall, seed)")
        return cls(**values)

    def describe(self) -> str:
        low, high = self.delay_ms
        return (f"delay {low:g}-{high:g} ms, reset {self.reset_rate:.2%}, stall {self.stall_rate:.2%}"
                + (f", seed {self.seed}" if self.seed is not None else ""))

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "delay_ms": list(self.delay_ms)}


def _share(key: str, raw: str) -> float:
    text = raw.removesuffix("%")
    try:
        value = float(text)
    except ValueError:
        raise ChaosSpecError(f"{key}={raw!r}: expected a share like 0.01 or 1%") from None
    return value / 100 if raw.endswith("%") else value


@dataclass
class ChaosStats:
    """What the proxy did, for tests and the soak report."""

    connections: int = 0
    reset_at_accept: int = 0
    reset_mid_stream: int = 0
    stalled_at_accept: int = 0
    stalled_mid_stream: int = 0
    upstream_failed: int = 0
    delay_ms_total: float = 0.0
    # Bytes forwarded from the server to clients (tests use it to aim a mid-stream cut).
    server_bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "delay_ms_total": round(self.delay_ms_total, 1)}


@dataclass(frozen=True)
class _Fate:
    delay_s: float = 0.0
    action: Action = "pass"
    when: When = "accept"
    after_bytes: int = 0


@dataclass
class ChaosProxy:
    """Forward ``listen_port`` on each of ``listen_hosts`` to ``upstream``, with chaos on the way."""

    upstream: tuple[str, int]
    listen_hosts: tuple[str, ...] = ("127.0.0.1",)
    listen_port: int = 0
    settings: ChaosSettings = field(default_factory=ChaosSettings)
    stats: ChaosStats = field(default_factory=ChaosStats)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.settings.seed)
        self._forced: list[tuple[Action, When, int]] = []
        self._lock = threading.Lock()
        self._servers: list[asyncio.Server] = []
        self._handlers: set[asyncio.Task[None]] = set()

    # -- control (thread-safe: tests call these from outside the proxy's loop) --------------------

    def reset_next(self, count: int = 1, when: When = "accept", after_bytes: int = 1) -> None:
        """Reset the next ``count`` connections: at accept, or mid-stream after ``after_bytes`` server bytes."""
        with self._lock:
            self._forced += [("reset", when, after_bytes)] * count

    def stall_next(self, count: int = 1, when: When = "accept", after_bytes: int = 1) -> None:
        """Stall the next ``count`` connections: never answer, or stop forwarding after ``after_bytes``."""
        with self._lock:
            self._forced += [("stall", when, after_bytes)] * count

    def configure(self, settings: ChaosSettings) -> None:
        """New rates and delay for the connections to come; a seed restarts the random sequence."""
        with self._lock:
            self.settings = settings
            if settings.seed is not None:
                self._rng = random.Random(settings.seed)

    def clear(self) -> None:
        """No chaos at all: no pending forced faults, no delay, no rates."""
        with self._lock:
            self._forced.clear()
            self.settings = ChaosSettings()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._forced)

    def _fate(self) -> _Fate:
        with self._lock:
            rng, settings = self._rng, self.settings
            low, high = settings.delay_ms
            delay = rng.uniform(low, high) / 1000 if high > 0 else 0.0
            if self._forced:
                action, when, after = self._forced.pop(0)
                return _Fate(delay, action, when, max(1, after) if when == "mid" else 0)
            draw = rng.random()
            if draw >= settings.reset_rate + settings.stall_rate:
                return _Fate(delay)
            action = "reset" if draw < settings.reset_rate else "stall"
            when = "accept" if rng.random() < 0.5 else "mid"
            return _Fate(delay, action, when, rng.randint(1, MID_STREAM_MAX_BYTES) if when == "mid" else 0)

    # -- serving ----------------------------------------------------------------------------------

    async def start(self, attempts: int = 8) -> int:
        """Listen; return the port (the same on every host).  With port 0 the kernel picks one for the
        first host, which another socket may hold on the next (``::1``): then a new pick, not a failure."""
        for attempt in range(attempts if self.listen_port == 0 else 1):
            port = self.listen_port
            try:
                for host in self.listen_hosts:
                    server = await asyncio.start_server(self._handle, host, port, reuse_address=True)
                    port = server.sockets[0].getsockname()[1]
                    self._servers.append(server)
            except OSError as exc:
                taken = bool(self._servers) and exc.errno == errno.EADDRINUSE
                for server in self._servers:
                    server.close()
                self._servers.clear()
                if self.listen_port != 0 or not taken or attempt == attempts - 1:
                    raise
                continue
            self.listen_port = port
            return port
        raise AssertionError("unreachable")

    async def stop(self) -> None:
        for server in self._servers:
            server.close()
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Cancelled by stop(): the connection ends with the proxy.
            writer.transport.abort()
        finally:
            if task is not None:
                self._handlers.discard(task)
            if not writer.is_closing():
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        _nodelay(writer)
        fate = self._fate()
        self.stats.connections += 1
        if fate.delay_s:
            self.stats.delay_ms_total += fate.delay_s * 1000
            await asyncio.sleep(fate.delay_s)
        if fate.action == "reset" and fate.when == "accept":
            self.stats.reset_at_accept += 1
            _reset(writer)
            return
        if fate.action == "stall" and fate.when == "accept":
            self.stats.stalled_at_accept += 1
            await _swallow(reader)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            # The listener behind is down (the target-down fault): the client is cut off.
            self.stats.upstream_failed += 1
            _reset(writer)
            return
        _nodelay(up_writer)
        cut = fate.after_bytes if fate.action != "pass" else None
        try:
            outcome = await _pump(reader, writer, up_reader, up_writer, cut, self.stats)
        finally:
            up_writer.close()
        if outcome == "cut" and fate.action == "reset":
            self.stats.reset_mid_stream += 1
            await _sent(writer)
            _reset(writer)
        elif outcome == "cut":
            self.stats.stalled_mid_stream += 1
            await _swallow(reader)

    # -- running in a thread, for tests and tools that are not asyncio ------------------------------

    @contextlib.contextmanager
    def running(self) -> Iterator[ChaosProxy]:
        """Serve from a background thread with its own event loop until the block ends."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the caller below
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()

        thread = threading.Thread(target=serve, name="chaos-proxy", daemon=True)
        thread.start()
        started.wait(10)
        if failure:
            loop.close()
            raise failure[0]
        try:
            yield self
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()


def _nodelay(writer: asyncio.StreamWriter) -> None:
    # Without it, small TLS records meet the client's delayed ACK and every hop gains ~40 ms.
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _sent(writer: asyncio.StreamWriter, bound_s: float = 2.0) -> None:
    """Wait (briefly) until the kernel has sent the bytes already written to the client.

    A reset purges the socket's send queue: bytes written but still queued there (the kernel may
    hold a small write back to cork it with the next one) would never reach the client, and a cut
    "after 100 bytes" would arrive after none.  The queue empties within microseconds on loopback,
    but loopback delivery and the client's ACK are softirq work, which a machine with every core busy
    defers: with a 0.5 s bound a make test run saw the client get none of the 100 bytes (bytes the
    client's kernel acknowledged are in its receive queue and are read before the reset's error, so
    the bound had run out).  A longer one costs nothing but for a client that stopped reading.
    """
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    deadline = time.monotonic() + bound_s
    buf = bytearray(4)
    while time.monotonic() < deadline:
        try:
            fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, buf)  # SIOCOUTQ: bytes not yet acknowledged
        except OSError:
            return
        if struct.unpack("i", buf)[0] == 0:
            return
        await asyncio.sleep(0.001)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST rather than a FIN: the client sees "connection reset by peer"."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _swallow(reader: asyncio.StreamReader) -> None:
    """Read and drop whatever the client sends, answering nothing, until it gives up."""
    while await reader.read(_CHUNK):
        pass


async def _pump(
    client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter, cut_after: int | None, stats: ChaosStats,
) -> Literal["done", "cut"]:
    """Copy both ways until either side closes, or until ``cut_after`` server bytes were forwarded."""

    async def upstream_to_client() -> Literal["done", "cut"]:
        sent = 0
        while True:
            data = await up_reader.read(_CHUNK)
            if not data:
                # A short connection ends before the cut: it is cut at its end instead (RST or no
                # FIN), so the configured share of connections really is reset or stalled.
                return "done" if cut_after is None else "cut"
            if cut_after is not None and sent + len(data) >= cut_after:
                keep = cut_after - sent
                if keep > 0:
                    stats.server_bytes += keep
                    client_writer.write(data[:keep])
                    await client_writer.drain()
                return "cut"
            sent += len(data)
            stats.server_bytes += len(data)
            client_writer.write(data)
            await client_writer.drain()

    async def client_to_upstream() -> Literal["done", "cut"]:
        while True:
            data = await client_reader.read(_CHUNK)
            if not data:
                with contextlib.suppress(OSError):
                    up_writer.write_eof()
                return "done"
            up_writer.write(data)
            await up_writer.drain()

    down = asyncio.ensure_future(upstream_to_client())
    up = asyncio.ensure_future(client_to_upstream())
    try:
        done, _ = await asyncio.wait({down, up}, return_when=asyncio.FIRST_COMPLETED)
        if down in done:
            # The server finished (or we cut it): nothing more to forward either way.
            return down.result()
        if up.exception() is not None:
            return "done"  # the client went away abruptly: nothing left to deliver
        # The client half-closed: let the server finish its answer.
        return await down
    finally:
        for task in (down, up):
            task.cancel()
        await asyncio.gather(down, up, return_exceptions=True)


def admin(proxies: Mapping[str, ChaosProxy], body: Mapping[str, Any] | None) -> tuple[int, dict[str, Any]]:
    """The admin API's ``/chaos`` on either testbed: ``body`` of a PUT (None for a GET) applied to the
    proxies, and the status and JSON to answer.

    PUT ``{"spec": "delay=0-150,reset=1%", "reset_next": 2, "stall_next": 0, "when": "accept",
    "after_bytes": 1, "listener": "https"}``; every key is optional; ``"clear": true`` turns it all off.
    """
    if not proxies:
        return 409, {"error": "this testbed runs without --chaos"}
    if body is not None:
        names = list(proxies) if body.get("listener") == "all" else [body.get("listener", "https")]
        when = body.get("when", "accept")
        if any(name not in proxies for name in names) or when not in ("accept", "mid"):
            return 400, {"error": f"listener is one of {sorted(proxies)} or all; when is accept or mid"}
        try:
            settings = ChaosSettings.parse(body["spec"]) if "spec" in body else None
        except ChaosSpecError as exc:
            return 400, {"error": f"spec: {exc}"}
        for name in names:
            proxy = proxies[name]
            if body.get("clear"):
                proxy.clear()
            if settings is not None:
                proxy.configure(settings)
            after = int(body.get("after_bytes", 1))
            proxy.reset_next(int(body.get("reset_next", 0)), when, after)
            proxy.stall_next(int(body.get("stall_next", 0)), when, after)
    return 200, {name: {"settings": proxy.settings.as_dict(), "pending": proxy.pending,
                        "stats": proxy.stats.as_dict()} for name, proxy in proxies.items()}
