"""offlineimap (Debian's offlineimap3) against the server over implicit TLS, the certificate
verified with sslcacertfile: a full sync, then an incremental one with changes on both sides,
each followed by a byte-for-byte and flag comparison of every folder.

offlineimap writes Maildir files with LF line ends (the server keeps CRLF) and names nested
folders with its default separator `.` ("Projects/Alpha Team" -> "Projects.Alpha Team").
Its certificate check matches the host name against DNS names only, so the test connects to
`localhost` (in the certificate's subjectAltName), not 127.0.0.1.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clients import imap_flags_of_maildir_name, maildir_messages, require, run
from support import make_message, make_multipart, mutf7_encode, uid_fetch_body

FOLDERS = {"INBOX": "INBOX", "Lists": "Lists", "Projects": "Projects",
           "Projects/Alpha Team": "Projects.Alpha Team", "Sent": "Sent", "Drafts": "Drafts"}


def write_config(path: Path, *, port: int, password: str, cert: Path, maildir: Path, meta: Path) -> None:
    # offlineimap reads remotepass verbatim to the end of the line.
    assert "\n" not in password and "%" not in password
    path.write_text(f"""[general]
accounts = portcullis
metadata = {meta}
ui = basic
maxsyncaccounts = 1

[Account portcullis]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {maildir}

[Repository remote]
type = IMAP
remotehost = localhost
remoteport = {port}
remoteuser = alice
remotepass = {password}
ssl = yes
sslcacertfile = {cert}
maxconnections = 1
""")


def server_side(server) -> dict[str, list[tuple[bytes, frozenset]]]:
    result = {}
    with server.imaps("alice") as client:
        for folder in FOLDERS:
            typ, data = client.select('"' + mutf7_encode(folder) + '"', readonly=True)
            assert typ == "OK", (folder, data)
            typ, data = client.uid("FETCH", "1:*", "(FLAGS)")
            rows = []
            for line in (d for d in data if d):
                uid = int(re.search(rb"UID (\d+)", line).group(1))
                flags = frozenset(re.search(rb"FLAGS \(([^)]*)\)", line).group(1).decode().split()) - {"\\Recent"}
                rows.append((uid_fetch_body(client, uid), flags))
            result[folder] = sorted(rows, key=repr)
            client.close()
    return result


def local_side(maildir: Path) -> dict[str, list[tuple[bytes, frozenset]]]:
    result = {}
    for folder, local in FOLDERS.items():
        messages = maildir_messages(maildir / local)
        for data in messages.values():
            assert b"\r\n" not in data
        result[folder] = sorted(((data.replace(b"\n", b"\r\n"), frozenset(imap_flags_of_maildir_name(name)))
                                 for name, data in messages.items()), key=repr)
    return result


def assert_in_sync(server, maildir: Path) -> dict:
    remote, local = server_side(server), local_side(maildir)
    for folder in FOLDERS:
        assert remote[folder] == local[folder], (folder, remote[folder], local[folder])
    return remote


@pytest.fixture
def offlineimap():
    return require("offlineimap", ["--version"], r"(\d+\.\d+\.\d+\S*)")[0]


def test_clients_offlineimap_full_then_incremental_sync(server, offlineimap, tmp_path):
    inbox = [make_message(f"oi inbox {i}", size=3000 * (i + 1) ** 2, seed=i) for i in range(3)]
    nested = make_multipart("oi nested")
    listed = make_message("oi list", seed=7)
    with server.imaps("alice") as client:
        for name in ("Lists", "Projects", "Projects/Alpha Team"):
            assert client.create(f'"{name}"')[0] == "OK"
        client.append("INBOX", "(\\Seen)", None, inbox[0])
        client.append("INBOX", "(\\Flagged \\Answered)", None, inbox[1])
        client.append("INBOX", None, None, inbox[2])
        client.append('"Projects/Alpha Team"', "(\\Seen \\Draft)", None, nested)
        client.append('"Lists"', None, None, listed)

    maildir, meta = tmp_path / "Mail", tmp_path / "offlineimap-meta"
    config = tmp_path / "offlineimaprc"
    write_config(config, port=server.imaps_port, password=server.users["alice"], cert=server.cert_path,
                 maildir=maildir, meta=meta)
    argv = [offlineimap, "-c", str(config), "-o", "-u", "basic"]

    # 1. Full sync: every folder and message, byte for byte, with its flags.
    result = run(argv)
    assert "ERROR" not in result.stdout + result.stderr, result.stdout + result.stderr
    state = assert_in_sync(server, maildir)
    assert len(state["INBOX"]) == 3 and len(state["Projects/Alpha Team"]) == 1 and len(state["Lists"]) == 1

    # 2. Changes on both sides, then an incremental sync.
    arrived = make_message("oi arrived on server", size=25000, seed=11)
    with server.imaps("alice") as client:
        client.append("INBOX", "(\\Flagged)", None, arrived)
        client.select("INBOX")
        client.uid("STORE", "1", "+FLAGS", "(\\Answered)")
        client.uid("STORE", "3", "+FLAGS", "(\\Deleted)")
        assert client.expunge()[0] == "OK"
    local_new = make_message("oi written locally", size=5000, seed=12)
    (maildir / "Lists" / "new" / "1700000200.oi1.testhost").write_bytes(local_new.replace(b"\r\n", b"\n"))
    # A local flag change: the nested draft becomes flagged.
    (draft,) = (maildir / "Projects.Alpha Team" / "cur").iterdir()
    draft.rename(draft.with_name(draft.name.rsplit(":2,", 1)[0] + ":2,DFS"))

    result = run(argv)
    assert "ERROR" not in result.stdout + result.stderr, result.stdout + result.stderr
    state = assert_in_sync(server, maildir)
    assert (arrived, frozenset({"\\Flagged"})) in state["INBOX"]
    assert (inbox[0], frozenset({"\\Seen", "\\Answered"})) in state["INBOX"]
    assert all(body != inbox[2] for body, _ in state["INBOX"])
    assert (local_new, frozenset()) in state["Lists"]
    assert (nested, frozenset({"\\Seen", "\\Draft", "\\Flagged"})) in state["Projects/Alpha Team"]
