"""The TLS scan in a process of its own: started early, joined by the first TLS check.

sslyze's scan is hundreds of handshakes, five at a time: against a deployment across the internet
it is mostly waiting (a round trip or two each), against the testbed on the same machine it is CPU
(0.33-0.39 s, after 0.3 s importing sslyze).  In a thread it would hold Python's lock through every
handshake and slow each request of the checks running beside it; in a process of its own it runs
beside them.

Whether it pays (:func:`worth_a_process`): the child costs a Python start-up, and takes sslyze's
import and the scan (0.6-0.8 s of CPU) off the run's own process. With a second core to run on, that
is a gain wherever the target is: against the testbed on the same 2-core machine the HTTP gate went
from 3.75 to 3.33 s (medians of 12, alternated; 3.65 to 3.42 and 3.62 to 3.38 in two more rounds),
because the run's process is busy with its checks while the child scans beside it. On a single core
the child only adds its start-up (pinned to one core: 3.95 s in process, 4.29 s with the child,
medians of 6), unless the scan mostly waits on the network (setting up the reachability probe's
connection, TCP and TLS, took ``NETWORK_BOUND_SETUP_MS`` or more): with 30 ms per connection (the
testbed's chaos proxy) the HTTP gate went from 7.24 to 6.68 s. Otherwise the first TLS check scans
in process.

When it starts (:func:`start_index`): a single-process run starts the scan at the first check after
the last check that *measures* the target (``check(measures=True)``) before the first TLS check, so
no latency or page-load sample is ever taken while the scan's handshakes are on the wire.  When no
check comes between them, or under xdist (each worker sees only the checks it is sent), the first
TLS check scans in its own process, as before.

The job is bounded (the scan's own per-connection timeout, plus a deadline for the whole job, after
which it is killed) and sends nothing but the scan: the child gets the host, port and CA file, no
secret.  Whatever goes wrong with the job itself (it could not start, died, or overran) is not a
finding: the first TLS check then scans in process, and the scan's own retries decide.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from smokegate.checks.tls import TlsScan

# A job that outlives its deadline is killed; the check then scans in process.
DEADLINE_MARGIN_S = 30.0
# A connection this slow to set up means the scan's handshakes wait on the network (the testbed on
# loopback: 2-5 ms quiet, above 10 on a busy 2-core machine; a deployment across the internet: tens of ms).
NETWORK_BOUND_SETUP_MS = 20.0


def network_bound(setup_ms: float | None) -> bool:
    """Does a scan of a target this far away wait more than the child's start-up costs?"""
    return setup_ms is not None and setup_ms >= NETWORK_BOUND_SETUP_MS


def worth_a_process(setup_ms: float | None, cpus: int, sslyze_loaded: bool = False) -> bool:
    """Does the scan in a child beat the scan in process: a second core (while sslyze's import is
    still to be paid), or a wait to hide?

    A process that has sslyze loaded already (a run forked by ``smokegate watch``'s warm fork
    server) would pay the import again in the child for nothing: it scans in process, where the
    watcher's CPU budget is spent best, unless the scan waits on the network."""
    return (cpus >= 2 and not sslyze_loaded) or network_bound(setup_ms)


@dataclass(frozen=True)
class ScanRequest:
    """What the child scans: no secret, only where and whom to trust."""

    host: str
    port: int
    ca_file: str | None
    profile: str
    timeout_s: float

    def deadline_s(self) -> float:
        # A scan is one sslyze run, at most three when retries fail; each handshake has timeout_s.
        return 3 * max(self.timeout_s, 1.0) + DEADLINE_MARGIN_S


def start_index(measures: Sequence[bool], reads_scan: Sequence[bool]) -> int | None:
    """Index of the check at whose start the scan starts in the background, or None (no TLS check,
    or no check between the last measuring check and the first TLS check)."""
    if True not in reads_scan:
        return None
    first = reads_scan.index(True)
    last_measuring = max((i for i in range(first) if measures[i]), default=-1)
    start = last_measuring + 1
    return start if start < first else None


class ScanJob:
    """The child process scanning; :meth:`result` joins it."""

    def __init__(self, request: ScanRequest, process: subprocess.Popen[bytes], deadline_s: float | None = None) -> None:
        self._process = process
        self._deadline = time.monotonic() + (request.deadline_s() if deadline_s is None else deadline_s)

    @classmethod
    def start(cls, request: ScanRequest) -> ScanJob | None:
        try:
            # The request on the command line: it holds no secret (host, port, CA path, profile).
            process = subprocess.Popen(
                [sys.executable, "-m", "smokegate.security.tls_job", json.dumps(request.__dict__)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )
        except OSError:
            return None
        return cls(request, process)

    def result(self) -> TlsScan | None:
        """The scan, or None when the job failed (the caller then scans in process)."""
        try:
            out, _ = self._process.communicate(timeout=max(0.0, self._deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.cancel()
            return None
        if self._process.returncode != 0 or not out:
            return None
        try:
            return _loads(out)
        except Exception:  # a truncated or foreign answer: scan in process instead
            return None

    def cancel(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()


def _dumps(scan: TlsScan) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding

    # Certificates do not pickle; they travel as DER and are read back on the other side.
    chain = [certificate.public_bytes(Encoding.DER) for certificate in scan.chain]
    return pickle.dumps((replace(scan, chain=[]), chain))


def _loads(data: bytes) -> TlsScan:
    from cryptography import x509

    # Our own child's answer, over its own pipe: trusted as the scan itself would be in process.
    from smokegate.checks.tls import TlsScan

    scan, chain = pickle.loads(data)
    if not isinstance(scan, TlsScan):
        raise TypeError(f"not a TLS scan: {type(scan).__name__}")
    return replace(scan, chain=[x509.load_der_x509_certificate(der) for der in chain])


def scan_for(request: ScanRequest) -> TlsScan:
    from smokegate.security.tls_scan import scan

    return scan(request.host, request.port, ca_file=request.ca_file, profile=request.profile,
                timeout_s=request.timeout_s)


def main(argv: Sequence[str] | None = None, stdout: IO[bytes] | None = None) -> int:
    """The child: a :class:`ScanRequest` as JSON (its one argument), the pickled scan on stdout."""
    args = sys.argv[1:] if argv is None else argv
    data: dict[str, Any] = json.loads(args[0])
    out = stdout or sys.stdout.buffer
    out.write(_dumps(scan_for(ScanRequest(**data))))
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
