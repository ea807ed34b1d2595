"""Certificates for the testbed: its own CA (trustme) and a leaf for localhost and 127.0.0.1.

The CA file is written where the suite can trust it (the ``local`` target's ``ca_bundle``), so the
checks verify TLS for real against the testbed instead of turning verification off.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

HOSTNAMES = ("localhost", "127.0.0.1", "::1")


@dataclass
class Certificates:
    ca: trustme.CA
    leaf: trustme.LeafCert
    ca_file: Path

    @classmethod
    def create(cls, directory: Path) -> Certificates:
        directory.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="smokegate testbed CA")
        leaf = ca.issue_cert(*HOSTNAMES)
        ca_file = directory / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        return cls(ca=ca, leaf=leaf, ca_file=ca_file)

    def server_context(self) -> ssl.SSLContext:
        """A modern server context: TLS 1.2 and 1.3 only, ALPN for HTTP/1.1."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.leaf.configure_cert(context)
        context.set_alpn_protocols(["http/1.1"])
        return context
