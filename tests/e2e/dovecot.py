"""A private Dovecot on loopback as the reference server for the golden MIME corpus, and the IMAP
response parsing and normalisation the cross-check needs.

Dovecot runs from its Debian package (scripts/test.sh installs `dovecot-imapd`) with a
configuration written here: its own base_dir, state and log files, a passwd-file user with a
plaintext password, a Maildir, and plain IMAP on 127.0.0.1 on a free port (`ssl = no`,
`disable_plaintext_auth = no`: loopback only). It never reads /etc/dovecot, never uses the
standard ports, and is stopped (SIGTERM, then SIGKILL) at teardown.

Dovecot refuses to deliver to uid 0, so when the tests run as root the mail processes run as
`nobody` inside a world-traversable temporary directory; otherwise everything runs as the
current user (Dovecot's documented rootless mode).
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from support import HOST, RawIMAP, STOP_TIMEOUT, START_TIMEOUT, _die_with_parent

USER = "golden"
PASSWORD = "golden-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def dovecot_version() -> str:
    """`dovecot --version`, e.g. `2.3.19.1 (9b53102964)`."""
    result = subprocess.run(["dovecot", "--version"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# The configuration below is Dovecot 2.3 syntax (2.4 changed the format), and the allowed
# differences in test_dovecot_golden.py were established against 2.3 (Debian 12: 2.3.19).
SUPPORTED_SERIES = "2.3."


CONFIG = """\
# Written by tests/e2e/dovecot.py: a private instance, nothing from /etc/dovecot.
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = {host}
{ssl}
# Loopback only: plaintext LOGIN is fine here.
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
mail_fsync = never
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
last_valid_gid = {gid}
{rootless}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
  }}
{login_rootless}
}}
"""

ROOTLESS = """\
default_internal_user = {user}
default_login_user = {user}
default_internal_group = {group}
service anvil {{
  chroot =
}}
service auth {{
  user = {user}
}}
service auth-worker {{
  user = {user}
}}
"""


@dataclass
class Dovecot:
    """One private Dovecot master process (`dovecot -F -c CONFIG`)."""

    root: Path
    port: int = 0
    proc: subprocess.Popen | None = None
    # Extra TLS settings; None keeps TLS off. With TLS, `imaps_port` listens too and a
    # self-signed RSA certificate for localhost/127.0.0.1 is generated (`cert_path`).
    tls_settings: str | None = None
    imaps_port: int = 0

    @classmethod
    def create(cls, tls_settings: str | None = None) -> "Dovecot":
        # Not under pytest's tmp_path: that is private to the test user, and as root the mail
        # processes run as `nobody`, which must be able to reach the Maildir.
        root = Path(tempfile.mkdtemp(prefix="portcullis-dovecot-"))
        return cls(root=root, tls_settings=tls_settings)

    @property
    def cert_path(self) -> Path:
        return self.root / "cert.pem"

    def _ssl_config(self) -> str:
        if self.tls_settings is None:
            return "ssl = no"
        key = self.root / "key.pem"
        if not self.cert_path.exists():
            made = subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                 "-out", str(self.cert_path), "-days", "60", "-subj", "/CN=localhost",
                 "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                 # An end-entity certificate (rustls refuses a CA certificate used as a leaf).
                 "-addext", "basicConstraints=critical,CA:FALSE"],
                capture_output=True, text=True, timeout=60)
            assert made.returncode == 0, made.stderr
        return f"ssl = yes\nssl_cert = <{self.cert_path}\nssl_key = <{key}\n{self.tls_settings}"

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    def _write_config(self) -> None:
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("nobody")
            uid, gid = mail_user.pw_uid, mail_user.pw_gid
            rootless = login_rootless = ""
        else:
            uid, gid = os.getuid(), os.getgid()
            me = pwd.getpwuid(uid).pw_name
            group = grp.getgrgid(gid).gr_name
            rootless = ROOTLESS.format(user=me, group=group)
            login_rootless = f"  chroot =\n  user = {me}"
        for sub in ("run", "state", "mail", "home"):
            (self.root / sub).mkdir(exist_ok=True)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        self.config_path.write_text(CONFIG.format(
            root=self.root, host=HOST, port=self.port, uid=uid, gid=gid, rootless=rootless,
            login_rootless=login_rootless, ssl=self._ssl_config(),
            imaps_port=self.imaps_port if self.tls_settings is not None else 0))
        os.chmod(self.root, 0o755)
        if os.geteuid() == 0:
            for sub in ("mail", "home"):
                os.chown(self.root / sub, uid, gid)

    def start(self, timeout: float = START_TIMEOUT) -> None:
        assert self.proc is None, "already running"
        self.port = free_port()
        if self.tls_settings is not None:
            self.imaps_port = free_port()
        self._write_config()
        check = subprocess.run(["dovecot", "-c", str(self.config_path), "-n"], capture_output=True,
                               text=True, timeout=30)
        assert check.returncode == 0, f"invalid Dovecot config: {check.stderr}"
        self._out = open(self.root / "master.out", "w+b")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", str(self.config_path)],
                                     stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._out,
                                     preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                client = RawIMAP(self.port, None)
            except OSError:
                time.sleep(0.05)
                continue
            client.close()
            if client.greeting.startswith(b"* OK"):
                return
        self.stop()
        raise AssertionError(f"Dovecot did not start within {timeout}s: {self.log_tail()}")

    def login(self) -> RawIMAP:
        client = RawIMAP(self.port, None)
        tagged, _ = client.command(f'LOGIN {USER} "{PASSWORD}"')
        assert b" OK" in tagged, (tagged, self.log_tail())
        return client

    def log_tail(self, n: int = 4000) -> str:
        text = ""
        for path in (self.root / "master.out", self.log_path):
            try:
                text += path.read_text(errors="replace")[-n:]
            except OSError:
                pass
        return text

    def stop(self) -> None:
        """SIGTERM to the master (it stops its children), bounded wait, then SIGKILL."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
        out = getattr(self, "_out", None)
        if out is not None:
            out.close()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# IMAP response values
# ---------------------------------------------------------------------------------------------


class Atom(str):
    """An atom (NIL is `None`, numbers are `int`, strings are `bytes`, lists are `list`)."""


def parse_values(data: bytes) -> list:
    """Parses a sequence of IMAP values (atoms, numbers, NIL, quoted strings, literals,
    parenthesised lists, and `NAME[section]<n>` fetch item names as one atom)."""
    values, _ = _parse_list(data, 0, None)
    return values


def _parse_list(data: bytes, pos: int, close: int | None) -> tuple[list, int]:
    out: list = []
    n = len(data)
    while pos < n:
        c = data[pos]
        if c in b" \r\n":
            pos += 1
        elif close is not None and c == close:
            return out, pos + 1
        elif c == ord("("):
            inner, pos = _parse_list(data, pos + 1, ord(")"))
            out.append(inner)
        elif c == ord('"'):
            buf = bytearray()
            pos += 1
            while data[pos] != ord('"'):
                if data[pos] == ord("\\"):
                    pos += 1
                buf.append(data[pos])
                pos += 1
            out.append(bytes(buf))
            pos += 1
        elif c == ord("{") or data.startswith(b"~{", pos):
            m = re.compile(rb"~?\{(\d+)\+?\}\r\n").match(data, pos)
            assert m, data[pos:pos + 40]
            length = int(m.group(1))
            out.append(data[m.end():m.end() + length])
            pos = m.end() + length
        else:
            start = pos
            depth = 0
            while pos < n:
                ch = data[pos]
                if ch == ord("["):
                    depth += 1
                elif ch == ord("]"):
                    depth -= 1
                elif depth == 0 and (ch in b" \r\n()" or ch == close):
                    break
                pos += 1
            word = data[start:pos].decode("latin-1")
            if word.upper() == "NIL":
                out.append(None)
            elif word.isdigit():
                out.append(int(word))
            else:
                out.append(Atom(word))
    assert close is None, "unterminated list"
    return out, pos


def fetch_items(response: bytes) -> dict[str, object]:
    """`* n FETCH (NAME value ...)` -> {NAME (upper case): value}."""
    values = parse_values(response)
    assert values[:1] == ["*"] and str(values[2]).upper() == "FETCH", response[:200]
    pairs = values[3]
    return {str(pairs[i]).upper(): pairs[i + 1] for i in range(0, len(pairs), 2)}


# ---------------------------------------------------------------------------------------------
# Normalisation: only what the RFCs leave free
# ---------------------------------------------------------------------------------------------
#
# 1. Atoms compare case-insensitively (item names, NIL): values are upper-cased atoms.
# 2. Media type and subtype strings compare case-insensitively (RFC 2045 5.1: "The type,
#    subtype, and parameter names are not case sensitive"): lower-cased, at the positions of
#    `media-type`, `media-subtype` and the multipart subtype only.
# 3. NIL equals "" where the grammar is `nstring` (ENVELOPE fields, address fields, body-fld-id,
#    body-fld-desc, body-fld-md5, body-fld-loc, a single body-fld-lang).
# 4. Quoted and literal forms of a string are the same bytes: the parser already returns bytes.
# Nothing else: parameter names and values, encodings, dispositions and section data compare
# exactly.


def _nstring(value):
    return b"" if value is None else value


def normalise_envelope(env):
    if env is None:
        return None
    env = list(env)
    for i in (0, 1, 8, 9):
        env[i] = _nstring(env[i])
    for i in range(2, 8):
        if env[i] is not None:
            env[i] = [[_nstring(field) for field in address] for address in env[i]]
    return env


def _lower(value):
    return value.lower() if isinstance(value, bytes) else value


def _is_message_type(media_type, subtype) -> bool:
    return (isinstance(media_type, bytes) and media_type.lower() == b"message"
            and isinstance(subtype, bytes) and subtype.lower() in (b"rfc822", b"global"))


def normalise_body(body):
    """Normalises a `body` (BODY or BODYSTRUCTURE) per the rules above."""
    if not isinstance(body, list) or not body:
        return body
    if isinstance(body[0], list):
        children = []
        i = 0
        while i < len(body) and isinstance(body[i], list):
            children.append(normalise_body(body[i]))
            i += 1
        rest = list(body[i:])
        if rest:
            rest[0] = _lower(rest[0])
        # body-ext-mpart: param, dsp, lang, loc
        if len(rest) > 3:
            rest[3] = _normalise_lang(rest[3])
        if len(rest) > 4:
            rest[4] = _nstring(rest[4])
        return children + rest
    out = list(body)
    out[0], out[1] = _lower(out[0]), _lower(out[1])
    out[3], out[4] = _nstring(out[3]), _nstring(out[4])
    index = 7
    if _is_message_type(body[0], body[1]) and len(out) >= 10:
        out[7] = normalise_envelope(out[7])
        out[8] = normalise_body(out[8])
        index = 10
    elif isinstance(body[0], bytes) and body[0].lower() == b"text":
        index = 8
    # body-ext-1part: md5, dsp, lang, loc
    if len(out) > index:
        out[index] = _nstring(out[index])
    if len(out) > index + 2:
        out[index + 2] = _normalise_lang(out[index + 2])
    if len(out) > index + 3:
        out[index + 3] = _nstring(out[index + 3])
    return out


def _normalise_lang(value):
    if isinstance(value, list):
        return value
    return _nstring(value)


def normalise(name: str, value):
    if name == "ENVELOPE":
        return normalise_envelope(value)
    if name in ("BODYSTRUCTURE", "BODY"):
        return normalise_body(value)
    return value


# ---------------------------------------------------------------------------------------------
# The golden expectations
# ---------------------------------------------------------------------------------------------


def expected_items(path: Path) -> dict[str, object]:
    """Reads `NAME.expected` (one `* 1 FETCH (ITEM)` per item) into {ITEM NAME: value}."""
    data = path.read_bytes()
    items: dict[str, object] = {}
    pos = 0
    while pos < len(data):
        end = _response_end(data, pos)
        items.update(fetch_items(data[pos:end]))
        pos = end
    return items


def _response_end(data: bytes, pos: int) -> int:
    """End of the response starting at `pos` (after its final CRLF), literals skipped."""
    while True:
        eol = data.index(b"\r\n", pos)
        m = re.search(rb"\{(\d+)\}$", data[pos:eol])
        if not m:
            return eol + 2
        pos = eol + 2 + int(m.group(1))


# `BODY[TEXT]<0.32>` in crates/proto/tests/golden.rs: the response names only the origin.
PARTIAL_LENGTH = 32


def fetch_request_name(item: str) -> str:
    """The FETCH attribute that asks for a response item without setting \\Seen:
    `BODY[1.MIME]` -> `BODY.PEEK[1.MIME]`, `BODY[TEXT]<0>` -> `BODY.PEEK[TEXT]<0.32>`."""
    if not item.startswith("BODY["):
        return item
    name = "BODY.PEEK[" + item[len("BODY["):]
    m = re.search(r"<(\d+)>$", name)
    if m:
        name = name[:m.start()] + f"<{m.group(1)}.{PARTIAL_LENGTH}>"
    return name


def first_difference(mine, theirs, path: tuple = ()) -> tuple[tuple, object, object]:
    """The innermost position (list indices) where two values differ, and both values there."""
    if isinstance(mine, list) and isinstance(theirs, list):
        for i, (a, b) in enumerate(zip(mine, theirs)):
            if a != b:
                return first_difference(a, b, path + (i,))
        if len(mine) != len(theirs):
            return path + (min(len(mine), len(theirs)),), mine[len(theirs):], theirs[len(mine):]
    return path, mine, theirs


def format_value(value, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
