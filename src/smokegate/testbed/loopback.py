"""The loopback guard: a run against the testbed reaches nothing beyond this machine.

The self-tests and ``make soak`` test the stand-in platform on loopback.  A check that reaches past
it (Clerk's real Backend API because ``CLERK_API_URL`` was not handed to the run, a webhook URL of the
developer's own environment) must not pass unnoticed, nor depend on a network the machine may not
have.  :func:`install` adds a Python audit hook (PEP 578) that sees every name lookup and every
connection the process makes, through any library (httpx, sslyze, the stdlib):

- a lookup of a name other than ``localhost`` or this machine's own host name, or a connection to an
  address that is not loopback, is refused as the network would refuse it (a DNS failure, a refused
  connection), so the run reports it where it happened;
- each refusal is one JSON line in the file ``LOOPBACK_GUARD_LOG`` names (when set), which the
  self-tests and the soak read after every test and run: a single line fails them.

A name no resolver could look up (longer than DNS allows) fails locally and is let through, as is a
Unix socket.  Not covered: what runs outside Python (Chromium and Playwright's Node driver, libpq).

As a pytest plugin it is opt-in, never part of a live run: ``pytest -p smokegate.testbed.loopback``.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import os
import socket
import sys
import traceback
from typing import Any

LOG_ENV = "LOOPBACK_GUARD_LOG"
LOCAL_NAMES = ("localhost", "ip6-localhost", "ip6-loopback")
_installed: list[bool] = []


def install() -> None:
    """Guard this process (and the processes it forks) from now on; once per process."""
    if not _installed:
        sys.addaudithook(_hook)
        _installed.append(True)


def pytest_configure() -> None:
    install()


def is_local_address(host: str) -> bool:
    """A loopback or unspecified (this host) IP address."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def needs_no_network(host: Any) -> bool:
    """Can looking ``host`` up stay on this machine: no name, a local name, an IP address (its own answer;
    a connection to it is judged apart), or no DNS name at all?"""
    if host is None:
        return True
    name = (host.decode(errors="replace") if isinstance(host, bytes) else str(host)).strip().rstrip(".").lower()
    if name in ("", *LOCAL_NAMES, socket.gethostname().lower()):
        return True
    try:
        ipaddress.ip_address(name.split("%", 1)[0])
        return True
    except ValueError:
        pass
    # Longer than DNS allows: the resolver refuses it without sending anything.
    return len(name) > 253 or any(len(label) > 63 or not label for label in name.split("."))


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not event.startswith("socket."):
        return
    if event == "socket.getaddrinfo" or event in ("socket.gethostbyname", "socket.gethostbyname_ex",
                                                  "socket.gethostbyaddr"):
        if not needs_no_network(args[0]):
            _refuse(event, str(args[0]), socket.gaierror(socket.EAI_NONAME, f"Name or service not known "
                                                         f"(loopback guard: {args[0]} is not on this machine)"))
    elif event in ("socket.connect", "socket.sendto") and len(args) >= 2:
        sock, address = args[0], args[1]
        if getattr(sock, "family", None) in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0])
            if not is_local_address(host):
                _refuse(event, f"{host}:{address[1]}", ConnectionRefusedError(
                    errno.ECONNREFUSED, f"Connection refused (loopback guard: {host} is not loopback)"))


def _refuse(event: str, target: str, error: OSError) -> None:
    path = os.environ.get(LOG_ENV)
    where = [f"{frame.filename}:{frame.lineno}" for frame in traceback.extract_stack()[-8:-2]]
    line = json.dumps({"pid": os.getpid(), "event": event, "target": target, "where": where})
    print(f"loopback guard: refused {event} {target}", file=sys.stderr)
    if path:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "a", encoding="utf-8") as log:
                log.write(line + "\n")
        except OSError as exc:  # the refusal stands; only its record is lost, and said so
            print(f"loopback guard: cannot log to {path}: {exc}", file=sys.stderr)
    raise error


def read_log(path: str | os.PathLike[str], offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The refusals logged from byte ``offset`` on, and the offset after them."""
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            data = log.read()
    except FileNotFoundError:
        return [], offset
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()], offset + len(data)
