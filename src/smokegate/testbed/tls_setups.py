"""The testbed's TLS setups: a healthy Mozilla-intermediate deployment, and the TLS faults.

The healthy chain is what a Vercel deployment serves: a short-lived ECDSA leaf (90 days, like
Let's Encrypt) issued by an intermediate, itself issued by the testbed's trustme root.  Certificates
are built with ``cryptography`` directly because trustme marks the SAN critical next to a non-empty
subject, which strict RFC 5280 validators (cryptography's, hence sslyze's) refuse.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from smokegate.testbed.certs import HOSTNAMES, Certificates

# Mozilla's intermediate profile (ssl-config.mozilla.org, v5.7): TLS 1.2 suites; TLS 1.3 is fixed.
MOZILLA_INTERMEDIATE_CIPHERS = ":".join((
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
))
# A CBC suite with a SHA-1 MAC: still negotiable, outside every Mozilla profile but "old".
WEAK_CIPHER = "ECDHE-ECDSA-AES128-SHA"
DAY = dt.timedelta(days=1)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _root(certs: Certificates) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(certs.ca.cert_pem.bytes())
    key = serialization.load_pem_private_key(certs.ca.private_key_pem.bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey), "trustme's default CA key is ECDSA"
    return cert, key


def _intermediate(certs: Certificates, not_after: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    root, root_key = _root(certs)
    key = _key()
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "smokegate testbed"),
        x509.NameAttribute(NameOID.COMMON_NAME, "smokegate testbed R1"),
    ])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(root.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - 30 * DAY).not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return cert, key


def _leaf(issuer: x509.Certificate, issuer_key: ec.EllipticCurvePrivateKey, hostnames: tuple[str, ...],
          not_before: dt.datetime, not_after: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    names: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
        .issuer_name(issuer.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before).not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    return cert, key


def _context(leaf: x509.Certificate, key: ec.EllipticCurvePrivateKey, chain: list[x509.Certificate], *,
             minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2, maximum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3,
             ciphers: str = MOZILLA_INTERMEDIATE_CIPHERS) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = minimum
    context.maximum_version = maximum
    context.set_ciphers(ciphers)
    # One group only: OpenSSL 3 otherwise also offers X448 and secp521r1, outside the Mozilla profiles.
    context.set_ecdh_curve("prime256v1")
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.set_alpn_protocols(["http/1.1"])
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pem += b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [leaf, *chain])
    # load_cert_chain wants a file; it is read at once, so the file lives only for this call.
    with tempfile.NamedTemporaryFile(suffix=".pem") as handle:
        Path(handle.name).write_bytes(pem)
        context.load_cert_chain(handle.name)
    return context


def _deployment(certs: Certificates, *, hostnames: tuple[str, ...] = HOSTNAMES,
                leaf_from: dt.timedelta = -10 * DAY, leaf_for: dt.timedelta = 90 * DAY,
                intermediate_left: dt.timedelta = 300 * DAY,
                **options: object) -> ssl.SSLContext:
    intermediate, intermediate_key = _intermediate(certs, _now() + intermediate_left)
    start = _now() + leaf_from
    leaf, key = _leaf(intermediate, intermediate_key, hostnames, start, start + leaf_for)
    return _context(leaf, key, [intermediate], **options)  # type: ignore[arg-type]


def _incomplete(certs: Certificates) -> ssl.SSLContext:
    """The leaf alone: the certificate file was deployed without its intermediate bundle."""
    intermediate, intermediate_key = _intermediate(certs, _now() + 300 * DAY)
    leaf, key = _leaf(intermediate, intermediate_key, HOSTNAMES, _now() - 10 * DAY, _now() + 80 * DAY)
    return _context(leaf, key, [])


def healthy_pem(certs: Certificates) -> tuple[bytes, bytes]:
    """The healthy deployment's key and chain (leaf, then intermediate) as PEM, for a server that reads
    files (the real Next.js testbed's nginx)."""
    intermediate, intermediate_key = _intermediate(certs, _now() + 300 * DAY)
    start = _now() - 10 * DAY
    leaf, key = _leaf(intermediate, intermediate_key, HOSTNAMES, start, start + 90 * DAY)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return pem, b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, intermediate))


def healthy_context(certs: Certificates) -> ssl.SSLContext:
    """TLS 1.2 and 1.3 with Mozilla-intermediate suites, a 90-day leaf and a valid intermediate."""
    return _deployment(certs)


TLS_FACTORIES: dict[str, Callable[[Certificates], ssl.SSLContext]] = {
    # The renewal job died: the leaf expired yesterday.
    "tls-expired-leaf": lambda certs: _deployment(certs, leaf_from=-91 * DAY, leaf_for=90 * DAY),
    # The chain still validates, but its intermediate expires in 3 days.
    "tls-intermediate-expiring": lambda certs: _deployment(certs, intermediate_left=3 * DAY, leaf_for=60 * DAY),
    # The certificate of another deployment was attached to this domain.
    "tls-wrong-hostname": lambda certs: _deployment(certs, hostnames=("staging.napoleon-ai.example",)),
    # A legacy-client compatibility switch: TLS 1.0 and 1.1 offered again.
    "tls-legacy-versions": lambda certs: _deployment(
        certs, minimum=ssl.TLSVersion.TLSv1, ciphers=MOZILLA_INTERMEDIATE_CIPHERS + ":" + WEAK_CIPHER + ":@SECLEVEL=0"
    ),
    # A CBC suite with a SHA-1 MAC accepted on TLS 1.2.
    "tls-weak-cipher": lambda certs: _deployment(certs, ciphers=MOZILLA_INTERMEDIATE_CIPHERS + ":" + WEAK_CIPHER),
    # A proxy in front that only speaks TLS 1.2.
    "tls13-off": lambda certs: _deployment(certs, maximum=ssl.TLSVersion.TLSv1_2),
    # The leaf is served without its intermediate.
    "tls-incomplete-chain": _incomplete,
}
