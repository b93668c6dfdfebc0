//! Deterministic test messages: the same seed and index always give the same bytes, so the
//! bench can check any message a server returns without keeping what it appended.
//!
//! Messages are realistic in shape — a `Received` chain, `From`/`To`/`Date`/`Message-ID`,
//! 2–100 KB, a mix of `text/plain`, `multipart/alternative` (plain + HTML) and
//! `multipart/mixed` with a base64 attachment — CRLF line ends throughout, 7-bit text.
//!
//! Searches have known answers: the subject marker appears in the subject of exactly the
//! messages for which [`has_subject_marker`] is true, and the body marker in the first text
//! part of exactly those for which [`has_body_marker`] is true. Both markers contain a
//! digit, which no vocabulary word does, so they cannot be formed by accident from the text
//! (the random base64 of attachments could, with a probability far below 1e-9 per run).

/// The word searched by `UID SEARCH SUBJECT`.
pub(crate) const SUBJECT_MARKER: &str = "Zephyr7quartz";
/// The word searched by `UID SEARCH BODY`.
pub(crate) const BODY_MARKER: &str = "xylo4phonic";

/// Messages with `index % SUBJECT_EVERY == SUBJECT_AT` carry the subject marker (2 %).
const SUBJECT_EVERY: u64 = 50;
const SUBJECT_AT: u64 = 7;
/// Messages with `index % BODY_EVERY == BODY_AT` carry the body marker (0.4 %).
const BODY_EVERY: u64 = 250;
const BODY_AT: u64 = 123;

/// Whether message `index` has the subject marker.
pub(crate) fn has_subject_marker(index: u64) -> bool {
    index % SUBJECT_EVERY == SUBJECT_AT
}

/// Whether message `index` has the body marker.
pub(crate) fn has_body_marker(index: u64) -> bool {
    index % BODY_EVERY == BODY_AT
}

/// SplitMix64: tiny, fast, and good enough for test data (not for anything secret).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`; the modulo bias is irrelevant for test data).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// An index into a slice of length `len > 0`.
    pub(crate) fn index(&mut self, len: usize) -> usize {
        // Invariant: the result is below `len`, which is a usize.
        usize::try_from(self.below(len as u64)).unwrap_or(0)
    }

    pub(crate) fn range(&mut self, lo: u64, hi_inclusive: u64) -> u64 {
        lo + self.below(hi_inclusive - lo + 1)
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.get(self.index(items.len())).copied().unwrap_or("")
    }
}

const WORDS: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "had",
    "they",
    "you",
    "were",
    "their",
    "one",
    "all",
    "we",
    "can",
    "her",
    "has",
    "there",
    "been",
    "if",
    "more",
    "when",
    "will",
    "would",
    "who",
    "so",
    "no",
    "meeting",
    "report",
    "project",
    "schedule",
    "budget",
    "review",
    "please",
    "attached",
    "thanks",
    "regards",
    "tomorrow",
    "customer",
    "invoice",
    "delivery",
    "server",
    "release",
    "update",
    "question",
    "proposal",
    "contract",
    "quarter",
    "numbers",
    "design",
    "draft",
    "notes",
    "agenda",
    "travel",
    "office",
    "team",
    "weekly",
    "status",
    "deadline",
    "feedback",
    "summary",
    "approval",
    "changes",
    "version",
    "document",
    "analysis",
    "support",
    "ticket",
    "issue",
    "priority",
    "morning",
    "afternoon",
    "evening",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "lunch",
    "coffee",
    "call",
    "conference",
    "presentation",
    "slides",
    "figures",
    "estimate",
    "order",
    "shipment",
    "warehouse",
    "account",
    "payment",
    "balance",
    "receipt",
    "holiday",
    "vacation",
    "training",
    "workshop",
    "interview",
    "candidate",
    "offer",
    "planning",
    "migration",
    "database",
    "network",
    "backup",
    "security",
    "password",
    "access",
    "permission",
    "printer",
    "laptop",
    "phone",
    "message",
    "mailbox",
    "folder",
    "calendar",
    "reminder",
    "follow",
    "up",
    "about",
    "regarding",
    "forward",
    "reply",
    "urgent",
    "minor",
    "major",
    "small",
    "large",
    "new",
    "old",
    "first",
    "last",
    "next",
    "previous",
    "good",
    "great",
    "fine",
    "better",
    "best",
    "quick",
    "short",
    "long",
    "final",
    "early",
];

const FIRST_NAMES: &[&str] = &[
    "Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory",
    "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter",
];
const LAST_NAMES: &[&str] = &[
    "Smith", "Jones", "Garcia", "Miller", "Davis", "Martin", "Bernard", "Dubois", "Moreau",
    "Schmidt", "Fischer", "Weber", "Rossi", "Russo", "Novak", "Horvat", "Kowalski", "Nagy",
];
const DOMAINS: &[&str] = &[
    "example.org",
    "example.com",
    "example.net",
    "mail.example.org",
    "corp.example.com",
];
const DAYS: &[&str] = &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: &[&str] = &[
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The three shapes of generated message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Plain,
    Alternative,
    Attachment,
}

/// One generated message.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) bytes: Vec<u8>,
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the tests check the mix of shapes")
    )]
    pub(crate) shape: Shape,
}

/// The message number `index` of the stream `seed`.
pub(crate) fn generate(seed: u64, index: u64) -> Message {
    let mut rng = Rng::new(seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407) ^ 0x5EED);
    // Sizes: 60 % small (2–10 KB), 30 % medium (10–40 KB), 10 % large (40–100 KB).
    let size_class = rng.below(10);
    let target = match size_class {
        0..=5 => rng.range(2_000, 10_000),
        6..=8 => rng.range(10_000, 40_000),
        _ => rng.range(40_000, 100_000),
    };
    let shape = match rng.below(10) {
        0..=4 => Shape::Plain,
        5..=7 => Shape::Alternative,
        _ => Shape::Attachment,
    };
    let mut out = Vec::with_capacity(usize::try_from(target).unwrap_or(0) + 2048);
    let headers = headers(&mut rng, seed, index);
    out.extend_from_slice(headers.as_bytes());
    let boundary = format!("=_bench_{index:x}_{:x}", rng.next_u64());
    let header_len = out.len() as u64;
    let budget = target.saturating_sub(header_len).max(600);
    let marker = has_body_marker(index);
    match shape {
        Shape::Plain => {
            out.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii\r\n");
            out.extend_from_slice(b"Content-Transfer-Encoding: 7bit\r\n\r\n");
            text_body(&mut rng, &mut out, budget, marker);
        }
        Shape::Alternative => {
            let line = format!(
                "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
                 This is a multi-part message in MIME format.\r\n\r\n--{boundary}\r\n\
                 Content-Type: text/plain; charset=us-ascii\r\n\
                 Content-Transfer-Encoding: 7bit\r\n\r\n"
            );
            out.extend_from_slice(line.as_bytes());
            text_body(&mut rng, &mut out, budget / 2, marker);
            let line = format!(
                "\r\n--{boundary}\r\nContent-Type: text/html; charset=us-ascii\r\n\
                 Content-Transfer-Encoding: 7bit\r\n\r\n<html><body>\r\n"
            );
            out.extend_from_slice(line.as_bytes());
            html_body(&mut rng, &mut out, budget / 2);
            out.extend_from_slice(format!("</body></html>\r\n\r\n--{boundary}--\r\n").as_bytes());
        }
        Shape::Attachment => {
            let line = format!(
                "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
                 This is a multi-part message in MIME format.\r\n\r\n--{boundary}\r\n\
                 Content-Type: text/plain; charset=us-ascii\r\n\
                 Content-Transfer-Encoding: 7bit\r\n\r\n"
            );
            out.extend_from_slice(line.as_bytes());
            let text = (budget / 4).max(400);
            text_body(&mut rng, &mut out, text, marker);
            let name = format!("{}-{index}.pdf", rng.pick(WORDS));
            let line = format!(
                "\r\n--{boundary}\r\nContent-Type: application/pdf; name=\"{name}\"\r\n\
                 Content-Disposition: attachment; filename=\"{name}\"\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n"
            );
            out.extend_from_slice(line.as_bytes());
            base64_body(&mut rng, &mut out, budget.saturating_sub(text));
            out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        }
    }
    Message { bytes: out, shape }
}

fn person(rng: &mut Rng) -> (String, String) {
    let first = rng.pick(FIRST_NAMES);
    let last = rng.pick(LAST_NAMES);
    let domain = rng.pick(DOMAINS);
    (
        format!("{first} {last}"),
        format!(
            "{}.{}@{domain}",
            first.to_ascii_lowercase(),
            last.to_ascii_lowercase()
        ),
    )
}

fn date(rng: &mut Rng, index: u64) -> String {
    // Dates walk forward with the index, like a real mailbox.
    let day_number = index / 40;
    let day = rng.pick(DAYS);
    let month = MONTHS
        .get(usize::try_from((day_number / 28) % 12).unwrap_or(0))
        .unwrap_or(&"Jan");
    let year = 2020 + (day_number / 336) % 6;
    format!(
        "{day}, {} {month} {year} {:02}:{:02}:{:02} +0000",
        day_number % 28 + 1,
        rng.below(24),
        rng.below(60),
        rng.below(60)
    )
}

fn sentence_words(rng: &mut Rng, n: u64) -> String {
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(rng.pick(WORDS));
    }
    s
}

fn headers(rng: &mut Rng, seed: u64, index: u64) -> String {
    let (from_name, from) = person(rng);
    let (to_name, to) = person(rng);
    let date = date(rng, index);
    let words = rng.range(3, 8);
    let mut subject = sentence_words(rng, words);
    if has_subject_marker(index) {
        subject.push(' ');
        subject.push_str(SUBJECT_MARKER);
        subject.push(' ');
        subject.push_str(rng.pick(WORDS));
    }
    let mut h = String::with_capacity(1024);
    h.push_str(&format!(
        "Return-Path: <{from}>\r\n\
         Received: from mx{}.example.net (mx.example.net [192.0.2.{}])\r\n\
         \tby mail.example.org with ESMTPS id {:x}\r\n\
         \tfor <{to}>; {date}\r\n\
         Received: from client.example.com ([198.51.100.{}])\r\n\
         \tby mx.example.net with ESMTPSA id {:x}; {date}\r\n",
        rng.below(9),
        rng.range(1, 254),
        rng.next_u64(),
        rng.range(1, 254),
        rng.next_u64()
    ));
    h.push_str(&format!(
        "Date: {date}\r\nFrom: {from_name} <{from}>\r\nTo: {to_name} <{to}>\r\n"
    ));
    if rng.below(3) == 0 {
        let (cc_name, cc) = person(rng);
        h.push_str(&format!("Cc: {cc_name} <{cc}>\r\n"));
    }
    h.push_str(&format!(
        "Subject: {subject}\r\nMessage-ID: <{index}.{seed:x}@bench.example.org>\r\n"
    ));
    if index > 0 && rng.below(2) == 0 {
        h.push_str(&format!(
            "In-Reply-To: <{}.{seed:x}@bench.example.org>\r\n",
            index - 1
        ));
    }
    h.push_str("X-Mailer: portcullis-bench\r\nMIME-Version: 1.0\r\n");
    h
}

/// Paragraphs of lines of at most 76 characters, until about `budget` bytes.
fn text_body(rng: &mut Rng, out: &mut Vec<u8>, budget: u64, marker: bool) {
    let start = out.len();
    let used = |out: &Vec<u8>| (out.len() - start) as u64;
    out.extend_from_slice(b"Hello,\r\n\r\n");
    let mut marker_pending = marker;
    while used(out) < budget {
        let lines = rng.range(2, 6);
        for _ in 0..lines {
            let mut line = String::with_capacity(80);
            loop {
                let word = rng.pick(WORDS);
                if line.len() + word.len() + 1 > 72 {
                    break;
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            if marker_pending && line.len() + BODY_MARKER.len() < 76 {
                line.push(' ');
                line.push_str(BODY_MARKER);
                marker_pending = false;
            }
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Regards,\r\n-- \r\nportcullis-bench\r\n");
}

fn html_body(rng: &mut Rng, out: &mut Vec<u8>, budget: u64) {
    let start = out.len();
    while ((out.len() - start) as u64) < budget {
        let words = rng.range(6, 11);
        let text = sentence_words(rng, words);
        out.extend_from_slice(b"<p>");
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"</p>\r\n");
    }
}

fn base64_body(rng: &mut Rng, out: &mut Vec<u8>, budget: u64) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let lines = (budget / 78).max(1);
    for _ in 0..lines {
        // 76 characters a line, as RFC 2045 asks; random data, so any alphabet choice is
        // valid base64 (4-character groups, no padding needed).
        for _ in 0..19 {
            let v = rng.next_u64();
            for k in 0..4 {
                let i = usize::try_from((v >> (6 * k)) & 63).unwrap_or(0);
                out.push(ALPHABET.get(i).copied().unwrap_or(b'A'));
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_and_index_give_the_same_bytes() {
        assert_eq!(generate(1, 42).bytes, generate(1, 42).bytes);
        assert_ne!(generate(1, 42).bytes, generate(1, 43).bytes);
        assert_ne!(generate(1, 42).bytes, generate(2, 42).bytes);
    }

    #[test]
    fn sizes_and_shapes_are_realistic() {
        let mut shapes = [0u32; 3];
        let mut total = 0usize;
        for i in 0..500 {
            let m = generate(7, i);
            let len = m.bytes.len();
            assert!(
                (1_500..=110_000).contains(&len),
                "message {i} is {len} bytes"
            );
            total += len;
            shapes[match m.shape {
                Shape::Plain => 0,
                Shape::Alternative => 1,
                Shape::Attachment => 2,
            }] += 1;
        }
        assert!(shapes.iter().all(|&n| n > 50), "{shapes:?}");
        let mean = total / 500;
        assert!((10_000..30_000).contains(&mean), "mean {mean}");
    }

    #[test]
    fn line_ends_are_crlf_and_text_is_seven_bit() {
        for i in 0..200 {
            let bytes = generate(3, i).bytes;
            for (pos, &b) in bytes.iter().enumerate() {
                assert!(b < 0x80, "8-bit byte in message {i}");
                if b == b'\n' {
                    assert_eq!(
                        bytes.get(pos.wrapping_sub(1)),
                        Some(&b'\r'),
                        "bare LF in {i}"
                    );
                }
                if b == b'\r' {
                    assert_eq!(bytes.get(pos + 1), Some(&b'\n'), "bare CR in {i}");
                }
            }
            assert!(bytes.ends_with(b"\r\n"));
            let text = String::from_utf8_lossy(&bytes);
            assert!(text.lines().all(|l| l.len() <= 998), "long line in {i}");
        }
    }

    fn contains(haystack: &[u8], needle: &str) -> bool {
        let needle = needle.to_ascii_lowercase();
        haystack
            .to_ascii_lowercase()
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    }

    #[test]
    fn markers_appear_exactly_where_announced() {
        for i in 0..1_000 {
            let bytes = generate(11, i).bytes;
            let split = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0);
            let (header, body) = bytes.split_at(split);
            let subject_line = String::from_utf8_lossy(header)
                .lines()
                .find(|l| l.starts_with("Subject: "))
                .map(str::to_owned)
                .unwrap_or_default();
            assert_eq!(
                contains(subject_line.as_bytes(), SUBJECT_MARKER),
                has_subject_marker(i)
            );
            assert!(!contains(body, SUBJECT_MARKER));
            assert_eq!(
                contains(body, BODY_MARKER),
                has_body_marker(i),
                "message {i}"
            );
            assert!(!contains(header, BODY_MARKER));
        }
        assert!((0..1_000).any(has_body_marker));
        assert_eq!((0..1_000).filter(|&i| has_subject_marker(i)).count(), 20);
    }

    #[test]
    fn rng_is_spread() {
        let mut rng = Rng::new(1);
        let mut buckets = [0u32; 10];
        for _ in 0..10_000 {
            buckets[rng.index(10)] += 1;
        }
        assert!(
            buckets.iter().all(|&n| (800..1200).contains(&n)),
            "{buckets:?}"
        );
    }
}
