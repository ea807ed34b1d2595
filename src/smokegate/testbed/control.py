"""Start a testbed in a subprocess and drive its admin API: for self-tests, the demo and benchmarks."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from smokegate.testbed.instance import STATE_FILE, read_json


class TestbedError(RuntimeError):
    """The testbed did not start or did not accept a command."""


@dataclass
class RunningTestbed:
    """A testbed process; ``info`` is what it wrote to ``testbed.json``."""

    process: subprocess.Popen[bytes]
    state_dir: Path
    info: dict[str, Any]
    log_file: Path | None = None

    @classmethod
    def start(
        cls,
        state_dir: Path,
        *,
        https_port: int = 0,
        http_port: int = 0,
        faults: Iterable[str] = (),
        version: str | None = None,
        chaos: str | None = None,
        timeout_s: float = 30.0,
        protection: bool = False,
        kind: str = "python",
    ) -> RunningTestbed:
        """Start a testbed on ``state_dir``; ``chaos`` is a ``--chaos`` spec (see :mod:`.chaos`).

        ``kind`` is ``"python"`` (:mod:`smokegate.testbed`) or ``"next"``, the real Next.js testbed
        (:mod:`smokegate.testbed.realnext`: ``next start`` behind nginx; no protection, no Clerk).
        """
        state_dir.mkdir(parents=True, exist_ok=True)
        state_file = state_dir / STATE_FILE
        module = {"python": "smokegate.testbed", "next": "smokegate.testbed.realnext"}[kind]
        if kind == "next" and protection:
            raise TestbedError("the real Next.js testbed has no Vercel protection (use the Python testbed)")
        command = [
            sys.executable, "-m", module, "--state-dir", str(state_dir),
            "--https-port", str(https_port), "--http-port", str(http_port),
        ]
        for fault in faults:
            command += ["--fault", fault]
        if version:
            command += ["--version", version]
        if protection:
            command.append("--protection")
        if chaos is not None:
            command += ["--chaos", chaos]
        # The log is the process's own: a testbed already running on this directory keeps its log.
        log_file = state_dir / f"testbed-{time.time_ns()}.log"
        with log_file.open("wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        # Ready when testbed.json names this process: one left by another testbed is not ours.
        while (info := read_json(state_file)) is None or info.get("pid") != process.pid:
            if process.poll() is not None:
                raise TestbedError(f"testbed exited with {process.returncode}: {_tail(log_file)}")
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise TestbedError(f"testbed did not start within {timeout_s:g} s: {_tail(log_file)}")
            time.sleep(0.05)
        return cls(process=process, state_dir=state_dir, info=info, log_file=log_file)

    def __enter__(self) -> RunningTestbed:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def kind(self) -> str:
        """``python`` or ``next`` (the real Next.js testbed)."""
        return str(self.info.get("kind", "python"))

    @property
    def url(self) -> str:
        return str(self.info["https_url"])

    @property
    def http_url(self) -> str:
        return str(self.info["http_url"])

    @property
    def ca_file(self) -> str:
        return str(self.info["ca_file"])

    @property
    def version(self) -> str:
        return str(self.info["version"])

    @property
    def bypass_secret(self) -> str:
        """The secret its Vercel Deployment Protection accepts (testbed/vercel.py)."""
        return str(self.info["bypass_secret"])

    @property
    def clerk_api_url(self) -> str:
        """Where its Clerk Backend API answers (testbed/clerk.py)."""
        return str(self.info["clerk_api_url"])

    @property
    def provider_urls(self) -> dict[str, str]:
        """Where its provider stand-ins answer, by provider (testbed/providers)."""
        return dict(self.info["providers"])

    def set_protection(self, on: bool) -> None:
        self._admin("PUT", "/protection", json={"on": on})

    def _admin(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"authorization": f"Bearer {self.info['admin_token']}"}
        response = httpx.request(method, self.info["admin_url"] + path, headers=headers, timeout=15,
                                 trust_env=False, **kwargs)
        if response.status_code != 200:
            raise TestbedError(f"admin {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def set_faults(self, names: Iterable[str]) -> None:
        self._admin("PUT", "/faults", json={"active": list(names)})

    def faults(self) -> list[str]:
        return list(self._admin("GET", "/faults")["active"])

    def events(self) -> list[dict[str, Any]]:
        return list(self._admin("GET", "/events")["events"])

    def served(self) -> int:
        """Requests the public app answered since the faults were last set."""
        return int(self._admin("GET", "/events")["served"])

    def chaos(self, **change: Any) -> dict[str, Any]:
        """Drive the chaos proxies (testbed started with ``chaos=``): ``spec``, ``reset_next``,
        ``stall_next``, ``when``, ``after_bytes``, ``listener``, ``clear``; returns settings and counters."""
        if change:
            return dict(self._admin("PUT", "/chaos", json=change))
        return dict(self._admin("GET", "/chaos"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
