"""Delivery without an MTA: LMTP straight to the listener (TCP and Unix socket) with
Python's smtplib.LMTP, and `portcullis deliver` with its sysexits codes. Every path must
wake an IDLEing session of the recipient."""

from __future__ import annotations

import smtplib
import socket
import time

import pytest

from support import IO_TIMEOUT, run_cli

MESSAGE = (b"From: Sender <sender@example.net>\r\nTo: alice@example.org\r\nSubject: lmtp test\r\n"
           b"Message-ID: <lmtp-1@example.net>\r\n\r\nfirst line\r\n.leading dot survives\r\n")


@pytest.fixture
def lmtp_server(make_server, tmp_path):
    sock = tmp_path / "lmtp.sock"
    return make_server(users=("alice", "bob"), extra_args=("--lmtp", "127.0.0.1:0", "--lmtp", f"unix:{sock}"))


def tcp_lmtp(server) -> smtplib.LMTP:
    address = next(a for a in server.lmtp_addrs if not a.startswith("unix:"))
    host, port = address.rsplit(":", 1)
    return smtplib.LMTP(host, int(port), timeout=IO_TIMEOUT)


def idle(server, user):
    client = server.raw_login(user)
    client.command("SELECT INBOX")
    client.send("i1 IDLE\r\n")
    assert client.readline().startswith(b"+ ")
    return client


def wait_exists(client, timeout: float = 10) -> bytes:
    """The first EXISTS pushed during IDLE (bounded wait; the latency is printed)."""
    start = time.monotonic()
    while True:
        line = client.readline(timeout=max(0.1, timeout - (time.monotonic() - start)))
        if line.endswith(b"EXISTS\r\n"):
            print(f"EXISTS after {time.monotonic() - start:.3f}s")
            return line


def lmtp_conversation(address: str, lines: list[bytes], replies: int) -> list[bytes]:
    """Sends pipelined lines over TCP and reads `replies` reply lines after the greeting.
    (smtplib.LMTP reads one reply after DATA, so it cannot check per-recipient replies.)"""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=IO_TIMEOUT) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"220 ")
        sock.sendall(b"".join(lines))
        return [reader.readline() for _ in range(replies)]


def test_lmtp_over_tcp_delivers_per_recipient_and_pushes_to_idle(lmtp_server):
    watcher = idle(lmtp_server, "alice")
    address = next(a for a in lmtp_server.lmtp_addrs if not a.startswith("unix:"))
    body = MESSAGE.replace(b"\r\n.", b"\r\n..") + b".\r\n"
    replies = lmtp_conversation(address, [
        b"LHLO test\r\n", b"MAIL FROM:<sender@example.net>\r\n", b"RCPT TO:<alice@example.org>\r\n",
        b"RCPT TO:<nobody@example.org>\r\n", b"RCPT TO:<bob>\r\n", b"DATA\r\n", body, b"QUIT\r\n",
    ], 13)
    assert replies[5:] == [
        b"250 2.1.0 Sender OK\r\n",
        b"250 2.1.5 Recipient OK\r\n",
        b"550 5.1.1 <nobody@example.org> User unknown\r\n",
        b"250 2.1.5 Recipient OK\r\n",
        b"354 2.0.0 Start mail input; end with <CRLF>.<CRLF>\r\n",
        b"250 2.0.0 <alice@example.org> Delivered\r\n",
        b"250 2.0.0 <bob> Delivered\r\n",
        replies[12],
    ]
    assert replies[12].startswith(b"221 2.0.0 ")
    assert replies[:5] == [
        replies[0], b"250-PIPELINING\r\n", b"250-ENHANCEDSTATUSCODES\r\n", b"250-8BITMIME\r\n",
        b"250 SIZE 67108864\r\n",
    ]
    assert wait_exists(watcher) == b"* 1 EXISTS\r\n"
    watcher.send("DONE\r\n")
    for user in ("alice", "bob"):
        client = lmtp_server.imaps(user)
        client.select("INBOX")
        typ, data = client.fetch("1", "(BODY.PEEK[])")
        assert typ == "OK" and data[0][1] == MESSAGE
        client.logout()


def test_lmtp_over_a_unix_socket(lmtp_server):
    path = next(a for a in lmtp_server.lmtp_addrs if a.startswith("unix:"))[len("unix:"):]
    lmtp = smtplib.LMTP(path, timeout=IO_TIMEOUT)
    assert lmtp.sendmail("sender@example.net", ["alice+nosuchfolder@example.org"], MESSAGE) == {}
    lmtp.quit()
    client = lmtp_server.imaps("alice")
    assert client.select("INBOX") == ("OK", [b"1"])
    client.logout()


def test_lmtp_detail_address_files_into_an_existing_folder(lmtp_server):
    client = lmtp_server.imaps("alice")
    assert client.create("lists")[0] == "OK"
    with tcp_lmtp(lmtp_server) as lmtp:
        assert lmtp.sendmail("a@b.c", ["alice+lists@example.org"], MESSAGE) == {}
    assert client.select("lists") == ("OK", [b"1"])
    assert client.select("INBOX") == ("OK", [b"0"])
    client.logout()


def test_lmtp_refuses_oversized_messages_before_data(make_server):
    server = make_server(users=("alice",), extra_args=("--lmtp", "127.0.0.1:0"),
                         config_text="[limits]\nappend_limit_bytes = 2000\n"
                                     "[listen]\nimaps = [\"127.0.0.1:0\"]\nimap = [\"127.0.0.1:0\"]\n")
    with tcp_lmtp(server) as lmtp:
        # smtplib announces SIZE=n in MAIL FROM because the LHLO reply advertises SIZE.
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            lmtp.sendmail("a@b.c", ["alice"], b"Subject: big\r\n\r\n" + b"x" * 5000)
        assert refused.value.smtp_code == 552


def test_deliver_command_exit_codes_and_idle_push(lmtp_server):
    watcher = idle(lmtp_server, "alice")
    ok = run_cli(["deliver", "alice"], stdin=None, stdin_text=MESSAGE.decode(), data_dir=lmtp_server.data_dir)
    assert ok.returncode == 0, ok.stderr
    # Another process committed: the server hears it through the data directory's socket.
    assert wait_exists(watcher) == b"* 1 EXISTS\r\n"
    watcher.send("DONE\r\n")
    nouser = run_cli(["deliver", "nobody"], stdin_text="Subject: x\r\n\r\n", data_dir=lmtp_server.data_dir)
    assert nouser.returncode == 67, nouser.stderr
    assert "no such account" in nouser.stderr
    empty = run_cli(["deliver", "alice"], stdin_text="", data_dir=lmtp_server.data_dir)
    assert empty.returncode == 65, empty.stderr
    folder = run_cli(["deliver", "alice", "--mailbox", "Archive"], stdin_text=MESSAGE.decode(),
                     data_dir=lmtp_server.data_dir)
    assert folder.returncode == 0, folder.stderr
    client = lmtp_server.imaps("alice")
    assert client.select("Archive") == ("OK", [b"1"])
    typ, data = client.fetch("1", "(BODY.PEEK[])")
    assert data[0][1] == MESSAGE
    client.logout()


def test_lmtp_sessions_end_with_421_on_shutdown(lmtp_server):
    address = next(a for a in lmtp_server.lmtp_addrs if not a.startswith("unix:"))
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=IO_TIMEOUT)
    assert sock.recv(512).startswith(b"220 ")
    lmtp_server.stop()
    assert sock.recv(512).startswith(b"421 4.3.2")
    sock.close()
