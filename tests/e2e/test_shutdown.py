"""Graceful shutdown: SIGTERM tells every connection `* BYE [UNAVAILABLE]` and the process
exits 0 within the grace period (default shutdown_grace_secs = 10)."""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import pytest

from support import HOST, make_message

GRACE = 10


def test_sigterm_sends_bye_to_idle_and_idling_clients_and_exits_0(server):
    idle_client = server.raw_login("alice")
    tagged, _ = idle_client.command("SELECT INBOX")
    assert b" OK " in tagged
    idler = server.raw_login("bob")
    idler.command("SELECT INBOX")
    idler.send(b"i1 IDLE\r\n")
    assert idler.read_response().startswith(b"+ ")
    anonymous = server.raw(tls=False)  # not logged in, plaintext port
    # An APPEND acknowledged just before the signal must survive it.
    message = make_message("before sigterm")
    assert b" OK " in idle_client.append("INBOX", message)

    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    for client in (idle_client, idler, anonymous):
        data = client.expect_closed(timeout=GRACE)
        lines = data.split(b"\r\n")
        assert any(line.startswith(b"* BYE") for line in lines), data
        assert b"* BYE [UNAVAILABLE]" in data, data
    try:
        code = server.proc.wait(timeout=GRACE + 2 - (time.monotonic() - started))
    except subprocess.TimeoutExpired:
        pytest.fail(f"server still running {GRACE + 2}s after SIGTERM")
    elapsed = time.monotonic() - started
    assert code == 0, (code, server.stderr_tail())
    assert elapsed < GRACE, elapsed
    server.proc = None
    # The listeners are closed.
    with pytest.raises(OSError):
        socket.create_connection((HOST, server.imaps_port), timeout=2).close()
    # And the data is intact on the next start.
    server.start()
    with server.imaps("alice") as client:
        client.select("INBOX")
        typ, data = client.uid("FETCH", "1", "(BODY.PEEK[])")
        assert data[0][1] == message


def test_sigint_also_stops_cleanly(server):
    client = server.raw_login("alice")
    server.proc.send_signal(signal.SIGINT)
    data = client.expect_closed(timeout=GRACE)
    assert b"* BYE [UNAVAILABLE]" in data, data
    assert server.proc.wait(timeout=GRACE + 2) == 0
    server.proc = None
