"""``esimhub serve --tls``: HTTPS for local and sandbox use, from a certificate authority of
esimhub's own.

The first start creates, under ``<data dir>/tls/``, a CA (``ca.pem``, its key ``ca-key.pem``)
and a server certificate it signed (``cert.pem``, ``key.pem``) for ``localhost``, ``127.0.0.1``,
``::1`` and the names given with ``--tls-name``. Later starts reuse them, and issue a new server
certificate (from the same CA) when the names change or it is within 30 days of expiring. Trust
``ca.pem`` once and every client verifies esimhub as it would Airalo: the official Node SDK, which
speaks HTTPS only, runs unchanged with ``NODE_EXTRA_CA_CERTS``. Keys are written 0600.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from esimhub.kit.clock import Clock

DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")
CA_DAYS = 3650
SERVER_DAYS = 397
RENEW_BEFORE = timedelta(days=30)


@dataclass(frozen=True)
class Certificates:
    ca: Path
    cert: Path
    key: Path
    created: bool  # a new CA or a new server certificate this time


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "esimhub"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _new_ca(directory: Path, now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"esimhub local CA ({os.uname().nodename})")
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(directory / "ca-key.pem", key)
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ca, key


def _load_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    if not (directory / "ca.pem").exists() or not (directory / "ca-key.pem").exists():
        return None
    ca = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key((directory / "ca-key.pem").read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    return ca, key


def _server_is_current(path: Path, names: list[str], now: datetime) -> bool:
    if not path.exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.not_valid_after_utc - RENEW_BEFORE < now:
        return False
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(san) == set(_san(names))


def ensure(directory: Path, extra_names: list[str]) -> Certificates:
    """The CA and a current server certificate under ``directory``, made when missing."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = Clock().now()  # real time, never a sandbox's moved clock: TLS clients check this
    names = list(dict.fromkeys([*DEFAULT_NAMES, *extra_names]))
    created = False
    loaded = _load_ca(directory)
    if loaded is None:
        loaded, created = _new_ca(directory, now), True
    ca, ca_key = loaded
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    if created or not key_path.exists() or not _server_is_current(cert_path, names, now):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(names[0]))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=SERVER_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_san(names), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write_key(key_path, key)
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        created = True
    return Certificates(ca=directory / "ca.pem", cert=cert_path, key=key_path, created=created)


def how_to_trust(ca: Path) -> list[str]:
    """What to tell an operator about trusting ``ca``."""
    return [
        f"HTTPS with esimhub's local CA: {ca}",
        "  trust it system-wide (Debian/Ubuntu):"
        f" sudo cp {ca} /usr/local/share/ca-certificates/esimhub.crt && sudo update-ca-certificates",
        f"  Node.js (the official SDK):  NODE_EXTRA_CA_CERTS={ca}",
        f"  Python:  SSL_CERT_FILE={ca} (httpx, urllib), REQUESTS_CA_BUNDLE={ca} (requests)",
        f"  curl:  curl --cacert {ca} ...",
    ]
