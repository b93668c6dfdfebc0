"""mbsync (isync) against the server: pull, push, flag and deletion propagation, and an idle
second run, over implicit TLS and over STARTTLS, certificate pinned with CertificateFile.

isync's Maildir store keeps messages with LF line ends and inserts an `X-TUID:` header into
messages it copies (its own bookkeeping, documented in mbsync(1)); comparisons undo exactly
those two changes and nothing else.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import require_tool
from support import HOST, make_message, uid_fetch_body

MBSYNC_TIMEOUT = 60


def mbsync_version(exe: str) -> tuple[int, ...]:
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
    assert m, out
    return tuple(int(x or 0) for x in m.groups())


def write_config(path: Path, *, version: tuple[int, ...], port: int, password: str, tls: str,
                 cert: Path, maildir: Path) -> None:
    """An .mbsyncrc for the installed isync: 1.4 spells it SSLType, 1.5+ TLSType."""
    tls_key = "TLSType" if version >= (1, 5) else "SSLType"
    assert '"' not in password
    path.write_text(f"""IMAPAccount portcullis
Host {HOST}
Port {port}
User alice
Pass "{password}"
{tls_key} {tls}
CertificateFile {cert}
Timeout 20

IMAPStore remote
Account portcullis

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Sync All
Expunge Both
SyncState *
""")


def run_mbsync(exe: str, config: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([exe, "-c", str(config), "-a"], capture_output=True, text=True,
                            timeout=MBSYNC_TIMEOUT, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result


def maildir_messages(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for sub in ("new", "cur") if (folder / sub).is_dir()
            for p in sorted((folder / sub).iterdir())}


def as_server_bytes(local: bytes) -> bytes:
    """Undo isync's Maildir conventions: drop its X-TUID header, LF -> CRLF."""
    local = re.sub(rb"(?m)^X-TUID: [^\n]*\n", b"", local, count=1)
    return local.replace(b"\n", b"\r\n")


def maildir_flags(name: str) -> str:
    return name.rsplit(":2,", 1)[1] if ":2," in name else ""


def server_snapshot(server) -> dict:
    """Everything a sync could change on the server: per mailbox UIDVALIDITY, UIDNEXT, and
    each message's UID, flags and size."""
    snap = {}
    with server.imaps("alice") as client:
        typ, data = client.list()
        names = [line.rsplit(b' "/" ', 1)[1].decode().strip('"') for line in data]
        for name in names:
            typ, data = client.select(f'"{name}"', readonly=True)
            assert typ == "OK", (name, data)
            validity = client.response("UIDVALIDITY")[1][0]
            uidnext = client.response("UIDNEXT")[1][0]
            typ, data = client.uid("FETCH", "1:*", "(FLAGS RFC822.SIZE)")
            rows = sorted(re.sub(rb"\\Recent ?", b"", d).decode() for d in data if d)
            snap[name] = (validity, uidnext, rows)
            client.close()
    return snap


@pytest.fixture
def mbsync():
    return require_tool("mbsync")


def test_mbsync_imaps_pull_push_and_idle_second_run(server, mbsync, tmp_path):
    version = mbsync_version(mbsync)
    inbox_msgs = [make_message(f"pull {i}", size=1000 * (i + 1) ** 3, seed=i) for i in range(3)]
    nested = make_message("nested pull", seed=10)
    with server.imaps("alice") as client:
        assert client.create('"Projects"')[0] == "OK"
        assert client.create('"Projects/Alpha Team"')[0] == "OK"
        client.append("INBOX", "(\\Seen)", None, inbox_msgs[0])
        client.append("INBOX", "(\\Flagged)", None, inbox_msgs[1])
        client.append("INBOX", None, None, inbox_msgs[2])
        client.append('"Projects/Alpha Team"', "(\\Answered \\Seen)", None, nested)

    maildir = tmp_path / "Mail"
    maildir.mkdir()
    config = tmp_path / "mbsyncrc"
    write_config(config, version=version, port=server.imaps_port, password=server.users["alice"],
                 tls="IMAPS", cert=server.cert_path, maildir=maildir)

    # 1. Pull: every server message lands in the Maildir with identical content and flags.
    run_mbsync(mbsync, config)
    for name in ("INBOX", "Archive", "Drafts", "Junk", "Sent", "Trash", "Projects", "Projects/Alpha Team"):
        assert (maildir / name / "cur").is_dir(), (name, list(maildir.rglob("*")))
    local = maildir_messages(maildir / "INBOX")
    assert len(local) == 3, local.keys()
    by_content = {as_server_bytes(data): name for name, data in local.items()}
    assert set(by_content) == set(inbox_msgs)
    assert "S" in maildir_flags(by_content[inbox_msgs[0]])
    assert "F" in maildir_flags(by_content[inbox_msgs[1]])
    assert maildir_flags(by_content[inbox_msgs[2]]) == ""
    nested_local = maildir_messages(maildir / "Projects" / "Alpha Team")
    assert [as_server_bytes(d) for d in nested_local.values()] == [nested]
    assert maildir_flags(next(iter(nested_local))) == "RS"

    # 2. Push: a message dropped into new/ and a new local folder end up on the server.
    pushed = make_message("pushed from maildir", size=30000, seed=99).replace(b"\r\n", b"\n")
    (maildir / "INBOX" / "new" / "1700000000.push1.testhost").write_bytes(pushed)
    (maildir / "Local Only" / "cur").mkdir(parents=True)
    (maildir / "Local Only" / "new").mkdir()
    (maildir / "Local Only" / "tmp").mkdir()
    local_only = make_message("born locally", seed=98).replace(b"\r\n", b"\n")
    (maildir / "Local Only" / "cur" / "1700000001.push2.testhost:2,F").write_bytes(local_only)
    # And local flag change + local deletion propagate.
    seen_name = by_content[inbox_msgs[2]]
    seen_path = next((maildir / "INBOX").glob(f"*/{seen_name}"))
    seen_path.rename(seen_path.parent.parent / "cur" / (seen_name.rsplit(":2,", 1)[0] + ":2,S"))
    gone = next((maildir / "INBOX").glob(f"*/{by_content[inbox_msgs[0]]}"))
    gone.rename(gone.with_name(gone.name + "T"))  # trashed: Expunge Both removes it everywhere
    run_mbsync(mbsync, config)

    with server.imaps("alice") as client:
        typ, data = client.select("INBOX")
        assert typ == "OK"
        typ, data = client.uid("SEARCH", "ALL")
        uids = [int(u) for u in data[0].split()]
        bodies = {uid: uid_fetch_body(client, uid) for uid in uids}
        expected_pushed = pushed.replace(b"\n", b"\r\n")
        assert 1 not in bodies, "locally trashed message was not expunged on the server"
        assert bodies[2] == inbox_msgs[1] and bodies[3] == inbox_msgs[2]
        new_uids = [u for u in uids if u > 3]
        assert len(new_uids) == 1, uids
        assert as_server_bytes(bodies[new_uids[0]].replace(b"\r\n", b"\n")) == expected_pushed
        typ, data = client.uid("FETCH", "3", "(FLAGS)")
        assert b"\\Seen" in data[0], data
        typ, data = client.select('"Local Only"')
        assert typ == "OK" and data == [b"1"], data
        body = uid_fetch_body(client, 1)
        assert as_server_bytes(body.replace(b"\r\n", b"\n")) == local_only.replace(b"\n", b"\r\n")
        typ, data = client.uid("FETCH", "1", "(FLAGS)")
        assert b"\\Flagged" in data[0]

    # 3. A second sync with nothing changed changes nothing on either side.
    before_server = server_snapshot(server)
    before_local = sorted(str(p.relative_to(maildir)) for p in maildir.rglob("*") if p.parent.name in ("cur", "new"))
    run_mbsync(mbsync, config)
    assert server_snapshot(server) == before_server
    after_local = sorted(str(p.relative_to(maildir)) for p in maildir.rglob("*") if p.parent.name in ("cur", "new"))
    assert after_local == before_local


def test_mbsync_starttls_pull(server, mbsync, tmp_path):
    version = mbsync_version(mbsync)
    message = make_message("pulled over starttls", size=12000, seed=5)
    with server.imaps("alice") as client:
        client.append("INBOX", "(\\Seen \\Flagged)", None, message)
    maildir = tmp_path / "Mail"
    maildir.mkdir()
    config = tmp_path / "mbsyncrc"
    write_config(config, version=version, port=server.imap_port, password=server.users["alice"],
                 tls="STARTTLS", cert=server.cert_path, maildir=maildir)
    run_mbsync(mbsync, config)
    local = maildir_messages(maildir / "INBOX")
    assert len(local) == 1
    name, data = next(iter(local.items()))
    assert as_server_bytes(data) == message
    assert maildir_flags(name) == "FS"
    # Push back over STARTTLS too.
    pushed = make_message("starttls push", seed=6).replace(b"\r\n", b"\n")
    (maildir / "Sent" / "cur" / "1700000002.push.testhost:2,S").write_bytes(pushed)
    run_mbsync(mbsync, config)
    with server.imaps("alice") as client:
        typ, data = client.select("Sent")
        assert data == [b"1"]
        body = uid_fetch_body(client, 1)
        assert as_server_bytes(body.replace(b"\r\n", b"\n")) == pushed.replace(b"\n", b"\r\n")
