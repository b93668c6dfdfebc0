"""A private Postfix instance on loopback for the delivery tests: its own config, queue and
data directories under a temporary directory, SMTP on a free port, and every local
recipient handed to Portcullis over LMTP (`local_transport = lmtp:inet:...`).

The settings mirror docs/postfix.md; only the paths and ports differ."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"
DOMAIN = "example.org"

MASTER_CF = """\
{smtp} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
maillog_file = {log}
# Postfix only writes logs under these prefixes (default /var and /dev/stdout).
maillog_file_prefixes = {root}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.test
mydomain = test
myorigin = test
mydestination = {domain}
# Recipients are checked by Portcullis at LMTP RCPT time; unknown ones bounce.
local_recipient_maps =
local_transport = lmtp:inet:{lmtp}
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
biff = no
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Postfix:
    """Runs `postfix -c DIR start-fg` (needs root: Postfix's master drops to the `postfix`
    user itself; the background `start` refuses a non-default configuration directory that
    the system's main.cf does not list), stopped with `postfix -c DIR stop`."""

    def __init__(self, lmtp: str):
        if os.geteuid() != 0:
            raise AssertionError("the Postfix tests need root (Postfix's master starts as root)")
        if shutil.which("postfix") is None:
            raise AssertionError("postfix is not installed (scripts/test.sh installs it)")
        # The postfix user must traverse these directories: not under pytest's 0700 tmp.
        self.root = Path(tempfile.mkdtemp(prefix="portcullis-postfix-", dir="/tmp"))
        self.root.chmod(0o755)
        self.etc = self.root / "etc"
        self.queue = self.root / "queue"
        self.data = self.root / "data"
        self.log = self.root / "maillog"
        for d in (self.etc, self.queue, self.data):
            d.mkdir()
        postfix_user = pwd.getpwnam("postfix")
        os.chown(self.data, postfix_user.pw_uid, postfix_user.pw_gid)
        self.smtp_port = free_port()
        (self.etc / "main.cf").write_text(MAIN_CF.format(
            queue=self.queue, data=self.data, log=self.log, root=self.root, domain=DOMAIN, lmtp=lmtp))
        (self.etc / "master.cf").write_text(MASTER_CF.format(smtp=f"{HOST}:{self.smtp_port}"))

        self.master: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        self.master = subprocess.Popen(["postfix", "-c", str(self.etc), "start-fg"], stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.master.poll() is not None:
                raise AssertionError(f"postfix exited with {self.master.returncode}\n{self.maillog()}")
            try:
                with socket.create_connection((HOST, self.smtp_port), timeout=1) as s:
                    if s.recv(512).startswith(b"220"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"postfix smtpd did not answer on {self.smtp_port}\n{self.maillog()}")

    def maillog(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def wait_log(self, needle: str, timeout: float = 30) -> str:
        """Waits until the mail log contains `needle`; returns the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.maillog()
            if needle in log:
                return log
            time.sleep(0.1)
        raise AssertionError(f"{needle!r} not in the Postfix log within {timeout}s:\n{self.maillog()}")

    def stop(self) -> None:
        subprocess.run(["postfix", "-c", str(self.etc), "stop"], capture_output=True, timeout=60)
        if self.master is not None:
            try:
                self.master.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait(timeout=15)
        shutil.rmtree(self.root, ignore_errors=True)
