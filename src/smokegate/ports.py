"""A free loopback port for a listener another process binds later (Locust's master, next start, nginx).

A port picked by ``bind(0)`` and handed on is free only for the moment it is picked: it comes from the
kernel's ephemeral range, which every other ``bind(0)`` and every outgoing connection on the machine also
draws from, and in the seconds before the other process binds it one of them may be given the same port
(seen in make test: a testbed's nginx and its own HTTPS listener failing "already in use"). Picked below
that range, a port is only taken meanwhile by a program that names it.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST = 20000  # clear of the well-known services' habitual ports (8000s, 9000s)
TRIES = 50


def ephemeral_low() -> int:
    """The lowest port the kernel hands out on its own (Linux's default 32768 where it cannot be read)."""
    try:
        return int(RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port(host: str = "127.0.0.1") -> int:
    """A port free on ``host`` now, below the ephemeral range where there is room; else the kernel's pick."""
    low = ephemeral_low()
    if low > LOWEST:
        for port in random.sample(range(LOWEST, low), k=min(TRIES, low - LOWEST)):
            with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
                try:
                    sock.bind((host, port))
                except OSError:
                    continue
                return port
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])
