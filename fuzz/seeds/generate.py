#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/seeds/<target>/).

Sources: the RFC command examples of crates/proto/tests/rfc_vectors.rs, the LMTP
conversations of crates/lmtp/tests/lmtp.rs (by hand below), IMAP sessions in the style of
crates/session/tests, and hand-written inputs for the framing and mutf7 targets. The mime
target also reads tests/golden/*.eml directly (see docs/fuzzing.md). Re-run after changing
this file; the output is committed.
"""
import ast
import hashlib
import re
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def write(target, inputs):
    out = HERE / target
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for data in inputs:
        if isinstance(data, str):
            data = data.encode()
        name = hashlib.sha1(data).hexdigest()[:16]
        (out / name).write_bytes(data)


def rust_strings(path, functions):
    """String literal arguments of calls like ok("...") in a Rust test file."""
    text = path.read_text()
    pattern = r'\b(?:%s)\((b?"(?:[^"\\]|\\.)*")' % "|".join(functions)
    found = []
    for literal in re.findall(pattern, text):
        body = literal[1:] if literal.startswith("b") else literal
        # Rust and Python agree on the escapes used in these tests (\r \n \" \\ \0 \x..).
        found.append(ast.literal_eval(body))
    return found


COMMANDS = rust_strings(REPO / "crates/proto/tests/rfc_vectors.rs", ["ok", "bad", "bad_tagged"])
COMMANDS += [
    "a1 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From {4}\r\nDate)]<0.100>) (CHANGEDSINCE 5 VANISHED)",
    "a2 SEARCH RETURN (MIN MAX COUNT SAVE) CHARSET UTF-8 OR (FROM \"x\" SINCE 1-Feb-1994) NOT UNSEEN $",
    "a3 APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" UTF8 (~{3+}\r\na\0b) {2+}\r\nhi",
    "a4 SELECT INBOX (CONDSTORE QRESYNC (67890007 20050715194045000 41,43:211,214:541 (1:3 5:7)))",
    "a5 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (% \"a b\") RETURN (CHILDREN STATUS (MESSAGES SIZE))",
    "a6 UID STORE 1:2,* (UNCHANGEDSINCE 12) -FLAGS.SILENT (\\Deleted $Junk)",
    "a7 CREATE Sent (USE (\\Sent))",
    "a8 ID (\"name\" \"x\" \"version\" NIL)",
    "a9 FETCH 1 (BINARY.PEEK[1.2]<0.10> BINARY.SIZE[1] RFC822.HEADER MODSEQ)",
    "b1 SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338 YOUNGER 3 UID 1:*",
    "b2 AUTHENTICATE PLAIN =",
    "b3 UID EXPUNGE 3000:3002",
]
COMMANDS = [c if c.endswith("\n") else c + "\r\n" for c in COMMANDS]
write("command", COMMANDS)


def framing(limit_byte, append_byte, total_byte, seed, stream):
    return bytes([limit_byte, append_byte, total_byte, seed]) + stream


FRAMING = [
    framing(56, 100, 50, 1, b"a NOOP\r\nb LOGIN {5}\r\nalice pw\r\nc APPEND x {10+}\r\n0123456789\r\n"),
    framing(0, 10, 0, 2, b"t1 NOOP " + b"x" * 100 + b"\r\nt2 NOOP\r\n"),
    framing(56, 100, 50, 3, b"a1 APPEND x {101}\r\nb NOOP\r\na2 LOGIN {70+}\r\n" + b"y" * 70 + b"\r\n"),
    framing(56, 100, 50, 4, b"a APPEND x ~{3+}\r\na\0b {90+}\r\n" + b"m" * 90 + b" {90+}\r\n"),
    framing(120, 199, 199, 5, b"a IDLE\r\nDONE\r\nb AUTHENTICATE PLAIN\r\nAGZvbwBiYXI=\r\nc LOGOUT\r\n"),
    framing(8, 0, 0, 6, b"a APPEND x {99999999999+}\r\n"),
]
write("framing", FRAMING)

PLAIN = (
    "From: Alice <alice@example.org>\r\nSubject: hi\r\n\r\nbody line\r\n.leading dot\r\n"
)
SESSION = [
    "s SELECT INBOX\r\nf FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[1.MIME] BINARY[2.1] RFC822.SIZE)\r\n",
    "s SELECT INBOX (CONDSTORE)\r\nx STORE 1 +FLAGS (\\Deleted)\r\ny UID SEARCH RETURN (ALL SAVE) DELETED\r\nz UID MOVE $ Trash\r\nw EXPUNGE\r\n",
    "e ENABLE QRESYNC UTF8=ACCEPT\r\nc CREATE \"Entwürfe\"\r\nl LIST \"\" * RETURN (STATUS (MESSAGES UIDNEXT))\r\nr RENAME Entwürfe Drafts\r\n",
    "s EXAMINE INBOX\r\ni IDLE\r\nDONE\r\nn NOOP\r\nq LOGOUT\r\n",
    "a APPEND INBOX {%d}\r\n%s\r\ns SELECT INBOX\r\nt SEARCH TEXT \"dot\" OR FROM alice NOT SEEN\r\nf UID FETCH 3 BODY[TEXT]<0.5>\r\n" % (len(PLAIN), PLAIN),
    "c CREATE a/b/c\r\nd DELETE a\r\nl LSUB \"\" *\r\nst STATUS INBOX (MESSAGES UNSEEN SIZE HIGHESTMODSEQ APPENDLIMIT)\r\nu SUBSCRIBE a/b\r\n",
    "s SELECT INBOX\r\nc COPY 1:2 INBOX\r\nf FETCH 1:* FULL\r\nk CLOSE\r\nx UNSELECT\r\n",
]
write("session", SESSION)

MESSAGE = "Subject: x\r\n\r\nline\r\n..stuffed\r\n.\r\n"


def lmtp(size, recipients, seed, repeat, stream):
    return bytes([size, recipients, seed, repeat]) + stream.encode()


LMTP = [
    lmtp(255, 4, 1, 0, "LHLO mx.example.net\r\nMAIL FROM:<sender@example.net> SIZE=100 BODY=8BITMIME\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<xunknown@example.org>\r\nRCPT TO:<bob>\r\nDATA\r\n" + MESSAGE + "QUIT\r\n"),
    lmtp(2, 1, 2, 3, "LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<alice>\r\nDATA\r\n" + "0123456789abcdef" * 4),
    lmtp(100, 2, 3, 63, "LHLO x\r\nNOOP\r\n" + "long line " * 8),
    lmtp(50, 5, 4, 0, "MAIL FROM:<a@b>\r\nEHLO x\r\nLHLO\r\nLHLO x\r\nRCPT TO:<alice>\r\nDATA\r\nMAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\nDATA\r\nRCPT TO:<xnobody>\r\nDATA\r\nRCPT TO:<alice> NOTIFY=NEVER\r\nMAIL FROM:<a@b> AUTH=<>\r\nRSET\r\nRCPT TO:<tmp>\r\nFOO\r\nVRFY alice\r\nNOOP\r\n"),
    lmtp(10, 3, 5, 0, "LHLO x\r\nMAIL FROM:<a@b> SIZE=5000\r\nMAIL FROM:<a@b>\r\nRCPT TO:<\"quoted local\"@example.org>\r\nRCPT TO:<alice+lists@example.org>\r\nDATA\n" + "x\n.\n"),
]
write("lmtp", LMTP)

MUTF7 = ["INBOX", "Entw&APw-rfe", "&-", "~peter/mail/&U,BTFw-/&ZeVnLIqe-", "&2D3eAA-", "a&-b", "&AGEAYgBj-"]
write("mutf7", MUTF7)

MIME = [
    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\nx\r\n--c--\r\n--b--\r\n",
    "From: \"A, B\" <a@b>, undisclosed-recipients:;, =?utf-8?b?w6k=?= <c@d>\r\nSubject: =?iso-8859-1?q?caf=E9?= =?utf-8?q?_x?=\r\nContent-Type: text/plain; charset*0*=us-ascii''a; charset*1=b\r\nContent-Disposition: attachment; filename*=utf-8''%E2%82%AC.txt\r\nContent-Language: en, de\r\n\r\nbody\n",
    "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQp5\r\n",
]
write("mime", MIME)
