//! FETCH through the session (RFC 9051 6.4.5, 7.5.2) and BINARY (RFC 3516) on a
//! multipart/mixed message with a base64 attachment.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{append, check};

const LOGIN: &str = "C: a0 LOGIN alice secret\nS: a0 OK [CAPABILITY {*}] Logged in";

/// A text part and a base64 attachment ("Hello, World!").
const MIXED: &str = "From: Ann Example <ann@example.org>
To: Bob <bob@example.org>, carol@example.net
Cc: \"Dan D.\" <dan@example.com>
Subject: Report
Date: Tue, 1 Jul 2003 10:52:37 +0200
Message-ID: <m1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"XX\"

Preamble.
--XX
Content-Type: text/plain; charset=utf-8

Hello Bob.
--XX
Content-Type: application/octet-stream; name=\"a.bin\"
Content-Disposition: attachment; filename=\"a.bin\"
Content-Transfer-Encoding: base64

SGVsbG8sIFdvcmxkIQ==
--XX--";

/// Appends [`MIXED`] (unseen) and selects INBOX.
fn setup() -> String {
    format!(
        "{LOGIN}
         {}
         S: p1 OK [APPENDUID {{*}} 1] APPEND completed
         C: p2 SELECT INBOX
         S: * FLAGS ({{*}})
         S: * OK [PERMANENTFLAGS ({{*}})] Flags permitted
         S: * 1 EXISTS
         S: * 1 RECENT
         S: * OK [UNSEEN 1] Message 1 is first unseen
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT 2] Predicted next UID
         S: p2 OK [READ-WRITE] SELECT completed",
        append("p1", "INBOX", &[("\"01-Jul-2003 10:52:37 +0200\" ", MIXED)])
    )
}

#[tokio::test]
async fn rfc9051_7_5_2_bodystructure_and_envelope() {
    check(&format!(
        "{}
         C: a1 FETCH 1 (ENVELOPE)
         S: * 1 FETCH (ENVELOPE (\"Tue, 1 Jul 2003 10:52:37 +0200\" \"Report\" ((\"Ann Example\" NIL \"ann\" \"example.org\")) ((\"Ann Example\" NIL \"ann\" \"example.org\")) ((\"Ann Example\" NIL \"ann\" \"example.org\")) ((\"Bob\" NIL \"bob\" \"example.org\")(NIL NIL \"carol\" \"example.net\")) ((\"Dan D.\" NIL \"dan\" \"example.com\")) NIL NIL \"<m1@example.org>\"))
         S: a1 OK FETCH completed
         C: a2 FETCH 1 (BODYSTRUCTURE)
         S: * 1 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 10 0 NIL NIL NIL NIL)(\"application\" \"octet-stream\" (\"name\" \"a.bin\") NIL NIL \"base64\" 20 NIL (\"attachment\" (\"filename\" \"a.bin\")) NIL NIL) \"mixed\" (\"boundary\" \"XX\") NIL NIL NIL))
         S: a2 OK FETCH completed
         C: a3 FETCH 1 (BODY)
         S: * 1 FETCH (BODY ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 10 0)(\"application\" \"octet-stream\" (\"name\" \"a.bin\") NIL NIL \"base64\" 20) \"mixed\"))
         S: a3 OK FETCH completed",
        setup()
    ))
    .await;
}

/// `S:` lines showing `text` (lines separated by `\n`) as the server sends it in a literal.
fn shown(text: &str) -> String {
    text.lines().map(|line| format!("S: {line}\n")).collect()
}

/// The header of [`MIXED`], blank line included.
fn mixed_header() -> String {
    format!("{}S:\n", shown(MIXED.split("\n\n").next().unwrap()))
}

/// The body of [`MIXED`].
fn mixed_text() -> String {
    shown(MIXED.split_once("\n\n").unwrap().1)
}

/// RFC 9051 6.4.5: sections by part number, MIME headers of parts, HEADER and TEXT of the
/// message, partial fetches ("If the origin octet is beyond the end of the text, an empty
/// string is returned"), and parts that do not exist (NIL).
#[tokio::test]
async fn rfc9051_6_4_5_body_sections() {
    check(&format!(
        "{}
         C: a1 FETCH 1 (BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2.MIME])
         S: * 1 FETCH (BODY[1] {{10}}
         S: Hello Bob. BODY[1.MIME] {{43}}
         S: Content-Type: text/plain; charset=utf-8
         S:
         S:  BODY[2.MIME] {{142}}
         S: Content-Type: application/octet-stream; name=\"a.bin\"
         S: Content-Disposition: attachment; filename=\"a.bin\"
         S: Content-Transfer-Encoding: base64
         S:
         S: )
         S: a1 OK FETCH completed
         C: a2 FETCH 1 (BODY.PEEK[HEADER] RFC822.HEADER)
         S: * 1 FETCH (BODY[HEADER] {{267}}
         {header}S:  RFC822.HEADER {{267}}
         {header}S: )
         S: a2 OK FETCH completed
         C: a3 FETCH 1 BODY.PEEK[TEXT]
         S: * 1 FETCH (BODY[TEXT] {{250}}
         {text}S: )
         S: a3 OK FETCH completed
         C: a4 FETCH 1 (BODY.PEEK[]<0.10> BODY.PEEK[]<509.100> BODY.PEEK[]<5000.10>)
         S: * 1 FETCH (BODY[]<0> {{10}}
         S: From: Ann  BODY[]<509> {{8}}
         S: --XX--
         S:  BODY[]<5000> {{0}}
         S: )
         S: a4 OK FETCH completed
         C: a5 UID FETCH 1 (BODY.PEEK[2] BODY.PEEK[1]<6.100>)
         S: * 1 FETCH (UID 1 BODY[2] {{20}}
         S: SGVsbG8sIFdvcmxkIQ== BODY[1]<6> {{4}}
         S: Bob.)
         S: a5 OK UID FETCH completed
         C: a6 FETCH 1 (BODY.PEEK[3] BODY.PEEK[2.TEXT] BODY.PEEK[1.2])
         S: * 1 FETCH (BODY[3] NIL BODY[2.TEXT] NIL BODY[1.2] NIL)
         S: a6 OK FETCH completed
         C: a7 FETCH 1 FLAGS
         S: * 1 FETCH (FLAGS (\\Recent))
         S: a7 OK FETCH completed",
        setup(),
        header = mixed_header(),
        text = mixed_text(),
    ))
    .await;
}

/// RFC 9051 6.4.5: "The \\Seen flag is implicitly set" by BODY[...], RFC822, RFC822.TEXT and
/// BINARY[...]; "if this causes the flags to change, they SHOULD be included as part of the
/// FETCH responses". BODY.PEEK, BINARY.PEEK and RFC822.HEADER leave the flags alone.
#[tokio::test]
async fn rfc9051_6_4_5_fetching_a_body_sets_seen() {
    check(&format!(
        "{}
         C: a1 FETCH 1 (RFC822.SIZE BODY[1])
         S: * 1 FETCH (RFC822.SIZE 517 BODY[1] {{10}}
         S: Hello Bob. FLAGS (\\Seen \\Recent))
         S: a1 OK FETCH completed
         C: a2 FETCH 1 BODY[1]
         S: * 1 FETCH (BODY[1] {{10}}
         S: Hello Bob.)
         S: a2 OK FETCH completed
         C: a3 STORE 1 -FLAGS.SILENT (\\Seen)
         S: a3 OK STORE completed
         C: a4 FETCH 1 RFC822.HEADER
         S: * 1 FETCH (RFC822.HEADER {{267}}
         {header}S: )
         S: a4 OK FETCH completed
         C: a5 FETCH 1 RFC822.TEXT
         S: * 1 FETCH (RFC822.TEXT {{250}}
         {text}S:  FLAGS (\\Seen \\Recent))
         S: a5 OK FETCH completed
         C: a6 STORE 1 -FLAGS.SILENT (\\Seen)
         S: a6 OK STORE completed
         C: a7 FETCH 1 (FLAGS RFC822)
         S: * 1 FETCH (FLAGS (\\Seen \\Recent) RFC822 {{517}}
         {header}{text}S: )
         S: a7 OK FETCH completed
         C: a8 STORE 1 -FLAGS.SILENT (\\Seen)
         S: a8 OK STORE completed
         C: a9 FETCH 1 BINARY[2]
         S: * 1 FETCH (BINARY[2] {{13}}
         S: Hello, World! FLAGS (\\Seen \\Recent))
         S: a9 OK FETCH completed
         C: b1 STORE 1 -FLAGS.SILENT (\\Seen)
         S: b1 OK STORE completed
         C: b2 FETCH 1 (BINARY.PEEK[2] BODY.PEEK[1])
         S: * 1 FETCH (BINARY[2] {{13}}
         S: Hello, World! BODY[1] {{10}}
         S: Hello Bob.)
         S: b2 OK FETCH completed
         C: b3 EXAMINE INBOX
         S: * OK [CLOSED] Previous mailbox closed
         S: * FLAGS ({{*}})
         S: * OK [PERMANENTFLAGS ()] No permanent flags permitted
         S: * 1 EXISTS
         S: * 0 RECENT
         S: * OK [UNSEEN 1] Message 1 is first unseen
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT 2] Predicted next UID
         S: b3 OK [READ-ONLY] EXAMINE completed
         C: b4 FETCH 1 BODY[1]
         S: * 1 FETCH (BODY[1] {{10}}
         S: Hello Bob.)
         S: b4 OK FETCH completed
         C: b5 FETCH 1 FLAGS
         S: * 1 FETCH (FLAGS ())
         S: b5 OK FETCH completed",
        setup(),
        header = mixed_header(),
        text = mixed_text(),
    ))
    .await;
}

/// RFC 3516: BINARY decodes the transfer encoding (base64 here; 7bit passes unchanged),
/// BINARY.SIZE is the decoded size, partial BINARY counts decoded octets, and a part that
/// does not exist is refused.
#[tokio::test]
async fn rfc3516_binary_and_binary_size() {
    check(&format!(
        "{}
         C: a1 FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[1] BINARY.SIZE[1])
         S: * 1 FETCH (BINARY[2] {{13}}
         S: Hello, World! BINARY.SIZE[2] 13 BINARY[1] {{10}}
         S: Hello Bob. BINARY.SIZE[1] 10)
         S: a1 OK FETCH completed
         C: a2 UID FETCH 1 BINARY.PEEK[2]<7.5>
         S: * 1 FETCH (UID 1 BINARY[2]<7> {{5}}
         S: World)
         S: a2 OK UID FETCH completed
         C: a3 FETCH 1 BINARY.PEEK[3]
         S: a3 NO [NONEXISTENT] No such body part
         C: a4 FETCH 1 BINARY.SIZE[3]
         S: a4 NO [NONEXISTENT] No such body part
         C: a5 FETCH 1 FLAGS
         S: * 1 FETCH (FLAGS (\\Recent))
         S: a5 OK FETCH completed",
        setup(),
    ))
    .await;
}

/// RFC 9051 6.4.5 macros: FAST is (FLAGS INTERNALDATE RFC822.SIZE), ALL adds ENVELOPE, FULL
/// adds ENVELOPE and BODY.
#[tokio::test]
async fn rfc9051_6_4_5_fast_all_full() {
    let envelope = "ENVELOPE (\"Tue, 1 Jul 2003 10:52:37 +0200\" \"Report\" ((\"Ann Example\" NIL \"ann\" \"example.org\")) ((\"Ann Example\" NIL \"ann\" \"example.org\")) ((\"Ann Example\" NIL \"ann\" \"example.org\")) ((\"Bob\" NIL \"bob\" \"example.org\")(NIL NIL \"carol\" \"example.net\")) ((\"Dan D.\" NIL \"dan\" \"example.com\")) NIL NIL \"<m1@example.org>\")";
    let body = "BODY ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 10 0)(\"application\" \"octet-stream\" (\"name\" \"a.bin\") NIL NIL \"base64\" 20) \"mixed\")";
    let fast = "FLAGS (\\Recent) INTERNALDATE \"01-Jul-2003 10:52:37 +0200\" RFC822.SIZE 517";
    check(&format!(
        "{}
         C: a1 FETCH 1 FAST
         S: * 1 FETCH ({fast})
         S: a1 OK FETCH completed
         C: a2 FETCH 1 ALL
         S: * 1 FETCH ({fast} {envelope})
         S: a2 OK FETCH completed
         C: a3 FETCH 1 FULL
         S: * 1 FETCH ({fast} {envelope} {body})
         S: a3 OK FETCH completed
         C: a4 UID FETCH 1:* FAST
         S: * 1 FETCH (UID 1 {fast})
         S: a4 OK UID FETCH completed
         C: a5 FETCH 1 (FAST)
         S: a5 BAD Unknown FETCH data item",
        setup(),
    ))
    .await;
}
