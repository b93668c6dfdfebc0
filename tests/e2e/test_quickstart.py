"""The README's first command as a new user meets it: a development server on a fresh data
directory prints a demo account once, and that account works from imaplib (implicit TLS and
STARTTLS) and curl, with the certificate checked against the generated one."""

from __future__ import annotations

import imaplib
import re
import subprocess

from conftest import require_tool
from support import HOST, IO_TIMEOUT, make_message


def demo_password(server) -> str:
    lines = [line for line in server.stdout_lines if line.startswith("created demo account:")]
    assert len(lines) == 1, server.stdout_lines
    match = re.fullmatch(r"created demo account: user demo password (\S{20})", lines[0])
    assert match, lines[0]
    return match.group(1)


def test_a_fresh_development_server_prints_a_working_demo_account(make_server, tmp_path):
    server = make_server()
    password = demo_password(server)
    assert any(line.startswith("certificate SHA-256 ") for line in server.stdout_lines)

    with imaplib.IMAP4_SSL("localhost", server.imaps_port, ssl_context=server.tls_context(),
                           timeout=IO_TIMEOUT) as client:
        client.login("demo", password)
        assert client.append("INBOX", None, None, make_message("quick start"))[0] == "OK"
        assert client.select("INBOX") == ("OK", [b"1"])

    with imaplib.IMAP4(HOST, server.imap_port, timeout=IO_TIMEOUT) as client:
        client.starttls(ssl_context=server.tls_context())
        client.login("demo", password)
        assert client.select("INBOX", readonly=True) == ("OK", [b"1"])

    curl = require_tool("curl")
    credentials = tmp_path / "demo.conf"
    credentials.write_text(f'user = "demo:{password}"\n')
    listing = subprocess.run(
        [curl, "--silent", "--show-error", "--max-time", "20", "--cacert", str(server.cert_path),
         "-K", str(credentials), f"imaps://{HOST}:{server.imaps_port}/"],
        capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert listing.returncode == 0, listing.stderr
    assert b'"/" INBOX' in listing.stdout and b"\\Sent" in listing.stdout

    # Shown once: a restart on the same data directory creates no second demo account.
    server.stop()
    server.start()
    assert not any("demo account" in line for line in server.stdout_lines)
