"""Helpers for the end-to-end suite: running the real `portcullis` binary, a small raw IMAP
client with bounded reads, modified UTF-7, and test-message builders.

Every wait here has a deadline: a hung server fails the test instead of hanging CI.
Everything talks to 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import ctypes
import imaplib
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"

# Bounds (seconds).
START_TIMEOUT = 30
STOP_TIMEOUT = 15
CLI_TIMEOUT = 30
IO_TIMEOUT = 10


def binary_path() -> Path:
    """The server binary: $PORTCULLIS_BIN, else target/debug/portcullis of this workspace."""
    env = os.environ.get("PORTCULLIS_BIN")
    if env:
        return Path(env)
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "portcullis"


# ---------------------------------------------------------------------------------------------
# The CLI and the server process
# ---------------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it if the test runner dies (no orphaned servers)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def run_cli(args: list[str], *, stdin_text: str | None = None, stdin=None, timeout: float = CLI_TIMEOUT,
            data_dir: Path | None = None, config: Path | None = None) -> subprocess.CompletedProcess:
    """Runs `portcullis [--config C] [--data-dir D] ARGS`, bounded, capturing text output.

    The password (if any) goes through stdin only, never argv.
    """
    cmd = [str(binary_path())]
    if config is not None:
        cmd += ["--config", str(config)]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    cmd += args
    if stdin_text is not None:
        return subprocess.run(cmd, input=stdin_text, capture_output=True, text=True, timeout=timeout)
    return subprocess.run(cmd, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def random_password(n: int = 20) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
    # A space and punctuation too: passwords are not atoms, clients must quote them.
    return "".join(random.choice(alphabet) for _ in range(n)) + " p@ss"


@dataclass
class Server:
    """One `portcullis serve` process on 127.0.0.1 with OS-chosen ports."""

    data_dir: Path
    config: Path | None = None
    users: dict[str, str] = field(default_factory=dict, repr=False)
    proc: subprocess.Popen | None = None
    imaps_port: int = 0
    imap_port: int = 0
    stdout_lines: list[str] = field(default_factory=list, repr=False)
    starts: int = 0
    # Extra command-line arguments before `serve` (e.g. ["--lmtp", "127.0.0.1:0"]).
    extra_args: list[str] = field(default_factory=list)
    # LMTP listeners as printed: "127.0.0.1:PORT" or "unix:/path".
    lmtp_addrs: list[str] = field(default_factory=list)

    @property
    def cert_path(self) -> Path:
        return self.data_dir / "tls" / "cert.pem"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-stderr-{self.starts}.log"

    def add_user(self, name: str, password: str | None = None) -> str:
        password = password if password is not None else random_password()
        result = run_cli(["user", "add", name], stdin_text=password + "\n", data_dir=self.data_dir,
                         config=self.config)
        assert result.returncode == 0, f"user add {name} failed: {result.stderr}"
        self.users[name] = password
        return password

    def start(self, timeout: float = START_TIMEOUT) -> None:
        assert self.proc is None, "already running"
        self.starts += 1
        out_path = self.data_dir.parent / f"{self.data_dir.name}-stdout-{self.starts}.log"
        cmd = [str(binary_path())]
        if self.config is not None:
            cmd += ["--config", str(self.config)]
        cmd += ["--data-dir", str(self.data_dir)]
        if self.config is None:
            cmd += ["--imaps", f"{HOST}:0", "--imap", f"{HOST}:0"]
        cmd += self.extra_args
        cmd += ["serve"]
        self._stdout = open(out_path, "w+b")
        self._stderr = open(self.log_path, "w+b")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._stdout,
                                     stderr=self._stderr, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        imaps = imap = None
        while time.monotonic() < deadline:
            text = out_path.read_text(errors="replace")
            self.stdout_lines = text.splitlines()
            for line in self.stdout_lines:
                m = re.fullmatch(r"(imaps|imap) listening on 127\.0\.0\.1:(\d+)", line.strip())
                if m and m.group(1) == "imaps":
                    imaps = int(m.group(2))
                elif m:
                    imap = int(m.group(2))
            lmtp_lines = [line for line in self.stdout_lines if line.startswith("lmtp listening on ")]
            if imaps is not None and imap is not None and len(lmtp_lines) >= self.extra_args.count("--lmtp"):
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if imaps is None or imap is None:
            self._abort()
            raise AssertionError(
                f"server did not report its listeners within {timeout}s; stdout={text!r}; "
                f"stderr tail={self.stderr_tail()!r}")
        self.imaps_port = imaps
        self.imap_port = imap
        self.lmtp_addrs = [line.split(" listening on ", 1)[1].strip()
                           for line in self.stdout_lines if line.startswith("lmtp listening on ")]

    def _abort(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None

    def stderr_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, bounded wait, then SIGKILL. Returns the exit status."""
        proc = self.proc
        assert proc is not None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
                self.proc = None
                raise AssertionError(f"server ignored SIGTERM for {timeout}s; killed it")
        self.proc = None
        return proc.returncode

    def kill9(self) -> None:
        proc = self.proc
        assert proc is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT)
        self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self) -> None:
        """Teardown: never leaves a process behind."""
        if self.proc is not None:
            try:
                if self.proc.poll() is None:
                    self.stop()
            except AssertionError:
                pass
            self.proc = None
        for f in (getattr(self, "_stdout", None), getattr(self, "_stderr", None)):
            if f is not None:
                f.close()

    # --- clients ------------------------------------------------------------------------------

    def tls_context(self) -> ssl.SSLContext:
        return tls_context(self.cert_path)

    def imaps(self, user: str | None = None, *, host: str = HOST) -> imaplib.IMAP4_SSL:
        """An imaplib client over implicit TLS, certificate and host name verified; logged in
        as `user` when given."""
        client = imaplib.IMAP4_SSL(host, self.imaps_port, ssl_context=self.tls_context(), timeout=IO_TIMEOUT)
        if user is not None:
            typ, _ = client.login(user, self.users[user])
            assert typ == "OK"
        return client

    def raw(self, *, tls: bool = True) -> "RawIMAP":
        if tls:
            return RawIMAP(self.imaps_port, self.tls_context())
        return RawIMAP(self.imap_port, None)

    def raw_login(self, user: str) -> "RawIMAP":
        client = self.raw()
        tagged, _ = client.command(f"LOGIN {user} {quote(self.users[user])}")
        assert b" OK" in tagged, tagged
        return client


def tls_context(cafile: Path) -> ssl.SSLContext:
    """Trusts exactly the server's generated certificate; verifies it and the host name."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(cafile))
    assert ctx.check_hostname and ctx.verify_mode == ssl.CERT_REQUIRED
    return ctx


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------------------
# A raw IMAP client: exact bytes in and out, every read bounded
# ---------------------------------------------------------------------------------------------


class RawIMAP:
    """A minimal IMAP client that sends exactly what it is told and parses responses with
    literals. Reads are bounded by `timeout` per call."""

    def __init__(self, port: int, ctx: ssl.SSLContext | None, *, timeout: float = IO_TIMEOUT,
                 server_hostname: str = HOST, read_greeting: bool = True):
        self.timeout = timeout
        sock = socket.create_connection((HOST, port), timeout=timeout)
        if ctx is not None:
            sock = ctx.wrap_socket(sock, server_hostname=server_hostname)
        self.sock = sock
        self.buf = b""
        self.counter = 0
        self.greeting = self.read_response() if read_greeting else b""

    # bytes ---------------------------------------------------------------------------------

    def send(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"server sent nothing more before the deadline; unread: {self.buf[-200:]!r}")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout as e:
            raise TimeoutError(f"server sent nothing more before the deadline; unread: {self.buf[-200:]!r}") from e
        if not chunk:
            raise ConnectionClosed(self.buf)
        self.buf += chunk

    def readline(self, timeout: float | None = None) -> bytes:
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while b"\r\n" not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def read_exact(self, n: int, deadline: float) -> bytes:
        while len(self.buf) < n:
            self._fill(deadline)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_response(self, timeout: float | None = None) -> bytes:
        """One response, literals included (the line ends `{n}` then n bytes follow)."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill(deadline)
            line, self.buf = self.buf.split(b"\r\n", 1)
            out += line + b"\r\n"
            m = re.search(rb"\{(\d+)\}$", line)
            if not m:
                return out
            out += self.read_exact(int(m.group(1)), deadline)

    # commands ------------------------------------------------------------------------------

    def next_tag(self) -> str:
        self.counter += 1
        return f"t{self.counter}"

    def command(self, text: str | bytes, timeout: float | None = None) -> tuple[bytes, list[bytes]]:
        """Sends `TAG text CRLF`; returns (tagged line, untagged responses)."""
        tag = self.next_tag()
        data = text.encode() if isinstance(text, str) else text
        self.send(tag.encode() + b" " + data + b"\r\n")
        return self.wait_tagged(tag, timeout)

    def wait_tagged(self, tag: str, timeout: float | None = None) -> tuple[bytes, list[bytes]]:
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        untagged = []
        while True:
            resp = self.read_response(max(0.01, deadline - time.monotonic()))
            if resp.startswith(tag.encode() + b" "):
                return resp, untagged
            untagged.append(resp)

    def append(self, mailbox: str, message: bytes, flags: str = "", date: str | None = None,
               literal_plus: bool = False) -> bytes:
        tag = self.next_tag()
        head = f"{tag} APPEND {mailbox}"
        if flags:
            head += f" ({flags})"
        if date:
            head += f' "{date}"'
        if literal_plus:
            self.send(head.encode() + b" {%d+}\r\n" % len(message) + message + b"\r\n")
        else:
            self.send(head.encode() + b" {%d}\r\n" % len(message))
            cont = self.read_response()
            assert cont.startswith(b"+"), cont
            self.send(message + b"\r\n")
        tagged, _ = self.wait_tagged(tag)
        return tagged

    def starttls(self, ctx: ssl.SSLContext, server_hostname: str = HOST) -> None:
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def expect_closed(self, timeout: float = IO_TIMEOUT) -> bytes:
        """Reads until the server closes; returns what it sent. Fails on timeout."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self._fill(deadline)
        except ConnectionClosed:
            pass
        except (ConnectionResetError, ssl.SSLError, OSError) as e:
            if isinstance(e, TimeoutError):
                raise
        data, self.buf = self.buf, b""
        return data


class ConnectionClosed(Exception):
    def __init__(self, pending: bytes):
        super().__init__(f"server closed the connection; unread: {pending[-300:]!r}")
        self.pending = pending


# ---------------------------------------------------------------------------------------------
# Modified UTF-7 (RFC 3501 5.1.3): imaplib sends mailbox names as they are given
# ---------------------------------------------------------------------------------------------


def mutf7_encode(name: str) -> str:
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append("&" + base64.b64encode(raw).decode().rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def mutf7_decode(name: str) -> str:
    def repl(m: re.Match) -> str:
        body = m.group(1)
        if body == "":
            return "&"
        b64 = body.replace(",", "/")
        b64 += "=" * (-len(b64) % 4)
        return base64.b64decode(b64).decode("utf-16-be")

    return re.sub(r"&([^-]*)-", repl, name)


# ---------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------

LIST_RE = re.compile(rb'^\(([^)]*)\) (?:"(.)"|NIL) (.*)$')


def parse_list_line(line: bytes) -> tuple[list[str], str]:
    """`(\\HasNoChildren) "/" "Name"` -> (attributes, decoded name)."""
    m = LIST_RE.match(line.strip())
    assert m, line
    attrs = m.group(1).decode().split()
    raw = m.group(3).decode()
    if raw.startswith('"'):
        raw = raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return attrs, mutf7_decode(raw)


def list_mailboxes(client: imaplib.IMAP4) -> dict[str, list[str]]:
    typ, data = client.list()
    assert typ == "OK", data
    result = {}
    for item in data:
        if isinstance(item, tuple):  # a literal mailbox name
            head, name = item
            attrs = re.match(rb"^\(([^)]*)\)", head).group(1).decode().split()
            result[mutf7_decode(name.decode())] = attrs
            continue
        attrs, name = parse_list_line(item)
        result[name] = attrs
    return result


def fetch_parts(data: list) -> list[tuple[bytes, bytes]]:
    """imaplib FETCH data -> [(header line, literal)] for the entries that carry a literal."""
    return [item for item in data if isinstance(item, tuple)]


def uid_fetch_body(client: imaplib.IMAP4, uid: int, item: str = "BODY.PEEK[]") -> bytes:
    typ, data = client.uid("FETCH", str(uid), f"({item})")
    assert typ == "OK", data
    parts = fetch_parts(data)
    assert len(parts) == 1, data
    return parts[0][1]


def response_code(line: bytes) -> str | None:
    m = re.search(rb"\[([^\]]*)\]", line)
    return m.group(1).decode() if m else None


# ---------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------


def make_message(subject: str, *, sender: str = "Alice Example <alice@example.org>",
                 to: str = "Bob Example <bob@example.net>", body: str = "Hello.\r\n",
                 date: str = "Mon, 7 Feb 1994 21:52:25 -0800", message_id: str | None = None,
                 extra_headers: str = "", size: int = 0, seed: int = 0) -> bytes:
    """An RFC 5322 message with CRLF line ends; padded with deterministic text lines to at
    least `size` octets."""
    message_id = message_id or f"<{zlib.crc32(subject.encode()):08x}.{seed}@example.org>"
    head = (f"Date: {date}\r\nFrom: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Message-ID: {message_id}\r\nMIME-Version: 1.0\r\n{extra_headers}"
            f"Content-Type: text/plain; charset=us-ascii\r\n\r\n")
    data = (head + body).encode()
    if len(data) < size:
        rng = random.Random(seed)
        lines = []
        total = len(data)
        words = ["lorem", "ipsum", "dolor", "sit", "amet", "portcullis", "imap", "durable", "mail"]
        while total < size:
            line = " ".join(rng.choice(words) for _ in range(12)) + f" {seed}:{total}\r\n"
            lines.append(line)
            total += len(line)
        data += "".join(lines).encode()
    return data


def make_multipart(subject: str) -> bytes:
    return (
        "Date: Tue, 1 Apr 2025 10:00:00 +0000\r\n"
        "From: Carol <carol@example.com>\r\n"
        "To: Dave <dave@example.com>\r\n"
        f"Subject: {subject}\r\n"
        "Message-ID: <multi.1@example.com>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="XYZ"\r\n'
        "\r\n"
        "preamble\r\n"
        "--XYZ\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Gr=C3=BC=C3=9Fe\r\n"
        "--XYZ\r\n"
        'Content-Type: application/octet-stream; name="a.bin"\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        'Content-Disposition: attachment; filename="a.bin"\r\n'
        "\r\n"
        "AAECAwQFBgcICQ==\r\n"
        "--XYZ--\r\n"
    ).encode()
