"""neomutt, the interactive client, run in a private tmux server: it opens the INBOX over
imaps://, the index lists the messages, Enter shows one in the pager (headers and body on
the screen), and quitting stores \\Seen on the server for exactly that message.

The certificate is trusted with `ssl_ca_certificates_file` (Debian's neomutt is built with
GnuTLS, which honours it) and the host name `localhost` is checked against the
certificate's subjectAltName; `ssl_force_tls` forbids a plaintext fallback.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from clients import require
from support import make_message

SCREEN_TIMEOUT = 20


class Tmux:
    """A tmux server of our own (its own socket), one window, bounded waits on the screen."""

    def __init__(self, exe: str, socket: Path):
        self.exe, self.socket = exe, socket

    def __call__(self, *args: str) -> str:
        result = subprocess.run([self.exe, "-S", str(self.socket), *args], capture_output=True, text=True,
                                timeout=10, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, (args, result.stderr)
        return result.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "0")

    def wait_for(self, *texts: str, timeout: float = SCREEN_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{texts} did not appear on the screen within {timeout}s:\n{screen}")

    def alive(self) -> bool:
        return subprocess.run([self.exe, "-S", str(self.socket), "has-session"], capture_output=True,
                              timeout=10, stdin=subprocess.DEVNULL).returncode == 0

    def kill(self) -> None:
        subprocess.run([self.exe, "-S", str(self.socket), "kill-server"], capture_output=True, timeout=10,
                       stdin=subprocess.DEVNULL)


def write_muttrc(path: Path, *, port: int, password: str, cert: Path, home: Path) -> None:
    assert not set(password) & set('"\\`$')
    path.write_text(f"""set folder = "imaps://alice@localhost:{port}/"
set spoolfile = "+INBOX"
set imap_pass = "{password}"
set ssl_force_tls = yes
set ssl_ca_certificates_file = "{cert}"
set certificate_file = "{home}/certificates"
set header_cache = ""
set message_cachedir = ""
set sort = date
set quit = yes
set move = no
set mark_old = no
set help = no
set pager_stop = yes
set mailcap_path = ""
set imap_check_subscribed = no
""")


@pytest.fixture
def neomutt():
    return require("neomutt", ["-v"], r"NeoMutt (\d+)")[0]


@pytest.fixture
def tmux(tmp_path):
    tmux = Tmux(require("tmux", ["-V"], r"tmux (\S+)")[0], tmp_path / "tmux.sock")
    yield tmux
    tmux.kill()


def test_clients_neomutt_lists_and_reads_a_message_over_imaps(server, neomutt, tmux, tmp_path):
    first = make_message("Quarterly figures for the board", date="Mon, 3 Mar 2025 09:00:00 +0000",
                         body="The numbers are in the attached sheet.\r\nRegards, Alice\r\n", seed=1)
    second = make_message("Lunch on Friday?", date="Tue, 4 Mar 2025 12:30:00 +0000",
                          sender="Carol Example <carol@example.com>", body="Noodles at noon.\r\n", seed=2)
    with server.imaps("alice") as client:
        client.append("INBOX", None, None, first)
        client.append("INBOX", None, None, second)

    home = tmp_path / "home"
    home.mkdir()
    muttrc = tmp_path / "muttrc"
    write_muttrc(muttrc, port=server.imaps_port, password=server.users["alice"], cert=server.cert_path, home=home)
    env_prefix = f"env -i HOME={home} LANG=C.UTF-8 TERM=screen PATH={os.environ.get('PATH', '/usr/bin:/bin')}"
    tmux("new-session", "-d", "-x", "160", "-y", "40",
         f"{env_prefix} {neomutt} -n -F {muttrc} 2>{tmp_path}/neomutt.err")

    # The index: both messages, sorted by date, the older one first and under the cursor.
    screen = tmux.wait_for("Quarterly figures for the board", "Lunch on Friday?")
    assert screen.index("Quarterly figures") < screen.index("Lunch on Friday?"), screen
    assert "Carol Example" in screen, screen
    # The pager: headers and body of the selected message.
    tmux("send-keys", "-t", "0", "Enter")
    screen = tmux.wait_for("Subject: Quarterly figures for the board", "The numbers are in the attached sheet.")
    assert "From: Alice Example <alice@example.org>" in screen, screen
    # Back to the index, quit (which syncs \Seen to the server), and wait for the exit.
    tmux("send-keys", "-t", "0", "q")
    tmux.wait_for("Lunch on Friday?")
    tmux("send-keys", "-t", "0", "q")
    deadline = time.monotonic() + SCREEN_TIMEOUT
    while tmux.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not tmux.alive(), tmux.screen()

    with server.imaps("alice") as client:
        client.select("INBOX", readonly=True)
        typ, data = client.uid("FETCH", "1:*", "(UID FLAGS)")
        flags = {int(line.split(b"UID ")[1].split()[0].rstrip(b")")): line for line in data}
        assert b"\\Seen" in flags[1], data
        assert b"\\Seen" not in flags[2], data
