"""Mutual TLS for the embedded SeaweedFS server's gRPC ports.

Without it, any program on the machine could talk to the filer over gRPC (list, move, delete and read every
object). A throw-away certificate authority and one certificate for all components are made at each start;
the private keys are readable by this user only and never leave the state folder.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pipeline import fsutil

COMMON_NAME = "pipeline-embedded-storage"
VALID_DAYS = 3650


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def make(folder: Path) -> TlsFiles:
    """A new CA and a certificate it signs, for 127.0.0.1, usable as both server and client."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{COMMON_NAME}-ca")
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(COMMON_NAME)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = TlsFiles(folder / "ca.crt", folder / "storage.crt", folder / "storage.key")
    fsutil.write_private(files.ca, ca_cert.public_bytes(serialization.Encoding.PEM).decode())
    fsutil.write_private(files.cert, cert.public_bytes(serialization.Encoding.PEM).decode())
    fsutil.write_private(files.key, _pem_key(key))
    return files


def _toml_string(path: Path) -> str:
    return json.dumps(str(path))  # a JSON string is a valid TOML basic string


def security_toml(files: TlsFiles) -> str:
    """The [grpc] part of SeaweedFS's security.toml: every component requires the client certificate."""
    lines = ["[grpc]", f"ca = {_toml_string(files.ca)}", ""]
    for component in ("master", "volume", "filer", "s3", "client"):
        lines += [f"[grpc.{component}]", f"cert = {_toml_string(files.cert)}", f"key = {_toml_string(files.key)}"]
        if component != "client":
            lines.append(f'allowed_commonNames = "{COMMON_NAME}"')
        lines.append("")
    return "\n".join(lines)
