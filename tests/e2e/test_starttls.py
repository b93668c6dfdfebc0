"""The plaintext port (143 role): nothing but STARTTLS before TLS, and no plaintext command
injection across the handshake (RFC 9051 6.2.1, RFC 2595 3.1)."""

from __future__ import annotations

import base64
import imaplib

import pytest

from support import HOST, make_message, uid_fetch_body


def test_capabilities_before_starttls(server):
    raw = server.raw(tls=False)
    assert raw.greeting.startswith(b"* OK"), raw.greeting
    tagged, untagged = raw.command("CAPABILITY")
    assert tagged.startswith(b"t1 OK"), tagged
    caps = [u for u in untagged if u.startswith(b"* CAPABILITY ")]
    assert len(caps) == 1, untagged
    words = caps[0].decode().split()[2:]
    assert "STARTTLS" in words and "LOGINDISABLED" in words, words
    assert not [w for w in words if w.upper().startswith("AUTH=")], words
    raw.close()
    # imaplib sees the same.
    client = imaplib.IMAP4(HOST, server.imap_port, timeout=10)
    assert "STARTTLS" in client.capabilities and "LOGINDISABLED" in client.capabilities
    assert not [c for c in client.capabilities if c.startswith("AUTH=")]
    client.shutdown()


def test_login_before_starttls_is_refused_with_privacyrequired(server):
    raw = server.raw(tls=False)
    password = server.users["alice"]
    tagged, _ = raw.command(f'LOGIN alice "{password}"')
    assert tagged.startswith(b"t1 NO [PRIVACYREQUIRED]"), tagged
    token = base64.b64encode(b"\0alice\0" + password.encode()).decode()
    tagged, _ = raw.command(f"AUTHENTICATE PLAIN {token}")
    assert tagged.startswith(b"t2 NO") or tagged.startswith(b"t2 BAD"), tagged
    # Not logged in: a command needing authentication is still refused.
    tagged, _ = raw.command("SELECT INBOX")
    assert tagged.startswith(b"t3 BAD") or tagged.startswith(b"t3 NO"), tagged
    # STARTTLS still works on this connection, and then LOGIN does.
    tagged, _ = raw.command("STARTTLS")
    assert tagged.startswith(b"t4 OK"), tagged
    raw.starttls(server.tls_context())
    tagged, untagged = raw.command("CAPABILITY")
    words = b" ".join(untagged).decode().split()
    assert "STARTTLS" not in words and "LOGINDISABLED" not in words and "AUTH=PLAIN" in words, words
    tagged, _ = raw.command(f'LOGIN alice "{password}"')
    assert tagged.startswith(b"t6 OK"), tagged
    raw.close()


def test_imaplib_starttls_login_append_fetch_roundtrip(server):
    client = imaplib.IMAP4(HOST, server.imap_port, timeout=10)
    typ, _ = client.starttls(ssl_context=server.tls_context())
    assert typ == "OK"
    assert client.sock.version() in ("TLSv1.2", "TLSv1.3")
    assert "AUTH=PLAIN" in client.capabilities and "LOGINDISABLED" not in client.capabilities
    typ, _ = client.login("alice", server.users["alice"])
    assert typ == "OK"
    message = make_message("over starttls", size=20000, seed=7)
    typ, data = client.append("INBOX", "(\\Answered)", None, message)
    assert typ == "OK", data
    typ, data = client.select("INBOX")
    assert data == [b"1"]
    assert uid_fetch_body(client, 1) == message
    typ, data = client.uid("FETCH", "1", "(FLAGS)")
    assert b"\\Answered" in data[0]
    client.logout()
    # The message is the same one the implicit-TLS port serves.
    other = server.imaps("alice")
    other.select("INBOX", readonly=True)
    assert uid_fetch_body(other, 1) == message
    other.logout()


def test_starttls_twice_and_on_tls_port_is_refused(server):
    raw = server.raw(tls=True)
    tagged, _ = raw.command("STARTTLS")
    assert tagged.startswith(b"t1 BAD") or tagged.startswith(b"t1 NO"), tagged
    tagged, _ = raw.command("NOOP")
    assert tagged.startswith(b"t2 OK"), tagged
    raw.close()
    raw = server.raw(tls=False)
    tagged, _ = raw.command("STARTTLS")
    assert tagged.startswith(b"t1 OK")
    raw.starttls(server.tls_context())
    tagged, _ = raw.command("STARTTLS")
    assert tagged.startswith(b"t2 BAD") or tagged.startswith(b"t2 NO"), tagged
    raw.close()


@pytest.mark.parametrize("injected", [b"X1 CAPABILITY\r\n", b"X1 LOGIN alice secret\r\nX2 SELECT INBOX\r\n"])
def test_bytes_pipelined_after_starttls_are_not_executed(server, injected):
    """A man in the middle appends commands to the plaintext STARTTLS packet; the server must
    drop them rather than run them inside the TLS session (CVE-2011-0411 class)."""
    raw = server.raw(tls=False)
    raw.send(b"S1 STARTTLS\r\n" + injected)  # one write, one segment on loopback
    tagged = raw.readline()
    assert tagged.startswith(b"S1 OK"), tagged
    # Nothing else may have been answered in plaintext either.
    assert raw.buf == b"", raw.buf
    raw.starttls(server.tls_context())
    raw.send(b"Y1 NOOP\r\n")
    seen = []
    while True:
        line = raw.read_response()
        seen.append(line)
        if line.startswith(b"Y1 "):
            break
    assert seen[-1].startswith(b"Y1 OK"), seen
    for line in seen:
        assert not line.startswith(b"X1") and not line.startswith(b"X2"), seen
        assert not line.startswith(b"* CAPABILITY"), seen
    raw.close()


def test_plaintext_port_never_offers_login_to_imaplib(server):
    client = imaplib.IMAP4(HOST, server.imap_port, timeout=10)
    with pytest.raises(imaplib.IMAP4.error) as info:
        client.login("alice", server.users["alice"])
    assert "PRIVACYREQUIRED" in str(info.value) or "LOGINDISABLED" in str(info.value)
    client.shutdown()
