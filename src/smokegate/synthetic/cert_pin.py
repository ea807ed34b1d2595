"""Make Chromium trust exactly the target's certificate, after Python has verified it.

Chromium reads no CA file.  For a target with its own CA bundle (the testbed), the suite connects
with Python's ``ssl`` using that bundle and hostname checking, so the chain is really verified; it
then pins the public key of the certificate the server presented with
``--ignore-certificate-errors-spki-list``.  Chromium thereby accepts that one key and nothing else:
TLS stays on and any other certificate still fails.  Targets on the system trust store get no flag.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
import threading
from urllib.parse import urlsplit

from smokegate.failures import Inconclusive, is_transient


class TrustError(RuntimeError):
    """The target's certificate could not be verified against its configured CA bundle."""


def spki_pin(url: str, cafile: str, timeout_s: float = 10.0) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of the certificate ``url`` presents, verified with ``cafile``.

    A connection the network cuts (reset, EOF, timeout) is tried once more; cut twice, the pin could
    not be determined (:class:`~smokegate.failures.Inconclusive`), which is not the user's doing.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    context = ssl.create_default_context(cafile=cafile)
    der: bytes | None = None
    for attempt in (1, 2):
        try:
            with (
                socket.create_connection((host, port), timeout=timeout_s) as raw,
                context.wrap_socket(raw, server_hostname=host) as tls,
            ):
                der = tls.getpeercert(binary_form=True)
            break
        except (OSError, ssl.SSLError) as exc:
            if is_transient(exc) and attempt == 1:
                continue
            if is_transient(exc):
                raise Inconclusive(f"the certificate of {parts.scheme}://{host}:{port} (to pin it for the browser): "
                                   f"{exc} (2 attempts)") from None
            raise TrustError(f"{parts.scheme}://{host}:{port}: TLS verification with {cafile} failed: {exc}") from exc
    if not der:
        raise TrustError(f"{host}:{port} presented no certificate")
    return pin_of_certificate(der)


def pin_of_certificate(der: bytes) -> str:
    # Imported here: in the thread of PendingTrust, cryptography's import (0.04 s) is not the run's wait.
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    spki = (
        x509.load_der_x509_certificate(der)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def chromium_trust_args(base_url: str, ca_bundle: str) -> list[str]:
    """Launch flags that make Chromium trust the target: none for the system store, else a pin."""
    if ca_bundle == "system":
        return []
    return [f"--ignore-certificate-errors-spki-list={spki_pin(base_url, ca_bundle)}"]


class PendingTrust:
    """:func:`chromium_trust_args`, worked out in a thread of its own from the moment this is made.

    Pinning is a TLS handshake with the target and a look into its certificate (with
    ``cryptography``'s import): 0.04-0.06 s, which a thread spends while the run waits on something
    else (Playwright's driver starting).  :meth:`result` waits for it, and raises what it raised.
    """

    def __init__(self, base_url: str, ca_bundle: str) -> None:
        self._args: list[str] = []
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if ca_bundle != "system":
            self._thread = threading.Thread(target=self._work, args=(base_url, ca_bundle),
                                            name="smokegate-trust-pin", daemon=True)
            self._thread.start()

    def _work(self, base_url: str, ca_bundle: str) -> None:
        try:
            self._args = chromium_trust_args(base_url, ca_bundle)
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def result(self) -> list[str]:
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._args
