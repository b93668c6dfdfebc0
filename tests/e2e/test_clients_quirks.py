"""The client bugs that other servers answer with quirks, replayed against Portcullis to show
what it does natively (docs/clients.md, "Client quirks").

- iOS Mail pipelines IDLE in the same packet as the commands before it, and DONE with the
  commands after it. Portcullis handles every buffered command in order, IDLE included, so
  no quirk is needed.
- Thunderbird mishandled untagged STATUS volunteered in NOOP replies (its drafts folder
  went stale). Portcullis sends STATUS only in answer to STATUS (or LIST-STATUS), so no
  quirk is needed.
- (Broken BODYSTRUCTURE parsers: see test_clients_imapclient.py, which parses the whole
  golden corpus.)
"""

from __future__ import annotations

import re

from support import HOST, make_message, run_cli


def untagged_status(responses: list[bytes]) -> list[bytes]:
    return [r for r in responses if r.startswith(b"* STATUS ")]


def test_clients_quirks_ios_pipelined_idle_is_handled_natively(server):
    raw = server.raw_login("alice")
    # What iOS 18 sends after login (as other servers' published logs show): ID, then
    # NAMESPACE and LIST ... RETURN (SPECIAL-USE) in one write.
    tagged, untagged = raw.command(b'ID ("name" "iPhone Mail" "version" "22C161" "os" "iOS" '
                                   b'"os-version" "18.2.1 (22C161)")')
    assert tagged.endswith(b"OK ID completed\r\n"), tagged
    assert any(b'"name" "Portcullis"' in r for r in untagged), untagged
    raw.send(b'n1 NAMESPACE\r\nn2 LIST "" "*" RETURN (SPECIAL-USE)\r\n')
    tagged, untagged = raw.wait_tagged("n1")
    assert tagged.startswith(b"n1 OK") and untagged == [b'* NAMESPACE (("" "/")) NIL NIL\r\n'], untagged
    tagged, untagged = raw.wait_tagged("n2")
    assert tagged.startswith(b"n2 OK"), tagged
    assert b'* LIST (\\HasNoChildren \\Sent) "/" Sent\r\n' in untagged, untagged
    # SELECT and IDLE in one write.
    raw.send(b"i2 SELECT INBOX\r\ni3 IDLE\r\n")
    tagged, untagged = raw.wait_tagged("i2")
    assert tagged.startswith(b"i2 OK [READ-WRITE]"), tagged
    assert raw.read_response().startswith(b"+ "), "IDLE pipelined after SELECT was not started"

    # New mail arrives while idling and is pushed at once.
    message = make_message("pushed to the phone", seed=1)
    with server.imaps("alice") as other:
        other.append("INBOX", None, None, message)
    assert raw.read_response() == b"* 1 EXISTS\r\n"

    # DONE, a command and IDLE again, in one write.
    raw.send(b"DONE\r\ni4 UID FETCH 1:* (FLAGS RFC822.SIZE)\r\ni5 IDLE\r\n")
    tagged, untagged = raw.wait_tagged("i3")
    assert tagged.startswith(b"i3 OK"), tagged
    tagged, untagged = raw.wait_tagged("i4")
    assert tagged.startswith(b"i4 OK"), tagged
    assert any(re.search(rb"RFC822\.SIZE %d\b" % len(message), r) for r in untagged), untagged
    assert raw.read_response().startswith(b"+ ")
    raw.send(b"DONE\r\ni6 LOGOUT\r\n")
    assert raw.wait_tagged("i5")[0].startswith(b"i5 OK")
    tagged, untagged = raw.wait_tagged("i6")
    assert tagged.startswith(b"i6 OK") and untagged[0].startswith(b"* BYE"), (tagged, untagged)
    raw.close()


def test_clients_quirks_no_untagged_status_is_volunteered(server):
    """Thunderbird's pattern: INBOX selected, drafts saved by APPEND to Drafts, NOOP polls,
    IDLE; meanwhile another client changes INBOX and Drafts. Untagged STATUS appears only
    in the answer to STATUS."""
    tb = server.raw_login("alice")
    tb.command("ENABLE CONDSTORE")
    tagged, _ = tb.command("SELECT INBOX")
    assert b" OK" in tagged
    seen: list[bytes] = []

    tagged, untagged = tb.command("NOOP")
    seen += untagged
    draft = make_message("draft v1", seed=2)
    tagged = tb.append("Drafts", draft, flags="\\Draft \\Seen")
    assert b" OK [APPENDUID " in tagged, tagged
    with server.imaps("alice") as other:
        other.append("Drafts", "(\\Draft)", None, make_message("draft from elsewhere", seed=3))
        other.append("INBOX", None, None, make_message("new mail", seed=4))
        other.select("Drafts")
        other.store("1", "+FLAGS", "(\\Flagged)")
    tagged, untagged = tb.command("NOOP")
    seen += untagged
    assert untagged == [b"* 1 EXISTS\r\n", b"* 1 RECENT\r\n"], untagged

    tb.send(b"t90 IDLE\r\n")
    assert tb.read_response().startswith(b"+ ")
    with server.imaps("alice") as other:
        other.append("Drafts", None, None, make_message("another draft", seed=5))
        other.append("INBOX", None, None, make_message("more mail", seed=6))
    seen.append(tb.read_response())
    tb.send(b"DONE\r\n")
    tagged, untagged = tb.wait_tagged("t90")
    seen += untagged
    assert b"* 2 EXISTS\r\n" in seen, seen
    assert untagged_status(seen) == [], seen

    # Asked for, STATUS is there: exactly one line, for the mailbox asked about.
    tagged, untagged = tb.command("STATUS Drafts (MESSAGES UIDNEXT)")
    assert tagged.startswith(b"t") and b" OK" in tagged
    assert untagged_status(untagged) == [b"* STATUS Drafts (MESSAGES 3 UIDNEXT 4)\r\n"], untagged
    tb.close()


def test_clients_quirks_configuration_is_checked(tmp_path):
    """The `[quirks]` section: off by default, and a name that no quirk has is refused by
    `config check` (and so by `serve`) with the list of known quirks — none yet."""
    base = (f'data_dir = "{tmp_path / "data"}"\n[listen]\nimaps = ["{HOST}:0"]\nimap = ["{HOST}:0"]\n')
    config = tmp_path / "portcullis.toml"
    config.write_text(base)
    check = run_cli(["config", "check"], config=config)
    assert check.returncode == 0, check.stderr
    assert re.search(r"(?m)^quirks\s+none$", check.stdout), check.stdout

    config.write_text(base + '[[quirks.client]]\nname = "Thunderbird"\nversion = "115.*"\n'
                             'enable = ["no-status-in-noop"]\n')
    check = run_cli(["config", "check"], config=config)
    assert check.returncode == 1, check
    assert 'quirks.client[0].enable' in check.stderr, check.stderr
    assert 'unknown quirk "no-status-in-noop" (known quirks: none yet)' in check.stderr, check.stderr

    config.write_text(base + '[quirks.account]\nalice = ["pipelined-idle"]\n')
    check = run_cli(["config", "check"], config=config)
    assert check.returncode == 1 and "quirks.account.alice" in check.stderr, check
