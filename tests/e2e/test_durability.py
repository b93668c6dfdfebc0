"""Durability: a tagged OK to APPEND means the message survives `kill -9` of the server
(RFC 9051 6.3.12: the message is appended when the server says OK)."""

from __future__ import annotations

import random
import re
import threading

from support import make_message

FLAG_CHOICES = ["", "\\Seen", "\\Flagged", "\\Seen \\Answered", "\\Draft $Important", "\\Deleted"]


def sizes(count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    result = [rng.choice([200, 2_000, 20_000, 80_000, 200_000]) for _ in range(count)]
    result[0] = 200_000  # at least one at the upper bound
    result[-1] = 150  # and the last one tiny, so the kill follows a small commit
    return result


def fetch_all(client) -> dict[bytes, set[str]]:
    """Every message in the selected mailbox: body -> flags (without \\Recent)."""
    typ, data = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
    assert typ == "OK", data
    result = {}
    for item in data:
        if not isinstance(item, tuple):
            continue
        head, body = item
        flags = set(re.search(rb"FLAGS \(([^)]*)\)", head).group(1).decode().split()) - {"\\Recent"}
        assert body not in result, "duplicate message"
        result[body] = flags
    return result


def verify_after_restart(server, expected: dict[bytes, set[str]]) -> None:
    server.start()
    with server.imaps("alice") as client:
        typ, data = client.select("INBOX", readonly=True)
        assert typ == "OK"
        assert int(data[0]) == len(expected), f"{data[0]} messages after restart, expected {len(expected)}"
        got = fetch_all(client)
    missing = [m[:120] for m in expected if m not in got]
    assert not missing, f"{len(missing)} acknowledged messages lost or altered, e.g. {missing[:2]}"
    for body, flags in expected.items():
        assert got[body] == flags, (body[:100], got[body], flags)


def test_kill9_right_after_50_appends_loses_nothing(make_server):
    server = make_server(users=("alice",))
    expected: dict[bytes, set[str]] = {}
    raw = server.raw_login("alice")
    for i, size in enumerate(sizes(50, seed=1)):
        message = make_message(f"durable {i}", size=size, seed=1000 + i)
        flags = FLAG_CHOICES[i % len(FLAG_CHOICES)]
        tagged = raw.append("INBOX", message, flags=flags, literal_plus=(i % 2 == 0))
        assert b" OK " in tagged, tagged
        expected[message] = set(flags.split())
    # The last tagged OK has been read: kill -9 now, no grace, no flush.
    server.kill9()
    raw.close()
    verify_after_restart(server, expected)


def test_kill9_after_concurrent_appends_from_4_connections(make_server):
    server = make_server(users=("alice",))
    per_connection = 12
    expected: dict[bytes, set[str]] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(4, timeout=20)

    def worker(n: int) -> None:
        try:
            raw = server.raw_login("alice")
            start.wait()
            for i, size in enumerate(sizes(per_connection, seed=10 + n)):
                message = make_message(f"conn {n} msg {i}", size=size, seed=n * 100 + i)
                flags = FLAG_CHOICES[(n + i) % len(FLAG_CHOICES)]
                tagged = raw.append("INBOX", message, flags=flags, literal_plus=(i % 2 == 1))
                assert b" OK " in tagged, tagged
                with lock:
                    expected[message] = set(flags.split())
            raw.close()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=45)
    assert not any(t.is_alive() for t in threads), "an APPEND worker hung"
    assert not errors, errors
    assert len(expected) == 4 * per_connection
    server.kill9()
    verify_after_restart(server, expected)
    # UIDs stayed unique and dense enough: the server kept counting after the restart.
    with server.imaps("alice") as client:
        client.select("INBOX")
        typ, data = client.append("INBOX", None, None, make_message("after restart"))
        assert typ == "OK"
        uid = int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))
        assert uid == 4 * per_connection + 1, data
