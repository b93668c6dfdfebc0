"""Exposure control end to end (issue 6, item 3): per-listener allow and deny lists judged at
connect before any TLS, the PROXY protocol from trusted proxies only (the client address it
carries is what bans, limits and the audit log see; also behind a real HAProxy), the
plaintext port disabled, and LOGIN without TLS for named networks only — which
`portcullis check` reports.

Client addresses: 127.0.0.1 (also the trusted proxy) and 127.0.1.1, both on loopback.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path

import pytest

from conftest import require_tool
from support import HOST, IO_TIMEOUT, RawIMAP, Server, binary_path, quote, run_cli, _die_with_parent

OTHER = "127.0.1.1"
NOT_ACCEPTED_BYE = b"* BYE [UNAVAILABLE] Connections from your address are not accepted here\r\n"
BANNED_BYE = b"* BYE [UNAVAILABLE] Too many failed logins from your address, try again later\r\n"
BAD_HEADER_BYE = b"* BYE Invalid PROXY protocol header\r\n"


def config(tmp_path: Path, name: str, *, listen: str = "", extra: str = "", limits: str = "",
           throttle: str = "") -> str:
    return f"""
data_dir = "{tmp_path / name}"
[listen]
imaps = ["{HOST}:0"]
imap = ["{HOST}:0"]
{listen}
{extra}
[limits]
{limits}
[throttle]
delay_initial_ms = 100
delay_max_ms = 400
{throttle}
[log]
audit = "{tmp_path / (name + '-audit.log')}"
"""


def audit_lines(tmp_path: Path, name: str) -> list[str]:
    path = tmp_path / (name + "-audit.log")
    return path.read_text().splitlines() if path.exists() else []


def wait_for_audit(tmp_path: Path, name: str, pattern: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in audit_lines(tmp_path, name):
            if re.search(pattern, line):
                return line
        time.sleep(0.05)
    raise AssertionError(f"no audit line matching {pattern!r}:\n" + "\n".join(audit_lines(tmp_path, name)))


def connect(port: int, source: str = HOST) -> socket.socket:
    return socket.create_connection((HOST, port), timeout=IO_TIMEOUT, source_address=(source, 0))


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    return data


class Raw(RawIMAP):
    """RawIMAP on an already connected socket (a source address chosen, a PROXY header sent)."""

    def __init__(self, sock: socket.socket, ctx: ssl.SSLContext | None):
        self.timeout = IO_TIMEOUT
        self.sock = ctx.wrap_socket(sock, server_hostname=HOST) if ctx is not None else sock
        self.buf = b""
        self.counter = 0
        self.greeting = self.read_response()


def proxy_v1(client: str, client_port: int = 40000, server_port: int = 993) -> bytes:
    return f"PROXY TCP4 {client} 127.0.0.1 {client_port} {server_port}\r\n".encode()


def proxy_v2(client: str, client_port: int = 40000, server_port: int = 993) -> bytes:
    addresses = socket.inet_aton(client) + socket.inet_aton("127.0.0.1") + struct.pack("!HH", client_port, server_port)
    return b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x21, 0x11]) + struct.pack("!H", len(addresses)) + addresses


class Listeners(Server):
    """A Server that reports every listener it printed, so that the plaintext port may be
    absent and [[listener]] entries found."""

    listeners: list[tuple[str, int]]

    def start(self, timeout: float = 30) -> None:
        self.starts += 1
        out_path = self.data_dir.parent / f"{self.data_dir.name}-stdout-{self.starts}.log"
        cmd = [str(binary_path()), "--config", str(self.config), "--data-dir", str(self.data_dir), "serve"]
        self._stdout = open(out_path, "w+b")
        self._stderr = open(self.log_path, "w+b")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._stdout, stderr=self._stderr,
                                     preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = out_path.read_text(errors="replace")
            if "listening on" in text and text.endswith("\n") and self._settled(out_path):
                break
            assert self.proc.poll() is None, f"server exited: {self.stderr_tail()}"
            time.sleep(0.05)
        self.stdout_lines = out_path.read_text().splitlines()
        self.listeners = [(m.group(1), int(m.group(2))) for m in
                          (re.fullmatch(r"(imaps|imap) listening on 127\.0\.0\.1:(\d+)", line.strip())
                           for line in self.stdout_lines) if m]
        assert self.listeners, self.stdout_lines
        self.imaps_port = next((port for kind, port in self.listeners if kind == "imaps"), 0)
        self.imap_port = next((port for kind, port in self.listeners if kind == "imap"), 0)

    def _settled(self, out_path: Path) -> bool:
        # The listener lines are printed together; wait a moment for the last of them.
        before = out_path.read_text()
        time.sleep(0.2)
        return out_path.read_text() == before


@pytest.fixture
def make_listeners(binary, tmp_path, request):
    servers: list[Listeners] = []

    def make(config_text: str, name: str, users: tuple[str, ...] = ()) -> Listeners:
        path = tmp_path / f"{name}.toml"
        path.write_text(config_text)
        server = Listeners(data_dir=tmp_path / name, config=path)
        servers.append(server)
        for user in users:
            server.add_user(user)
        server.start()
        return server

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for server in servers:
        if failed:
            print(f"--- server stderr ({server.data_dir}) ---\n{server.stderr_tail()}")
        server.cleanup()


# ---------------------------------------------------------------------------------------------
# Allow and deny lists
# ---------------------------------------------------------------------------------------------


def test_a_deny_listed_address_is_refused_before_tls_while_others_are_served(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "deny", listen='deny = ["127.0.0.1/32"]'),
                         users=("alice",), name="deny")
    # Nothing sent: one plaintext BYE on both ports, then the close.
    assert read_until_closed(connect(server.imap_port)) == NOT_ACCEPTED_BYE
    assert read_until_closed(connect(server.imaps_port)) == NOT_ACCEPTED_BYE
    # No TLS handshake at all.
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        server.imaps()
    wait_for_audit(tmp_path, "deny", r"event=refused reason=denied ip=127\.0\.0\.1 port=\d+ ")
    # Another address is served.
    other = Raw(connect(server.imaps_port, OTHER), server.tls_context())
    tagged, _ = other.command(f"LOGIN alice {quote(server.users['alice'])}")
    assert b" OK [CAPABILITY" in tagged, tagged
    other.close()
    # A refusal by network is no failed login: nothing for fail2ban, nothing counted.
    assert not any("event=auth" in line and "127.0.0.1" in line for line in audit_lines(tmp_path, "deny"))


def test_an_internal_only_listener_admits_its_network_only(make_listeners, tmp_path):
    # The plaintext port disabled; one IMAPS listener for 127.0.1.0/24 only.
    text = config(tmp_path, "internal").replace(f'imap = ["{HOST}:0"]', "imap = []").replace(
        f'imaps = ["{HOST}:0"]', "imaps = []")
    text += f'\n[[listener]]\nkind = "imaps"\naddress = "{HOST}:0"\nallow = ["127.0.1.0/24"]\n'
    server = make_listeners(text, "internal", users=("alice",))
    assert [kind for kind, _ in server.listeners] == ["imaps"], server.stdout_lines
    assert read_until_closed(connect(server.imaps_port)) == NOT_ACCEPTED_BYE
    wait_for_audit(tmp_path, "internal", r"event=refused reason=not_allowed ip=127\.0\.0\.1 ")
    inside = Raw(connect(server.imaps_port, OTHER), server.tls_context())
    tagged, _ = inside.command(f"LOGIN alice {quote(server.users['alice'])}")
    assert b" OK " in tagged, tagged
    inside.close()
    shown = run_cli(["config", "check"], config=server.config).stdout
    assert "listen.imap           \n" in shown and "listener[0].allow     127.0.1.0/24" in shown, shown


def test_the_plaintext_port_can_be_disabled(make_listeners, tmp_path):
    text = config(tmp_path, "noplain").replace(f'imap = ["{HOST}:0"]', "imap = []")
    server = make_listeners(text, "noplain", users=("alice",))
    assert [kind for kind, _ in server.listeners] == ["imaps"], server.stdout_lines
    client = server.imaps("alice")
    assert client.noop()[0] == "OK"
    client.logout()


# ---------------------------------------------------------------------------------------------
# PROXY protocol
# ---------------------------------------------------------------------------------------------


PROXIED = 'proxy_protocol = true\ntrusted_proxies = ["127.0.0.1/32"]'


def test_a_proxy_header_from_an_untrusted_peer_is_refused(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "untrusted", listen=PROXIED), name="untrusted")
    for port in (server.imap_port, server.imaps_port):
        sock = connect(port, OTHER)
        sock.sendall(proxy_v1("192.0.2.7"))
        assert read_until_closed(sock) == NOT_ACCEPTED_BYE
        sock = connect(port, OTHER)
        sock.sendall(proxy_v2("192.0.2.7"))
        assert read_until_closed(sock) == NOT_ACCEPTED_BYE
    line = wait_for_audit(tmp_path, "untrusted", r"event=refused reason=untrusted_proxy ip=127\.0\.1\.1 port=\d+ ")
    # The address the header claimed is nowhere: it was never read.
    assert not any("192.0.2.7" in line for line in audit_lines(tmp_path, "untrusted")), line


def test_a_trusted_proxy_must_send_a_valid_header(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "header", listen=PROXIED), name="header")
    # No header: the first bytes are IMAP.
    sock = connect(server.imap_port)
    sock.sendall(b"a NOOP\r\n")
    assert read_until_closed(sock) == BAD_HEADER_BYE
    wait_for_audit(tmp_path, "header", r"event=refused reason=proxy_header ip=127\.0\.0\.1 port=\d+ header=missing ")
    # A malformed v1 header, and a TLS ClientHello instead of a header on the IMAPS port.
    sock = connect(server.imap_port)
    sock.sendall(b"PROXY TCP4 192.0.2.7 127.0.0.1 40000\r\n")
    assert read_until_closed(sock) == BAD_HEADER_BYE
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        ssl.create_default_context(cafile=str(server.cert_path)).wrap_socket(
            connect(server.imaps_port), server_hostname="localhost").recv(1)
    wait_for_audit(tmp_path, "header", r"reason=proxy_header .*header=invalid ")


def test_behind_a_trusted_proxy_bans_and_limits_apply_to_the_client_address(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "behind", listen=PROXIED, limits="max_connections_per_ip = 2",
                                            throttle="ip_ban_failures = 3"),
                         users=("alice",), name="behind")
    ctx = server.tls_context()

    def through_proxy(client: str, *, tls: bool = True, v2: bool = True) -> Raw:
        port = server.imaps_port if tls else server.imap_port
        sock = connect(port)
        sock.sendall(proxy_v2(client, server_port=port) if v2 else proxy_v1(client, server_port=port))
        return Raw(sock, ctx if tls else None)

    # A v2 header, then TLS: the session and the audit log see the client's address.
    client = through_proxy("192.0.2.7")
    tagged, _ = client.command(f"LOGIN alice {quote(server.users['alice'])}")
    assert b" OK [CAPABILITY" in tagged, tagged
    client.close()
    wait_for_audit(tmp_path, "behind", r"event=auth result=success ip=192\.0\.2\.7 port=40000 user=alice ")

    # Three wrong passwords from 203.0.113.9 behind the proxy ban that address, not the proxy.
    client = through_proxy("203.0.113.9")
    for i in range(2):
        tagged, _ = client.command(f"LOGIN alice {quote(f'wrong-{i}')}")
        assert b"NO [AUTHENTICATIONFAILED]" in tagged, tagged
    client.send(b"x LOGIN alice wrong-2\r\n")
    assert client.read_response().startswith(b"x NO [AUTHENTICATIONFAILED]")
    assert client.expect_closed() == BANNED_BYE
    wait_for_audit(tmp_path, "behind", r"event=ban scope=ip target=203\.0\.113\.9 ")
    # At connect, from the header (v1 on the plaintext port this time): the ban's BYE.
    sock = connect(server.imap_port)
    sock.sendall(proxy_v1("203.0.113.9", server_port=server.imap_port))
    assert read_until_closed(sock) == BANNED_BYE
    wait_for_audit(tmp_path, "behind", r"event=refused reason=banned ip=203\.0\.113\.9 ")
    # Everyone else behind the same proxy is served.
    other = through_proxy("203.0.113.10", tls=False, v2=False)
    assert other.greeting.startswith(b"* OK"), other.greeting
    other.close()

    # The per-address cap counts the client's address: a third connection of 198.51.100.5 is
    # refused, a connection of 198.51.100.6 is not.
    held = [through_proxy("198.51.100.5", tls=False) for _ in range(2)]
    sock = connect(server.imap_port)
    sock.sendall(proxy_v2("198.51.100.5", server_port=server.imap_port))
    assert read_until_closed(sock) == b"* BYE [LIMIT] Too many connections from your address\r\n"
    wait_for_audit(tmp_path, "behind", r"event=limit limit=max_connections_per_ip value=2 ip=198\.51\.100\.5 ")
    fine = through_proxy("198.51.100.6", tls=False)
    assert fine.greeting.startswith(b"* OK")
    for c in held + [fine]:
        c.close()


# ---------------------------------------------------------------------------------------------
# LOGIN without TLS for named networks only
# ---------------------------------------------------------------------------------------------


def test_plaintext_login_only_from_the_named_networks_and_check_reports_it(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "plain", listen='plaintext_auth_networks = ["127.0.0.1/32"]'),
                         users=("alice",), name="plain")
    # From the named network: AUTH=PLAIN instead of LOGINDISABLED, and LOGIN works (audited).
    inside = server.raw(tls=False)
    assert b"AUTH=PLAIN" in inside.greeting and b"LOGINDISABLED" not in inside.greeting, inside.greeting
    tagged, _ = inside.command(f"LOGIN alice {quote(server.users['alice'])}")
    assert b" OK [CAPABILITY" in tagged, tagged
    inside.close()
    wait_for_audit(tmp_path, "plain", r"event=plaintext_auth ip=127\.0\.0\.1 port=\d+ user=alice ")
    # From elsewhere: as without the setting.
    outside = Raw(connect(server.imap_port, OTHER), None)
    assert b"LOGINDISABLED" in outside.greeting and b"AUTH=" not in outside.greeting, outside.greeting
    tagged, _ = outside.command(f"LOGIN alice {quote(server.users['alice'])}")
    assert b"NO [PRIVACYREQUIRED]" in tagged, tagged
    outside.close()
    # The implicit-TLS port is unaffected.
    client = server.imaps("alice")
    client.logout()

    # `portcullis check` from the allowed address sees the exposure.
    result = run_cli(["check", f"{HOST}:{server.imap_port}", "--starttls", "--ca", str(server.cert_path),
                      "--name", "localhost", "--no-ciphers", "--json", "--timeout", "10"], timeout=120)
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    found = {f["id"]: f["verdict"] for f in json.loads(result.stdout)["findings"]}
    assert found["plain.starttls"] == "ok"
    assert found["plain.logindisabled"] == "warn"
    assert found["plain.auth"] == "fail"
    assert found["plain.login"] == "fail"
    shown = run_cli(["config", "check"], config=server.config).stdout
    assert "listen.plaintext_auth_networks 127.0.0.1/32" in shown, shown


# ---------------------------------------------------------------------------------------------
# A real load balancer: HAProxy with send-proxy (v1) and send-proxy-v2, health checks (LOCAL)
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


HAPROXY_CONFIG = """\
global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend imaps_in
    bind {host}:{imaps_front}
    default_backend imaps_out
backend imaps_out
    # v2, and health checks that send the v2 LOCAL command.
    server portcullis {host}:{imaps} send-proxy-v2 check inter 500ms check-send-proxy
frontend imap_in
    bind {host}:{imap_front}
    default_backend imap_out
backend imap_out
    server portcullis {host}:{imap} send-proxy
"""


def test_through_haproxy_the_client_address_is_what_portcullis_sees(make_server, tmp_path):
    haproxy = require_tool("haproxy")
    server = make_server(config_text=config(tmp_path, "haproxy", listen=PROXIED, throttle="ip_ban_failures = 3"),
                         users=("alice",), name="haproxy")
    imaps_front, imap_front = free_port(), free_port()
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(HAPROXY_CONFIG.format(host=HOST, imaps_front=imaps_front, imap_front=imap_front,
                                         imaps=server.imaps_port, imap=server.imap_port))
    check = subprocess.run([haproxy, "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    log = open(tmp_path / "haproxy.log", "w+b")
    proc = subprocess.Popen([haproxy, "-db", "-f", str(cfg)], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            preexec_fn=_die_with_parent)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection((HOST, imaps_front), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "haproxy.log").read_text()
                time.sleep(0.1)
        ctx = server.tls_context()
        # IMAPS through send-proxy-v2 from 127.0.1.1: logged in, audited with that address.
        client = Raw(connect(imaps_front, OTHER), ctx)
        tagged, _ = client.command(f"LOGIN alice {quote(server.users['alice'])}")
        assert b" OK [CAPABILITY" in tagged, tagged
        client.close()
        wait_for_audit(tmp_path, "haproxy", r"event=auth result=success ip=127\.0\.1\.1 port=\d+ user=alice ")
        # Plaintext through send-proxy (v1): the greeting, then STARTTLS and a login.
        plain = Raw(connect(imap_front, OTHER), None)
        tagged, _ = plain.command("STARTTLS")
        assert b" OK " in tagged, tagged
        plain.starttls(ctx)
        tagged, _ = plain.command(f"LOGIN alice {quote(server.users['alice'])}")
        assert b" OK " in tagged, tagged
        plain.close()
        # Three wrong passwords from 127.0.1.1 ban 127.0.1.1, not HAProxy's address.
        bad = Raw(connect(imaps_front, OTHER), ctx)
        for i in range(2):
            tagged, _ = bad.command(f"LOGIN alice {quote(f'wrong-{i}')}")
            assert b"NO [AUTHENTICATIONFAILED]" in tagged, tagged
        bad.send(b"x LOGIN alice wrong-2\r\n")
        assert bad.read_response().startswith(b"x NO [AUTHENTICATIONFAILED]")
        assert bad.expect_closed() == BANNED_BYE
        wait_for_audit(tmp_path, "haproxy", r"event=ban scope=ip target=127\.0\.1\.1 ")
        assert read_until_closed(connect(imap_front, OTHER)) == BANNED_BYE
        fine = Raw(connect(imaps_front), ctx)
        tagged, _ = fine.command(f"LOGIN alice {quote(server.users['alice'])}")
        assert b" OK " in tagged, tagged
        fine.close()
        # HAProxy's health checks (LOCAL) were served, never refused.
        assert not any("reason=proxy_header" in line or "untrusted_proxy" in line
                       for line in audit_lines(tmp_path, "haproxy")), audit_lines(tmp_path, "haproxy")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
