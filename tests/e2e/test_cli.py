"""The command line: account administration (passwords on stdin only), `init`, `config check`."""

from __future__ import annotations

import imaplib
import re
import subprocess

import pytest

from support import HOST, Server, binary_path, run_cli


def can_login(server: Server, user: str, password: str) -> bool:
    client = server.imaps()
    try:
        client.login(user, password)
        return True
    except imaplib.IMAP4.error as e:
        assert "AUTHENTICATIONFAILED" in str(e), e
        return False
    finally:
        client.shutdown()


def test_user_add_list_passwd_del_against_a_running_server(make_server, tmp_path):
    server = make_server(users=("alice",))
    data = server.data_dir
    # Added while the server runs: usable at once.
    result = run_cli(["user", "add", "Carol.Smith@example.org"], stdin_text="first secret\n", data_dir=data)
    assert result.returncode == 0, result.stderr
    assert "first secret" not in result.stdout + result.stderr
    listed = run_cli(["user", "list"], data_dir=data)
    assert listed.returncode == 0
    names = listed.stdout.split()
    assert "alice" in names and "carol.smith@example.org" in names, listed.stdout
    assert "demo" not in names  # accounts were made before the first start: no demo account
    assert can_login(server, "carol.smith@example.org", "first secret")
    assert can_login(server, "Carol.Smith@example.org", "first secret")  # names are case-insensitive
    # passwd: the new password works, the old one no longer does.
    result = run_cli(["user", "passwd", "carol.smith@example.org"], stdin_text="second secret\n", data_dir=data)
    assert result.returncode == 0, result.stderr
    assert can_login(server, "carol.smith@example.org", "second secret")
    assert not can_login(server, "carol.smith@example.org", "first secret")
    # del: login stops working, the account disappears from the list.
    result = run_cli(["user", "del", "carol.smith@example.org"], data_dir=data)
    assert result.returncode == 0, result.stderr
    assert not can_login(server, "carol.smith@example.org", "second secret")
    names = run_cli(["user", "list"], data_dir=data).stdout.split()
    assert "carol.smith@example.org" not in names and "alice" in names
    # alice is untouched.
    assert can_login(server, "alice", server.users["alice"])


def test_deleting_an_account_ends_its_mail(make_server):
    server = make_server(users=("dora",))
    with server.imaps("dora") as client:
        client.append("INBOX", None, None, b"Subject: x\r\n\r\nprivate\r\n")
    assert run_cli(["user", "del", "dora"], data_dir=server.data_dir).returncode == 0
    # Re-created with the same name: a fresh, empty account.
    server.add_user("dora")
    with server.imaps("dora") as client:
        typ, data = client.status("INBOX", "(MESSAGES)")
        assert b"MESSAGES 0" in data[0], data


def test_duplicate_add_fails_with_a_message(tmp_path):
    data = tmp_path / "data"
    assert run_cli(["user", "add", "erin"], stdin_text="pw one\n", data_dir=data).returncode == 0
    result = run_cli(["user", "add", "erin"], stdin_text="pw two\n", data_dir=data)
    assert result.returncode == 1
    assert "erin" in result.stderr and "exist" in result.stderr, result.stderr
    result = run_cli(["user", "add", "ERIN"], stdin_text="pw two\n", data_dir=data)
    assert result.returncode == 1, "names differing in case only must collide"


@pytest.mark.parametrize("name", ["bad name", "a/b", 'quo"te', "star*", "tab\tname", ""])
def test_invalid_names_are_refused(tmp_path, name):
    result = run_cli(["user", "add", name], stdin_text="pw\n", data_dir=tmp_path / "data")
    assert result.returncode == 1, (name, result)
    assert "invalid account name" in result.stderr or "name" in result.stderr, result.stderr
    assert run_cli(["user", "list"], data_dir=tmp_path / "data").stdout.strip() == ""


def test_unknown_user_passwd_and_del_fail(tmp_path):
    data = tmp_path / "data"
    result = run_cli(["user", "passwd", "nobody"], stdin_text="x\n", data_dir=data)
    assert result.returncode == 1 and "nobody" in result.stderr, result
    result = run_cli(["user", "del", "nobody"], data_dir=data)
    assert result.returncode == 1 and "nobody" in result.stderr, result


def test_password_only_from_stdin(tmp_path):
    data = tmp_path / "data"
    # No password on stdin: a clear failure, promptly, not a hang waiting for a terminal.
    result = run_cli(["user", "add", "frank"], stdin=subprocess.DEVNULL, data_dir=data, timeout=20)
    assert result.returncode == 1, result
    assert "password" in result.stderr.lower(), result.stderr
    result = run_cli(["user", "add", "frank"], stdin_text="\n", data_dir=data)
    assert result.returncode == 1 and "password" in result.stderr.lower(), result
    # There is no way to put the password in argv.
    result = run_cli(["user", "add", "frank", "secret"], stdin_text="x\n", data_dir=data)
    assert result.returncode == 2, result
    result = run_cli(["user", "add", "frank", "--password", "secret"], stdin_text="x\n", data_dir=data)
    assert result.returncode == 2, result
    assert "frank" not in run_cli(["user", "list"], data_dir=data).stdout.split()


def test_usage_errors_exit_2():
    result = subprocess.run([str(binary_path()), "frobnicate"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 2 and "frobnicate" in result.stderr
    result = subprocess.run([str(binary_path()), "user"], capture_output=True, text=True, timeout=10,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 2


def loopback_config(template: str, data_dir) -> str:
    """The `init` template with data_dir and listeners pointed at a temp dir and loopback."""
    text = re.sub(r'(?m)^data_dir = .*$', f'data_dir = "{data_dir}"', template, count=1)
    text = re.sub(r'(?m)^imaps = .*$', f'imaps = ["{HOST}:0"]', text, count=1)
    text = re.sub(r'(?m)^imap = .*$', f'imap = ["{HOST}:0"]', text, count=1)
    assert text.count(str(data_dir)) == 1 and text.count(f"{HOST}:0") == 2, text
    return text


def test_init_template_passes_config_check_and_serves(tmp_path, make_server):
    result = run_cli(["init", "-"])
    assert result.returncode == 0, result.stderr
    template = result.stdout
    assert template.count("\n#") >= 5, "the template is commented"
    data_dir = tmp_path / "prod-data"
    config = tmp_path / "portcullis.toml"
    config.write_text(loopback_config(template, data_dir))
    check = run_cli(["config", "check"], config=config)
    assert check.returncode == 0, check.stderr
    values = dict(re.split(r"\s+", line, maxsplit=1) for line in check.stdout.splitlines() if line.strip())
    assert values["mode"] == "Production"
    assert values["data_dir"] == str(data_dir)
    assert values["listen.imaps"] == f"{HOST}:0" and values["listen.imap"] == f"{HOST}:0"
    assert values["append_limit_bytes"] == "67108864"
    assert values["idle_timeout_secs"] == "1800"
    # A production config never creates a demo account, and it serves on loopback.
    server = Server(data_dir=data_dir, config=config)
    server.add_user("alice")
    server.start()
    try:
        assert not any("demo" in line for line in server.stdout_lines), server.stdout_lines
        assert can_login(server, "alice", server.users["alice"])
        assert run_cli(["user", "list"], config=config).stdout.split() == ["alice"]
    finally:
        server.cleanup()


def test_init_writes_a_file_and_refuses_to_overwrite(tmp_path):
    path = tmp_path / "p.toml"
    result = run_cli(["init", str(path)])
    assert result.returncode == 0 and path.read_text() == run_cli(["init", "-"]).stdout
    path.write_text("# mine\n")
    result = run_cli(["init", str(path)])
    assert result.returncode == 1 and "exists" in result.stderr, result
    assert path.read_text() == "# mine\n"
    assert run_cli(["init", str(path), "--force"]).returncode == 0
    assert path.read_text().startswith("# Portcullis")


@pytest.mark.parametrize("text,needle", [
    ("[limits]\nmax_conections = 5\n", "max_conections"),
    ("data_dir = '/tmp/x'\nlisten_on = 1\n", "listen_on"),
    ("[tls]\ncertificate = 'a'\nkey = 'b'\npassword = 'c'\n", "password"),
    ("[limits]\nidle_timeout_secs = 60\n", "idle_timeout_secs"),
    ("[listen]\nimaps = ['not an address']\n", "imaps"),
])
def test_bad_config_is_refused_naming_the_key(tmp_path, text, needle):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    result = run_cli(["config", "check"], config=config)
    assert result.returncode == 1, result
    assert needle in result.stderr, result.stderr
    # serve refuses it the same way, without starting.
    result = run_cli(["serve"], config=config, timeout=20)
    assert result.returncode == 1 and needle in result.stderr, result


def test_open_session_of_a_deleted_account_cannot_read_the_next_account_created(make_server):
    """Security: `user del` must end the account's access for good.

    Account ids are SQLite rowids declared `id INTEGER PRIMARY KEY` without AUTOINCREMENT, so
    deleting the newest account and creating another one reuses its id; a session that logged
    in to the deleted account (and stayed in the authenticated state, which `user del` does not
    end) then reads and writes the new account's mail."""
    server = make_server(users=("alice",))
    server.add_user("zed")
    stale = server.raw_login("zed")  # logged in, nothing selected
    assert run_cli(["user", "del", "zed"], data_dir=server.data_dir).returncode == 0
    server.add_user("carol")
    secret = b"Subject: for carol only\r\n\r\nthe launch code is 0000\r\n"
    with server.imaps("carol") as carol:
        assert carol.append("INBOX", None, None, secret)[0] == "OK"
    received = b""
    try:
        tagged, untagged = stale.command("SELECT INBOX")
        received += b"".join(untagged) + tagged
        tagged, untagged = stale.command("FETCH 1:* BODY.PEEK[]")
        received += b"".join(untagged) + tagged
        tagged, untagged = stale.command("STATUS INBOX (MESSAGES)")
        received += b"".join(untagged) + tagged
    except Exception:  # noqa: BLE001 - a closed connection is a fine answer
        pass
    assert b"launch code" not in received, received
    assert b"* 1 EXISTS" not in received and b"MESSAGES 1" not in received, received


def test_index_builds_the_search_index_of_delivered_mail(make_server):
    """`portcullis index` indexes what `deliver` stored while no server ran (the server's
    background indexer would, later), and SEARCH finds it exactly."""
    server = make_server(users=("alice",))
    server.stop()
    data = server.data_dir
    for n, body in enumerate(["the Zanzibar figures", "nothing to see", "more zanzibar news"]):
        delivered = run_cli(["deliver", "alice"], stdin_text=f"Subject: report {n}\r\n\r\n{body}\r\n",
                            data_dir=data)
        assert delivered.returncode == 0, delivered.stderr
    indexed = run_cli(["index"], data_dir=data)
    assert indexed.returncode == 0, indexed.stderr
    assert re.match(r"indexed the text of 3 messages in [0-9.]+ s$", indexed.stdout.strip()), indexed.stdout
    again = run_cli(["index"], data_dir=data)
    assert "indexed the text of 0 messages" in again.stdout, again.stdout
    server.start()
    client = server.imaps("alice")
    try:
        client.select("INBOX")
        assert client.uid("SEARCH", "BODY", "zanzibar") == ("OK", [b"1 3"])
        assert client.uid("SEARCH", "SUBJECT", '"report 1"') == ("OK", [b"2"])
    finally:
        client.logout()
