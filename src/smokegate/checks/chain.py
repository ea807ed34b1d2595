"""Why a certificate chain does not validate, read from the certificates the server sent.

OpenSSL says "unable to get local issuer certificate" and sslyze "candidates exhausted" for
several different mistakes.  Walking the chain the server sent (leaf first) against the trusted
roots names the one it is, as SSL Labs does: an intermediate the server does not send (the
classic: a certificate file without the bundle), a chain ending in a self-signed certificate that
no store trusts, or an expired certificate on the path.  Browsers that fetch a missing
intermediate from the leaf's AIA URL may hide the first; curl, Node.js and Python clients fail.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID


def name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string() or f"serial {cert.serial_number:x}"


def issuer_name(cert: x509.Certificate) -> str:
    names = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.issuer.rfc4514_string()


def issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether ``issuer`` signed ``cert`` (names match and the signature verifies)."""
    if cert.issuer != issuer.subject:
        return False
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _is_root(cert: x509.Certificate, roots: Sequence[x509.Certificate]) -> bool:
    return any(cert.subject == root.subject and cert.public_key() == root.public_key() for root in roots)


def _ca_issuers(cert: x509.Certificate) -> list[str]:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [str(d.access_location.value) for d in aia if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS]


def trusted_roots(ca_bundle: str | None) -> list[x509.Certificate]:
    """The roots a client trusts: the configured bundle, else the system's (empty if unreadable)."""
    path = ca_bundle if ca_bundle and ca_bundle != "system" else ssl.get_default_verify_paths().cafile
    if not path:
        return []
    try:
        return x509.load_pem_x509_certificates(Path(path).read_bytes())
    except (OSError, ValueError):
        return []


def diagnose(sent: Sequence[x509.Certificate], roots: Sequence[x509.Certificate],
             now: datetime | None = None) -> str | None:
    """What is wrong with the chain ``sent`` (leaf first) against ``roots``; None if the path is whole."""
    if not sent:
        return "the server sends no certificate"
    moment = now or datetime.now(UTC)
    count = f"the server sends {len(sent)} certificate{'s' if len(sent) != 1 else ''}"
    path = [sent[0]]
    unused = list(sent[1:])
    while True:
        current = path[-1]
        if _is_root(current, roots) or any(issued_by(current, root) for root in roots):
            break
        if current.issuer == current.subject and issued_by(current, current):
            what = ("the leaf is self-signed" if len(path) == 1
                    else f"the chain ends in the self-signed '{name(current)}'")
            return f"untrusted chain: {what}, which is not a trusted root ({count})"
        issuer = next((c for c in unused if issued_by(current, c)), None)
        if issuer is None:
            if len(path) == 1:
                found = f"incomplete chain: {count}; intermediate '{issuer_name(current)}' is missing"
            else:
                found = (f"incomplete chain: {count}; the issuer '{issuer_name(current)}' of '{name(current)}' "
                         "is neither sent nor a trusted root")
            aia = _ca_issuers(sent[0]) if len(path) == 1 else []
            if aia:
                found += f" (browsers that fetch it from {aia[0]} may cope; curl, Node.js and Python clients fail)"
            return found
        unused.remove(issuer)
        path.append(issuer)
    expired = [c for c in path if c.not_valid_after_utc < moment]
    if expired:
        return "; ".join(f"'{name(c)}' expired on {c.not_valid_after_utc:%Y-%m-%d}" for c in expired)
    return None


def explain(sent: Sequence[x509.Certificate], ca_bundle: str | None, fallback: str | None) -> str | None:
    """The diagnosis of an untrusted chain, or what the validator said when the path is whole."""
    return diagnose(sent, trusted_roots(ca_bundle)) or fallback
