"""The golden MIME corpus (tests/golden) end to end, and cross-checked against Dovecot.

1. The running server answers every golden item exactly as `NAME.expected` says (those files are
   produced by crates/proto/tests/golden.rs from the parser and encoder; this proves the server
   path — APPEND, store, FETCH — gives the same bytes).
2. A private Dovecot (tests/e2e/dovecot.py) gets the same corpus by APPEND and is asked the same
   items. After the normalisation documented in dovecot.py (case of atoms and of media
   type/subtype strings, NIL vs "" in nstring positions, quoted vs literal form) the answers
   must be equal, except for the differences in ALLOWED below: each is permitted by the RFC
   sentence quoted with it and written up in docs/mime-fidelity.md. An allowed difference that
   disappears fails the test too, so the list stays true.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import require_tool
from dovecot import (SUPPORTED_SERIES, Dovecot, dovecot_version, expected_items, fetch_items,
                     fetch_request_name, first_difference, format_value, normalise)
from support import REPO, RawIMAP, quote

GOLDEN = REPO / "tests" / "golden"
USER = "golden"
# Items per FETCH command (keeps command lines short for both servers).
CHUNK = 40

HF = "HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID CONTENT-TYPE)"


def crlf_owned(ours, theirs) -> bool:
    """Dovecot's answer has the CRLF before the next delimiter that we leave to the delimiter:
    section data one CRLF longer, sizes and line counts in a structure larger by at most 2."""
    if isinstance(ours, bytes):
        return theirs == ours + b"\r\n"
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return all(crlf_owned(a, b) or a == b for a, b in zip(ours, theirs))
    return isinstance(ours, int) and isinstance(theirs, int) and 0 < theirs - ours <= 2


def only_at(*indexes: int):
    """The values differ only at these top-level positions (envelope fields, body parts)."""
    def check(ours, theirs) -> bool:
        return (isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs)
                and all(a == b for i, (a, b) in enumerate(zip(ours, theirs)) if i not in indexes))
    return check


def anything(ours, theirs) -> bool:
    return True


# Every difference from Dovecot that remains, grouped by the RFC sentence that permits our
# answer (docs/mime-fidelity.md explains each): (reason, what may differ, [(message, item)]).
# The check runs on the normalised values, so an allowed item still fails on any other change.
ALLOWED_BY: list[tuple[str, object, list[tuple[str, str]]]] = [
    # RFC 2046 5.1.1: "The CRLF preceding the boundary delimiter line is conceptually attached
    # to the boundary so that it is possible to have a part that does not end with a CRLF (line
    # break)." Dovecot adds that CRLF to a part that ends with a complete line of its own (a
    # nested close delimiter, a header without body), which changes BODY[n] and the size and
    # line count of message/rfc822 parts.
    ("RFC 2046 5.1.1: the CRLF before a delimiter belongs to the delimiter", crlf_owned, [
        ("gmail_alternative_with_attachment", "BODY[1]"),
        ("thunderbird_mixed_alternative_attachments", "BODY[1]"),
        ("message_rfc822_nested_three_deep", "BODYSTRUCTURE"),
        ("message_rfc822_nested_three_deep", "BODY"),
        ("message_rfc822_nested_three_deep", "BODY[2]"),
        ("message_rfc822_nested_three_deep", "BODY[2.TEXT]"),
        ("message_rfc822_empty_body", "BODYSTRUCTURE"),
        ("message_rfc822_empty_body", "BODY"),
        ("message_rfc822_empty_body", "BODY[2]"),
        ("message_rfc822_base64_encoded", "BODYSTRUCTURE"),
        ("message_rfc822_base64_encoded", "BODY"),
        ("message_rfc822_base64_encoded", "BODY[2]"),
    ]),
    # RFC 2045 5.2: "It is also recommend that this default [text/plain; charset=us-ascii] be
    # assumed when a syntactically invalid Content-Type header field is encountered." Dovecot
    # reports whatever it could read ("" "" or "text" ""). Parts 1-3 of the first message have
    # invalid types; the second message is one part with an empty type (a basic body for
    # Dovecot, so even its field count differs).
    ("RFC 2045 5.2: an invalid Content-Type means text/plain; charset=us-ascii", anything, [
        ("content_type_invalid_values", "BODYSTRUCTURE", only_at(0, 1, 2)),
        ("content_type_invalid_values", "BODY", only_at(0, 1, 2)),
        ("empty_header_values", "BODYSTRUCTURE"),
        ("empty_header_values", "BODY"),
    ]),
    # RFC 9051 6.4.5: "A part of type MESSAGE/RFC822 or MESSAGE/GLOBAL also has nested part
    # numbers, referring to parts of the MIME body of that message part." Dovecot 2.3 treats
    # message/global as an opaque leaf, so n.HEADER, n.TEXT and n.1 differ.
    ("RFC 9051 6.4.5: message/global parts have nested part numbers", anything, [
        ("message_global_utf8", "BODY[2.HEADER]"),
        ("message_global_utf8", "BODY[2.TEXT]"),
        ("message_global_utf8", f"BODY[2.{HF}]"),
        ("message_global_utf8", "BODY[2.1]"),
        ("message_global_utf8", "BODY[2.1.MIME]"),
    ]),
    # RFC 2046 5.1: "The boundary delimiter MUST NOT appear inside any of the encapsulated
    # parts, on a line by itself or as the prefix of any line." A nested multipart reusing its
    # parent's boundary breaks that MUST, so no structure is right; we split at the outer
    # boundary first, Dovecot at the inner one.
    ("RFC 2046 5.1: a boundary must not appear inside the parts it delimits", anything, [
        ("cyclic_looking_same_boundary", "BODYSTRUCTURE"),
        ("cyclic_looking_same_boundary", "BODY"),
        ("cyclic_looking_same_boundary", "BODY[1]"),
        ("cyclic_looking_same_boundary", "BODY[1.MIME]"),
        ("cyclic_looking_same_boundary", "BODY[1.1]"),
        ("cyclic_looking_same_boundary", "BODY[1.1.MIME]"),
        ("cyclic_looking_same_boundary", "BODY[2]"),
    ]),
    # RFC 3501 6.4.5: "the blank line is included in all header fetches, except in the case of
    # a message which has no body and no blank line." Dovecot adds the blank line to
    # HEADER.FIELDS (but not to HEADER.FIELDS.NOT) of such a message.
    ("RFC 3501 6.4.5: no blank line for a message without body and blank line",
     lambda ours, theirs: theirs == ours + b"\r\n", [
        ("headers_only_no_body", f"BODY[{HF}]"),
        ("message_rfc822_empty_body", f"BODY[1.{HF}]"),
    ]),
    # RFC 5322 4: obsolete syntax "MUST be accepted and parsed by a conformant receiver"; 4.4:
    # "CFWS were allowed between the period-separated elements of local-part and domain".
    # Dovecot reports such addresses as MISSING_MAILBOX / SYNTAX_ERROR / MISSING_DOMAIN
    # (From, Sender and Reply-To share the From address; To has the dotted domain).
    ("RFC 5322 4.4: CFWS inside local part and domain is obsolete syntax to accept", anything, [
        ("address_whitespace_and_dots", "ENVELOPE", only_at(2, 3, 4, 5)),
    ]),
    # RFC 5322 4: "The fact that a particular form does not appear in any section of this
    # document is not justification for computer programs to crash or for malformed data to be
    # irretrievably lost by any implementation"; 4.4: address lists may have "null" members
    # ("two or more commas in such a list with nothing in between them"). Dovecot stops at the
    # first syntax error (dropping the addresses after `a@x; b@y` or after a group without its
    # comma) and turns null members into MISSING_MAILBOX entries.
    ("RFC 5322 4 and 4.4: malformed address lists lose no address, null members none", anything, [
        ("address_edge_cases", "ENVELOPE", only_at(6, 7)),
        ("address_unterminated_group", "ENVELOPE", only_at(6)),
    ]),
]
ALLOWED: dict[tuple[str, str], tuple[str, object]] = {}
for _reason, _check, _keys in ALLOWED_BY:
    for _entry in _keys:
        ALLOWED[_entry[:2]] = (_reason, _entry[2] if len(_entry) > 2 else _check)


def corpus() -> list[Path]:
    files = sorted(GOLDEN.glob("*.eml"))
    assert len(files) >= 60, f"the golden corpus has {len(files)} messages"
    return files


def append_all(client: RawIMAP, files: list[Path]) -> None:
    for path in files:
        tagged = client.append("INBOX", path.read_bytes())
        assert b" OK" in tagged, (path.name, tagged)
    tagged, _ = client.command("EXAMINE INBOX")
    assert b" OK" in tagged, tagged


def fetch(client: RawIMAP, seq: int, names: list[str]) -> dict[str, object]:
    """Fetches `names` (response item names) of message `seq`; {NAME: value}."""
    items: dict[str, object] = {}
    for start in range(0, len(names), CHUNK):
        request = " ".join(fetch_request_name(n) for n in names[start:start + CHUNK])
        tagged, untagged = client.command(f"FETCH {seq} ({request})", timeout=30)
        assert b" OK" in tagged, (seq, request[:200], tagged)
        for response in untagged:
            if re.match(rb"\* %d FETCH " % seq, response):
                items.update(fetch_items(response))
    items.pop("UID", None)
    items.pop("FLAGS", None)
    return items


def login_portcullis(make_server) -> RawIMAP:
    server = make_server(users=(USER,))
    client = server.raw()
    tagged, _ = client.command(f"LOGIN {USER} {quote(server.users[USER])}")
    assert b" OK" in tagged, tagged
    return client


@pytest.fixture
def dovecot():
    require_tool("dovecot")
    version = dovecot_version()
    print(f"Dovecot {version}")
    if not version.startswith(SUPPORTED_SERIES):
        pytest.fail(f"Dovecot {version}: the private configuration and the allowed differences "
                    f"are for Dovecot {SUPPORTED_SERIES}x (scripts/test.sh installs Debian 12's)")
    instance = Dovecot.create()
    try:
        instance.start()
        yield instance
    finally:
        instance.cleanup()


def test_server_answers_the_golden_expectations(make_server):
    files = corpus()
    client = login_portcullis(make_server)
    append_all(client, files)
    mismatches = []
    for seq, path in enumerate(files, start=1):
        expected = expected_items(path.with_suffix(".expected"))
        actual = fetch(client, seq, list(expected))
        for name, value in expected.items():
            if actual.get(name) != value:
                mismatches.append(f"{path.stem} {name}:\n  golden: {format_value(value)}\n"
                                  f"  server: {format_value(actual.get(name))}")
    client.close()
    assert not mismatches, f"{len(mismatches)} items differ from tests/golden:\n" + "\n".join(mismatches)


def test_dovecot_agrees_with_the_golden_corpus(make_server, dovecot):
    files = corpus()
    ours = login_portcullis(make_server)
    theirs = dovecot.login()
    append_all(ours, files)
    append_all(theirs, files)
    differences: dict[tuple[str, str], str] = {}
    wrong_kind: list[str] = []
    compared = 0
    for seq, path in enumerate(files, start=1):
        names = list(expected_items(path.with_suffix(".expected")))
        our_items = fetch(ours, seq, names)
        their_items = fetch(theirs, seq, names)
        for name in names:
            compared += 1
            mine = normalise(name, our_items.get(name))
            reference = normalise(name, their_items.get(name))
            if mine != reference:
                at, a, b = first_difference(mine, reference)
                key = (path.stem, name)
                differences[key] = (f"  at {list(at)}: portcullis {format_value(a)}, "
                                    f"dovecot {format_value(b)}")
                if key in ALLOWED and not ALLOWED[key][1](mine, reference):
                    wrong_kind.append(f"{path.stem} {name}: not the allowed difference "
                                      f"({ALLOWED[key][0]}):\n{differences[key]}")
    ours.close()
    theirs.close()
    unexplained = {key: text for key, text in differences.items() if key not in ALLOWED}
    stale = [key for key in ALLOWED if key not in differences]
    report = [f"{stem} {name}:\n{text}" for (stem, name), text in sorted(unexplained.items())]
    assert not unexplained and not stale and not wrong_kind, (
        f"compared {compared} items of {len(files)} messages with Dovecot {dovecot_version()}: "
        f"{len(unexplained)} unexplained differences, {len(stale)} allowed differences no longer "
        f"seen {stale}\n" + "\n".join(report + wrong_kind))
