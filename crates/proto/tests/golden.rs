//! Golden MIME corpus: for every `tests/golden/NAME.eml`, the exact IMAP wire form of ENVELOPE,
//! BODYSTRUCTURE, BODY and a set of body sections, as produced by `portcullis_mime::parse` and
//! the response encoder, must equal the checked-in `tests/golden/NAME.expected`.
//!
//! The message goes through the same steps as APPEND: line endings normalised to CRLF, parsed
//! once, then encoded from the summary; sections are cut from the normalised bytes the way
//! `session::commands::fetch` cuts them (`section_bytes` below mirrors it).
//!
//! `NAME.expected` holds one untagged FETCH response per item, `* 1 FETCH (ITEM)` + CRLF, for a
//! session without UTF8=ACCEPT. The items (see [`items`]): ENVELOPE, BODYSTRUCTURE, BODY,
//! `BODY[HEADER]`, `BODY[TEXT]`, a `HEADER.FIELDS` and a `HEADER.FIELDS.NOT`, a partial
//! `BODY[TEXT]<0.32>`, then for every part `n` (walked in IMAP numbering) `BODY[n]` and
//! `BODY[n.MIME]`, and for a `message/rfc822` / `message/global` part also `BODY[n.HEADER]`,
//! `BODY[n.TEXT]` and `BODY[n.HEADER.FIELDS (...)]`. Parts deeper than [`MAX_SECTION_DEPTH`]
//! are listed only when they are leaves, so deeply nested messages stay small.
//!
//! The end-to-end test `tests/e2e/test_dovecot_golden.py` reads the same files: it checks that
//! the running server answers exactly this, and compares the answers with Dovecot's.
//!
//! After a deliberate change, `PORTCULLIS_BLESS=1 cargo test -p portcullis-proto --test golden`
//! rewrites the expectations; review the diff before committing it. Without the variable any
//! difference fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use bytes::Bytes;
use portcullis_mime::{MessageSummary, Part, PartKind};
use portcullis_proto::command::{Section, SectionAlias, SectionText};
use portcullis_proto::encode::{Charset, Data, FetchAttr};

/// Part paths longer than this are only listed when the part is a leaf.
const MAX_SECTION_DEPTH: usize = 3;

/// The fields asked for with `HEADER.FIELDS` (and, for the top level, `HEADER.FIELDS.NOT`).
const FIELDS: [&str; 7] = [
    "FROM",
    "TO",
    "CC",
    "SUBJECT",
    "DATE",
    "MESSAGE-ID",
    "CONTENT-TYPE",
];
const FIELDS_NOT: [&str; 3] = ["RECEIVED", "RETURN-PATH", "CONTENT-TYPE"];

/// A partial fetch of `BODY[TEXT]`: `<0.32>`.
const PARTIAL: (u32, u32) = (0, 32);

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden")
}

fn corpus() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/golden exists")
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    files.sort();
    files
}

/// One FETCH item of the expectations.
#[derive(Debug)]
enum Item {
    Envelope,
    BodyStructure,
    Body,
    Section {
        section: Section,
        partial: Option<(u32, u32)>,
    },
}

fn section(part: &[u32], text: Option<SectionText>) -> Item {
    Item::Section {
        section: Section {
            part: part.to_vec(),
            text,
        },
        partial: None,
    }
}

fn names(list: &[&str]) -> Vec<Bytes> {
    list.iter().map(|n| Bytes::from(n.to_string())).collect()
}

/// The items checked for one message.
fn items(summary: &MessageSummary) -> Vec<Item> {
    let mut items = vec![
        Item::Envelope,
        Item::BodyStructure,
        Item::Body,
        section(&[], Some(SectionText::Header)),
        section(&[], Some(SectionText::Text)),
        section(&[], Some(SectionText::HeaderFields(names(&FIELDS)))),
        section(&[], Some(SectionText::HeaderFieldsNot(names(&FIELDS_NOT)))),
        Item::Section {
            section: Section {
                part: Vec::new(),
                text: Some(SectionText::Text),
            },
            partial: Some(PARTIAL),
        },
    ];
    let mut path = Vec::new();
    message_parts(summary, &mut path, &mut items);
    items
}

/// The numbered parts of a message (RFC 9051 6.4.5): the children of a multipart root, or
/// part 1 = the root itself.
fn message_parts(message: &MessageSummary, path: &mut Vec<u32>, items: &mut Vec<Item>) {
    match &message.root.kind {
        PartKind::Multipart(children) => {
            for (i, child) in children.iter().enumerate() {
                path.push(u32::try_from(i + 1).expect("part count fits u32"));
                part_items(child, path, items);
                path.pop();
            }
        }
        PartKind::Single | PartKind::Message(_) => {
            path.push(1);
            part_items(&message.root, path, items);
            path.pop();
        }
    }
}

fn part_items(part: &Part, path: &mut Vec<u32>, items: &mut Vec<Item>) {
    let leaf = matches!(part.kind, PartKind::Single);
    if path.len() <= MAX_SECTION_DEPTH || leaf {
        items.push(section(path, None));
        items.push(section(path, Some(SectionText::Mime)));
    }
    match &part.kind {
        PartKind::Single => {}
        PartKind::Multipart(children) => {
            for (i, child) in children.iter().enumerate() {
                path.push(u32::try_from(i + 1).expect("part count fits u32"));
                part_items(child, path, items);
                path.pop();
            }
        }
        PartKind::Message(inner) => {
            if path.len() <= MAX_SECTION_DEPTH {
                items.push(section(path, Some(SectionText::Header)));
                items.push(section(path, Some(SectionText::Text)));
                items.push(section(
                    path,
                    Some(SectionText::HeaderFields(names(&FIELDS))),
                ));
            }
            // Part 1 of a non-multipart encapsulated message is its root, which `part_items`
            // was just called for under another name; its own parts follow.
            message_parts(inner, path, items);
        }
    }
}

fn slice(raw: &[u8], range: std::ops::Range<u64>) -> Option<Vec<u8>> {
    let start = usize::try_from(range.start).ok()?;
    let end = usize::try_from(range.end).ok()?;
    raw.get(start..end).map(<[u8]>::to_vec)
}

/// Mirrors `section_bytes` in `crates/session/src/commands/fetch.rs`.
fn section_bytes(raw: &[u8], summary: &MessageSummary, section: &Section) -> Option<Vec<u8>> {
    match &section.text {
        None if section.part.is_empty() => Some(raw.to_vec()),
        None => slice(raw, summary.part(&section.part)?.body_range()),
        Some(SectionText::Mime) => slice(raw, summary.part(&section.part)?.header_range()),
        Some(text) => {
            let message = summary.message(&section.part)?;
            match text {
                SectionText::Text => slice(raw, message.root.body_range()),
                SectionText::Header => slice(raw, message.root.header_range()),
                SectionText::HeaderFields(names) | SectionText::HeaderFieldsNot(names) => {
                    let header = slice(raw, message.root.header_range())?;
                    let names: Vec<&[u8]> = names.iter().map(|n| n.as_ref()).collect();
                    let negate = matches!(text, SectionText::HeaderFieldsNot(_));
                    Some(portcullis_mime::header_fields(&header, &names, negate))
                }
                SectionText::Mime => None,
            }
        }
    }
}

fn partial(data: Vec<u8>, (offset, length): (u32, u32)) -> Vec<u8> {
    let start = usize::try_from(offset).unwrap().min(data.len());
    let end = start
        .saturating_add(usize::try_from(length).unwrap())
        .min(data.len());
    data[start..end].to_vec()
}

/// The expectations for one message: the wire form of every item.
fn render(original: &[u8]) -> Vec<u8> {
    let raw = portcullis_mime::normalize_line_endings(original);
    let summary = portcullis_mime::parse(&raw);
    let charset = Charset::default();
    let mut out = Vec::new();
    for item in items(&summary) {
        let data = match &item {
            Item::Section {
                section,
                partial: p,
            } => {
                let data = section_bytes(&raw, &summary, section);
                match p {
                    Some(p) => data.map(|d| partial(d, *p)),
                    None => data,
                }
            }
            _ => None,
        };
        let attr = match &item {
            Item::Envelope => FetchAttr::Envelope(&summary.envelope),
            Item::BodyStructure => FetchAttr::BodyStructure {
                message: &summary,
                extensible: true,
            },
            Item::Body => FetchAttr::BodyStructure {
                message: &summary,
                extensible: false,
            },
            Item::Section { section, partial } => FetchAttr::Section {
                section,
                alias: SectionAlias::Body,
                origin: partial.map(|(offset, _)| offset),
                data: data.as_deref(),
            },
        };
        Data::Fetch {
            seq: 1,
            items: &[attr],
        }
        .write(&mut out, charset);
    }
    out
}

/// The first line where two renderings differ, for the failure message.
fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let split = |data: &[u8]| -> Vec<String> {
        data.split(|&c| c == b'\n')
            .map(|line| String::from_utf8_lossy(line).into_owned())
            .collect()
    };
    let (expected, actual) = (split(expected), split(actual));
    for (i, (e, a)) in expected.iter().zip(&actual).enumerate() {
        if e != a {
            let cut = |s: &str| s.chars().take(400).collect::<String>();
            return format!(
                "line {}:\n  expected: {}\n  actual:   {}",
                i + 1,
                cut(e),
                cut(a)
            );
        }
    }
    format!(
        "line counts differ: expected {}, actual {}",
        expected.len(),
        actual.len()
    )
}

#[test]
fn golden_corpus_matches_expectations() {
    let bless = std::env::var_os("PORTCULLIS_BLESS").is_some_and(|v| v == "1");
    let files = corpus();
    assert!(
        files.len() >= 60,
        "the golden corpus has {} messages, expected at least 60",
        files.len()
    );
    let mut failures = Vec::new();
    for eml in &files {
        let original = std::fs::read(eml).unwrap();
        let actual = render(&original);
        let expected_path = eml.with_extension("expected");
        let name = eml.file_name().unwrap().to_string_lossy().into_owned();
        if bless {
            if std::fs::read(&expected_path).ok().as_deref() != Some(actual.as_slice()) {
                std::fs::write(&expected_path, &actual).unwrap();
                eprintln!("blessed {}", expected_path.display());
            }
            continue;
        }
        match std::fs::read(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => {
                failures.push(format!("{name}: {}", first_difference(&expected, &actual)))
            }
            Err(error) => failures.push(format!(
                "{name}: cannot read {}: {error}",
                expected_path.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden messages differ (PORTCULLIS_BLESS=1 rewrites the expectations after a \
         deliberate change):\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn every_expectation_has_its_message() {
    let dir = corpus_dir();
    let orphans: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "expected"))
        .filter(|path| !path.with_extension("eml").is_file())
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        orphans.is_empty(),
        "expectations without a message: {orphans:?}"
    );
}

#[test]
fn a_changed_rendering_is_detected() {
    // The comparison is byte-exact: one changed byte of a message changes its rendering.
    let files = corpus();
    let original = std::fs::read(&files[0]).unwrap();
    let mut changed = original.clone();
    let last = changed.len() - 1;
    changed[last] = if changed[last] == b'x' { b'y' } else { b'x' };
    assert_ne!(render(&original), render(&changed));
}
