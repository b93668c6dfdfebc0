//! Whole-message tests: structure, offsets, envelope, sections and hostile input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_possible_truncation
)]

use std::time::{Duration, Instant};

use crate::*;

fn slice(msg: &[u8], range: std::ops::Range<u64>) -> &[u8] {
    &msg[range.start as usize..range.end as usize]
}

fn bytes(s: &str) -> Option<Vec<u8>> {
    Some(s.as_bytes().to_vec())
}

fn addr(name: Option<&str>, mailbox: &str, host: &str) -> Address {
    Address {
        name: name.map(|n| n.as_bytes().to_vec()),
        adl: None,
        mailbox: bytes(mailbox),
        host: bytes(host),
    }
}

fn params(list: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    list.iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

fn offsets(part: &Part) -> (u64, u64, u64) {
    (part.header_start, part.body_start, part.end)
}

#[test]
fn simple_text_message() {
    let msg = b"From: Joe <joe@example.com>\r\nTo: mary@example.org\r\nSubject: Hi\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\nMessage-ID: <1@x.test>\r\nIn-Reply-To:  <0@x.test> \r\n\r\nHello\r\nWorld\r\n";
    let summary = parse(msg);
    let root = &summary.root;
    assert_eq!(offsets(root), (0, 161, 175));
    assert_eq!(slice(msg, root.body_range()), b"Hello\r\nWorld\r\n");
    assert_eq!(root.content_type, ContentType::default_text());
    // Dovecot's spelling of the default encoding.
    assert_eq!(root.encoding, b"7bit");
    assert_eq!(root.lines, 2);
    assert_eq!(root.body_size(), 14);
    assert_eq!(root.kind, PartKind::Single);
    let joe = vec![addr(Some("Joe"), "joe", "example.com")];
    let expected = Envelope {
        date: bytes("Mon, 7 Feb 1994 21:52:25 -0800 (PST)"),
        subject: bytes("Hi"),
        from: joe.clone(),
        sender: joe.clone(),
        reply_to: joe,
        to: vec![addr(None, "mary", "example.org")],
        cc: vec![],
        bcc: vec![],
        // Trailing whitespace is kept, as Dovecot reports it.
        in_reply_to: bytes("<0@x.test> "),
        message_id: bytes("<1@x.test>"),
    };
    assert_eq!(summary.envelope, expected);
    assert_eq!(summary.part(&[]), Some(root));
    assert_eq!(summary.part(&[1]), Some(root));
    assert_eq!(summary.part(&[1, 1]), None);
    assert_eq!(summary.part(&[2]), None);
    assert_eq!(summary.part(&[0]), None);
}

const NESTED: &[u8] = b"Content-Type: multipart/mixed; boundary=outer\r\n\r\n\
preamble\r\n\
--outer\r\n\
Content-Type: multipart/alternative; boundary=inner\r\n\r\n\
--inner\r\n\
Content-Type: text/plain\r\n\r\n\
plain\r\n\
--inner\r\n\
Content-Type: text/html\r\n\r\n\
<b>html</b>\r\n\
--inner--\r\n\
\r\n--outer\r\n\
Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
AAEC\r\n\
--outer--\r\n\
epilogue\r\n";

#[test]
fn alternative_inside_mixed_offsets() {
    let summary = parse(NESTED);
    let root = &summary.root;
    assert_eq!(offsets(root), (0, 49, 342));
    assert_eq!(root.content_type.subtype, b"mixed");
    let [alternative, binary] = root.children() else {
        panic!("expected two children: {root:?}");
    };
    assert_eq!(offsets(alternative), (68, 123, 227));
    assert_eq!(alternative.content_type.subtype, b"alternative");
    assert_eq!(alternative.lines, 0);
    let [plain, html] = alternative.children() else {
        panic!("expected two alternatives: {alternative:?}");
    };
    assert_eq!(offsets(plain), (132, 160, 165));
    assert_eq!(slice(NESTED, plain.body_range()), b"plain");
    assert_eq!(plain.body_size(), 5);
    // The CRLF before the delimiter is not part of the body, so "plain" has no complete line.
    assert_eq!(plain.lines, 0);
    assert_eq!(plain.content_type.params, vec![]);
    assert_eq!(offsets(html), (176, 203, 214));
    assert_eq!(slice(NESTED, html.body_range()), b"<b>html</b>");
    assert_eq!(
        slice(NESTED, html.header_range()),
        b"Content-Type: text/html\r\n\r\n"
    );
    assert_eq!(offsets(binary), (238, 315, 319));
    assert_eq!(binary.encoding, b"base64");
    assert_eq!(binary.lines, 0);
    assert_eq!(slice(NESTED, binary.body_range()), b"AAEC");
    assert_eq!(
        decode_transfer_encoding(&binary.encoding, b"AAEC"),
        Some(vec![0, 1, 2])
    );

    assert_eq!(summary.part(&[1]), Some(alternative));
    assert_eq!(summary.part(&[1, 2]), Some(html));
    assert_eq!(summary.part(&[2]), Some(binary));
    assert_eq!(summary.part(&[3]), None);
    assert_eq!(summary.part(&[1, 3]), None);
    assert_eq!(summary.part(&[2, 1]), None);
    assert_eq!(summary.message(&[1]), None);
}

const ENCAPSULATED: &[u8] = b"From: a@b.test\r\n\
Subject: outer\r\n\
Content-Type: multipart/mixed; boundary=\"X\"\r\n\
\r\n\
--X\r\n\
\r\n\
first\r\n\
--X\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: inner@c.test\r\n\
Subject: inner\r\n\
Content-Type: multipart/alternative; boundary=Y\r\n\
\r\n\
--Y\r\n\
\r\n\
in-a\r\n\
--Y\r\n\
Content-Type: text/html\r\n\
\r\n\
in-b\r\n\
--Y--\r\n\
--X--\r\n";

#[test]
fn message_rfc822_sections() {
    let summary = parse(ENCAPSULATED);
    assert_eq!(offsets(&summary.root), (0, 79, 282));

    let first = summary.part(&[1]).unwrap();
    assert_eq!(offsets(first), (84, 86, 91));
    assert_eq!(first.content_type, ContentType::default_text());
    assert_eq!(slice(ENCAPSULATED, first.header_range()), b"\r\n");

    let rfc822 = summary.part(&[2]).unwrap();
    assert_eq!(offsets(rfc822), (98, 130, 273));
    // LF count: the message ends with "--Y--" and no line break of its own.
    assert_eq!(rfc822.lines, 11);
    assert_eq!(
        slice(ENCAPSULATED, rfc822.header_range()),
        b"Content-Type: message/rfc822\r\n\r\n"
    );

    // 2.HEADER and 2.TEXT come from the encapsulated message's root.
    let inner = summary.message(&[2]).unwrap();
    assert_eq!(offsets(&inner.root), (130, 217, 273));
    assert_eq!(
        slice(ENCAPSULATED, inner.root.header_range()),
        b"From: inner@c.test\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=Y\r\n\r\n"
    );
    assert_eq!(inner.envelope.subject, bytes("inner"));
    assert_eq!(inner.envelope.from, vec![addr(None, "inner", "c.test")]);
    assert_eq!(
        slice(ENCAPSULATED, inner.root.body_range()),
        b"--Y\r\n\r\nin-a\r\n--Y\r\nContent-Type: text/html\r\n\r\nin-b\r\n--Y--"
    );

    let a = summary.part(&[2, 1]).unwrap();
    assert_eq!(offsets(a), (222, 224, 228));
    assert_eq!(slice(ENCAPSULATED, a.body_range()), b"in-a");
    let b = summary.part(&[2, 2]).unwrap();
    assert_eq!(offsets(b), (235, 262, 266));
    assert_eq!(b.content_type.subtype, b"html");
    assert_eq!(summary.part(&[2, 3]), None);
    assert_eq!(summary.part(&[2, 1, 1]), None);
    assert_eq!(summary.message(&[2, 1]), None);
    assert_eq!(summary.message(&[]), Some(&summary));
}

#[test]
fn encapsulated_single_part_message_numbering() {
    let msg = b"Content-Type: message/rfc822\r\n\r\nSubject: in\r\n\r\nbody\r\n";
    let summary = parse(msg);
    let root = &summary.root;
    let inner = root.message().unwrap();
    assert_eq!(offsets(&inner.root), (32, 47, 53));
    assert_eq!(inner.root.lines, 1);
    // BODY[1] is the top-level body (the encapsulated message), 1.1 its body.
    assert_eq!(summary.part(&[1]), Some(root));
    assert_eq!(summary.part(&[1, 1]), Some(&inner.root));
    assert_eq!(summary.part(&[1, 2]), None);
    assert_eq!(root.lines, 3);
}

#[test]
fn envelope_groups_defaults_and_repeated_fields() {
    let msg = b"From: \"Smith, John \\\"JJ\\\"\" <john@example.com>\r\n\
From: second@example.com\r\n\
Sender:\r\n\
Reply-To: <reply@example.com>\r\n\
To: A Group:Ed Jones <c@a.test>,joe@where.test;, Undisclosed recipients:;\r\n\
Cc: user@host.test (Real Name)\r\n\
Bcc: undisclosed\r\n\
\r\n";
    let envelope = parse(msg).envelope;
    // A repeated address field is concatenated (RFC 5322 4.5.3 for destination fields; Dovecot
    // does so for all of them).
    let john = vec![
        addr(Some("Smith, John \"JJ\""), "john", "example.com"),
        addr(None, "second", "example.com"),
    ];
    assert_eq!(envelope.from, john);
    assert_eq!(envelope.sender, john);
    assert_eq!(envelope.reply_to, vec![addr(None, "reply", "example.com")]);
    let start = |name: &str| Address {
        mailbox: bytes(name),
        ..Address::default()
    };
    assert_eq!(
        envelope.to,
        vec![
            start("A Group"),
            addr(Some("Ed Jones"), "c", "a.test"),
            addr(None, "joe", "where.test"),
            Address::default(),
            start("Undisclosed recipients"),
            Address::default(),
        ]
    );
    assert_eq!(
        envelope.cc,
        vec![addr(Some("Real Name"), "user", "host.test")]
    );
    assert_eq!(
        envelope.bcc,
        vec![addr(None, "undisclosed", "MISSING_DOMAIN")]
    );
    assert_eq!(envelope.subject, None);
    assert_eq!(envelope.date, None);
}

#[test]
fn repeated_string_fields_last_wins_and_subjects_are_for_humans() {
    // RFC 5322 4.5: "the interpretation of multiple occurrences of fields is unspecified";
    // Dovecot reports the last one.
    let msg = b"Subject: first\r\nDate: one\r\nSubject:  second \r\n\tfolded\r\nDate: two \r\n\r\n";
    let envelope = parse(msg).envelope;
    assert_eq!(envelope.subject, bytes("second folded"));
    assert_eq!(envelope.date, bytes("two "));
}

#[test]
fn encoded_word_subject_kept_raw() {
    // RFC 2047 section 8 examples.
    let msg = b"Subject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n    =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=\r\nFrom: =?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>\r\n\r\n";
    let envelope = parse(msg).envelope;
    // Encoded words kept; the fold's whitespace run becomes one space (subjects are normalised
    // for humans, as Dovecot does).
    assert_eq!(
        envelope.subject,
        bytes(
            "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?="
        )
    );
    assert_eq!(
        decode_header_value(envelope.subject.as_deref().unwrap()),
        "If you can read this you understand the example."
    );
    assert_eq!(
        envelope.from,
        vec![addr(
            Some("=?US-ASCII?Q?Keith_Moore?="),
            "moore",
            "cs.utk.edu"
        )]
    );
}

#[test]
fn mime_extension_fields_and_rfc2231_kept_raw() {
    let msg = b"Content-Type: application/x-stuff;\r\n title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A\r\n\
Content-Disposition: attachment;\r\n filename*0*=UTF-8''na%C3%AFve;\r\n filename*1=\".txt\"\r\n\
Content-ID: <part1@x.test>\r\n\
Content-Description: =?utf-8?q?caf=C3=A9?=\r\n\
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n\
Content-Language: en, de\r\n\
Content-Location: http://example.test/\r\n  a\r\n\
Content-Transfer-Encoding: Base64\r\n\
\r\n\
AAAA";
    let root = parse(msg).root;
    assert_eq!(root.content_type.media_type, b"application");
    assert_eq!(root.content_type.subtype, b"x-stuff");
    assert_eq!(
        root.content_type.params,
        params(&[("title*", "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A")])
    );
    let disposition = root.disposition.as_ref().unwrap();
    assert_eq!(disposition.kind, b"attachment");
    assert_eq!(
        disposition.params,
        params(&[("filename*0*", "UTF-8''na%C3%AFve"), ("filename*1", ".txt")])
    );
    assert_eq!(root.id, bytes("<part1@x.test>"));
    assert_eq!(root.description, bytes("=?utf-8?q?caf=C3=A9?="));
    assert_eq!(root.md5, bytes("Q2hlY2sgSW50ZWdyaXR5IQ=="));
    assert_eq!(root.language, vec![b"en".to_vec(), b"de".to_vec()]);
    assert_eq!(root.location, bytes("http://example.test/  a"));
    assert_eq!(root.encoding, b"Base64");
    assert_eq!(root.lines, 0);
}

#[test]
fn missing_and_invalid_content_type_default_to_text_plain() {
    for msg in [
        &b"Subject: x\r\n\r\nbody"[..],
        b"Content-Type: garbage\r\n\r\nbody",
        b"Content-Type: /\r\n\r\nbody",
    ] {
        let root = parse(msg).root;
        assert_eq!(root.content_type, ContentType::default_text(), "{msg:?}");
        // "body" has no line break: no complete line.
        assert_eq!(root.lines, 0);
        assert_eq!(root.body_size(), 4);
    }
}

#[test]
fn digest_children_default_to_message_rfc822() {
    let msg = b"Content-Type: multipart/digest; boundary=d\r\n\r\n\
--d\r\n\
\r\n\
Subject: one\r\n\
\r\n\
body one\r\n\
--d\r\n\
Content-Type: text/plain\r\n\
\r\n\
not a message\r\n\
--d--\r\n";
    let summary = parse(msg);
    let [first, second] = summary.root.children() else {
        panic!("two children expected");
    };
    assert_eq!(first.content_type, ContentType::default_digest());
    let inner = first.message().unwrap();
    assert_eq!(inner.envelope.subject, bytes("one"));
    assert_eq!(slice(msg, inner.root.body_range()), b"body one");
    assert_eq!(inner.root.content_type, ContentType::default_text());
    assert_eq!(summary.part(&[1, 1]), Some(&inner.root));
    assert_eq!(second.content_type.media_type, b"text");
    assert_eq!(second.kind, PartKind::Single);
}

#[test]
fn missing_closing_boundary_extends_last_part() {
    let msg = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\nstill two\r\n";
    let summary = parse(msg);
    let [one, two] = summary.root.children() else {
        panic!("two children expected");
    };
    assert_eq!(slice(msg, one.body_range()), b"one");
    assert_eq!(slice(msg, two.body_range()), b"two\r\nstill two\r\n");
    assert_eq!(two.end, msg.len() as u64);
    assert_eq!(two.lines, 2);
}

#[test]
fn multipart_without_boundary_or_delimiters() {
    // Without a boundary parameter nothing can be split; like Dovecot, the multipart gets one
    // synthetic empty part (a multipart body needs one) instead of becoming a leaf.
    let msg = b"Content-Type: multipart/mixed\r\n\r\n--x\r\nbody\r\n";
    let no_param = parse(msg);
    let [synthetic] = no_param.root.children() else {
        panic!("one synthetic child expected");
    };
    let end = msg.len() as u64;
    assert_eq!(offsets(synthetic), (end, end, end));

    let msg = b"Content-Type: multipart/mixed; boundary=zz\r\n\r\nno delimiter here\r\n";
    let summary = parse(msg);
    let [synthetic] = summary.root.children() else {
        panic!("one synthetic child expected");
    };
    let end = msg.len() as u64;
    assert_eq!(offsets(synthetic), (end, end, end));
    assert_eq!(synthetic.content_type, ContentType::default_text());
    assert_eq!(synthetic.kind, PartKind::Single);
}

#[test]
fn bare_lf_message_is_normalised_then_parsed() {
    let raw = b"Subject: lf\n\nline one\nline two";
    let normalised = normalize_line_endings(raw);
    assert_eq!(&*normalised, b"Subject: lf\r\n\r\nline one\r\nline two");
    let summary = parse(&normalised);
    assert_eq!(offsets(&summary.root), (0, 15, 33));
    // "line two" has no line break: one complete line.
    assert_eq!(summary.root.lines, 1);
    assert_eq!(summary.envelope.subject, bytes("lf"));
}

fn nested_multiparts(levels: usize) -> Vec<u8> {
    let mut msg = Vec::new();
    for i in 0..levels {
        msg.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n").as_bytes(),
        );
    }
    msg.extend_from_slice(b"\r\nleaf\r\n");
    for i in (0..levels).rev() {
        msg.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
    }
    msg
}

#[test]
fn deep_nesting_stops_at_max_depth_quickly() {
    let msg = nested_multiparts(10_000);
    let started = Instant::now();
    let summary = parse(&msg);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let mut part = &summary.root;
    let mut depth = 0;
    while let [child] = part.children() {
        part = child;
        depth += 1;
    }
    assert_eq!(depth, MAX_DEPTH);
    assert_eq!(part.kind, PartKind::Single);
    // A multipart that is not descended into is reported as an opaque leaf, as Dovecot does.
    assert!(part.content_type.is("application", "octet-stream"));
    let boundary = format!("b{MAX_DEPTH}");
    assert_eq!(
        part.content_type.param("boundary"),
        Some(boundary.as_bytes())
    );
    let path = vec![1u32; MAX_DEPTH];
    assert_eq!(summary.part(&path), Some(part));

    let stored = postcard::to_allocvec(&summary).unwrap();
    let restored: MessageSummary = postcard::from_bytes(&stored).unwrap();
    assert_eq!(restored, summary);
}

#[test]
fn deep_message_rfc822_nesting_is_bounded() {
    let msg = "Content-Type: message/rfc822\r\n\r\n".repeat(10_000) + "leaf";
    let summary = parse(msg.as_bytes());
    let mut message = &summary;
    let mut depth = 0;
    while let Some(inner) = message.root.message() {
        message = inner;
        depth += 1;
    }
    assert_eq!(depth, MAX_DEPTH);
    assert_eq!(message.root.kind, PartKind::Single);
    assert!(message.root.content_type.is("application", "octet-stream"));
}

#[test]
fn part_count_is_capped() {
    let mut msg = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n".to_vec();
    for _ in 0..(MAX_PARTS + 50) {
        msg.extend_from_slice(b"--b\r\n\r\nx\r\n");
    }
    msg.extend_from_slice(b"--b--\r\n");
    let summary = parse(&msg);
    let children = summary.root.children();
    assert_eq!(children.len(), MAX_PARTS - 1);
    let last = children.last().unwrap();
    assert_eq!(last.end, msg.len() as u64);
    assert!(slice(&msg, last.body_range()).starts_with(b"x\r\n--b\r\n"));
}

#[test]
fn empty_and_headerless_messages() {
    let empty = parse(b"");
    assert_eq!(offsets(&empty.root), (0, 0, 0));
    assert_eq!(empty.root.lines, 0);
    assert_eq!(empty.envelope, Envelope::default());

    let crlf = parse(b"\r\n");
    assert_eq!(offsets(&crlf.root), (0, 2, 2));
    assert_eq!(crlf.root.content_type, ContentType::default_text());

    let no_headers = parse(b"\r\nbody only\r\n");
    assert_eq!(offsets(&no_headers.root), (0, 2, 13));
    assert_eq!(no_headers.root.lines, 1);

    let only_headers = parse(b"Subject: x");
    assert_eq!(offsets(&only_headers.root), (0, 10, 10));
    assert_eq!(only_headers.envelope.subject, bytes("x"));

    let eight_bit = parse(b"Subject: caf\xe9 \xff\r\nFrom: J\xc3\xb6rg <j@x.test>\r\n\r\n\xff");
    assert_eq!(eight_bit.envelope.subject, Some(b"caf\xe9 \xff".to_vec()));
    assert_eq!(
        eight_bit.envelope.from[0].name,
        Some(b"J\xc3\xb6rg".to_vec())
    );
}

#[test]
fn one_megabyte_header_line() {
    let long = "a".repeat(1 << 20);
    let msg = format!("Subject: {long}\r\nX-Long: {long}\r\nTo: {long}@example.com\r\n\r\nbody");
    let started = Instant::now();
    let summary = parse(msg.as_bytes());
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(summary.envelope.subject.as_deref(), Some(long.as_bytes()));
    assert_eq!(
        summary.envelope.to[0].mailbox.as_deref(),
        Some(long.as_bytes())
    );
    assert_eq!(summary.root.body_start, msg.len() as u64 - 4);
    let fields = header_fields(msg.as_bytes(), &[b"x-long"], false);
    assert_eq!(fields.len(), "X-Long: ".len() + long.len() + 4);
}

#[test]
fn header_fields_with_folding_and_negate() {
    let block =
        b"Subject: folded\r\n\tsubject line\r\nX-A: 1\r\nTO: someone\r\n  more\r\nx-a: 2\r\n\r\n";
    assert_eq!(
        header_fields(block, &[b"x-a", b"to"], false),
        b"X-A: 1\r\nTO: someone\r\n  more\r\nx-a: 2\r\n\r\n"
    );
    assert_eq!(
        header_fields(block, &[b"x-a", b"to"], true),
        b"Subject: folded\r\n\tsubject line\r\n\r\n"
    );
    assert_eq!(header_fields(block, &[b"absent"], false), b"\r\n");
    // RFC 3501 6.4.5: no blank line "in the case of a message which has no body and no blank
    // line".
    assert_eq!(header_fields(b"A: 1", &[b"a"], false), b"A: 1\r\n");
    assert_eq!(header_fields(b"A: 1\r\n", &[b"b"], false), b"");
    assert_eq!(header_fields(b"", &[b"a"], true), b"");
    assert_eq!(header_fields(b"\r\n", &[b"a"], true), b"\r\n");
}

#[test]
fn headers_iterator_yields_raw_values() {
    let block = b"Subject: a\r\n b\r\nbroken line\r\nX:\r\n\r\nBody: no";
    let all: Vec<(&[u8], &[u8])> = headers(block).collect();
    assert_eq!(
        all,
        vec![
            (&b"Subject"[..], &b" a\r\n b"[..]),
            (b"broken line", b""),
            (b"X", b""),
        ]
    );
}

#[test]
fn decoded_text_handles_encodings_and_charsets() {
    let msg = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\n\
Content-Type: text/plain; charset=ISO-8859-1\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
Y2Fm6Q==\r\n\
--b\r\n\
Content-Type: text/plain; charset=\"utf-8\"\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
na=C3=AFve=\r\n \r\n\
--b\r\n\
Content-Transfer-Encoding: x-unknown\r\n\
\r\n\
raw\r\n\
--b--\r\n";
    let summary = parse(msg);
    let texts: Vec<String> = summary
        .root
        .children()
        .iter()
        .map(|part| decoded_text(msg, part))
        .collect();
    assert_eq!(texts, vec!["café", "naïve ", "raw"]);
}

#[test]
fn base64_message_rfc822_stays_a_leaf() {
    let msg = b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQo=\r\n";
    let root = parse(msg).root;
    assert_eq!(root.kind, PartKind::Single);
    assert_eq!(root.lines, 1);
}

#[test]
fn summary_round_trips_through_postcard() {
    let summary = parse(ENCAPSULATED);
    let stored = postcard::to_allocvec(&summary).unwrap();
    let restored: MessageSummary = postcard::from_bytes(&stored).unwrap();
    assert_eq!(restored, summary);
}

#[test]
fn parse_never_panics_on_prefixes() {
    for msg in [NESTED, ENCAPSULATED] {
        for len in 0..=msg.len() {
            let summary = parse(&msg[..len]);
            assert_eq!(summary.root.end, len as u64);
            assert!(summary.root.body_start <= summary.root.end);
        }
    }
}

/// The message structure of the RFC 3501 / RFC 9051 section 6.4.5 example.
const RFC3501_EXAMPLE: &[u8] = b"Subject: top\r\n\
Content-Type: MULTIPART/MIXED; boundary=\"m1\"\r\n\
\r\n\
--m1\r\n\
Content-Type: TEXT/PLAIN\r\n\
\r\n\
part 1\r\n\
--m1\r\n\
Content-Type: APPLICATION/OCTET-STREAM\r\n\
\r\n\
part 2\r\n\
--m1\r\n\
Content-Type: MESSAGE/RFC822\r\n\
\r\n\
Subject: three\r\n\
Content-Type: MULTIPART/MIXED; boundary=m3\r\n\
\r\n\
--m3\r\n\
Content-Type: TEXT/PLAIN\r\n\
\r\n\
part 3.1\r\n\
--m3\r\n\
Content-Type: APPLICATION/OCTET-STREAM\r\n\
\r\n\
part 3.2\r\n\
--m3--\r\n\
--m1\r\n\
Content-Type: MULTIPART/MIXED; boundary=m4\r\n\
\r\n\
--m4\r\n\
Content-Type: IMAGE/GIF\r\n\
\r\n\
part 4.1\r\n\
--m4\r\n\
Content-Type: MESSAGE/RFC822\r\n\
\r\n\
Subject: four-two\r\n\
Content-Type: MULTIPART/MIXED; boundary=m42\r\n\
\r\n\
--m42\r\n\
Content-Type: TEXT/PLAIN\r\n\
\r\n\
part 4.2.1\r\n\
--m42\r\n\
Content-Type: MULTIPART/ALTERNATIVE; boundary=m422\r\n\
\r\n\
--m422\r\n\
Content-Type: TEXT/PLAIN\r\n\
\r\n\
part 4.2.2.1\r\n\
--m422\r\n\
Content-Type: TEXT/RICHTEXT\r\n\
\r\n\
part 4.2.2.2\r\n\
--m422--\r\n\
--m42--\r\n\
--m4--\r\n\
--m1--\r\n";

#[test]
fn rfc3501_section_numbering_example() {
    let summary = parse(RFC3501_EXAMPLE);
    let kind = |path: &[u32]| {
        let part = summary.part(path).unwrap();
        let ct = &part.content_type;
        format!(
            "{}/{}",
            String::from_utf8_lossy(&ct.media_type),
            String::from_utf8_lossy(&ct.subtype)
        )
    };
    let body = |path: &[u32]| slice(RFC3501_EXAMPLE, summary.part(path).unwrap().body_range());
    assert_eq!(kind(&[1]), "TEXT/PLAIN");
    assert_eq!(body(&[1]), b"part 1");
    assert_eq!(kind(&[2]), "APPLICATION/OCTET-STREAM");
    assert_eq!(kind(&[3]), "MESSAGE/RFC822");
    assert_eq!(kind(&[3, 1]), "TEXT/PLAIN");
    assert_eq!(body(&[3, 1]), b"part 3.1");
    assert_eq!(kind(&[3, 2]), "APPLICATION/OCTET-STREAM");
    assert_eq!(body(&[3, 2]), b"part 3.2");
    assert_eq!(kind(&[4]), "MULTIPART/MIXED");
    assert_eq!(kind(&[4, 1]), "IMAGE/GIF");
    assert_eq!(
        slice(
            RFC3501_EXAMPLE,
            summary.part(&[4, 1]).unwrap().header_range()
        ),
        b"Content-Type: IMAGE/GIF\r\n\r\n"
    );
    assert_eq!(kind(&[4, 2]), "MESSAGE/RFC822");
    assert_eq!(kind(&[4, 2, 1]), "TEXT/PLAIN");
    assert_eq!(body(&[4, 2, 1]), b"part 4.2.1");
    assert_eq!(kind(&[4, 2, 2]), "MULTIPART/ALTERNATIVE");
    assert_eq!(kind(&[4, 2, 2, 1]), "TEXT/PLAIN");
    assert_eq!(body(&[4, 2, 2, 1]), b"part 4.2.2.1");
    assert_eq!(kind(&[4, 2, 2, 2]), "TEXT/RICHTEXT");
    assert_eq!(body(&[4, 2, 2, 2]), b"part 4.2.2.2");
    assert_eq!(summary.part(&[4, 2, 2, 3]), None);
    assert_eq!(summary.part(&[5]), None);

    let three = summary.message(&[3]).unwrap();
    assert_eq!(three.envelope.subject, bytes("three"));
    assert_eq!(
        slice(RFC3501_EXAMPLE, three.root.header_range()),
        b"Subject: three\r\nContent-Type: MULTIPART/MIXED; boundary=m3\r\n\r\n"
    );
    assert!(slice(RFC3501_EXAMPLE, three.root.body_range()).starts_with(b"--m3\r\n"));
    assert!(slice(RFC3501_EXAMPLE, three.root.body_range()).ends_with(b"--m3--"));
    let four_two = summary.message(&[4, 2]).unwrap();
    assert_eq!(four_two.envelope.subject, bytes("four-two"));
    assert_eq!(summary.message(&[4]), None);
}

/// RFC 2046 Appendix A, with its placeholder text shortened.
const RFC2046_EXAMPLE: &[u8] = b"MIME-Version: 1.0\r\n\
From: Nathaniel Borenstein <nsb@nsb.fv.com>\r\n\
To: Ned Freed <ned@innosoft.com>\r\n\
Date: Fri, 07 Oct 1994 16:15:05 -0700 (PDT)\r\n\
Subject: A multipart example\r\n\
Content-Type: multipart/mixed;\r\n\
\x20             boundary=unique-boundary-1\r\n\
\r\n\
This is the preamble area of a multipart message.\r\n\
\r\n\
--unique-boundary-1\r\n\
\r\n\
\x20 ... Some text appears here ...\r\n\
\r\n\
--unique-boundary-1\r\n\
Content-type: text/plain; charset=US-ASCII\r\n\
\r\n\
This could have been part of the previous part.\r\n\
\r\n\
--unique-boundary-1\r\n\
Content-Type: multipart/parallel; boundary=unique-boundary-2\r\n\
\r\n\
--unique-boundary-2\r\n\
Content-Type: audio/basic\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
AAAA\r\n\
\r\n\
--unique-boundary-2\r\n\
Content-Type: image/jpeg\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
BBBB\r\n\
\r\n\
--unique-boundary-2--\r\n\
\r\n\
--unique-boundary-1\r\n\
Content-type: text/enriched\r\n\
\r\n\
This is <bold><italic>enriched.</italic></bold>\r\n\
\r\n\
--unique-boundary-1\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: (mailbox in US-ASCII)\r\n\
To: (address in US-ASCII)\r\n\
Subject: (subject in US-ASCII)\r\n\
Content-Type: Text/plain; charset=ISO-8859-1\r\n\
Content-Transfer-Encoding: Quoted-printable\r\n\
\r\n\
\x20 ... Additional text in ISO-8859-1 goes here ...\r\n\
\r\n\
--unique-boundary-1--\r\n";

#[test]
fn rfc2046_appendix_a_example() {
    let summary = parse(RFC2046_EXAMPLE);
    assert_eq!(summary.envelope.subject, bytes("A multipart example"));
    assert_eq!(
        summary.envelope.to,
        vec![addr(Some("Ned Freed"), "ned", "innosoft.com")]
    );
    assert_eq!(
        summary.root.content_type.params,
        params(&[("boundary", "unique-boundary-1")])
    );
    let children = summary.root.children();
    assert_eq!(children.len(), 5);
    assert_eq!(children[0].content_type, ContentType::default_text());
    assert_eq!(
        slice(RFC2046_EXAMPLE, children[0].body_range()),
        b"  ... Some text appears here ...\r\n"
    );
    assert_eq!(children[0].lines, 1);
    assert_eq!(
        children[1].content_type.params,
        params(&[("charset", "US-ASCII")])
    );
    let parallel = summary.part(&[3]).unwrap();
    assert!(parallel.content_type.is("multipart", "parallel"));
    assert_eq!(
        slice(RFC2046_EXAMPLE, summary.part(&[3, 1]).unwrap().body_range()),
        b"AAAA\r\n"
    );
    assert_eq!(
        slice(RFC2046_EXAMPLE, summary.part(&[3, 2]).unwrap().body_range()),
        b"BBBB\r\n"
    );
    assert!(children[3].content_type.is("text", "enriched"));
    let inner = summary.message(&[5]).unwrap();
    assert_eq!(inner.envelope.from, vec![]);
    assert_eq!(inner.envelope.subject, bytes("(subject in US-ASCII)"));
    assert_eq!(inner.root.content_type.media_type, b"Text");
    assert_eq!(inner.root.encoding, b"Quoted-printable");
    assert_eq!(summary.part(&[5, 1]), Some(&inner.root));
    assert_eq!(
        decoded_text(RFC2046_EXAMPLE, &inner.root),
        "  ... Additional text in ISO-8859-1 goes here ...\r\n"
    );
}

/// Checks the offset invariants of a part tree; returns the number of parts.
fn check_tree(part: &Part, len: u64) -> usize {
    assert!(part.header_start <= part.body_start, "{part:?}");
    assert!(part.body_start <= part.end, "{part:?}");
    assert!(part.end <= len, "{part:?}");
    let mut count = 1;
    let mut previous_end = part.body_start;
    for child in part.children() {
        assert!(child.header_start >= previous_end, "{child:?}");
        assert!(child.end <= part.end, "{child:?}");
        previous_end = child.end;
        count += check_tree(child, len);
    }
    if let Some(message) = part.message() {
        assert_eq!(message.root.header_start, part.body_start);
        assert_eq!(message.root.end, part.end);
        count += check_tree(&message.root, len);
    }
    count
}

#[test]
fn random_token_soup_keeps_invariants() {
    const TOKENS: [&[u8]; 16] = [
        b"--b",
        b"--c",
        b"--",
        b"\r\n",
        b"\r\n\r\n",
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"Content-Type: multipart/digest; boundary=\"c\"\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"To: a:b@c,(d\"e;\r\n",
        b"Subject: =?utf-8?q?x?=\r\n",
        b" ",
        b"x",
        b"\"",
        b"<@",
        b"\xff",
        b"=?",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut nested = 0;
    for _ in 0..2_000 {
        let mut msg = Vec::new();
        for _ in 0..(next() % 60) {
            msg.extend_from_slice(TOKENS[(next() % TOKENS.len() as u64) as usize]);
        }
        let summary = parse(&msg);
        assert_eq!(summary.root.header_start, 0);
        assert_eq!(summary.root.end, msg.len() as u64);
        let parts = check_tree(&summary.root, msg.len() as u64);
        assert!(parts <= MAX_PARTS);
        nested += usize::from(parts > 1);
        let _ = header_fields(&msg, &[b"to"], true);
        let _ = decode_header_value(&msg);
        let _ = decoded_text(&msg, &summary.root);
    }
    // The soup must actually exercise the multipart/message paths.
    assert!(nested > 200, "only {nested} nested messages");
}
