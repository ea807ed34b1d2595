"""Start a testbed in a subprocess and drive its admin API: for self-tests, the demo and benchmarks."""

from __future__ import annotations

import json
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

from smokegate.testbed.server import STATE_FILE


class TestbedError(RuntimeError):
    """The testbed did not start or did not accept a command."""


@dataclass
class RunningTestbed:
    """A testbed process; ``info`` is what it wrote to ``testbed.json``."""

    process: subprocess.Popen[bytes]
    state_dir: Path
    info: dict[str, Any]

    @classmethod
    def start(
        cls,
        state_dir: Path,
        *,
        https_port: int = 0,
        http_port: int = 0,
        faults: Iterable[str] = (),
        version: str | None = None,
        timeout_s: float = 30.0,
        protection: bool = False,
    ) -> RunningTestbed:
        state_dir.mkdir(parents=True, exist_ok=True)
        state_file = state_dir / STATE_FILE
        state_file.unlink(missing_ok=True)
        command = [
            sys.executable, "-m", "smokegate.testbed", "--state-dir", str(state_dir),
            "--https-port", str(https_port), "--http-port", str(http_port),
        ]
        for fault in faults:
            command += ["--fault", fault]
        if version:
            command += ["--version", version]
        if protection:
            command.append("--protection")
        log = (state_dir / "testbed.log").open("wb")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while not state_file.exists():
            if process.poll() is not None:
                raise TestbedError(f"testbed exited with {process.returncode}: {_tail(state_dir / 'testbed.log')}")
            if time.monotonic() > deadline:
                process.kill()
                raise TestbedError(f"testbed did not start within {timeout_s:g} s")
            time.sleep(0.05)
        info = json.loads(state_file.read_text())
        return cls(process=process, state_dir=state_dir, info=info)

    def __enter__(self) -> RunningTestbed:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

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
