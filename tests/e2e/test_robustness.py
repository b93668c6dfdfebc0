"""Hostile or broken input over TLS: over-long lines, literals over APPENDLIMIT, garbage.
The server answers BAD/NO, stays up, and the connection (where it can) stays usable."""

from __future__ import annotations

import os
import random
import socket
import ssl
import time

import pytest

from support import HOST, ConnectionClosed, RawIMAP, make_message

LIMIT = 100_000


@pytest.fixture
def limited(make_server, tmp_path):
    config = f"""
data_dir = "{tmp_path / 'limited'}"
[listen]
imaps = ["{HOST}:0"]
imap = ["{HOST}:0"]
[limits]
append_limit_bytes = {LIMIT}
"""
    return make_server(config_text=config, users=("alice",), name="limited")


def assert_usable(client: RawIMAP) -> None:
    tagged, _ = client.command("NOOP")
    assert b" OK " in tagged, tagged


def test_100kb_line_without_crlf_gets_bad_and_connection_survives(server):
    client = server.raw_login("alice")
    client.send(b"L1 NOOP " + b"x" * 100_000)  # no CRLF: the server must not wait for one
    line = client.read_response(timeout=5)
    assert line.startswith(b"L1 BAD") or line.startswith(b"* BAD"), line
    # The rest of the line is discarded up to its end; afterwards the connection works.
    client.send(b"y" * 10_000 + b"\r\n")
    assert_usable(client)
    tagged, _ = client.command("SELECT INBOX")
    assert b" OK " in tagged, tagged
    # The same with the line ended right away.
    client.send(b"L2 NOOP " + b"z" * 100_000 + b"\r\n")
    line = client.read_response(timeout=5)
    assert line.startswith(b"L2 BAD") or line.startswith(b"* BAD"), line
    assert_usable(client)
    client.close()


def test_long_line_before_login_is_refused_too(server):
    client = server.raw()
    client.send(b"A1 LOGIN " + b"u" * 200_000 + b" pw\r\n")
    data = client.read_response(timeout=5)
    assert b"BAD" in data, data
    try:
        assert_usable(client)
    except (ConnectionClosed, ConnectionError, ssl.SSLError):
        pass  # closing an unauthenticated flooder is acceptable; answering it wrongly is not
    client.close()
    assert server.alive()


def test_appendlimit_is_advertised_and_enforced(limited):
    client = limited.raw_login("alice")
    tagged, untagged = client.command("CAPABILITY")
    caps = b" ".join(untagged).decode().split()
    assert f"APPENDLIMIT={LIMIT}" in caps, caps
    # Synchronising literal over the limit: NO [TOOBIG] before any byte is sent.
    tag = client.next_tag()
    client.send(f"{tag} APPEND INBOX {{{LIMIT + 1}}}\r\n".encode())
    line = client.read_response(timeout=5)
    assert line.startswith(f"{tag} NO [TOOBIG]".encode()), line
    assert_usable(client)
    # Exactly at the limit it is accepted, byte for byte.
    message = make_message("at the limit", size=LIMIT, seed=1)[:LIMIT]
    message = message[:-2] + b"\r\n"
    assert len(message) == LIMIT
    tagged = client.append("INBOX", message)
    assert b" OK " in tagged, tagged
    # STATUS SIZE counts it; nothing else was stored.
    tagged, untagged = client.command("STATUS INBOX (MESSAGES SIZE)")
    assert f"MESSAGES 1 SIZE {LIMIT}".encode() in b"".join(untagged), untagged
    client.close()


def test_non_synchronising_literal_over_the_limit(limited):
    """RFC 7888 4: a LITERAL+ literal over the limit gets a tagged BAD [TOOBIG]; the client is
    already sending it, so closing the connection afterwards is allowed (Portcullis does)."""
    client = limited.raw_login("alice")
    tag = client.next_tag()
    # Only the announcement: the server decides on it alone, and we avoid a TCP reset that could
    # eat its answer when it closes with our unread literal bytes still in its buffer.
    client.send(f"{tag} APPEND INBOX {{{LIMIT + 5000}+}}\r\n".encode())
    line = client.read_response(timeout=5)
    assert line.startswith(f"{tag} BAD [TOOBIG]".encode()), line
    rest = client.expect_closed(timeout=5)
    assert rest == b"" or rest.startswith(b"* BYE"), rest
    # Nothing was stored, and the server serves others.
    assert limited.alive()
    with limited.imaps("alice") as other:
        typ, data = other.status("INBOX", "(MESSAGES)")
        assert b"MESSAGES 0" in data[0], data


def test_garbage_gets_bad_never_a_crash(server):
    rng = random.Random(1234)
    client = server.raw_login("alice")
    client.command("SELECT INBOX")
    junk_lines = [
        b"\x00\x01\x02\xff\xfe garbage",
        b"* OK i am not a server",
        b"+ nope",
        b"A1",
        b"A2 ",
        b"A3 FROBNICATE",
        b"A4 FETCH",
        b"A5 FETCH 1:* (BODY[",
        b"A6 FETCH 0 FLAGS",
        b"A7 FETCH 4294967296 FLAGS",
        b"A8 SEARCH CHARSET X-UNKNOWN BODY x",
        b"A9 SELECT \"unterminated",
        b"A10 STORE 1 +FLAGS (\\Seen",
        b"A11 UID FETCH 1:*:2 FLAGS",
        b"A12 APPEND INBOX {-1}",
        b"A13 LOGIN a b",
        b"A14 LIST \"\" \"\xc3\x28\"",
        b"A15 " + bytes(rng.randrange(0x80, 0x100) for _ in range(200)),
        b"(((((((((((((((((((((((((((((((((((((((((((((((((((((",
        b"A16 SEARCH " + b"NOT " * 5000 + b"ALL",
        b"A17 SEARCH " + b"(" * 2000 + b"ALL" + b")" * 2000,
    ]
    for junk in junk_lines:
        client.send(junk + b"\r\n")
        line = client.read_response(timeout=5)
        while line.startswith(b"* ") and b"BAD" not in line and not line.startswith(b"* BYE"):
            line = client.read_response(timeout=5)
        assert b"BAD" in line or b" NO " in line, (junk[:60], line)
        assert not line.startswith(b"* BYE"), (junk[:60], line)
        assert_usable(client)
    # Random binary blobs, with line ends sprinkled in.
    for _ in range(20):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        blob = blob.replace(b"{", b"(")  # no literal announcements: they would wait for data
        client.send(blob + b"\r\n")
        deadline = time.monotonic() + 5
        # Drain whatever BADs came back, then check the connection.
        tagged, _ = client.command("NOOP", timeout=max(1, deadline - time.monotonic()))
        assert b" OK " in tagged, tagged
    client.close()
    assert server.alive()
    # A raw TLS client that sends garbage before the handshake does not hurt the listener.
    sock = socket.create_connection((HOST, server.imaps_port), timeout=5)
    sock.sendall(os.urandom(4096))
    try:
        sock.recv(100)
    except OSError:
        pass
    sock.close()
    assert server.alive()
    with server.imaps("alice") as fresh:
        assert fresh.noop()[0] == "OK"


# ---------------------------------------------------------------------------------------------
# Connection limits from the config file
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def tight(make_server, tmp_path):
    config = f"""
data_dir = "{tmp_path / 'tight'}"
[listen]
imaps = ["{HOST}:0"]
imap = ["{HOST}:0"]
[limits]
pre_auth_timeout_secs = 2
idle_heartbeat_secs = 1
max_connections = 3
"""
    return make_server(config_text=config, users=("alice",), name="tight")


def test_unauthenticated_connections_are_closed_after_pre_auth_timeout(tight):
    started = time.monotonic()
    silent_tls = tight.raw()  # TLS done, never logs in
    silent_plain = tight.raw(tls=False)
    no_handshake = socket.create_connection((HOST, tight.imaps_port), timeout=6)  # slowloris: no ClientHello
    for client in (silent_tls, silent_plain):
        data = client.expect_closed(timeout=6)
        assert data.startswith(b"* BYE"), data
    assert no_handshake.recv(100) == b""
    no_handshake.close()
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed <= 5, elapsed
    # A logged-in session is not subject to it.
    client = tight.raw_login("alice")
    time.sleep(2.5)
    assert_usable(client)
    client.close()


def test_max_connections_refuses_extra_clients_with_bye_limit(tight):
    clients = [tight.raw_login("alice") for _ in range(3)]
    extra = tight.raw()
    assert extra.greeting.startswith(b"* BYE [LIMIT]"), extra.greeting
    extra.expect_closed(timeout=5)
    # A slot frees when a client leaves.
    clients.pop().command("LOGOUT")
    deadline = time.monotonic() + 5
    while True:
        again = tight.raw()
        if again.greeting.startswith(b"* OK") or time.monotonic() > deadline:
            break
        again.close()
        time.sleep(0.1)
    assert again.greeting.startswith(b"* OK"), again.greeting
    for client in clients:
        assert_usable(client)
        client.close()
    again.close()


def test_idle_heartbeat(tight):
    client = tight.raw_login("alice")
    client.command("SELECT INBOX")
    client.send(b"H1 IDLE\r\n")
    assert client.read_response().startswith(b"+ ")
    started = time.monotonic()
    beats = [client.read_response(timeout=3) for _ in range(2)]
    assert beats == [b"* OK Still here\r\n"] * 2, beats
    assert time.monotonic() - started < 4
    client.send(b"DONE\r\n")
    tagged, _ = client.wait_tagged("H1")
    assert tagged.startswith(b"H1 OK"), tagged
    client.close()


def test_idling_on_a_mailbox_deleted_elsewhere_gets_bye_and_the_connection_closes(server):
    """RFC 9051 7.1.5: an untagged BYE means the server is about to close the connection.

    Portcullis sends `* BYE Selected mailbox was deleted` to an IDLEing session whose mailbox
    another session deleted, but then keeps the connection open (still in IDLE) until the
    client happens to send DONE — up to the 30-minute inactivity timeout."""
    idler = server.raw_login("alice")
    other = server.raw_login("alice")
    assert b" OK " in other.command("CREATE Doomed")[0]
    assert b" OK " in idler.command("SELECT Doomed")[0]
    idler.send(b"I1 IDLE\r\n")
    assert idler.read_response().startswith(b"+ ")
    assert b" OK " in other.command("DELETE Doomed")[0]
    bye = idler.read_response(timeout=3)
    assert bye.startswith(b"* BYE"), bye
    # After BYE the server closes; it must not wait for the client.
    try:
        rest = idler.expect_closed(timeout=3)
    except TimeoutError:
        pytest.fail("server sent `* BYE Selected mailbox was deleted` during IDLE but kept the "
                    "connection open for 3 s afterwards (RFC 9051 7.1.5: BYE means the server is "
                    "about to close the connection)")
    assert rest == b"", rest
