"""The embedded cluster's TLS: its own CA and a server certificate for localhost, made at initdb
(localdb/cluster.py), so every client connects with sslmode=verify-full."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
from pathlib import Path

from localdb.server_packages import is_root


def write_certificates(data: Path, ca_copy: Path) -> None:
    """A CA and a server certificate for localhost/127.0.0.1 in the data directory `data`, and
    a copy of the CA at `ca_copy`, where clients find it to verify the server (verify-full)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Clinic dev cluster CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    files = {
        data / "ca.crt": ca_cert.public_bytes(pem),
        data / "server.crt": cert.public_bytes(pem),
        data / "server.key": key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        ca_copy: ca_cert.public_bytes(pem),
    }
    for path, content in files.items():
        path.write_bytes(content)
        os.chmod(path, 0o600 if path.name == "server.key" else 0o644)
        if is_root():
            shutil.chown(path, "postgres", "postgres")
