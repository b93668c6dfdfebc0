"""`portcullis check`: the client-side audit, against Portcullis itself (clean) and against a
deliberately weak server — a private Dovecot from Debian packages with TLS 1.0 and weak
suites enabled and plaintext authentication allowed before TLS."""

from __future__ import annotations

import json

import pytest

from dovecot import Dovecot
from support import HOST, run_cli

WEAK_TLS = """\
ssl_min_protocol = TLSv1
ssl_cipher_list = ALL:@SECLEVEL=0
ssl_prefer_server_ciphers = no
"""


def check(*args: str) -> tuple[int, dict]:
    result = run_cli(["check", *args, "--json", "--timeout", "10"], timeout=120)
    assert result.returncode in (0, 1), (result.returncode, result.stderr)
    return result.returncode, json.loads(result.stdout)


def verdicts(report: dict) -> dict[str, str]:
    return {finding["id"]: finding["verdict"] for finding in report["findings"]}


def test_portcullis_implicit_tls_is_clean(server):
    code, report = check(f"{HOST}:{server.imaps_port}", "--implicit", "--ca", str(server.cert_path),
                         "--name", "localhost")
    found = verdicts(report)
    assert code == 0, report["findings"]
    assert found["tls.version.1.0"] == "ok" and found["tls.version.1.1"] == "ok"
    assert found["tls.version.1.3"] == "ok" and found["cert.verify"] == "ok"
    assert found["tls.suites.broken"] == "ok" and found["tls.suites.weak"] == "ok"
    accepted = {s["name"] for s in report["suites"]}
    assert "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" in accepted
    assert report["session"]["alpn"] == "imap"
    assert "AUTH=PLAIN" in report["session"]["capabilities"]


def test_portcullis_starttls_port_is_clean(server):
    code, report = check(f"{HOST}:{server.imap_port}", "--starttls", "--ca", str(server.cert_path),
                         "--name", "localhost", "--no-ciphers")
    found = verdicts(report)
    assert code == 0, report["findings"]
    assert found["plain.starttls"] == "ok" and found["plain.logindisabled"] == "ok"
    assert found["plain.auth"] == "ok" and found["plain.login"] == "ok"
    assert "LOGINDISABLED" in report["plaintext"]["capabilities"]


def test_an_untrusted_certificate_is_a_finding(server):
    code, report = check(f"{HOST}:{server.imaps_port}", "--implicit", "--no-ciphers")
    assert code == 1
    assert verdicts(report)["cert.verify"] == "fail"


def test_text_output_and_exit_code_for_an_unreachable_port(server):
    server.stop()
    result = run_cli(["check", f"{HOST}:{server.imaps_port}", "--timeout", "3"], timeout=60)
    assert result.returncode == 2, result.stdout
    assert "cannot connect" in result.stderr


@pytest.fixture(scope="module")
def weak_dovecot():
    dovecot = Dovecot.create(tls_settings=WEAK_TLS)
    try:
        dovecot.start()
        yield dovecot
    finally:
        dovecot.stop()


def test_weak_dovecot_starttls_port_exposes_plaintext_login(weak_dovecot):
    code, report = check(f"{HOST}:{weak_dovecot.port}", "--starttls", "--ca", str(weak_dovecot.cert_path),
                         "--name", "localhost", "--no-ciphers")
    found = verdicts(report)
    assert code == 1
    assert found["plain.starttls"] == "ok"
    assert found["plain.logindisabled"] == "warn"
    assert found["plain.auth"] == "fail", report["plaintext"]
    assert found["plain.login"] == "fail", report["plaintext"]["login_answer"]


def test_weak_dovecot_tls_port_accepts_old_versions_and_weak_suites(weak_dovecot):
    code, report = check(f"{HOST}:{weak_dovecot.imaps_port}", "--implicit", "--ca",
                         str(weak_dovecot.cert_path), "--name", "localhost")
    found = verdicts(report)
    assert code == 1
    assert found["tls.version.1.0"] == "fail", report["versions"]
    assert found["tls.version.1.1"] == "fail", report["versions"]
    assert found["tls.version.1.2"] == "ok"
    assert found["tls.suites.weak"] == "warn", report["suites"]
    assert found["cert.verify"] == "ok"
    assert found["cert.key"] == "ok" and report["session"]["chain"][0]["key"] == "RSA 2048"
