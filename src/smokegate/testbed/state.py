"""The testbed's mutable state: which faults are on, the deployed version, what it has seen.

One instance is shared by the public app and the admin app of a running testbed.  Faults are
switched at runtime through the admin app, so the self-tests need not restart the server per fault.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from smokegate.testbed import faults as fault_catalog

DEFAULT_VERSION = "9f1c2e7a4b8d3f60a5c1e9b7d2f4a6c8e0b3d5f7"


@dataclass
class TestbedState:
    version: str = DEFAULT_VERSION
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    active: set[str] = field(default_factory=set)
    # Vercel Deployment Protection in front of the app (testbed/vercel.py): a mode, not a fault.
    protected: bool = False
    # Requests served while the app was under concurrent load (the error-5pct fault counts these).
    concurrent_served: int = 0
    # Events the app acted on (webhooks processed, sign-ins...), for the self-tests to inspect.
    events: list[dict[str, Any]] = field(default_factory=list)
    # Requests the public app answered since the faults were last set (self-tests: "nothing was sent").
    served: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on(self, name: str) -> bool:
        return name in self.active

    def set_faults(self, names: Iterable[str]) -> None:
        wanted = set(names)
        for name in wanted:
            fault_catalog.get(name)  # raises on an unknown name
        with self.lock:
            self.active = wanted
            self.concurrent_served = 0
            self.served = 0
            self.events.clear()

    def record(self, kind: str, **data: Any) -> None:
        with self.lock:
            self.events.append({"kind": kind, **data})
