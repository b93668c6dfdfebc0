"""What an administrator's tools see on the IMAPS port: `openssl s_client` (certificate chain
verified against the generated certificate and host name, ALPN `imap` negotiated, the IMAP
greeting over TLS, a command answered) and `nmap -sV` (the service identified as IMAP inside
an SSL/TLS tunnel).

nmap has no product fingerprint for Portcullis: its `imap` soft match (a greeting starting
`* OK [CAPABILITY IMAP4rev1`) names the service, and probing inside the TLS tunnel gives
`tunnel="ssl"` — reported as `ssl/imap` in its normal output.
"""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET

from clients import require
from support import HOST

OPENSSL_TIMEOUT = 20
NMAP_TIMEOUT = 120


def s_client(server, *args: str, stdin: str) -> subprocess.CompletedProcess:
    exe = require("openssl", ["version"], r"OpenSSL (\S+)")[0]
    argv = [exe, "s_client", "-CAfile", str(server.cert_path), "-verify_return_error", "-crlf", "-ign_eof",
            *args]
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=OPENSSL_TIMEOUT)
    assert result.returncode == 0, (argv, result.stdout[-3000:], result.stderr[-3000:])
    return result


def test_clients_openssl_s_client_greeting_over_tls_with_alpn_imap(server):
    result = s_client(server, "-connect", f"{HOST}:{server.imaps_port}", "-servername", "localhost",
                      "-verify_hostname", "localhost", "-alpn", "imap",
                      stdin="a1 CAPABILITY\na2 LOGOUT\n")
    out = result.stdout
    assert "Verify return code: 0 (ok)" in out, out
    assert "Verified peername: localhost" in out, out
    assert "ALPN protocol: imap" in out, out
    assert re.search(r"New, TLSv1\.[23], Cipher is ", out), out
    assert re.search(r"(?m)^\* OK \[CAPABILITY IMAP4rev1 [^\]]*\] Portcullis ready\r?$", out), out
    assert re.search(r"(?m)^\* CAPABILITY .*\bAUTH=PLAIN\b", out), out
    assert re.search(r"(?m)^a2 OK ", out), out

    # TLS 1.2 is served too, and an IP address is verified against the certificate's IP SAN.
    result = s_client(server, "-connect", f"{HOST}:{server.imaps_port}", "-tls1_2", "-verify_ip", HOST,
                      "-alpn", "imap", stdin="a1 LOGOUT\n")
    assert "Protocol  : TLSv1.2" in result.stdout and "Verify return code: 0 (ok)" in result.stdout, result.stdout
    assert "ALPN protocol: imap" in result.stdout
    assert re.search(r"(?m)^a1 OK ", result.stdout), result.stdout


def test_clients_openssl_s_client_starttls(server):
    result = s_client(server, "-connect", f"{HOST}:{server.imap_port}", "-starttls", "imap",
                      "-verify_hostname", "localhost", stdin="a1 CAPABILITY\na2 LOGOUT\n")
    out = result.stdout
    assert "Verify return code: 0 (ok)" in out, out
    # After the handshake LOGINDISABLED is gone and AUTH=PLAIN is offered.
    caps = re.search(r"(?m)^\* CAPABILITY (.*)$", out).group(1).split()
    assert "AUTH=PLAIN" in caps and "LOGINDISABLED" not in caps and "STARTTLS" not in caps, caps


def test_clients_nmap_identifies_imap_over_tls(server, tmp_path):
    exe = require("nmap", ["--version"], r"Nmap version (\S+)")[0]
    xml_path = tmp_path / "nmap.xml"
    argv = [exe, "-sV", "-Pn", "-n", "-p", str(server.imaps_port), "--host-timeout", "100s", "-oX", str(xml_path),
            HOST]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=NMAP_TIMEOUT, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, (result.stdout, result.stderr)
    port = ET.parse(xml_path).getroot().find(f"./host/ports/port[@portid='{server.imaps_port}']")
    assert port is not None, xml_path.read_text()
    assert port.find("state").get("state") == "open"
    service = port.find("service")
    assert service is not None, xml_path.read_text()
    assert service.get("name") == "imap", service.attrib
    assert service.get("tunnel") == "ssl", service.attrib
    assert service.get("method") == "probed", service.attrib
    assert re.search(rf"(?m)^{server.imaps_port}/tcp\s+open\s+ssl/imap\b", result.stdout), result.stdout
