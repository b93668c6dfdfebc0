"""The imapclient package (PyPI) against the server over implicit TLS, certificate and host
name verified: ID, folders with non-ASCII names (imapclient encodes modified UTF-7 itself),
APPEND with flags and date, FETCH of bytes, flags, date and the parsed ENVELOPE, IDLE with
changes made by another connection, and imapclient's BODYSTRUCTURE parser on the whole
golden MIME corpus (no client quirk needed: it parses every structure the server sends).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

import pytest

from support import HOST, REPO, make_message, make_multipart

imapclient = pytest.importorskip("imapclient")
from imapclient.response_parser import parse_fetch_response  # noqa: E402

GOLDEN = REPO / "tests" / "golden"
IDLE_WAIT = 10


@pytest.fixture
def client(server):
    print(f"client under test: imapclient {imapclient.__version__}")
    c = imapclient.IMAPClient(HOST, port=server.imaps_port, ssl=True, ssl_context=server.tls_context(),
                              timeout=10)
    c.login("alice", server.users["alice"])
    yield c
    try:
        c.logout()
    except Exception:
        pass


def test_clients_imapclient_folders_append_fetch(server, client):
    (fields,) = client.id_({"name": "imapclient-e2e", "version": imapclient.__version__})
    assert dict(zip(fields[::2], fields[1::2]))[b"name"] == b"Portcullis", fields
    caps = client.capabilities()
    assert b"IDLE" in caps and b"UIDPLUS" in caps and b"IMAP4REV1" in caps

    client.create_folder("Reports/Übersicht & Q3")
    folders = {name for _flags, _delim, name in client.list_folders()}
    assert "Reports/Übersicht & Q3" in folders and "Reports" in folders, folders

    when = dt.datetime(2024, 2, 29, 23, 59, 58, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    message = make_multipart("imapclient multipart")
    result = client.append("Reports/Übersicht & Q3", message, flags=[b"\\Flagged", b"$Label1"], msg_time=when)
    assert b"APPENDUID" in result, result
    client.select_folder("Reports/Übersicht & Q3")
    (uid,) = client.search("ALL")
    data = client.fetch([uid], ["BODY.PEEK[]", "FLAGS", "INTERNALDATE", "ENVELOPE", "RFC822.SIZE"])[uid]
    assert data[b"BODY[]"] == message
    assert data[b"RFC822.SIZE"] == len(message)
    # \Recent: this IMAP4rev1 session is the first to see the message.
    assert set(data[b"FLAGS"]) - {b"\\Recent"} == {b"\\Flagged", b"$Label1"}
    # imapclient converts INTERNALDATE to the local time zone, without tzinfo (its default).
    assert data[b"INTERNALDATE"] == when.astimezone().replace(tzinfo=None)
    envelope = data[b"ENVELOPE"]
    assert envelope.subject == b"imapclient multipart"
    assert envelope.from_[0].mailbox == b"carol" and envelope.from_[0].host == b"example.com"


def test_clients_imapclient_idle_sees_other_connections_changes(server, client):
    first = make_message("before idle", seed=1)
    client.append("INBOX", first)
    client.select_folder("INBOX")
    client.idle()
    try:
        arrived = make_message("arrived during idle", size=5000, seed=2)
        with server.imaps("alice") as other:
            other.append("INBOX", None, None, arrived)
        responses = wait_idle(client, lambda rs: (2, b"EXISTS") in rs)
        assert (2, b"EXISTS") in responses, responses
        with server.imaps("alice") as other:
            other.select("INBOX")
            other.uid("STORE", "1", "+FLAGS", "(\\Seen)")
        responses = wait_idle(client, lambda rs: any(r[0] == 1 and r[1] == b"FETCH" for r in rs))
        fetches = [r for r in responses if r[1] == b"FETCH"]
        assert fetches and b"\\Seen" in fetches[0][2][fetches[0][2].index(b"FLAGS") + 1], responses
        with server.imaps("alice") as other:
            other.select("INBOX")
            other.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
            other.expunge()
        responses = wait_idle(client, lambda rs: (1, b"EXPUNGE") in rs)
        assert (1, b"EXPUNGE") in responses, responses
    finally:
        client.idle_done()
    # After IDLE the session is in step: one message, the one that arrived, byte-identical.
    (uid,) = client.search("ALL")
    assert uid == 2
    assert client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"] == arrived


def wait_idle(client, done, timeout: float = IDLE_WAIT) -> list:
    seen: list = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not done(seen):
        seen += client.idle_check(timeout=max(0.1, deadline - time.monotonic()))
    return seen


def test_clients_imapclient_parses_every_golden_bodystructure(server, client):
    """The "conservative BODYSTRUCTURE for broken parsers" candidate quirk: imapclient's parser
    reads the server's ENVELOPE and BODYSTRUCTURE of all 85 golden messages (nesting beyond
    the depth limit, odd parameters, extension data) and gets the same values as from the
    golden expectations' wire text."""
    files = sorted(GOLDEN.glob("*.eml"))
    assert len(files) >= 80
    client.create_folder("Golden")
    for path in files:
        client.append("Golden", path.read_bytes())
    client.select_folder("Golden", readonly=True)
    uids = client.search("ALL")
    assert len(uids) == len(files)
    live = client.fetch(uids, ["ENVELOPE", "BODYSTRUCTURE"])
    for uid, path in zip(uids, files):
        expected = expected_items(path.with_suffix(".expected"), uid)
        assert live[uid][b"BODYSTRUCTURE"] == expected[b"BODYSTRUCTURE"], path.name
        assert live[uid][b"ENVELOPE"] == expected[b"ENVELOPE"], path.name


def expected_items(path: Path, uid: int) -> dict:
    """The golden file's ENVELOPE and BODYSTRUCTURE responses, through imapclient's own parser
    (fed the way imaplib hands it responses: a literal as (text before it, literal))."""
    data = path.read_bytes()
    items = {}
    pos = 0
    while pos < len(data):
        parts: list = []
        while True:  # one response: lines, each possibly ending in a literal
            end = data.index(b"\r\n", pos)
            line, pos = data[pos:end], end + 2
            m = re.search(rb"\{(\d+)\}$", line)
            if not m:
                parts.append(line)
                break
            parts.append((line, data[pos:pos + int(m.group(1))]))
            pos += int(m.group(1))
        head = parts[0][0] if isinstance(parts[0], tuple) else parts[0]
        for name in (b"ENVELOPE", b"BODYSTRUCTURE"):
            if head.startswith(b"* 1 FETCH (" + name + b" "):
                rewrite = b"1 (UID %d " % uid
                first = parts[0]
                if isinstance(first, tuple):
                    parts[0] = (rewrite + first[0][len(b"* 1 FETCH ("):], first[1])
                else:
                    parts[0] = rewrite + first[len(b"* 1 FETCH ("):]
                items[name] = parse_fetch_response(parts)[uid][name]
    assert set(items) == {b"ENVELOPE", b"BODYSTRUCTURE"}, path
    return items
