"""The service's own certificate authority: created once, then issues TLS certificates.

The CA lives at ``<data-dir>/tls/ca.pem`` (public; clients trust it) and ``ca.key``
(mode 0600). It signs the gRPC server certificate and, for TLS clusters, each Redis
host's certificate. An issued certificate is reused while it still covers the names
asked for and is not close to expiry.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from managed_redis.dir_locks import directory_locked

CA_VALIDITY = dt.timedelta(days=3650)
LEAF_VALIDITY = dt.timedelta(days=825)
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class IssuedCertificate:
    cert_path: Path
    key_path: Path

    @classmethod
    def at(cls, prefix: Path) -> IssuedCertificate:
        """Where ``CertificateAuthority.issue(prefix, …)`` writes: ``<prefix>.pem`` and ``<prefix>.key``."""
        return cls(prefix.with_suffix(".pem"), prefix.with_suffix(".key"))


def _write_private(path: Path, data: bytes) -> None:
    """Write a secret file readable only by its owner, atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CertificateAuthority:
    """Loads the CA from ``directory``, creating it on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.cert_path = directory / "ca.pem"
        self.key_path = directory / "ca.key"
        with directory_locked(directory):  # processes starting at once on one data dir: one CA
            if not (self.cert_path.exists() and self.key_path.exists()):
                self._create()
            self._key = serialization.load_pem_private_key(self.key_path.read_bytes(), password=None)
            self._cert = x509.load_pem_x509_certificate(self.cert_path.read_bytes())

    @property
    def cert_pem(self) -> bytes:
        return self.cert_path.read_bytes()

    def _create(self) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "managed-redis CA")])
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + CA_VALIDITY)
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
        _write_private(
            self.key_path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        _write_public(self.cert_path, cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, prefix: Path, common_name: str, names: list[str]) -> IssuedCertificate:
        """A certificate for ``names`` (DNS names or IP addresses) at ``<prefix>.pem/.key``.

        Good for both server and client authentication, so a Redis host can use it for
        replication and the cluster bus as well as for serving.
        """
        # Two processes issuing one certificate at once would leave one's key beside the other's
        # certificate: one at a time, the second reusing what the first wrote.
        with directory_locked(prefix.parent):
            return self._issue(prefix, common_name, names)

    def _issue(self, prefix: Path, common_name: str, names: list[str]) -> IssuedCertificate:
        issued = IssuedCertificate.at(prefix)
        if self._still_good(issued, names):
            return issued
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + LEAF_VALIDITY)
            .add_extension(x509.SubjectAlternativeName(_general_names(names)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._cert.public_key()),  # type: ignore[arg-type]
                critical=False,
            )
            .sign(self._key, hashes.SHA256())  # type: ignore[arg-type]
        )
        _write_private(
            issued.key_path,
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )
        _write_public(issued.cert_path, cert.public_bytes(serialization.Encoding.PEM))
        return issued

    def _still_good(self, issued: IssuedCertificate, names: list[str]) -> bool:
        if not (issued.cert_path.exists() and issued.key_path.exists()):
            return False
        cert = x509.load_pem_x509_certificate(issued.cert_path.read_bytes())
        if cert.issuer != self._cert.subject or cert.not_valid_after_utc - _now() < RENEW_BEFORE:
            return False
        try:
            san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return False
        return set(san) == set(_general_names(names))


def _general_names(names: list[str]) -> list[x509.GeneralName]:
    result: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            result.append(x509.DNSName(name))
    return result
