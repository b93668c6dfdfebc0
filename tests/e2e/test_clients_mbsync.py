"""mbsync (isync): a full two-way sync of a Maildir with several folders over implicit TLS,
certificate pinned with CertificateFile.

Complements test_mbsync.py (pull, push, local deletion, idle second run, STARTTLS) with what
the issue asks on top: server-side changes — new mail, flag changes, expunges — pulled into
the Maildir, and after every run the two sides compared in full, message bytes and flags,
folder by folder.

isync keeps Maildir messages with LF line ends and may insert an `X-TUID:` header into
messages it copies (its own bookkeeping, documented in mbsync(1)); the comparison undoes
exactly those two changes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clients import imap_flags_of_maildir_name, maildir_messages, require
from support import make_message, make_multipart, mutf7_encode, uid_fetch_body
from test_mbsync import run_mbsync, server_snapshot, write_config

FOLDERS = ["INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash", "Lists", "Projects",
           "Projects/Alpha Team"]


def normalise(data: bytes) -> bytes:
    """Either side's copy -> comparable bytes: no X-TUID header, CRLF line ends."""
    data = re.sub(rb"(?m)^X-TUID: [^\r\n]*\r?\n", b"", data, count=1)
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def server_side(server) -> dict[str, list[tuple[bytes, frozenset]]]:
    result = {}
    with server.imaps("alice") as client:
        for folder in FOLDERS:
            typ, data = client.select('"' + mutf7_encode(folder) + '"', readonly=True)
            assert typ == "OK", (folder, data)
            typ, data = client.uid("SEARCH", "ALL")
            rows = []
            for uid in (int(u) for u in data[0].split()):
                typ, fl = client.uid("FETCH", str(uid), "(FLAGS)")
                flags = frozenset(re.search(rb"FLAGS \(([^)]*)\)", fl[0]).group(1).decode().split()) - {"\\Recent"}
                rows.append((normalise(uid_fetch_body(client, uid)), flags))
            result[folder] = sorted(rows, key=repr)
            client.close()
    return result


def local_side(maildir: Path) -> dict[str, list[tuple[bytes, frozenset]]]:
    result = {}
    for folder in FOLDERS:
        messages = maildir_messages(maildir / folder)
        result[folder] = sorted(((normalise(data), frozenset(imap_flags_of_maildir_name(name)))
                                 for name, data in messages.items()), key=repr)
    return result


def assert_in_sync(server, maildir: Path) -> dict:
    remote, local = server_side(server), local_side(maildir)
    for folder in FOLDERS:
        assert remote[folder] == local[folder], (folder, remote[folder], local[folder])
    return remote


def local_file(maildir: Path, folder: str, content: bytes) -> Path:
    for name, data in maildir_messages(maildir / folder).items():
        if normalise(data) == content:
            return next((maildir / folder).glob(f"*/{name}"))
    raise AssertionError(f"{folder}: no local copy of {content[:80]!r}")


def set_local_flags(path: Path, flags: str) -> Path:
    target = path.parent.parent / "cur" / (path.name.rsplit(":2,", 1)[0] + ":2," + flags)
    path.rename(target)
    return target


@pytest.fixture
def mbsync():
    path, version = require("mbsync", ["--version"], r"isync (\S+)")
    return path, tuple(int(x) for x in re.findall(r"\d+", version)[:2])


def test_clients_mbsync_two_way_sync_with_server_changes_and_expunges(server, mbsync, tmp_path):
    exe, version = mbsync
    inbox = [make_message(f"inbox {i}", size=2000 * (i + 1) ** 2, seed=i) for i in range(4)]
    lists = [make_message(f"list post {i}", seed=20 + i) for i in range(2)]
    alpha = [make_multipart("alpha design"), make_message("alpha notes", seed=30)]
    with server.imaps("alice") as client:
        for name in ("Lists", "Projects", "Projects/Alpha Team"):
            assert client.create(f'"{name}"')[0] == "OK"
        for message, flags in zip(inbox, ["(\\Seen)", "(\\Flagged \\Seen)", None, "(\\Answered)"]):
            client.append("INBOX", flags, None, message)
        client.append('"Lists"', "(\\Seen)", None, lists[0])
        client.append('"Lists"', None, None, lists[1])
        client.append('"Projects/Alpha Team"', "(\\Draft)", None, alpha[0])
        client.append('"Projects/Alpha Team"', "(\\Seen)", None, alpha[1])

    maildir = tmp_path / "Mail"
    maildir.mkdir()
    config = tmp_path / "mbsyncrc"
    write_config(config, version=version, port=server.imaps_port, password=server.users["alice"],
                 tls="IMAPS", cert=server.cert_path, maildir=maildir)

    # 1. Pull everything: every folder, every message, its flags.
    run_mbsync(exe, config)
    state = assert_in_sync(server, maildir)
    assert len(state["INBOX"]) == 4 and len(state["Lists"]) == 2 and len(state["Projects/Alpha Team"]) == 2

    # 2. Local changes pushed: a new message in two folders, flags changed on two messages.
    pushed = make_message("written locally", size=9000, seed=40)
    (maildir / "INBOX" / "new" / "1700000100.local1.testhost").write_bytes(pushed.replace(b"\r\n", b"\n"))
    pushed_list = make_message("local list reply", seed=41)
    (maildir / "Lists" / "cur" / "1700000101.local2.testhost:2,RS").write_bytes(pushed_list.replace(b"\r\n", b"\n"))
    set_local_flags(local_file(maildir, "INBOX", inbox[2]), "FS")       # unseen -> flagged+seen
    set_local_flags(local_file(maildir, "INBOX", inbox[1]), "")         # flagged+seen -> none
    run_mbsync(exe, config)
    state = assert_in_sync(server, maildir)
    assert (pushed, frozenset()) in state["INBOX"]
    assert (pushed_list, frozenset({"\\Answered", "\\Seen"})) in state["Lists"]
    assert (inbox[2], frozenset({"\\Flagged", "\\Seen"})) in state["INBOX"]
    assert (inbox[1], frozenset()) in state["INBOX"]

    # 3. Server-side changes pulled: new mail, flag changes, expunges in two folders.
    arrived = make_message("arrived on the server", size=40000, seed=50)
    with server.imaps("alice") as client:
        client.append('"Projects/Alpha Team"', "(\\Flagged)", None, arrived)
        client.select("INBOX")
        typ, data = client.uid("SEARCH", "ALL")
        uids = [int(u) for u in data[0].split()]
        # inbox[0] gets \Flagged, inbox[3] loses \Answered, the pushed message is expunged.
        bodies = {uid: normalise(uid_fetch_body(client, uid)) for uid in uids}
        by_body = {body: uid for uid, body in bodies.items()}
        assert client.uid("STORE", str(by_body[inbox[0]]), "+FLAGS", "(\\Flagged)")[0] == "OK"
        assert client.uid("STORE", str(by_body[inbox[3]]), "-FLAGS", "(\\Answered)")[0] == "OK"
        assert client.uid("STORE", str(by_body[pushed]), "+FLAGS", "(\\Deleted)")[0] == "OK"
        assert client.expunge()[0] == "OK"
        client.select('"Lists"')
        client.store("1", "+FLAGS", "(\\Deleted)")
        assert client.expunge()[0] == "OK"
    run_mbsync(exe, config)
    state = assert_in_sync(server, maildir)
    assert (arrived, frozenset({"\\Flagged"})) in state["Projects/Alpha Team"]
    assert (inbox[0], frozenset({"\\Seen", "\\Flagged"})) in state["INBOX"]
    assert (inbox[3], frozenset()) in state["INBOX"]
    assert all(body != pushed for body, _ in state["INBOX"])
    assert all(body != lists[0] for body, _ in state["Lists"])
    assert len(maildir_messages(maildir / "INBOX")) == 4
    assert len(maildir_messages(maildir / "Lists")) == 2

    # 4. A further sync with nothing changed is a no-op on both sides.
    before_server = server_snapshot(server)
    before_local = sorted(str(p.relative_to(maildir)) for p in maildir.rglob("*") if p.parent.name in ("cur", "new"))
    run_mbsync(exe, config)
    assert server_snapshot(server) == before_server
    after_local = sorted(str(p.relative_to(maildir)) for p in maildir.rglob("*") if p.parent.name in ("cur", "new"))
    assert after_local == before_local
