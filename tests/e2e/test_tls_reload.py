"""TLS hygiene end to end (issue 6, item 4): several certificates chosen by SNI, certificates
reloaded on SIGHUP and on file change without dropping connections (a bad file keeps the old
certificate), the generated development certificate reloaded too, expiry warned about on
reload, and the metrics endpoint (certificate expiry, connections, logins, bans) read with
curl.

Certificates come from the test CA of certs.py (leaves for localhost, mail.example.org and
imap.example.net).
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from certs import make_test_ca
from conftest import require_tool
from support import HOST, IO_TIMEOUT, quote

RELOAD_WAIT = 15  # seconds: two polls at 1 s, with room for a loaded machine


def der_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


def file_fingerprint(pem: Path) -> str:
    """SHA-256 of the first certificate in a PEM file."""
    text = pem.read_text()
    first = text[text.index("-----BEGIN CERTIFICATE-----"):text.index("-----END CERTIFICATE-----") + 25]
    return der_fingerprint(ssl.PEM_cert_to_DER_cert(first))


def served_fingerprint(port: int, server_hostname: str | None = None) -> str:
    """The fingerprint of the certificate a new connection gets (not verified: the point is
    which one it is)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((HOST, port), timeout=IO_TIMEOUT) as sock:
        with ctx.wrap_socket(sock, server_hostname=server_hostname) as tls:
            return der_fingerprint(tls.getpeercert(binary_form=True))


def wait_for_fingerprint(port: int, expected: str, timeout: float = RELOAD_WAIT) -> None:
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = served_fingerprint(port)
        if seen == expected:
            return
        time.sleep(0.2)
    raise AssertionError(f"still serving {seen}, not {expected}")


def not_after(pem: Path) -> int:
    result = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", str(pem)], capture_output=True,
                            text=True, timeout=30, check=True)
    return int(ssl.cert_time_to_seconds(result.stdout.strip().split("=", 1)[1]))


def replace(source_chain: Path, source_key: Path, chain: Path, key: Path) -> None:
    """Puts a new certificate and key in place the way deployment tools do: a new file
    renamed over the old one, key first."""
    for src, dst in ((source_key, key), (source_chain, chain)):
        tmp = dst.with_suffix(".new")
        tmp.write_bytes(src.read_bytes())
        os.replace(tmp, dst)


def tls_config(tmp_path: Path, name: str, chain: Path, key: Path, *, reload: int = 1, extra: str = "") -> str:
    return f"""
data_dir = "{tmp_path / name}"
[listen]
imaps = ["{HOST}:0"]
imap = ["{HOST}:0"]
[tls]
certificate = "{chain}"
key = "{key}"
reload_interval_secs = {reload}
{extra}
[log]
audit = "{tmp_path / (name + '-audit.log')}"
"""


def live_files(tmp_path: Path, ca) -> tuple[Path, Path]:
    """Copies of a leaf's chain and key at fixed paths the server is configured with."""
    live = tmp_path / "live"
    live.mkdir(exist_ok=True)
    chain, key = live / "fullchain.pem", live / "privkey.pem"
    replace(ca.chain, ca.key, chain, key)
    return chain, key


def verified_client(server, cafile: Path):
    import imaplib
    ctx = ssl.create_default_context(cafile=str(cafile))
    client = imaplib.IMAP4_SSL(HOST, server.imaps_port, ssl_context=ctx, timeout=IO_TIMEOUT)
    typ, _ = client.login("alice", server.users["alice"])
    assert typ == "OK"
    return client


# ---------------------------------------------------------------------------------------------
# Reload
# ---------------------------------------------------------------------------------------------


def test_a_changed_certificate_is_seen_by_new_connections_while_an_old_one_keeps_working(make_server, tmp_path):
    first = make_test_ca(tmp_path / "ca", days=90, prefix="first")
    second = make_test_ca(tmp_path / "ca", days=20, prefix="second")
    chain, key = live_files(tmp_path, first)
    server = make_server(config_text=tls_config(tmp_path, "watch", chain, key), users=("alice",), name="watch")
    assert served_fingerprint(server.imaps_port) == file_fingerprint(first.chain)
    old = verified_client(server, first.ca)
    old.select("INBOX")

    replace(second.chain, second.key, chain, key)
    wait_for_fingerprint(server.imaps_port, file_fingerprint(second.chain))
    # STARTTLS handshakes get it too.
    ctx = ssl.create_default_context(cafile=str(second.ca))
    import imaplib
    plain = imaplib.IMAP4(HOST, server.imap_port, timeout=IO_TIMEOUT)
    plain.starttls(ssl_context=ctx)
    assert der_fingerprint(plain.sock.getpeercert(binary_form=True)) == file_fingerprint(second.chain)
    plain.logout()
    # The connection opened before goes on, on its old certificate.
    assert old.noop()[0] == "OK"
    assert old.select("INBOX")[0] == "OK"
    assert der_fingerprint(old.sock.getpeercert(binary_form=True)) == file_fingerprint(first.chain)
    old.logout()
    log = server.stderr_tail(20000)
    assert "TLS certificate reloaded" in log, log
    # The new certificate ends within 30 days: warned about on reload.
    assert "the TLS certificate expires soon" in log, log


def test_sighup_reloads_and_a_bad_file_keeps_the_old_certificate(make_server, tmp_path):
    first = make_test_ca(tmp_path / "ca", prefix="first")
    second = make_test_ca(tmp_path / "ca", prefix="second")
    chain, key = live_files(tmp_path, first)
    # reload_interval_secs = 0: files are read again on SIGHUP only.
    server = make_server(config_text=tls_config(tmp_path, "hup", chain, key, reload=0), users=("alice",), name="hup")
    old = verified_client(server, first.ca)

    replace(second.chain, second.key, chain, key)
    time.sleep(2)
    assert served_fingerprint(server.imaps_port) == file_fingerprint(first.chain), "no watching"
    server.proc.send_signal(signal.SIGHUP)
    wait_for_fingerprint(server.imaps_port, file_fingerprint(second.chain))

    # A broken certificate file: the reload fails, is logged, and the second certificate stays.
    chain.write_text("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + RELOAD_WAIT
    while "cannot reload the TLS certificate" not in server.stderr_tail(20000):
        assert time.monotonic() < deadline, server.stderr_tail()
        time.sleep(0.1)
    assert server.alive()
    assert served_fingerprint(server.imaps_port) == file_fingerprint(second.chain)
    assert old.noop()[0] == "OK"
    old.logout()


def test_the_generated_development_certificate_is_reloaded_too(make_server, tmp_path):
    config = f"""
data_dir = "{tmp_path / 'dev'}"
[listen]
imaps = ["{HOST}:0"]
imap = ["{HOST}:0"]
[tls]
reload_interval_secs = 1
"""
    server = make_server(config_text=config, users=("alice",), name="dev")
    before = served_fingerprint(server.imaps_port)
    assert before == file_fingerprint(server.cert_path)
    old = verified_client(server, server.cert_path)
    # Removed (say, to renew it early): a new one is generated and served.
    server.cert_path.unlink()
    (server.data_dir / "tls" / "key.pem").unlink()
    deadline = time.monotonic() + RELOAD_WAIT
    while served_fingerprint(server.imaps_port) == before:
        assert time.monotonic() < deadline, server.stderr_tail()
        time.sleep(0.2)
    assert served_fingerprint(server.imaps_port) == file_fingerprint(server.cert_path)
    assert old.noop()[0] == "OK"
    old.logout()


# ---------------------------------------------------------------------------------------------
# SNI
# ---------------------------------------------------------------------------------------------


def test_sni_chooses_among_several_certificates_and_falls_back_to_the_default(make_server, tmp_path):
    default = make_test_ca(tmp_path / "ca", prefix="default")
    mail = make_test_ca(tmp_path / "ca", names="DNS:mail.example.org", prefix="mail")
    wild = make_test_ca(tmp_path / "ca", names="DNS:*.example.net", prefix="wild")
    extra = f"""
[[tls.certificates]]
names = ["mail.example.org"]
certificate = "{mail.chain}"
key = "{mail.key}"
[[tls.certificates]]
names = ["*.example.net"]
certificate = "{wild.chain}"
key = "{wild.key}"
"""
    server = make_server(config_text=tls_config(tmp_path, "sni", default.chain, default.key, extra=extra),
                         users=("alice",), name="sni")
    assert any(line.endswith(" for mail.example.org") for line in server.stdout_lines), server.stdout_lines
    # Verified clients asking for each name get a certificate that verifies for it.
    for name, leaf in (("mail.example.org", mail), ("imap.example.net", wild), ("localhost", default)):
        ctx = ssl.create_default_context(cafile=str(default.ca))
        with socket.create_connection((HOST, server.imaps_port), timeout=IO_TIMEOUT) as sock:
            with ctx.wrap_socket(sock, server_hostname=name) as tls:
                assert der_fingerprint(tls.getpeercert(binary_form=True)) == file_fingerprint(leaf.chain), name
                assert tls.recv(4096).startswith(b"* OK")
    # No SNI (an address as the host), or a name no certificate carries: the default.
    assert served_fingerprint(server.imaps_port, None) == file_fingerprint(default.chain)
    assert served_fingerprint(server.imaps_port, "other.example.com") == file_fingerprint(default.chain)
    assert served_fingerprint(server.imaps_port, "a.b.example.net") == file_fingerprint(default.chain)
    # openssl s_client -servername agrees.
    result = subprocess.run(["openssl", "s_client", "-connect", f"{HOST}:{server.imaps_port}", "-servername",
                             "mail.example.org", "-CAfile", str(default.ca), "-verify_return_error",
                             "-verify_hostname", "mail.example.org"],
                            input="", capture_output=True, text=True, timeout=30)
    assert "Verify return code: 0 (ok)" in result.stdout, result.stdout + result.stderr
    assert "CN=mail.example.org" in result.stdout or "CN = mail.example.org" in result.stdout, result.stdout


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


def curl(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([require_tool("curl"), "-sS", "--max-time", "10", *args, url], capture_output=True,
                          text=True, timeout=30)


def metrics(port: int) -> dict[str, float]:
    result = curl(f"http://{HOST}:{port}/metrics", "-i")
    assert result.returncode == 0, result.stderr
    # Text mode turns the CRLFs of the head into LFs.
    head, _, body = result.stdout.partition("\n\n")
    assert head.startswith("HTTP/1.1 200 OK"), head
    assert "Content-Type: text/plain; version=0.0.4" in head, head
    values = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def eventually(check, timeout: float = 10):
    """`check()` once it stops failing an assertion (metrics follow events closely, not at
    once)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def metric_becomes(port: int, name: str, expected: float, timeout: float = 10) -> None:
    def check():
        value = metrics(port).get(name)
        assert value == expected, f"{name} = {value}, not {expected}"
    eventually(check, timeout)


def test_the_metrics_endpoint_serves_expiry_connections_logins_and_bans(make_server, tmp_path):
    first = make_test_ca(tmp_path / "ca", days=90, prefix="first")
    second = make_test_ca(tmp_path / "ca", days=45, prefix="second")
    mail = make_test_ca(tmp_path / "ca", names="DNS:mail.example.org", days=60, prefix="mail")
    chain, key = live_files(tmp_path, first)
    extra = f"""
[[tls.certificates]]
names = ["mail.example.org"]
certificate = "{mail.chain}"
key = "{mail.key}"
[metrics]
listen = "{HOST}:0"
[throttle]
ip_ban_failures = 3
ban_secs = 3
delay_initial_ms = 50
delay_max_ms = 100
"""
    server = make_server(config_text=tls_config(tmp_path, "metrics", chain, key, extra=extra),
                         users=("alice",), name="metrics", extra_args=("--lmtp", f"{HOST}:0"))
    port = next(int(m.group(1)) for m in (re.fullmatch(r"metrics listening on 127\.0\.0\.1:(\d+)", line.strip())
                                          for line in server.stdout_lines) if m)
    values = metrics(port)
    assert values['portcullis_tls_certificate_not_after_seconds{name="default"}'] == not_after(first.chain)
    assert values['portcullis_tls_certificate_not_after_seconds{name="mail.example.org"}'] == not_after(mail.chain)
    assert values["portcullis_imap_connections"] == 0
    assert values["portcullis_lmtp_connections"] == 0
    assert values['portcullis_logins_total{result="success"}'] == 0
    assert values["portcullis_bans_active"] == 0

    # Two IMAP sessions (one logged in), one LMTP connection, then one wrong password.
    alice = verified_client(server, first.ca)
    idle = socket.create_connection((HOST, server.imap_port), timeout=IO_TIMEOUT)
    assert idle.recv(4096).startswith(b"* OK")
    lmtp_host, lmtp_port = server.lmtp_addrs[0].rsplit(":", 1)
    lmtp = socket.create_connection((lmtp_host, int(lmtp_port)), timeout=IO_TIMEOUT)
    assert lmtp.recv(4096).startswith(b"220 ")

    def open_connections():
        values = metrics(port)
        assert values["portcullis_imap_connections"] == 2, values
        assert values["portcullis_lmtp_connections"] == 1, values
        assert values['portcullis_logins_total{result="success"}'] == 1, values
    eventually(open_connections)
    alice.logout()
    idle.close()
    lmtp.close()
    metric_becomes(port, "portcullis_imap_connections", 0)
    metric_becomes(port, "portcullis_lmtp_connections", 0)

    # Three failures from 127.0.0.1 ban it for three seconds: one ban in force, then none.
    raw = socket.create_connection((HOST, server.imaps_port), timeout=IO_TIMEOUT)
    tls = ssl.create_default_context(cafile=str(first.ca)).wrap_socket(raw, server_hostname="localhost")
    assert tls.recv(4096).startswith(b"* OK")
    answers = b""
    for i in range(3):
        tls.sendall(f"f{i} LOGIN alice {quote(f'guess-{i}')}\r\n".encode())
        while f"f{i} ".encode() not in answers:
            answers += tls.recv(4096)
    tls.close()
    assert b"* BYE [UNAVAILABLE]" in answers, answers
    # Refused at connect while the ban runs.
    refused = socket.create_connection((HOST, server.imaps_port), timeout=IO_TIMEOUT)
    assert refused.recv(4096).startswith(b"* BYE [UNAVAILABLE]")
    refused.close()
    values = metrics(port)
    assert values["portcullis_bans_active"] == 1, values
    assert values['portcullis_logins_total{result="failure"}'] == 3, values
    assert values['portcullis_connections_refused_total{reason="banned"}'] == 1, values
    metric_becomes(port, "portcullis_bans_active", 0)

    # A reloaded certificate: its new expiry.
    replace(second.chain, second.key, chain, key)
    metric_becomes(port, 'portcullis_tls_certificate_not_after_seconds{name="default"}', not_after(second.chain),
                   timeout=RELOAD_WAIT)

    # Anything but GET /metrics.
    assert " 404 " in curl(f"http://{HOST}:{port}/", "-i").stdout.splitlines()[0]
    assert " 405 " in curl(f"http://{HOST}:{port}/metrics", "-i", "-X", "POST").stdout.splitlines()[0]
