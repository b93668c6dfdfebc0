"""testssl.sh (Debian package) against the IMAPS port, configured as in production with a
CA-issued certificate: no finding above LOW."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from certs import make_test_ca

# testssl's severities, in order; LOW and below are acceptable.
ACCEPTABLE = {"OK", "INFO", "LOW", "DEBUG", "WARN"}


@pytest.mark.timeout(420)
def test_testssl_finds_nothing_above_low(make_server, tmp_path):
    testssl = shutil.which("testssl") or shutil.which("testssl.sh")
    assert testssl, "testssl.sh is not installed (scripts/test.sh installs it)"
    ca = make_test_ca(tmp_path / "ca")
    server = make_server(config_text=f"""
[listen]
imaps = ["127.0.0.1:0"]
imap = ["127.0.0.1:0"]
[tls]
certificate = "{ca.chain}"
key = "{ca.key}"
""")
    report = tmp_path / "testssl.json"
    result = subprocess.run(
        [testssl, "--quiet", "--color", "0", "--warnings", "off", "--ip", "127.0.0.1",
         "--add-ca", str(ca.ca), "--jsonfile", str(report), f"localhost:{server.imaps_port}"],
        capture_output=True, text=True, timeout=400)
    findings = json.loads(report.read_text())
    above_low = [f for f in findings if f["severity"] not in ACCEPTABLE]
    assert not above_low, "\n".join(f"{f['severity']} {f['id']}: {f['finding']}" for f in above_low)
    by_id = {f["id"]: f for f in findings}
    for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
        assert "not offered" in by_id[old]["finding"], by_id[old]
    assert by_id["TLS1_3"]["severity"] == "OK", by_id["TLS1_3"]
    assert by_id["cipher_order"]["severity"] == "OK", by_id["cipher_order"]
    assert result.stdout, result.stderr
