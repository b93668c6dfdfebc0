"""Hardening end to end (issue 6, items 1, 2 and 5): the brute-force defence (delays, the ban
at connect before TLS, its expiry, its survival of a crash), the connection caps answering
[LIMIT], the BYE after a run of BAD commands, the audit log's lines (and the absence of
secrets from it and from the main log), and the fail2ban filter against the real log.

Two client addresses are used: 127.0.0.1 (the attacker) and 127.0.1.1 (another /24 on the
loopback interface) for a client that must not be affected.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from conftest import require_tool
from support import HOST, IO_TIMEOUT, REPO, ConnectionClosed, RawIMAP, quote, run_cli

OTHER = "127.0.1.1"  # another /24: never banned with 127.0.0.1's /24 prefix at 10 failures
BANNED_BYE = b"* BYE [UNAVAILABLE] Too many failed logins from your address, try again later\r\n"
FILTER = REPO / "contrib" / "fail2ban" / "filter.d" / "portcullis.conf"
JAIL = REPO / "contrib" / "fail2ban" / "jail.d" / "portcullis.conf"


class RawFrom(RawIMAP):
    """RawIMAP from a chosen source address."""

    def __init__(self, port: int, ctx: ssl.SSLContext | None, source: str):
        self.timeout = IO_TIMEOUT
        sock = socket.create_connection((HOST, port), timeout=IO_TIMEOUT, source_address=(source, 0))
        if ctx is not None:
            sock = ctx.wrap_socket(sock, server_hostname=HOST)
        self.sock = sock
        self.buf = b""
        self.counter = 0
        self.greeting = self.read_response()


def config(tmp_path: Path, name: str, *, limits: str = "", throttle: str = "", log: str = "") -> str:
    return f"""
data_dir = "{tmp_path / name}"
[listen]
imaps = ["{HOST}:0"]
imap = ["{HOST}:0"]
[limits]
{limits}
[throttle]
# Short delays keep the test fast; their growth is what is checked.
delay_initial_ms = 100
delay_max_ms = 400
{throttle}
[log]
audit = "{tmp_path / (name + '-audit.log')}"
{log}
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


def read_until_closed(port: int, source: str = HOST) -> bytes:
    """Connects without TLS, sends nothing, returns everything until the server closes."""
    sock = socket.create_connection((HOST, port), timeout=IO_TIMEOUT, source_address=(source, 0))
    data = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        sock.close()
    return data


def fail_logins(server, n: int, *, user: str = "alice") -> tuple[list[float], list[bytes]]:
    """n wrong passwords on one TLS connection from 127.0.0.1: (seconds per answer, answers)."""
    client = server.raw()
    took, answers = [], []
    for i in range(n):
        started = time.monotonic()
        tagged, untagged = client.command(f"LOGIN {user} {quote(f'wrong-{i}')}")
        took.append(time.monotonic() - started)
        answers.append(tagged)
    client.close()
    return took, answers


def ban_localhost(server, already: int = 0) -> None:
    """Failures from 127.0.0.1 up to the tenth (`already` were counted before): its answer
    is NO followed by the ban's BYE."""
    client = server.raw()
    for i in range(9 - already):
        tagged, _ = client.command(f"LOGIN root {quote(f'guess-{i}')}")
        assert b"NO [AUTHENTICATIONFAILED]" in tagged, tagged
    client.send(b"last LOGIN root guess-9\r\n")
    assert client.read_response().startswith(b"last NO [AUTHENTICATIONFAILED]")
    rest = client.expect_closed()
    assert rest == BANNED_BYE, rest


def eventually(attempt, timeout: float = 5):
    """`attempt()`'s result once it stops raising (a connection the server is still closing
    holds its place for a moment after the client saw the end)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return attempt()
        except (AssertionError, OSError, ConnectionClosed, imaplib_error()):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def imaplib_error():
    import imaplib
    return imaplib.IMAP4.error


# ---------------------------------------------------------------------------------------------
# Brute-force defence
# ---------------------------------------------------------------------------------------------


def test_a_burst_of_wrong_passwords_is_delayed_then_banned_while_another_address_logs_in(
        make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "burst"), users=("alice",), name="burst")
    took, answers = fail_logins(server, 6)
    assert all(a.endswith(b"NO [AUTHENTICATIONFAILED] Authentication failed\r\n") for a in answers), answers
    # No delay for the first two failures, then 100, 200, 400, 400 ms (the configured cap).
    for seconds, delay in zip(took[2:], (0.1, 0.2, 0.4, 0.4)):
        assert seconds >= delay, took
    delays = [int(re.search(r"delay_ms=(\d+)", line).group(1))
              for line in audit_lines(tmp_path, "burst") if "event=throttle" in line]
    assert delays == [100, 200, 400, 400], delays

    # Four more failures from another connection of the same address: banned at the tenth.
    client = server.raw()
    for i in range(3):
        tagged, _ = client.command(f"LOGIN alice {quote(f'again-{i}')}")
        assert b"NO [AUTHENTICATIONFAILED]" in tagged, tagged
    client.send(b"x LOGIN alice wrong-again\r\n")
    assert client.read_response().startswith(b"x NO [AUTHENTICATIONFAILED]")
    assert client.expect_closed() == BANNED_BYE
    wait_for_audit(tmp_path, "burst", r"event=ban scope=ip target=127\.0\.0\.1 duration_secs=900 repeat=1 ")

    # At connect, before any TLS: a plaintext BYE on both ports, and no handshake at all.
    assert read_until_closed(server.imap_port) == BANNED_BYE
    assert read_until_closed(server.imaps_port) == BANNED_BYE
    with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
        server.imaps()
    wait_for_audit(tmp_path, "burst", r"event=refused reason=banned ip=127\.0\.0\.1 port=\d+ ")

    # Another address logs in normally, without delay, right away.
    other = RawFrom(server.imaps_port, server.tls_context(), OTHER)
    started = time.monotonic()
    tagged, _ = other.command(f"LOGIN alice {quote(server.users['alice'])}")
    assert b" OK [CAPABILITY" in tagged, tagged
    assert time.monotonic() - started < 5
    tagged, _ = other.command("SELECT INBOX")
    assert b" OK " in tagged
    other.close()
    wait_for_audit(tmp_path, "burst", r"event=auth result=success ip=127\.0\.1\.1 port=\d+ user=alice ")


def test_the_ban_expires(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "expiry", throttle="ban_secs = 2"),
                         users=("alice",), name="expiry")
    ban_localhost(server)
    assert read_until_closed(server.imap_port) == BANNED_BYE
    wait_for_audit(tmp_path, "expiry", r"event=unban scope=ip target=127\.0\.0\.1 ", timeout=10)
    client = server.imaps("alice")
    assert client.noop()[0] == "OK"
    client.logout()


def test_the_ban_survives_a_crash_and_restart(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "restart"), users=("alice",), name="restart")
    ban_localhost(server)
    # The ban was stored before its BYE was sent: SIGKILL right away loses nothing.
    server.kill9()
    server.start()
    assert read_until_closed(server.imap_port) == BANNED_BYE
    assert read_until_closed(server.imaps_port) == BANNED_BYE
    other = RawFrom(server.imaps_port, server.tls_context(), OTHER)
    tagged, _ = other.command(f"LOGIN alice {quote(server.users['alice'])}")
    assert b" OK " in tagged, tagged
    other.close()


def test_failures_against_one_account_delay_it_but_never_lock_it_out(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "account", throttle="ip_ban_failures = 3\nprefix_ban_failures = 1000"),
                         users=("alice",), name="account")
    # 127.0.0.1 fails against alice until it is banned (3 failures).
    client = server.raw()
    for i in range(3):
        client.send(f"f{i} LOGIN alice {quote(f'guess-{i}')}\r\n".encode())
        assert b"NO [AUTHENTICATIONFAILED]" in client.read_response()
    assert client.expect_closed() == BANNED_BYE
    # alice, from her own address, still logs in (her name's failures only delay).
    other = RawFrom(server.imaps_port, server.tls_context(), OTHER)
    tagged, _ = other.command(f"LOGIN alice {quote(server.users['alice'])}")
    assert b" OK " in tagged, tagged
    other.close()


# ---------------------------------------------------------------------------------------------
# Connection limits
# ---------------------------------------------------------------------------------------------


def test_connections_per_address_answer_limit(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "perip", limits="max_connections_per_ip = 3"),
                         users=("alice",), name="perip")
    open_ = [server.imaps("alice") for _ in range(3)]
    refused = RawIMAP(server.imaps_port, server.tls_context(), read_greeting=False)
    assert refused.expect_closed() == b"* BYE [LIMIT] Too many connections from your address\r\n"
    other = RawFrom(server.imaps_port, server.tls_context(), OTHER)
    assert other.greeting.startswith(b"* OK")
    other.close()
    open_.pop().logout()
    again = eventually(lambda: server.imaps("alice"))
    again.logout()
    for client in open_:
        client.logout()
    wait_for_audit(tmp_path, "perip", r"event=limit limit=max_connections_per_ip value=3 ip=127\.0\.0\.1 port=\d+ ")


def test_unauthenticated_connections_per_address_answer_limit(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "preauth", limits="max_preauth_connections_per_ip = 2"),
                         users=("alice",), name="preauth")
    first, second = server.raw(tls=False), server.raw(tls=False)
    refused = RawIMAP(server.imap_port, None, read_greeting=False)
    assert refused.expect_closed() == b"* BYE [LIMIT] Too many connections from your address still logging in\r\n"
    # Another address is not affected.
    other = RawFrom(server.imap_port, None, OTHER)
    assert other.greeting.startswith(b"* OK")
    # A connection that logs in stops counting at once.
    tagged, _ = first.command("STARTTLS")
    assert b" OK " in tagged
    first.starttls(server.tls_context())
    tagged, _ = first.command(f"LOGIN alice {quote(server.users['alice'])}")
    assert b" OK " in tagged, tagged
    third = server.raw(tls=False)
    assert third.greeting.startswith(b"* OK")
    wait_for_audit(tmp_path, "preauth", r"event=limit limit=max_preauth_connections_per_ip value=2 ip=127\.0\.0\.1 ")
    for client in (first, second, third, other):
        client.close()


def test_sessions_per_account_and_address_answer_limit_not_authenticationfailed(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "userip", limits="max_connections_per_user_ip = 2"),
                         users=("alice", "bob"), name="userip")
    sessions = [server.imaps("alice") for _ in range(2)]
    third = server.raw()
    tagged, _ = third.command(f"LOGIN alice {quote(server.users['alice'])}")
    assert tagged.startswith(b"t1 NO [LIMIT] "), tagged
    assert b"AUTHENTICATIONFAILED" not in tagged
    # The connection stays usable; bob is not affected; alice from elsewhere is not either.
    tagged, _ = third.command(f"LOGIN bob {quote(server.users['bob'])}")
    assert b" OK " in tagged, tagged
    elsewhere = RawFrom(server.imaps_port, server.tls_context(), OTHER)
    tagged, _ = elsewhere.command(f"LOGIN alice {quote(server.users['alice'])}")
    assert b" OK " in tagged, tagged
    # A LIMIT is not a failure: it never leads to a ban.
    assert not any("result=failure" in line for line in audit_lines(tmp_path, "userip"))
    wait_for_audit(tmp_path, "userip", r"event=limit limit=max_connections_per_user_ip value=2 ip=127\.0\.0\.1 port=\d+ user=alice ")
    # A session that logs out frees its place before its OK.
    sessions.pop().logout()
    tagged, _ = server.raw().command(f"LOGIN alice {quote(server.users['alice'])}")
    assert b" OK " in tagged, tagged
    for client in (third, elsewhere):
        client.close()
    for client in sessions:
        client.logout()


def test_a_run_of_bad_commands_ends_with_bye(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "bad", limits="max_bad_commands = 3"),
                         users=("alice",), name="bad")
    client = server.raw_login("alice")
    client.send(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
    data = client.expect_closed()
    assert data.endswith(b"* BYE Too many invalid commands\r\n"), data
    assert len(re.findall(rb"(?m)^\S+ BAD ", data)) == 3, data
    wait_for_audit(tmp_path, "bad", r"event=limit limit=max_bad_commands value=3 ip=127\.0\.0\.1 port=\d+ user=alice ")
    # Interleaved good commands start the count again.
    client = server.raw_login("alice")
    for _ in range(5):
        client.send(b"a FROBNICATE\r\nb FROBNICATE\r\n")
        client.read_response()
        client.read_response()
        tagged, _ = client.command("NOOP")
        assert b" OK " in tagged
    client.close()


# ---------------------------------------------------------------------------------------------
# The audit log
# ---------------------------------------------------------------------------------------------

PASSWORD = "Corr3ct horse-battery"  # alice's password in the secrets test
WRONG = "Wr0ng-staple-9431"


def exercise_logins(server) -> None:
    """A success and a failure with LOGIN, both with AUTHENTICATE PLAIN, and a wrong user."""
    with server.imaps("alice") as ok:
        ok.noop()
    client = server.raw()
    tagged, _ = client.command(f"LOGIN alice {quote(WRONG)}")
    assert b"AUTHENTICATIONFAILED" in tagged
    for password in (WRONG, PASSWORD):
        response = base64.b64encode(f"\0alice\0{password}".encode()).decode()
        fresh = server.raw()
        tagged, _ = fresh.command(f"AUTHENTICATE PLAIN {response}")
        fresh.close()
    tagged, _ = client.command(f"LOGIN nosuchuser {quote(WRONG)}")
    assert b"AUTHENTICATIONFAILED" in tagged
    client.close()


def test_audit_lines_have_the_fields_and_no_secret_reaches_any_log(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "audit", log='level = "debug"'), name="audit")
    server.add_user("alice", PASSWORD)
    exercise_logins(server)
    run_cli(["user", "del", "nosuchuser"], data_dir=server.data_dir, config=server.config)
    server.stop()
    audit = audit_lines(tmp_path, "audit")
    text = "\n".join(audit)
    stamp = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z audit: "
    for pattern in [
        stamp + r"event=admin result=success action=\"user add\" user=alice operator=\S+ msg=\"account changed\"$",
        stamp + r"event=admin result=failure action=\"user del\" user=nosuchuser ",
        stamp + r"event=auth result=success ip=127\.0\.0\.1 port=\d+ user=alice mechanism=LOGIN msg=login$",
        stamp + r"event=auth result=failure ip=127\.0\.0\.1 port=\d+ user=alice mechanism=LOGIN msg=login$",
        stamp + r"event=auth result=failure ip=127\.0\.0\.1 port=\d+ user=alice mechanism=PLAIN msg=login$",
        stamp + r"event=auth result=success ip=127\.0\.0\.1 port=\d+ user=alice mechanism=PLAIN msg=login$",
        stamp + r"event=auth result=failure ip=127\.0\.0\.1 port=\d+ user=nosuchuser mechanism=LOGIN msg=login$",
        stamp + r"event=throttle ip=127\.0\.0\.1 port=\d+ user=\S+ mechanism=\S+ delay_ms=\d+ ",
    ]:
        assert any(re.search(pattern, line) for line in audit), f"{pattern}\n{text}"
    main_log = b"".join(p.read_bytes() for p in tmp_path.glob("audit-stderr-*.log")).decode(errors="replace")
    assert "DEBUG" in main_log, "the main log ran at debug level"
    assert "event=auth" not in main_log and "audit:" not in main_log, "audit lines stay out of the main log"
    for secret in (PASSWORD, WRONG, "Corr3ct", "Wr0ng"):
        for encoded in (secret, base64.b64encode(f"\0alice\0{secret}".encode()).decode()):
            assert encoded not in text, f"{encoded!r} in the audit log"
            assert encoded not in main_log, f"{encoded!r} in the main log"


def test_audit_lines_in_json(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "json", log='audit_format = "json"'),
                         users=("alice",), name="json")
    with server.imaps("alice") as ok:
        ok.noop()
    fail_logins(server, 1)
    server.stop()
    records = [json.loads(line) for line in audit_lines(tmp_path, "json")]
    auth = [r for r in records if r.get("event") == "auth"]
    assert {r["result"] for r in auth} == {"success", "failure"}, records
    for record in auth:
        assert record["ip"] == "127.0.0.1" and isinstance(record["port"], int)
        assert record["user"] == "alice" and record["mechanism"] == "LOGIN"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["time"])


# ---------------------------------------------------------------------------------------------
# fail2ban
# ---------------------------------------------------------------------------------------------


def fail2ban_regex(log: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([require_tool("fail2ban-regex"), *extra, str(log), str(FILTER)],
                          capture_output=True, text=True, timeout=60)


def test_fail2ban_filter_matches_the_real_failure_lines_only(make_server, tmp_path):
    server = make_server(config_text=config(tmp_path, "f2b"), name="f2b")
    server.add_user("alice", PASSWORD)
    exercise_logins(server)
    # A user name crafted to look like another address must not be taken for one.
    client = server.raw()
    client.command('LOGIN "x ip=6.6.6.6 port=1 " wrong')
    client.close()
    # 127.0.0.1 has two failures since alice's PLAIN success reset its count (nosuchuser
    # and the crafted name): eight more ban it. Then a refused connection.
    ban_localhost(server, already=2)
    read_until_closed(server.imap_port)
    wait_for_audit(tmp_path, "f2b", r"event=refused ")
    server.stop()
    log = tmp_path / "f2b-audit.log"
    lines = log.read_text().splitlines()
    failures = [l for l in lines if re.search(r"event=auth result=(failure|banned) |event=refused ", l)]
    successes = [l for l in lines if "event=auth result=success" in l]
    # LOGIN, PLAIN, nosuchuser, the crafted name, eight to the ban, one refused connection.
    assert len(failures) == 13 and len(successes) == 2, "\n".join(lines)

    result = fail2ban_regex(log, "--print-all-matched")
    assert result.returncode == 0, result.stderr
    summary = re.search(r"Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed", result.stdout)
    assert summary, result.stdout
    assert int(summary.group(3)) == len(failures), result.stdout
    for line in successes:
        assert line not in result.stdout.split("Missed line(s):")[0], f"a success matched: {line}"
    ips = fail2ban_regex(log, "--out", "ip")
    assert ips.returncode == 0, ips.stderr
    assert set(ips.stdout.split()) == {"127.0.0.1"}, ips.stdout


def test_fail2ban_accepts_the_jail(tmp_path):
    """The jail and filter load in a copy of the system's fail2ban configuration (checked
    with `fail2ban-client --test`; no fail2ban server is started)."""
    client = require_tool("fail2ban-client")
    conf = tmp_path / "fail2ban"
    shutil.copytree("/etc/fail2ban", conf)
    for jail in (conf / "jail.d").glob("*"):
        jail.unlink()  # the distribution's jails watch logs this machine may not have
    log = tmp_path / "audit.log"
    log.write_text("")
    shutil.copy(FILTER, conf / "filter.d" / "portcullis.conf")
    (conf / "jail.d" / "portcullis.conf").write_text(
        JAIL.read_text().replace("/var/log/portcullis/audit.log", str(log)))
    result = subprocess.run([client, "-c", str(conf), "--test"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout + result.stderr
    dump = subprocess.run([client, "-c", str(conf), "-d"], capture_output=True, text=True, timeout=60)
    assert "'portcullis'" in dump.stdout and str(log) in dump.stdout, dump.stdout + dump.stderr
