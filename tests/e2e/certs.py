"""A test certificate authority made with the openssl command line: a CA and a leaf for
localhost/127.0.0.1 with what production certificates carry (key usages, CRL and OCSP
URIs), so that TLS scanners judge the server's configuration rather than a toy certificate."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

LEAF_EXTENSIONS = """\
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName={names}
crlDistributionPoints=URI:http://127.0.0.1:9/test-ca.crl
authorityInfoAccess=OCSP;URI:http://127.0.0.1:9/ocsp
"""


@dataclass
class TestCa:
    ca: Path
    chain: Path
    key: Path


def openssl(*args: str) -> None:
    result = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def make_test_ca(directory: Path, names: str = "DNS:localhost,IP:127.0.0.1", days: int = 90,
                 prefix: str = "leaf") -> TestCa:
    """A P-256 CA and a leaf signed by it; `chain` is leaf + CA in PEM."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    if not ca.exists():
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", str(ca_key), "-out", str(ca), "-days", "365", "-subj", "/CN=Portcullis Test CA",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    key, csr, leaf = directory / f"{prefix}.key", directory / f"{prefix}.csr", directory / f"{prefix}.pem"
    extensions = directory / f"{prefix}.ext"
    extensions.write_text(LEAF_EXTENSIONS.format(names=names))
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key),
            "-out", str(csr), "-subj", "/CN=" + names.split(",")[0].split(":", 1)[1])
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
            "-out", str(leaf), "-days", str(days), "-extfile", str(extensions))
    chain = directory / f"{prefix}-chain.pem"
    chain.write_text(leaf.read_text() + ca.read_text())
    return TestCa(ca=ca, chain=chain, key=key)
