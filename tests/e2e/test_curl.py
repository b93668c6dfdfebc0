"""curl as an independent IMAP client: imaps:// and imap:// with --ssl-reqd, certificate
verified against the generated one. Credentials go through a curl config file (-K), not argv."""

from __future__ import annotations

import subprocess

import pytest

from conftest import require_tool
from support import HOST, make_message, uid_fetch_body

CURL_TIMEOUT = 30


@pytest.fixture
def curl(server, tmp_path):
    exe = require_tool("curl")
    credentials = tmp_path / "curl-alice.conf"
    credentials.write_text(f'user = "alice:{server.users["alice"]}"\n')

    def run(url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [exe, "--silent", "--show-error", "--max-time", "20", "--cacert", str(server.cert_path),
               "-K", str(credentials), *args, url]
        result = subprocess.run(cmd, capture_output=True, timeout=CURL_TIMEOUT, stdin=subprocess.DEVNULL)
        if check:
            assert result.returncode == 0, (cmd, result.returncode, result.stderr)
        return result

    return run


def imaps_url(server, path: str = "/") -> str:
    return f"imaps://{HOST}:{server.imaps_port}{path}"


def test_curl_imaps_list(server, curl):
    with server.imaps("alice") as client:
        assert client.create('"Team Notes"')[0] == "OK"
        assert client.create('"Team Notes/2025"')[0] == "OK"
    out = curl(imaps_url(server)).stdout.decode()
    lines = out.splitlines()
    assert all(line.startswith("* LIST ") for line in lines), out
    names = [line.rsplit(' "/" ', 1)[1].strip('"') for line in lines]
    assert sorted(names) == sorted(["INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash",
                                    "Team Notes", "Team Notes/2025"]), out
    assert any("\\Sent" in line and line.endswith(" Sent") for line in lines), out
    assert any("\\HasChildren" in line and line.endswith('"Team Notes"') for line in lines), out


def test_curl_examine(server, curl):
    with server.imaps("alice") as client:
        for i in range(3):
            client.append("INBOX", None, None, make_message(f"curl {i}", seed=i))
    out = curl(imaps_url(server), "-X", "EXAMINE INBOX").stdout.decode()
    assert "* 3 EXISTS" in out, out
    assert "[UIDNEXT 4]" in out, out
    assert "[UIDVALIDITY " in out, out
    assert "* FLAGS (" in out, out


def test_curl_fetch_by_uid_is_byte_identical(server, curl):
    messages = [make_message(f"fetch me {i}", size=4000 * (i + 1), seed=i) for i in range(3)]
    with server.imaps("alice") as client:
        for m in messages:
            client.append("INBOX", None, None, m)
        # Make UIDs differ from sequence numbers so ;UID= is really a UID.
        client.select("INBOX")
        client.store("1", "+FLAGS", "(\\Deleted)")
        client.expunge()
    for uid in (2, 3):
        body = curl(imaps_url(server, f"/INBOX/;UID={uid}")).stdout
        assert body == messages[uid - 1], (uid, len(body), len(messages[uid - 1]))
    # A UID that does not exist is an error, not somebody else's message.
    result = curl(imaps_url(server, "/INBOX/;UID=1"), check=False)
    assert result.returncode != 0 or result.stdout == b"", result


def test_curl_append_upload_then_imaplib_sees_it(server, curl, tmp_path):
    message = make_message("uploaded by curl", size=50000, seed=42)
    path = tmp_path / "upload.eml"
    path.write_bytes(message)
    curl(imaps_url(server, "/INBOX"), "-T", str(path))
    with server.imaps("alice") as client:
        typ, data = client.select("INBOX")
        assert data == [b"1"]
        assert uid_fetch_body(client, 1) == message
        typ, data = client.search(None, "SUBJECT", '"uploaded by curl"')
        assert data == [b"1"]


def test_curl_starttls_with_ssl_reqd(server, curl):
    message = make_message("via starttls", seed=3)
    with server.imaps("alice") as client:
        client.append("INBOX", None, None, message)
    url = f"imap://{HOST}:{server.imap_port}"
    out = curl(url + "/", "--ssl-reqd").stdout.decode()
    assert "* LIST (\\HasNoChildren) \"/\" INBOX" in out, out
    body = curl(url + "/INBOX/;UID=1", "--ssl-reqd").stdout
    assert body == message


def test_curl_without_tls_cannot_log_in_on_plain_port(server, curl):
    result = curl(f"imap://{HOST}:{server.imap_port}/", check=False)
    # curl sees LOGINDISABLED and no AUTH= mechanism: it must not get in (67 = login denied).
    assert result.returncode != 0, result
    assert result.stdout == b""
