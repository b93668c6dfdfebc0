#!/usr/bin/env python3
"""Copy every mailbox of one IMAP account to another, using only IMAP (imapsync-style).

    MIGRATE_SOURCE_PASSWORD=... MIGRATE_TARGET_PASSWORD=... \\
        tools/migrate.py --source imaps://alice@old.example.org:993 \\
                         --target imaps://alice@new.example.org:993 [--cafile CA.pem]

For each selectable mailbox of the source (LIST "" "*"), in hierarchy order:
  - the name is decoded from modified UTF-7 (RFC 3501 5.1.3), split at the source's
    hierarchy separator, joined with the target's and encoded again, so names with spaces,
    `&`, quotes and non-ASCII characters arrive as they were;
  - the mailbox is created on the target unless it exists, and subscribed when it was;
  - every message is read with UID FETCH (FLAGS INTERNALDATE BODY.PEEK[]) — the source is
    only EXAMINEd, nothing there changes — and APPENDed to the target with its flags
    (\\Recent excepted: no client can set it) and its INTERNALDATE exactly as the source
    gave it, time zone included.
Messages already on the target (same Message-ID, size and INTERNALDATE) are skipped, so a
second run copies only what is new. Passwords come from the environment, never argv.
Exit status: 0 when everything was copied, 1 on any failure, 2 on usage errors.

Only the Python standard library is used (imaplib, ssl).
"""

from __future__ import annotations

import argparse
import base64
import imaplib
import os
import re
import ssl
import sys
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

BATCH = 50


# --- modified UTF-7 (RFC 3501 5.1.3) ---------------------------------------------------------


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
        return base64.b64decode(b64 + "=" * (-len(b64) % 4)).decode("utf-16-be")

    return re.sub(r"&([^-]*)-", repl, name)


def quoted(text: str) -> str:
    """An IMAP quoted string (imaplib sends arguments as they are given)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- LIST parsing ----------------------------------------------------------------------------


@dataclass
class Mailbox:
    wire: str          # the name as the server sent it (modified UTF-7)
    parts: list[str]   # decoded hierarchy components
    attributes: set[str]
    delimiter: str | None


LIST_HEAD = re.compile(rb'^\(([^)]*)\) (NIL|"(?:\\.|[^"\\])") ?(.*)$', re.S)


def unquote_imap(raw: bytes) -> str:
    text = raw.decode("ascii", "strict") if raw.isascii() else raw.decode("utf-8")
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def parse_list(data: list) -> list[Mailbox]:
    """imaplib LIST/LSUB data -> mailboxes (quoted, atom and literal names)."""
    result = []
    for item in data:
        if item is None:
            continue
        if isinstance(item, tuple):  # the name came as a literal
            head, literal = item
            m = LIST_HEAD.match(head)
            raw_name = literal
        elif item == b")":
            continue
        else:
            m = LIST_HEAD.match(item)
            raw_name = m.group(3) if m else b""
        if not m:
            raise RuntimeError(f"cannot parse LIST response {item!r}")
        attributes = {a.lower() for a in m.group(1).decode().split()}
        delimiter = None if m.group(2) == b"NIL" else unquote_imap(m.group(2))
        wire = unquote_imap(raw_name) if not isinstance(item, tuple) else raw_name.decode()
        decoded = mutf7_decode(wire)
        parts = decoded.split(delimiter) if delimiter else [decoded]
        result.append(Mailbox(wire, parts, attributes, delimiter))
    return result


# --- connections -----------------------------------------------------------------------------


def connect(url: str, password: str, cafile: str | None, timeout: float) -> imaplib.IMAP4:
    parts = urlsplit(url)
    if parts.scheme != "imaps" or not parts.hostname or not parts.username:
        raise SystemExit(f"{url}: expected imaps://USER@HOST[:PORT]")
    ctx = ssl.create_default_context(cafile=cafile)
    client = imaplib.IMAP4_SSL(parts.hostname, parts.port or 993, ssl_context=ctx, timeout=timeout)
    typ, data = client.login(unquote(parts.username), password)
    if typ != "OK":
        raise RuntimeError(f"{url}: login failed: {data}")
    return client


def check(result: tuple, what: str) -> list:
    typ, data = result
    if typ != "OK":
        raise RuntimeError(f"{what}: {typ} {data}")
    return data


FETCH_ITEM = re.compile(rb"(UID|RFC822\.SIZE) (\d+)|FLAGS \(([^)]*)\)|INTERNALDATE \"([^\"]*)\"")


def fetch_meta(line: bytes) -> dict:
    meta: dict = {}
    for m in FETCH_ITEM.finditer(line):
        if m.group(1):
            meta[m.group(1).decode()] = int(m.group(2))
        elif m.group(3) is not None:
            meta["FLAGS"] = [f for f in m.group(3).decode().split() if f.lower() != "\\recent"]
        else:
            meta["INTERNALDATE"] = m.group(4).decode()
    return meta


MESSAGE_ID = re.compile(rb"(?im)^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)")


def message_key(header: bytes, size: int, date: str) -> tuple:
    m = MESSAGE_ID.search(header.split(b"\r\n\r\n", 1)[0])
    return (m.group(1).strip() if m else b"", size, date)


def existing_keys(client: imaplib.IMAP4, wire: str) -> set:
    check(client.select(quoted(wire), readonly=True), f"EXAMINE {wire} on target")
    keys = set()
    typ, data = client.uid("FETCH", "1:*", "(RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    for item in data or []:
        if isinstance(item, tuple):
            meta = fetch_meta(item[0])
            keys.add(message_key(item[1], meta["RFC822.SIZE"], meta["INTERNALDATE"]))
    client.close()
    return keys


# --- the copy --------------------------------------------------------------------------------


def migrate(source: imaplib.IMAP4, target: imaplib.IMAP4, log=print) -> dict:
    """Copies every selectable source mailbox; returns {decoded name: messages appended}."""
    mailboxes = parse_list(check(source.list('""', '"*"'), "LIST on source"))
    subscribed = {"/".join(m.parts) for m in parse_list(check(source.lsub('""', '"*"'), "LSUB on source"))}
    target_boxes = parse_list(check(target.list('""', '"*"'), "LIST on target"))
    target_delimiter = next((m.delimiter for m in target_boxes if m.delimiter), "/")
    target_names = {tuple(m.parts) for m in target_boxes}
    copied: dict[str, int] = {}
    for box in sorted(mailboxes, key=lambda m: m.parts):
        if "\\noselect" in box.attributes or "\\nonexistent" in box.attributes:
            continue
        name = "/".join(box.parts)
        if box.parts[0].upper() == "INBOX" and len(box.parts) == 1:
            target_wire = "INBOX"
        else:
            target_wire = mutf7_encode(target_delimiter.join(box.parts))
        if tuple(box.parts) not in target_names and target_wire != "INBOX":
            check(target.create(quoted(target_wire)), f"CREATE {target_wire}")
            target_names.add(tuple(box.parts))
        if name in subscribed:
            check(target.subscribe(quoted(target_wire)), f"SUBSCRIBE {target_wire}")
        have = existing_keys(target, target_wire)

        check(source.select(quoted(box.wire), readonly=True), f"EXAMINE {box.wire}")
        typ, data = source.uid("SEARCH", "ALL")
        uids = [int(u) for u in (data[0] or b"").split()] if typ == "OK" else []
        appended = 0
        for start in range(0, len(uids), BATCH):
            batch = ",".join(str(u) for u in uids[start:start + BATCH])
            data = check(source.uid("FETCH", batch, "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])"),
                         f"FETCH from {name}")
            for item in data:
                if not isinstance(item, tuple):
                    continue
                meta = fetch_meta(item[0])
                body = item[1]
                if message_key(body, len(body), meta["INTERNALDATE"]) in have:
                    continue
                flags = "(" + " ".join(meta.get("FLAGS", [])) + ")"
                check(target.append(quoted(target_wire), flags, '"' + meta["INTERNALDATE"] + '"', body),
                      f"APPEND to {target_wire}")
                appended += 1
        source.close()
        copied[name] = appended
        log(f"{name}: {appended} of {len(uids)} message(s) copied")
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", required=True, help="imaps://USER@HOST[:PORT]")
    parser.add_argument("--target", required=True, help="imaps://USER@HOST[:PORT]")
    parser.add_argument("--cafile", help="trust this CA file (default: the system's)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per network operation")
    args = parser.parse_args(argv)
    passwords = [os.environ.get("MIGRATE_SOURCE_PASSWORD"), os.environ.get("MIGRATE_TARGET_PASSWORD")]
    if None in passwords:
        parser.error("set MIGRATE_SOURCE_PASSWORD and MIGRATE_TARGET_PASSWORD")
    try:
        source = connect(args.source, passwords[0], args.cafile, args.timeout)
        target = connect(args.target, passwords[1], args.cafile, args.timeout)
        copied = migrate(source, target)
        for client in (source, target):
            client.logout()
    except (OSError, RuntimeError, imaplib.IMAP4.error) as error:
        print(f"migrate: {error}", file=sys.stderr)
        return 1
    print(f"done: {sum(copied.values())} message(s) in {len(copied)} mailbox(es)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
