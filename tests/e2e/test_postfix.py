"""A real MTA in front: Postfix from Debian packages on loopback relays mail it receives
by SMTP to Portcullis over LMTP. Settings as in docs/postfix.md."""

from __future__ import annotations

import smtplib
import time

import pytest

from postfix import DOMAIN, HOST, Postfix, free_port
from support import IO_TIMEOUT

ORIGINAL = (b"From: Sender <sender@example.net>\r\n"
            b"To: alice@example.org, bob@example.org\r\n"
            b"Subject: through Postfix\r\n"
            b"Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
            b"Message-ID: <postfix-1@example.net>\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n"
            b"\r\n"
            b"Gr\xc3\xbc\xc3\x9fe aus dem Test.\r\n"
            b".a line that starts with a dot\r\n"
            b"last line\r\n")

# Header fields Postfix may prepend on the way (cleanup's Received:, and the LMTP client
# adds nothing else with these settings).
ADDED_BY_POSTFIX = {b"received", b"return-path", b"delivered-to", b"x-original-to"}


@pytest.fixture
def mail_system(make_server):
    lmtp_port = free_port()
    server = make_server(users=("alice", "bob"), extra_args=("--lmtp", f"{HOST}:{lmtp_port}"))
    postfix = Postfix(lmtp=f"{HOST}:{lmtp_port}")
    try:
        postfix.start()
        yield server, postfix
    finally:
        postfix.stop()


def send(postfix: Postfix, recipients: list[str], message: bytes = ORIGINAL) -> None:
    with smtplib.SMTP(HOST, postfix.smtp_port, timeout=IO_TIMEOUT) as smtp:
        assert smtp.sendmail("sender@example.net", recipients, message) == {}


def wait_for_message(server, user: str, mailbox: str = "INBOX", timeout: float = 30) -> bytes:
    deadline = time.monotonic() + timeout
    client = server.imaps(user)
    try:
        while time.monotonic() < deadline:
            typ, data = client.select(mailbox, readonly=True)
            if typ == "OK" and data[0] != b"0":
                typ, fetched = client.fetch("1", "(BODY.PEEK[])")
                assert typ == "OK"
                return fetched[0][1]
            time.sleep(0.1)
    finally:
        client.logout()
    raise AssertionError(f"no message for {user} in {mailbox} within {timeout}s")


def split_prepended(stored: bytes, original: bytes) -> list[bytes]:
    """The header lines in front of `original`, which must end `stored` unchanged."""
    assert stored.endswith(original), "the original message is not intact at the end"
    prefix = stored[: len(stored) - len(original)]
    lines = prefix.split(b"\r\n")
    assert lines[-1] == b""
    names = []
    for line in lines[:-1]:
        if line[:1] in (b" ", b"\t"):
            continue  # continuation of a folded header
        name = line.split(b":", 1)[0].lower()
        names.append(name)
    return names


def test_mail_through_postfix_arrives_byte_identical_for_every_recipient(mail_system):
    server, postfix = mail_system
    send(postfix, [f"alice@{DOMAIN}", f"bob@{DOMAIN}"])
    for user in ("alice", "bob"):
        stored = wait_for_message(server, user)
        added = split_prepended(stored, ORIGINAL)
        assert added, "Postfix adds at least its Received: header"
        assert set(added) <= ADDED_BY_POSTFIX, added
    log = postfix.wait_log("status=sent")
    assert "250 2.0.0 <alice@example.org> Delivered" in log or "status=sent" in log


def test_unknown_recipients_bounce_with_the_lmtp_reply(mail_system):
    server, postfix = mail_system
    send(postfix, [f"nobody@{DOMAIN}"])
    log = postfix.wait_log("status=bounced")
    assert "550 5.1.1 <nobody@example.org> User unknown" in log, log


def test_detail_addresses_through_postfix(mail_system):
    server, postfix = mail_system
    client = server.imaps("alice")
    assert client.create("lists")[0] == "OK"
    client.logout()
    send(postfix, [f"alice+lists@{DOMAIN}"])
    stored = wait_for_message(server, "alice", "lists")
    split_prepended(stored, ORIGINAL)


def test_an_idling_client_sees_mail_from_postfix(mail_system):
    server, postfix = mail_system
    client = server.raw_login("alice")
    client.command("SELECT INBOX")
    client.send("i1 IDLE\r\n")
    assert client.readline().startswith(b"+ ")
    sent = time.monotonic()
    send(postfix, [f"alice@{DOMAIN}"])
    while True:
        line = client.readline(timeout=30)
        if line == b"* 1 EXISTS\r\n":
            break
    print(f"EXISTS {time.monotonic() - sent:.3f}s after the SMTP transaction (Postfix queue included)")
    client.send("DONE\r\n")
