"""getmail6 with its SimpleIMAPSSLRetriever (implicit TLS, the certificate verified against
`ca_certs`), delivering through MDA_external to a command that writes each message to a
file: without deleting (a second run fetches only new mail, the server keeps everything)
and with `delete = true` (the server's INBOX is emptied).

getmail writes the envelope sender as a `Return-Path:` header at the top of every message
it delivers (here `<unknown>`: IMAP has no envelope) and uses LF line ends; the comparison
removes exactly that header and converts back to CRLF. `delivered_to`, `received` (options)
and `record_mailbox` (retriever) are off so it adds nothing else. getmail refuses to run delivery commands
as root unless `allow_root_commands` is set (CI runs as root).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clients import delivered, drop_leading_header, lf_to_crlf, require, run, write_mda
from support import make_message, make_multipart, uid_fetch_body


def write_rc(path: Path, *, port: int, password: str, cert: Path, mda: Path, delete: bool) -> None:
    assert "\n" not in password and "%" not in password
    path.write_text(f"""[retriever]
type = SimpleIMAPSSLRetriever
server = localhost
port = {port}
username = alice
password = {password}
ca_certs = {cert}
mailboxes = ("INBOX",)
record_mailbox = false

[destination]
type = MDA_external
path = {mda}
allow_root_commands = true

[options]
verbose = 1
read_all = false
delete = {"true" if delete else "false"}
delivered_to = false
received = false
""")


def as_stored(message: bytes) -> bytes:
    stripped = drop_leading_header(message, b"Return-Path")
    assert message.startswith(b"Return-Path: <unknown>\n")
    return lf_to_crlf(stripped)


@pytest.fixture
def getmail(tmp_path):
    exe = require("getmail", ["--version"], r"getmail (\d\S*)")[0]
    state = tmp_path / "getmail-state"
    state.mkdir()
    out = tmp_path / "delivered"
    mda = write_mda(tmp_path, out)

    def fetch(server, *, delete: bool) -> str:
        rc = tmp_path / "getmailrc"
        write_rc(rc, port=server.imaps_port, password=server.users["alice"], cert=server.cert_path,
                 mda=mda, delete=delete)
        result = run([exe, "--getmaildir", str(state), "--rcfile", str(rc)])
        assert "error" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr
        return result.stdout

    return fetch, out


def inbox(server) -> list[bytes]:
    with server.imaps("alice") as client:
        client.select("INBOX", readonly=True)
        typ, data = client.uid("SEARCH", "ALL")
        return [uid_fetch_body(client, int(uid)) for uid in data[0].split()]


def test_clients_getmail_keeps_mail_and_fetches_only_new(server, getmail):
    fetch, out = getmail
    messages = [make_message(f"getmail keep {i}", size=4000 * (i + 1) ** 2, seed=i) for i in range(3)]
    messages.append(make_multipart("getmail multipart"))
    with server.imaps("alice") as client:
        for message in messages:
            client.append("INBOX", None, None, message)

    fetch(server, delete=False)
    assert sorted(as_stored(m) for m in delivered(out)) == sorted(messages)
    assert inbox(server) == messages

    fetch(server, delete=False)  # nothing new: getmail remembers what it has seen
    assert len(delivered(out)) == 4
    late = make_message("getmail late arrival", seed=9)
    with server.imaps("alice") as client:
        client.append("INBOX", None, None, late)
    fetch(server, delete=False)
    assert sorted(as_stored(m) for m in delivered(out)) == sorted(messages + [late])
    assert inbox(server) == messages + [late]


def test_clients_getmail_delete_empties_the_server_inbox(server, getmail):
    fetch, out = getmail
    messages = [make_message(f"getmail delete {i}", size=30000 * i, seed=i) for i in range(3)]
    with server.imaps("alice") as client:
        for message in messages:
            client.append("INBOX", "(\\Seen)", None, message)
    fetch(server, delete=True)
    assert sorted(as_stored(m) for m in delivered(out)) == sorted(messages)
    assert inbox(server) == []
