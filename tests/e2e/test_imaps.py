"""imaplib over implicit TLS (port 993 role): the everyday client workflow, checked on data."""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
import time
from datetime import datetime, timedelta, timezone

import pytest

from support import (HOST, fetch_parts, list_mailboxes, make_message, make_multipart, mutf7_encode,
                     parse_list_line, response_code, uid_fetch_body)

EXPECTED_CAPABILITIES = (
    "IMAP4REV1 IMAP4REV2 LITERAL+ ENABLE ID IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN "
    "LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE ESEARCH MULTIAPPEND STATUS=SIZE"
).split()


def append(client: imaplib.IMAP4, mailbox: str, message: bytes, flags: str = "",
           when: datetime | None = None) -> int:
    """APPENDs and returns the UID from APPENDUID (RFC 4315)."""
    date = imaplib.Time2Internaldate(when) if when else None
    typ, data = client.append(mailbox, f"({flags})" if flags else None, date, message)
    assert typ == "OK", data
    code = response_code(data[0])
    assert code and code.startswith("APPENDUID "), data
    return int(code.split()[2])


def flags_of(client: imaplib.IMAP4, uid: int) -> set[str]:
    typ, data = client.uid("FETCH", str(uid), "(FLAGS)")
    assert typ == "OK", data
    m = re.search(rb"FLAGS \(([^)]*)\)", data[0])
    assert m, data
    # \Recent is a session property (IMAP4rev1 clients see it); these tests check stored flags.
    return set(m.group(1).decode().split()) - {"\\Recent"}


def select(client: imaplib.IMAP4, mailbox: str, readonly: bool = False) -> int:
    typ, data = client.select(q(mailbox), readonly=readonly)
    assert typ == "OK", data
    return int(data[0])


def q(name: str) -> str:
    """A mailbox argument for imaplib: modified UTF-7, quoted."""
    return '"' + mutf7_encode(name).replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------------------


def test_tls_certificate_is_verified_for_ip_and_localhost(server):
    # IP SAN 127.0.0.1 with check_hostname on.
    client = server.imaps("alice")
    tls = client.sock
    assert tls.version() in ("TLSv1.2", "TLSv1.3")
    client.logout()
    # DNS SAN localhost (resolves to 127.0.0.1 or ::1; the server listens on 127.0.0.1 only and
    # create_connection tries each address).
    sock = socket.create_connection((HOST, server.imaps_port), timeout=10)
    with server.tls_context().wrap_socket(sock, server_hostname="localhost") as tls:
        assert tls.recv(4096).startswith(b"* OK")
    # A name the certificate does not carry must fail: verification is really on.
    sock = socket.create_connection((HOST, server.imaps_port), timeout=10)
    with pytest.raises(ssl.SSLCertVerificationError):
        server.tls_context().wrap_socket(sock, server_hostname="mail.example.com")
    sock.close()
    # And a client that does not trust the generated certificate refuses it.
    sock = socket.create_connection((HOST, server.imaps_port), timeout=10)
    untrusting = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, trusts no CA at all
    with pytest.raises(ssl.SSLCertVerificationError):
        untrusting.wrap_socket(sock, server_hostname=HOST)
    sock.close()


def test_capabilities_before_and_after_login(server):
    client = server.imaps()
    before = set(client.capabilities)
    assert "AUTH=PLAIN" in before and "SASL-IR" in before
    assert "STARTTLS" not in before and "LOGINDISABLED" not in before
    client.login("alice", server.users["alice"])
    typ, data = client.capability()
    assert typ == "OK"
    after = data[0].decode().upper().split()
    for cap in EXPECTED_CAPABILITIES:
        assert cap in after, (cap, after)
    limit = [c for c in after if c.startswith("APPENDLIMIT=")]
    assert len(limit) == 1 and int(limit[0].split("=")[1]) > 0
    assert not any(c.startswith("AUTH=") for c in after)
    client.logout()


def test_wrong_password_is_refused(server):
    client = server.imaps()
    with pytest.raises(imaplib.IMAP4.error) as info:
        client.login("alice", server.users["alice"] + "x")
    assert "AUTHENTICATIONFAILED" in str(info.value)
    with pytest.raises(imaplib.IMAP4.error):
        client.login("nosuchuser", "whatever")
    # Still usable afterwards.
    typ, _ = client.login("alice", server.users["alice"])
    assert typ == "OK"
    client.logout()


def test_authenticate_plain_with_initial_response(server):
    raw = server.raw()
    import base64
    token = base64.b64encode(b"\0alice\0" + server.users["alice"].encode()).decode()
    tagged, _ = raw.command(f"AUTHENTICATE PLAIN {token}")
    assert tagged.startswith(b"t1 OK"), tagged
    tagged, untagged = raw.command("SELECT INBOX")
    assert tagged.startswith(b"t2 OK"), tagged
    raw.close()


def test_default_mailboxes_have_special_use(alice):
    boxes = list_mailboxes(alice)
    for name in ("INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"):
        assert name in boxes, boxes
    typ, data = alice._simple_command("LIST", '(SPECIAL-USE)', '""', '"*"')
    typ, data = alice._untagged_response(typ, data, "LIST")
    assert typ == "OK"
    uses = {}
    for line in data:
        m = re.match(rb'\(([^)]*)\) "/" "?([^"]*)"?', line)
        assert m, line
        for attr in m.group(1).decode().split():
            if attr.lower() in ("\\drafts", "\\sent", "\\trash", "\\junk", "\\archive"):
                uses[attr.lower()] = m.group(2).decode()
    assert uses == {"\\drafts": "Drafts", "\\sent": "Sent", "\\trash": "Trash", "\\junk": "Junk",
                    "\\archive": "Archive"}


NAMES = [
    "Projects",
    "Projects/Alpha Beta",
    "Projects/R&D",
    "Projects/R&D/2024 Q1",
    "Projects/Café ☕",
    "Ünïcödé",
    "Ünïcödé/子フォルダ",
    "Ünïcödé/Post 📬",
]


def test_create_nested_folders_with_special_names_and_list(alice):
    for name in NAMES:
        typ, data = alice.create(q(name))
        assert typ == "OK", (name, data)
    # The wire form is modified UTF-7, e.g. "Caf&AOk- &JhU-".
    assert mutf7_encode("Projects/Café ☕") == "Projects/Caf&AOk- &JhU-"
    assert mutf7_encode("Projects/R&D") == "Projects/R&-D"
    boxes = list_mailboxes(alice)
    for name in NAMES:
        assert name in boxes, (name, sorted(boxes))
    assert "\\HasChildren" in boxes["Projects"]
    assert "\\HasChildren" in boxes["Projects/R&D"]
    assert "\\HasNoChildren" in boxes["Projects/Alpha Beta"]
    assert "\\HasNoChildren" in boxes["Ünïcödé/Post 📬"]
    # % matches one level only.
    typ, data = alice.list('""', '"Projects/%"')
    assert typ == "OK"
    names = {list_name(line) for line in data}
    assert names == {"Projects/Alpha Beta", "Projects/R&D", "Projects/Café ☕"}, names
    # Creating an existing name fails; the names are usable in SELECT and APPEND.
    typ, data = alice.create(q("Projects/Alpha Beta"))
    assert typ == "NO"
    for name in NAMES:
        uid = append(alice, q(name), make_message(f"hello {name}"))
        assert uid == 1
        assert select(alice, name) == 1
    alice.close()


def list_name(line: bytes) -> str:
    return parse_list_line(line)[1]


def test_append_with_flags_and_date_then_fetch_identical_bytes(alice):
    when = datetime(2024, 2, 29, 13, 14, 15, tzinfo=timezone(timedelta(hours=2)))
    message = make_message("Leap day", body="Line one\r\nLine two with trailing space \r\n\r\n.\r\n", size=3000)
    uid = append(alice, "INBOX", message, flags="\\Flagged \\Draft $Label1", when=when)
    assert select(alice, "INBOX") == 1
    body = uid_fetch_body(alice, uid, "BODY.PEEK[]")
    assert body == message
    typ, data = alice.uid("FETCH", str(uid), "(FLAGS INTERNALDATE RFC822.SIZE UID)")
    assert typ == "OK"
    line = data[0]
    assert set(re.search(rb"FLAGS \(([^)]*)\)", line).group(1).decode().split()) >= {"\\Flagged", "\\Draft", "$Label1"}
    assert b"\\Seen" not in line
    assert int(re.search(rb"RFC822\.SIZE (\d+)", line).group(1)) == len(message)
    stamp = imaplib.Internaldate2tuple(line)
    assert time.mktime(stamp) == pytest.approx(when.timestamp(), abs=1), line
    # BINARY-free partial fetches are exact slices.
    part = uid_fetch_body(alice, uid, "BODY.PEEK[]<10.20>")
    assert part == message[10:30]
    header = uid_fetch_body(alice, uid, "BODY.PEEK[HEADER]")
    assert header == message[: message.index(b"\r\n\r\n") + 4]
    text = uid_fetch_body(alice, uid, "BODY.PEEK[TEXT]")
    assert text == message[message.index(b"\r\n\r\n") + 4:]


def test_bare_lf_message_is_normalised_consistently(alice):
    """Bare LF line ends are stored as CRLF (RFC 5322 line ends); whatever is stored, the size,
    the full body and the sections agree with each other."""
    message = b"Subject: lf only\nFrom: x@example.org\n\nbare LF body\n\xe4\xf6\xfc 8-bit\r\nmixed\r\n"
    uid = append(alice, "INBOX", message)
    select(alice, "INBOX")
    body = uid_fetch_body(alice, uid)
    assert body == message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    typ, data = alice.uid("FETCH", str(uid), "(RFC822.SIZE)")
    assert int(re.search(rb"RFC822\.SIZE (\d+)", data[0]).group(1)) == len(body)
    assert uid_fetch_body(alice, uid, "BODY.PEEK[TEXT]") == body[body.index(b"\r\n\r\n") + 4:]


def test_append_literal_plus_and_multiappend(server):
    raw = server.raw_login("alice")
    one, two = make_message("first", seed=1), make_message("second", seed=2)
    tagged = raw.append("INBOX", one, flags="\\Seen", literal_plus=True)
    assert b" OK " in tagged and b"APPENDUID" in tagged, tagged
    # MULTIAPPEND (RFC 3502): two messages in one command, atomically.
    tag = raw.next_tag()
    raw.send(f"{tag} APPEND INBOX (\\Answered) {{{len(one)}+}}\r\n".encode() + one
             + f" (\\Flagged) {{{len(two)}+}}\r\n".encode() + two + b"\r\n")
    tagged, _ = raw.wait_tagged(tag)
    assert tagged.startswith(f"{tag} OK".encode()), tagged
    code = response_code(tagged)
    assert code.startswith("APPENDUID ") and code.split()[2] in ("2:3", "2,3"), tagged
    raw.command("SELECT INBOX")
    tagged, untagged = raw.command("UID FETCH 1:* (FLAGS BODY.PEEK[])")
    assert b" OK " in tagged, tagged
    assert len(untagged) == 3
    assert untagged[1].count(one) == 1 and b"\\Answered" in untagged[1]
    assert untagged[2].count(two) == 1 and b"\\Flagged" in untagged[2]
    raw.close()


def test_search_criteria(alice):
    utc = timezone.utc
    m1 = make_message("Quarterly report", sender="Alice <alice@example.org>", body="numbers attached\r\n")
    m2 = make_message("Lunch on Friday?", sender="Carol Jones <carol@example.com>", body="pizza or sushi?\r\n")
    m3 = make_message("Re: Quarterly report", sender="Bob <bob@example.net>", body="I prefer PIZZA.\r\n")
    append(alice, "INBOX", m1, "\\Seen", datetime(2024, 1, 10, 12, 0, tzinfo=utc))
    append(alice, "INBOX", m2, "", datetime(2024, 3, 5, 12, 0, tzinfo=utc))
    append(alice, "INBOX", m3, "\\Flagged", datetime(2025, 6, 1, 12, 0, tzinfo=utc))
    select(alice, "INBOX")

    def search(*criteria: str) -> list[int]:
        typ, data = alice.search(None, *criteria)
        assert typ == "OK", (criteria, data)
        return [int(n) for n in data[0].split()]

    assert search("SUBJECT", '"quarterly"') == [1, 3]
    assert search("FROM", "carol") == [2]
    assert search("FROM", '"example.net"') == [3]
    assert search("BODY", "pizza") == [2, 3]
    assert search("UNSEEN") == [2, 3]
    assert search("SEEN") == [1]
    assert search("SINCE", "1-Mar-2024") == [2, 3]
    assert search("BEFORE", "1-Mar-2024") == [1]
    assert search("UNSEEN", "SUBJECT", "quarterly") == [3]
    assert search("OR", "FLAGGED", "SEEN") == [1, 3]
    assert search("NOT", "BODY", "pizza") == [1]
    assert search("LARGER", "1") == [1, 2, 3]
    assert search("HEADER", "Message-ID", '"@example.org"') == [1, 2, 3]
    assert search("SUBJECT", "nonexistent") == []
    typ, data = alice.uid("SEARCH", "BODY", "pizza")
    assert [int(n) for n in data[0].split()] == [2, 3]
    # ESEARCH (RFC 4731).
    typ, data = alice.uid("SEARCH", "RETURN", "(MIN MAX COUNT)", "ALL")
    assert typ == "OK"
    esearch = alice.response("ESEARCH")[1]
    assert esearch and esearch[-1] is not None
    text = esearch[-1].decode().upper()
    assert "UID" in text and "MIN 1" in text and "MAX 3" in text and "COUNT 3" in text, text


def test_fetch_envelope_and_bodystructure(alice):
    simple = make_message('Envelope "test"', sender='"Zoë Q." <zoe@example.org>',
                          to="Bob <bob@example.net>, carol@example.com",
                          message_id="<env.1@example.org>")
    multi = make_multipart("Multipart test")
    append(alice, "INBOX", simple)
    append(alice, "INBOX", multi)
    select(alice, "INBOX")
    typ, data = alice.fetch("1", "(ENVELOPE)")
    assert typ == "OK"
    env = b"".join(p if isinstance(p, bytes) else b"".join(p) for p in data)
    assert b'"Mon, 7 Feb 1994 21:52:25 -0800"' in env, env
    assert b'"Envelope \\"test\\""' in env or b"{15}" in env, env
    assert b'"zoe" "example.org"' in env, env
    assert b'("Bob" NIL "bob" "example.net")' in env, env
    assert b'(NIL NIL "carol" "example.com")' in env, env
    assert b'"<env.1@example.org>"' in env, env
    typ, data = alice.fetch("2", "(BODYSTRUCTURE)")
    assert typ == "OK"
    bs = b"".join(p if isinstance(p, bytes) else b"".join(p) for p in data).upper()
    assert b'("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "QUOTED-PRINTABLE" 15 0' in bs, bs
    assert b'("APPLICATION" "OCTET-STREAM" ("NAME" "A.BIN") NIL NIL "BASE64" 16' in bs, bs
    assert b'"MIXED" ("BOUNDARY" "XYZ")' in bs, bs
    assert b'("ATTACHMENT" ("FILENAME" "A.BIN"))' in bs, bs
    # Section fetches of the parts are exact.
    part1 = uid_fetch_body(alice, 2, "BODY.PEEK[1]")
    assert part1 == b"Gr=C3=BC=C3=9Fe", part1
    part2 = uid_fetch_body(alice, 2, "BODY.PEEK[2]")
    assert part2 == b"AAECAwQFBgcICQ==", part2
    mime = uid_fetch_body(alice, 2, "BODY.PEEK[2.MIME]")
    assert mime.startswith(b'Content-Type: application/octet-stream; name="a.bin"\r\n') and mime.endswith(b"\r\n\r\n"), mime
    subject = uid_fetch_body(alice, 2, "BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
    assert subject == b"Subject: Multipart test\r\n\r\n", subject


def test_peek_keeps_seen_off_and_body_sets_it(alice):
    message = make_message("seen test")
    uid = append(alice, "INBOX", message)
    select(alice, "INBOX")
    assert uid_fetch_body(alice, uid, "BODY.PEEK[]") == message
    assert "\\Seen" not in flags_of(alice, uid)
    assert uid_fetch_body(alice, uid, "BODY.PEEK[TEXT]")
    assert "\\Seen" not in flags_of(alice, uid)
    typ, data = alice.uid("FETCH", str(uid), "(BODY[])")
    assert typ == "OK"
    assert fetch_parts(data)[0][1] == message
    # The response carries the implicit flag change (RFC 9051 6.4.5).
    flat = b" ".join(p if isinstance(p, bytes) else p[0] for p in data)
    assert b"\\Seen" in flat, data
    assert "\\Seen" in flags_of(alice, uid)
    # EXAMINE is read-only: BODY[] does not set \Seen there.
    uid2 = append(alice, "INBOX", make_message("readonly"))
    select(alice, "INBOX", readonly=True)
    typ, data = alice.uid("FETCH", str(uid2), "(BODY[])")
    assert typ == "OK"
    assert "\\Seen" not in flags_of(alice, uid2)


def test_store_flags(alice):
    uid = append(alice, "INBOX", make_message("flags"))
    select(alice, "INBOX")
    typ, data = alice.uid("STORE", str(uid), "+FLAGS", "(\\Flagged \\Answered $Work)")
    assert typ == "OK"
    assert re.search(rb"FLAGS \(", data[0]), data
    assert flags_of(alice, uid) == {"\\Flagged", "\\Answered", "$Work"}
    typ, data = alice.uid("STORE", str(uid), "-FLAGS", "(\\Answered)")
    assert flags_of(alice, uid) == {"\\Flagged", "$Work"}
    typ, data = alice.uid("STORE", str(uid), "FLAGS.SILENT", "(\\Seen)")
    assert typ == "OK"
    assert data == [None] or not any(b"FETCH" in (d or b"") for d in data), data
    assert flags_of(alice, uid) == {"\\Seen"}
    # Flags persist across sessions.
    alice.close()
    select(alice, "INBOX")
    assert "\\Seen" in flags_of(alice, uid)
    # A bogus system flag is BAD.
    with pytest.raises(imaplib.IMAP4.error):
        alice.uid("STORE", str(uid), "+FLAGS", "(\\Bogus)")


def test_copy_and_move_report_copyuid(alice):
    msgs = [make_message(f"copy {i}", seed=i, size=500 * (i + 1)) for i in range(4)]
    uids = [append(alice, "INBOX", m, "\\Flagged" if i == 0 else "") for i, m in enumerate(msgs)]
    assert uids == [1, 2, 3, 4]
    typ, _ = alice.create("Saved")
    assert typ == "OK"
    select(alice, "INBOX")
    typ, data = alice.uid("COPY", "1:2", "Saved")
    assert typ == "OK", data
    copyuid = alice.response("COPYUID")[1]  # imaplib files the tagged OK's code here
    assert copyuid and copyuid[-1] is not None, copyuid
    validity, src, dst = copyuid[-1].decode().split()
    assert src in ("1:2", "1,2") and dst in ("1:2", "1,2"), copyuid
    assert int(validity) > 0
    # MOVE (RFC 6851): COPYUID in an untagged OK, then EXPUNGEs.
    typ, data = alice.uid("MOVE", "3", '"Archive"')
    assert typ == "OK", data
    copyuid = alice.response("COPYUID")[1]
    assert copyuid and copyuid[-1] is not None and copyuid[-1].split()[1:] == [b"3", b"1"], copyuid
    typ, data = alice.uid("SEARCH", "ALL")
    assert data[0].split() == [b"1", b"2", b"4"]
    # Destination contents: same bytes, flags copied.
    assert select(alice, "Saved") == 2
    assert uid_fetch_body(alice, 1) == msgs[0]
    assert uid_fetch_body(alice, 2) == msgs[1]
    assert "\\Flagged" in flags_of(alice, 1)
    assert select(alice, "Archive") == 1
    assert uid_fetch_body(alice, 1) == msgs[2]
    # Copy into a missing mailbox: NO [TRYCREATE].
    select(alice, "INBOX")
    typ, data = alice.uid("COPY", "1", "Nowhere")
    assert typ == "NO", data
    assert alice.response("TRYCREATE")[1] != [None]


def test_expunge(server, alice):
    msgs = [make_message(f"exp {i}", seed=i) for i in range(5)]
    for m in msgs:
        append(alice, "INBOX", m)
    select(alice, "INBOX")
    typ, _ = alice.store("2,4", "+FLAGS", "(\\Deleted)")
    assert typ == "OK"
    typ, data = alice.expunge()
    assert typ == "OK"
    # Sequence numbers as RFC 9051 7.5.1 defines them: 2 removed, then the old 4 is now 3.
    assert data == [b"2", b"3"], data
    typ, data = alice.uid("SEARCH", "ALL")
    assert data[0].split() == [b"1", b"3", b"5"]
    assert [uid_fetch_body(alice, u) for u in (1, 3, 5)] == [msgs[0], msgs[2], msgs[4]]
    # UID EXPUNGE (UIDPLUS) only removes the named UIDs.
    alice.store("1:*", "+FLAGS", "(\\Deleted)")
    typ, data = alice.uid("EXPUNGE", "3")
    assert typ == "OK"
    typ, data = alice.uid("SEARCH", "ALL")
    assert data[0].split() == [b"1", b"5"]
    # Another session sees the change.
    other = server.imaps("alice")
    typ, data = other.status("INBOX", "(MESSAGES)")
    assert b"MESSAGES 2" in data[0]
    other.logout()


def test_status(alice):
    msgs = [make_message(f"status {i}", seed=i, size=1000 + i * 100) for i in range(3)]
    append(alice, "INBOX", msgs[0], "\\Seen")
    append(alice, "INBOX", msgs[1])
    append(alice, "INBOX", msgs[2], "\\Deleted")
    typ, data = alice.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN SIZE DELETED)")
    assert typ == "OK", data
    text = data[0].decode()
    values = dict(re.findall(r"([A-Z]+) (\d+)", text))
    assert values["MESSAGES"] == "3"
    assert values["UIDNEXT"] == "4"
    assert values["UNSEEN"] == "2"
    assert values["DELETED"] == "1"
    assert int(values["SIZE"]) == sum(len(m) for m in msgs)
    assert int(values["UIDVALIDITY"]) > 0
    typ, data = alice.status("Trash", "(MESSAGES UIDNEXT)")
    assert typ == "OK" and b"MESSAGES 0" in data[0] and b"UIDNEXT 1" in data[0], data
    typ, data = alice.status("Missing", "(MESSAGES)")
    assert typ == "NO"
    # LIST-STATUS (RFC 5819).
    typ, data = alice._simple_command("LIST", '""', '"INBOX"', "RETURN", "(STATUS (MESSAGES UNSEEN))")
    assert typ == "OK"
    status = alice.response("STATUS")[1]
    assert status and b"MESSAGES 3" in status[-1] and b"UNSEEN 2" in status[-1], status


def test_rename_and_delete(alice):
    for name in ("Work", "Work/Clients", "Work/Clients/ACME Corp"):
        assert alice.create(q(name))[0] == "OK"
    message = make_message("kept through rename")
    append(alice, q("Work/Clients/ACME Corp"), message, "\\Flagged")
    typ, data = alice.rename("Work", q("Büro & Co"))
    assert typ == "OK", data
    boxes = list_mailboxes(alice)
    assert "Work" not in boxes and "Work/Clients" not in boxes
    for name in ("Büro & Co", "Büro & Co/Clients", "Büro & Co/Clients/ACME Corp"):
        assert name in boxes, (name, sorted(boxes))
    assert select(alice, "Büro & Co/Clients/ACME Corp") == 1
    assert uid_fetch_body(alice, 1) == message
    assert "\\Flagged" in flags_of(alice, 1)
    alice.close()
    # RENAME onto an existing name fails.
    typ, data = alice.rename(q("Büro & Co/Clients"), "Archive")
    assert typ == "NO", data
    # RENAME INBOX moves its messages and leaves an empty INBOX (RFC 9051 6.3.6).
    append(alice, "INBOX", make_message("inbox mail"))
    typ, data = alice.rename("INBOX", "Old-Inbox")
    assert typ == "OK", data
    assert alice.status("INBOX", "(MESSAGES)")[1][0].find(b"MESSAGES 0") >= 0
    assert b"MESSAGES 1" in alice.status("Old-Inbox", "(MESSAGES)")[1][0]
    # DELETE a leaf; DELETE a missing name fails; DELETE INBOX fails.
    typ, data = alice.delete(q("Büro & Co/Clients/ACME Corp"))
    assert typ == "OK", data
    assert "Büro & Co/Clients/ACME Corp" not in list_mailboxes(alice)
    assert alice.delete("Nope")[0] == "NO"
    assert alice.delete("INBOX")[0] == "NO"
    # The deleted name can be created again, empty, with a new UIDVALIDITY or UIDNEXT 1.
    assert alice.create(q("Büro & Co/Clients/ACME Corp"))[0] == "OK"
    typ, data = alice.status(q("Büro & Co/Clients/ACME Corp"), "(MESSAGES)")
    assert b"MESSAGES 0" in data[0]
    # DELETE of a parent with children: either refused, or the children survive.
    typ, data = alice.delete(q("Büro & Co"))
    boxes = list_mailboxes(alice)
    assert "Büro & Co/Clients" in boxes, (typ, data, sorted(boxes))


def test_select_reports_mailbox_state(server, alice):
    for i in range(3):
        append(alice, "INBOX", make_message(f"sel {i}", seed=i), "\\Seen" if i == 0 else "")
    typ, data = alice.select("INBOX")
    assert typ == "OK" and data == [b"3"]
    assert alice.response("UIDVALIDITY")[1][0]
    assert alice.response("UIDNEXT")[1] == [b"4"]
    flags = alice.response("FLAGS")[1][0].decode()
    for flag in ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"):
        assert flag in flags
    # The tagged OK says READ-WRITE; EXAMINE says READ-ONLY.
    raw = server.raw_login("alice")
    tagged, untagged = raw.command("EXAMINE INBOX")
    assert b"[READ-ONLY]" in tagged, tagged
    assert any(u == b"* 3 EXISTS\r\n" for u in untagged), untagged
    tagged, _ = raw.command("SELECT INBOX")
    assert b"[READ-WRITE]" in tagged, tagged
    tagged, _ = raw.command("SELECT NoSuchBox")
    assert b" NO " in tagged, tagged
    raw.close()


# ---------------------------------------------------------------------------------------------
# IDLE (RFC 2177)
# ---------------------------------------------------------------------------------------------


def test_idle_receives_exists_expunge_and_flags_from_another_connection(server):
    idler = server.raw_login("alice")
    tagged, untagged = idler.command("SELECT INBOX")
    assert b" OK " in tagged and b"* 0 EXISTS\r\n" in untagged, untagged
    idler.send(b"i1 IDLE\r\n")
    cont = idler.read_response()
    assert cont.startswith(b"+ "), cont

    other = server.imaps("alice")
    message = make_message("wake up")
    started = time.monotonic()
    typ, _ = other.append("INBOX", None, None, message)
    assert typ == "OK"
    line = idler.read_response(timeout=2.0)
    while not line.endswith(b"EXISTS\r\n"):
        assert time.monotonic() - started < 2.0, line
        line = idler.read_response(timeout=2.0)
    assert line == b"* 1 EXISTS\r\n"
    # A flag change from the other session is pushed too.
    other.select("INBOX")
    other.store("1", "+FLAGS", "(\\Flagged)")
    line = idler.read_response(timeout=2.0)
    while b"FETCH" not in line:
        line = idler.read_response(timeout=2.0)
    assert re.match(rb"\* 1 FETCH \(.*FLAGS \([^)]*\\Flagged", line), line
    # And an expunge.
    other.store("1", "+FLAGS", "(\\Deleted)")
    other.expunge()
    line = idler.read_response(timeout=2.0)
    while not line.endswith(b"EXPUNGE\r\n"):
        line = idler.read_response(timeout=2.0)
    assert line == b"* 1 EXPUNGE\r\n"
    idler.send(b"DONE\r\n")
    tagged, _ = idler.wait_tagged("i1")
    assert tagged.startswith(b"i1 OK"), tagged
    # The connection is back in command mode.
    tagged, _ = idler.command("NOOP")
    assert b" OK" in tagged
    other.logout()
    idler.close()
