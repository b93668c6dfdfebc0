"""Migration with imapsync-style traffic: tools/migrate.py copies alice's whole mailbox tree
to bob on the same server using only IMAP (LIST/LSUB, EXAMINE, UID FETCH, CREATE, SUBSCRIBE,
APPEND with flags and INTERNALDATE). The names carry what breaks migrations — spaces, `&`,
double quotes, non-ASCII including characters outside the BMP — in modified UTF-7 on the wire.

Verified afterwards, mailbox by mailbox: the same names (decoded and on the wire), the same
subscriptions, and for every message the same bytes, flags (keywords included) and
INTERNALDATE, time zone included. A second run copies nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from support import REPO, make_message, make_multipart, mutf7_encode, quote

SCRIPT = REPO / "tools" / "migrate.py"

TREE = {
    "INBOX": [("(\\Seen)", "01-Jan-2000 00:00:00 +0000"), ("(\\Flagged $Forwarded)", "29-Feb-2024 23:59:58 -0500")],
    "Sent": [("(\\Seen \\Answered)", "15-Jul-2019 08:30:00 +0200")],
    "Clients & Partners": [("(\\Seen Work $MDNSent)", "31-Dec-1999 23:59:59 +1400")],
    'Quotes "Q1" Review': [("()", "02-Mar-2025 12:00:00 -0930")],
    "Reports": [],
    "Reports/Übersicht 2024": [("(\\Draft)", "10-Oct-2024 10:10:10 +0000"), ("(\\Seen \\Deleted)", "11-Oct-2024 11:11:11 +0100")],
    "Reports/Übersicht 2024/Ärger & Co": [("(\\Seen)", "05-May-2005 05:05:05 +0545")],
    "日本語 メール": [("(\\Answered)", "20-Jan-2023 09:00:00 +0900")],
    "Party 🎉 &-Plan": [("()", "24-Dec-2022 18:00:00 +0100")],
}
UNSUBSCRIBED = {"Reports"}


def q(name: str) -> str:
    return quote(mutf7_encode(name))


def messages_for(mailbox: str) -> list[bytes]:
    out = []
    for i, _ in enumerate(TREE[mailbox]):
        seed = sum(map(ord, mailbox)) * 10 + i
        if i == 1:
            out.append(make_multipart(f"{mailbox} attachment").replace(b"<multi.1@", b"<multi.%d@" % seed))
        else:
            body = f"Message {i} of {mailbox}.\r\nGrüße — 8-bit text.\r\n"
            data = make_message(f"{mailbox} #{i}", size=(60000 if i == 0 and mailbox == "INBOX" else 0),
                                seed=seed, body="BODY").replace(b"BODY", body.encode())
            out.append(data.replace(b"charset=us-ascii", b"charset=utf-8"))
    return out


def wire_list(client) -> dict[str, tuple[str, frozenset]]:
    """Decoded name -> (wire name, attributes) from LIST "" "*"."""
    from support import mutf7_decode
    typ, data = client.list('""', '"*"')
    assert typ == "OK", data
    result = {}
    for item in data:
        if isinstance(item, tuple):
            head, name = item
            wire = name.decode()
        else:
            head = item
            m = re.match(rb'^\([^)]*\) "/" (.*)$', item)
            raw = m.group(1).decode()
            wire = re.sub(r'\\(.)', r'\1', raw[1:-1]) if raw.startswith('"') else raw
        attrs = frozenset(re.match(rb"^\(([^)]*)\)", head).group(1).decode().split())
        result[mutf7_decode(wire)] = (wire, attrs)
    return result


def subscribed(client) -> set[str]:
    from support import mutf7_decode
    typ, data = client.lsub('""', '"*"')
    assert typ == "OK", data
    names = set()
    for item in data:
        if isinstance(item, tuple):
            names.add(mutf7_decode(item[1].decode()))
        elif item:
            raw = re.match(rb'^\([^)]*\) "/" (.*)$', item).group(1).decode()
            names.add(mutf7_decode(re.sub(r'\\(.)', r'\1', raw[1:-1]) if raw.startswith('"') else raw))
    return names


def contents(client, mailbox: str) -> list[tuple[bytes, frozenset, str]]:
    typ, data = client.select(q(mailbox), readonly=True)
    assert typ == "OK", (mailbox, data)
    typ, data = client.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])") if int(data[0]) else ("OK", [])
    assert typ == "OK", data
    rows = []
    for item in data:
        if isinstance(item, tuple):
            flags = frozenset(re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()) - {"\\Recent"}
            date = re.search(rb'INTERNALDATE "([^"]*)"', item[0]).group(1).decode()
            rows.append((item[1], flags, date))
    client.close()
    return rows


def run_migration(server) -> subprocess.CompletedProcess:
    env = dict(os.environ, MIGRATE_SOURCE_PASSWORD=server.users["alice"], MIGRATE_TARGET_PASSWORD=server.users["bob"])
    argv = [sys.executable, str(SCRIPT), "--source", f"imaps://alice@localhost:{server.imaps_port}",
            "--target", f"imaps://bob@localhost:{server.imaps_port}", "--cafile", str(server.cert_path),
            "--timeout", "20"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def test_migration_copies_tree_with_hard_names_flags_and_dates(server):
    expected: dict[str, list] = {}
    with server.imaps("alice") as client:
        for mailbox, specs in TREE.items():
            if mailbox not in ("INBOX", "Sent"):
                typ, data = client.create(q(mailbox))
                assert typ == "OK" or mailbox == "Reports", (mailbox, data)
            for (flags, date), message in zip(specs, messages_for(mailbox)):
                typ, data = client.append(q(mailbox), flags if flags != "()" else None, f'"{date}"', message)
                assert typ == "OK", (mailbox, data)
            expected[mailbox] = contents(client, mailbox)
            assert len(expected[mailbox]) == len(specs)
        for mailbox in TREE.keys() - UNSUBSCRIBED:
            assert client.subscribe(q(mailbox))[0] == "OK"
        source_names = wire_list(client)
        source_subscribed = subscribed(client)
    # The server kept what was appended: flags and dates exactly as given.
    for mailbox, specs in TREE.items():
        got = sorted((sorted(flags), date) for _, flags, date in expected[mailbox])
        want = sorted((sorted(f.strip("()").split()), d) for f, d in specs)
        assert got == want, mailbox
    # The wire form is modified UTF-7: `&` as `&-`, non-ASCII base64 in UTF-16 (surrogates too).
    assert source_names["Clients & Partners"][0] == "Clients &- Partners"
    assert source_names["Reports/Übersicht 2024"][0] == "Reports/&ANw-bersicht 2024"
    assert source_names["Party 🎉 &-Plan"][0] == "Party &2DzfiQ- &--Plan"
    assert "Reports" not in source_subscribed and "日本語 メール" in source_subscribed

    result = run_migration(server)
    total = sum(len(specs) for specs in TREE.values())
    assert f"done: {total} message(s) in {len(source_names)} mailbox(es)" in result.stdout, result.stdout

    with server.imaps("bob") as client:
        target_names = wire_list(client)
        assert {n: w for n, (w, _) in target_names.items()} == {n: w for n, (w, _) in source_names.items()}
        assert subscribed(client) == source_subscribed
        for mailbox in TREE:
            assert contents(client, mailbox) == expected[mailbox], mailbox

    # A second run finds everything there and copies nothing.
    result = run_migration(server)
    assert "done: 0 message(s)" in result.stdout, result.stdout
    with server.imaps("bob") as client:
        for mailbox in TREE:
            assert contents(client, mailbox) == expected[mailbox], mailbox


def test_migration_script_refuses_passwords_on_the_command_line():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATE_")}
    result = subprocess.run([sys.executable, str(SCRIPT), "--source", "imaps://a@localhost:1", "--target",
                             "imaps://b@localhost:1"], capture_output=True, text=True, timeout=30, env=env)
    assert result.returncode == 2 and "MIGRATE_SOURCE_PASSWORD" in result.stderr, result
