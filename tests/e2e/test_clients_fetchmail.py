"""fetchmail over implicit TLS (`ssl`, certificate checked with `sslcertck` against
`sslcertfile`), delivering to an MDA command that writes each message to a file: with `keep`
(messages stay on the server, marked \\Seen, and a second poll fetches only what is new)
and without (messages are deleted on the server).

fetchmail prepends its own `Received:` header and hands the MDA LF line ends; the
comparison removes exactly that header and converts back to CRLF. `no rewrite` keeps it from
rewriting addresses. It checks the certificate's DNS names, so it polls `localhost`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clients import delivered, drop_leading_header, lf_to_crlf, require, run, write_mda
from support import make_message, make_multipart, uid_fetch_body


def write_rc(path: Path, *, port: int, password: str, cert: Path, mda: Path, keep: bool) -> None:
    assert '"' not in password and "\\" not in password
    path.write_text(f"""set no syslog
poll localhost service {port} protocol IMAP timeout 20
  user "alice" there password "{password}" is "alice" here
  ssl sslcertck sslcertfile "{cert}"
  {"keep" if keep else "nokeep"}
  no rewrite
  mda "{mda}"
""")
    path.chmod(0o600)


def as_stored(message: bytes) -> bytes:
    return lf_to_crlf(drop_leading_header(message, b"Received"))


@pytest.fixture
def fetchmail(tmp_path):
    exe = require("fetchmail", ["--version"], r"fetchmail release (\S+?)\+")[0]
    home = tmp_path / "fetchmail-home"
    home.mkdir()
    out = tmp_path / "delivered"
    mda = write_mda(tmp_path, out)

    def poll(server, *, keep: bool, expect_mail: bool = True):
        rc = tmp_path / "fetchmailrc"
        write_rc(rc, port=server.imaps_port, password=server.users["alice"], cert=server.cert_path,
                 mda=mda, keep=keep)
        env = dict(os.environ, FETCHMAILHOME=str(home), HOME=str(home))
        result = run([exe, "-f", str(rc), "--nodetach", "-v"], env=env, check=False)
        # fetchmail's exit status: 0 mail was retrieved, 1 there was none.
        assert result.returncode == (0 if expect_mail else 1), (result.returncode, result.stdout[-3000:],
                                                                result.stderr[-3000:])
        log = result.stdout + result.stderr
        assert "SSL/TLS: using protocol TLSv1.3" in log or "SSL/TLS: using protocol TLSv1.2" in log, log[-2000:]
        return result

    return poll, out


def server_messages(server) -> dict[int, tuple[bytes, str]]:
    with server.imaps("alice") as client:
        client.select("INBOX", readonly=True)
        typ, data = client.uid("SEARCH", "ALL")
        result = {}
        for uid in (int(u) for u in data[0].split()):
            typ, flags = client.uid("FETCH", str(uid), "(FLAGS)")
            result[uid] = (uid_fetch_body(client, uid), flags[0].decode())
        return result


def test_clients_fetchmail_keep_marks_seen_and_fetches_only_new_mail(server, fetchmail):
    poll, out = fetchmail
    messages = [make_message(f"fetchmail keep {i}", size=1500 * (i + 1) ** 3, seed=i) for i in range(3)]
    messages.append(make_multipart("fetchmail multipart"))
    with server.imaps("alice") as client:
        for message in messages:
            client.append("INBOX", None, None, message)

    poll(server, keep=True)
    assert sorted(as_stored(m) for m in delivered(out)) == sorted(messages)
    on_server = server_messages(server)
    assert [body for body, _ in on_server.values()] == messages, "keep must leave every message"
    assert all("\\Seen" in flags for _, flags in on_server.values()), on_server

    # Nothing new: nothing delivered. Then one new message: exactly that one.
    poll(server, keep=True, expect_mail=False)
    assert len(delivered(out)) == 4
    late = make_message("fetchmail keep late arrival", seed=9)
    with server.imaps("alice") as client:
        client.append("INBOX", None, None, late)
    poll(server, keep=True)
    assert sorted(as_stored(m) for m in delivered(out)) == sorted(messages + [late])
    assert len(server_messages(server)) == 5


def test_clients_fetchmail_without_keep_deletes_on_the_server(server, fetchmail):
    poll, out = fetchmail
    messages = [make_message(f"fetchmail delete {i}", size=20000 * i, seed=i) for i in range(3)]
    with server.imaps("alice") as client:
        for message in messages:
            client.append("INBOX", "(\\Flagged)", None, message)
        client.create('"Untouched"')
        client.append('"Untouched"', None, None, make_message("elsewhere", seed=8))

    poll(server, keep=False)
    assert sorted(as_stored(m) for m in delivered(out)) == sorted(messages)
    assert server_messages(server) == {}, "fetched messages must be expunged on the server"
    with server.imaps("alice") as client:
        typ, data = client.status('"Untouched"', "(MESSAGES)")
        assert b"MESSAGES 1" in data[0]
        typ, data = client.status("INBOX", "(MESSAGES UIDNEXT)")
        assert b"MESSAGES 0" in data[0] and b"UIDNEXT 4" in data[0], data
