"""Unit tests of smokegate.checks.chain: naming why a chain does not validate, as SSL Labs does."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from smokegate.checks.chain import diagnose

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _cert(cn: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None = None,
          *, days: int = 90, ca: bool = True, aia: str | None = None) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    issuer_name, issuer_key = issuer or (subject, key)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(NOW - 30 * DAY)
               .not_valid_after(NOW + days * DAY)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if aia:
        builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia))]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _keys(n: int) -> list[ec.EllipticCurvePrivateKey]:
    return [ec.generate_private_key(ec.SECP256R1()) for _ in range(n)]


ROOT_KEY, INTER_KEY, LEAF_KEY, OTHER_KEY = _keys(4)
ROOT = _cert("Testbed Root", ROOT_KEY)
INTER = _cert("Testbed R1", INTER_KEY, (ROOT.subject, ROOT_KEY))
LEAF = _cert("napoleonai.app", LEAF_KEY, (INTER.subject, INTER_KEY), ca=False, aia="http://r1.i.lencr.example/")


def test_a_whole_chain_has_nothing_to_say() -> None:
    assert diagnose([LEAF, INTER], [ROOT], NOW) is None
    assert diagnose([LEAF, INTER, ROOT], [ROOT], NOW) is None  # the root sent as well: harmless


def test_the_missing_intermediate_is_named() -> None:
    assert diagnose([LEAF], [ROOT], NOW) == (
        "incomplete chain: the server sends 1 certificate; intermediate 'Testbed R1' is missing (browsers that "
        "fetch it from http://r1.i.lencr.example/ may cope; curl, Node.js and Python clients fail)")


def test_an_unrelated_certificate_does_not_complete_the_chain() -> None:
    impostor = _cert("Testbed R1", OTHER_KEY, (ROOT.subject, ROOT_KEY))  # same name, another key
    assert diagnose([LEAF, impostor], [ROOT], NOW) == (
        "incomplete chain: the server sends 2 certificates; intermediate 'Testbed R1' is missing (browsers that "
        "fetch it from http://r1.i.lencr.example/ may cope; curl, Node.js and Python clients fail)")


def test_an_untrusted_root_and_a_self_signed_leaf() -> None:
    assert diagnose([LEAF, INTER, ROOT], [], NOW) == (
        "untrusted chain: the chain ends in the self-signed 'Testbed Root', which is not a trusted root "
        "(the server sends 3 certificates)")
    alone = _cert("napoleonai.app", LEAF_KEY, ca=False)
    assert diagnose([alone], [ROOT], NOW) == (
        "untrusted chain: the leaf is self-signed, which is not a trusted root (the server sends 1 certificate)")
    assert diagnose([LEAF, INTER], [], NOW) == (
        "incomplete chain: the server sends 2 certificates; the issuer 'Testbed Root' of 'Testbed R1' is neither "
        "sent nor a trusted root")


def test_an_expired_certificate_on_the_path_is_named() -> None:
    old = _cert("Testbed R1", INTER_KEY, (ROOT.subject, ROOT_KEY), days=-1)
    assert diagnose([LEAF, old], [ROOT], NOW) == f"'Testbed R1' expired on {(NOW - DAY):%Y-%m-%d}"
    assert diagnose([], [ROOT], NOW) == "the server sends no certificate"
