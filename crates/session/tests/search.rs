//! SEARCH keys through the session (RFC 9051 6.4.4), on a mailbox whose UIDs differ from its
//! sequence numbers and where some messages are `\Recent` to the session and some are not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{append, check};

/// Seen and answered; sent on 31 Dec 2019 (New York), stored on 1 Jan 2020.
const M1: &str = "From: Ann Example <ann@example.org>
To: bob@example.org
Subject: Meeting notes
Date: Tue, 31 Dec 2019 23:00:00 -0500
X-Priority: 1

Minutes of the meeting.";

/// Flagged, keyword `$Work`; an RFC 2047 subject ("Grüße aus Köln"), Cc and Bcc, an empty
/// X-Priority, and a base64 body ("The secret word is PineApple.\r\nBye.\r\n").
const M2: &str = "From: carol@example.net
To: Dave <dave@example.com>
Cc: Erin <erin@example.com>
Bcc: frank@example.com
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=
Date: Mon, 15 Feb 2021 11:00:00 +0100
X-Priority:
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

VGhlIHNlY3JldCB3b3JkIGlzIFBpbmVBcHBsZS4NCkJ5ZS4NCg==";

/// Draft, deleted and seen; the largest message.
const M3: &str = "From: Bob <bob@example.org>
To: ann@example.org
Subject: Re: Meeting notes
Date: Sun, 20 Mar 2022 08:00:00 +0000
In-Reply-To: <m1@example.org>

pineapple? I thought the word was banana.
0123456789012345678901234567890123456789012345678901234567890123456789
0123456789012345678901234567890123456789012345678901234567890123456789";

/// No flags; stored at 00:30 on 21 Mar 2022 in +0100 (20 Mar in UTC).
const M4: &str = "From: Zoe <zoe@example.org>
Subject: plain
Date: 21 Mar 2022 00:30 +0100

Nothing here.";

/// Four messages with UIDs 2..5 at sequence numbers 1..4; the first two were claimed as
/// `\Recent` by another session, the last two are recent to this one.
fn corpus() -> String {
    format!(
        "C: a0 LOGIN alice secret
         S: a0 OK {{*}}
         C2: b0 LOGIN alice secret
         S2: b0 OK {{*}}
         {}
         S: p0 OK [APPENDUID {{*}} 1] APPEND completed
         C2: b1 SELECT INBOX
         S2: * FLAGS ({{*}})
         S2: * OK [PERMANENTFLAGS ({{*}})] Flags permitted
         S2: * 1 EXISTS
         S2: * 1 RECENT
         S2: * OK [UIDVALIDITY {{*}}] UIDs valid
         S2: * OK [UIDNEXT 2] Predicted next UID
         S2: b1 OK [READ-WRITE] SELECT completed
         {}
         S: p1 OK [APPENDUID {{*}} 2:3] APPEND completed
         C2: b2 EXPUNGE
         S2: * 1 EXPUNGE
         S2: * 2 EXISTS
         S2: * 2 RECENT
         S2: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)
         S2: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted
         S2: b2 OK EXPUNGE completed
         C2: b3 LOGOUT
         S2: * BYE Logging out
         S2: b3 OK LOGOUT completed
         {}
         S: p2 OK [APPENDUID {{*}} 4:5] APPEND completed
         C: s1 SELECT INBOX
         S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)
         S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted
         S: * 4 EXISTS
         S: * 2 RECENT
         S: * OK [UNSEEN 2] Message 2 is first unseen
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT 6] Predicted next UID
         S: s1 OK [READ-WRITE] SELECT completed",
        append("p0", "INBOX", &[("(\\Seen \\Deleted) ", "Subject: gone\n\ngone")]),
        append(
            "p1",
            "INBOX",
            &[("(\\Seen \\Answered) \"01-Jan-2020 10:00:00 +0000\" ", M1), ("(\\Flagged $Work) \"15-Feb-2021 12:00:00 +0000\" ", M2)]
        ),
        append(
            "p2",
            "INBOX",
            &[("(\\Draft \\Deleted \\Seen) \"20-Mar-2022 08:00:00 +0000\" ", M3), ("\"21-Mar-2022 00:30:00 +0100\" ", M4)]
        ),
    )
}

/// Runs `SEARCH <key>` and `UID SEARCH <key>` for each `(key, sequence numbers)`, the UIDs
/// being the sequence numbers plus one.
fn searches(cases: &[(&str, &str)]) -> String {
    let mut lines = String::new();
    for (i, (key, seqs)) in cases.iter().enumerate() {
        let uids: Vec<String> = seqs
            .split_whitespace()
            .map(|n| (n.parse::<u32>().unwrap() + 1).to_string())
            .collect();
        let results = |numbers: &str| {
            if numbers.is_empty() {
                String::new()
            } else {
                format!(" {numbers}")
            }
        };
        lines.push_str(&format!(
            "C: s{i} SEARCH {key}\nS: * SEARCH{}\nS: s{i} OK SEARCH completed\n\
             C: u{i} UID SEARCH {key}\nS: * SEARCH{}\nS: u{i} OK UID SEARCH completed\n",
            results(seqs),
            results(&uids.join(" ")),
        ));
    }
    lines
}

#[tokio::test]
async fn rfc9051_6_4_4_search_flags_and_recent() {
    check(&format!(
        "{}
         {}",
        corpus(),
        searches(&[
            ("ALL", "1 2 3 4"),
            ("ANSWERED", "1"),
            ("UNANSWERED", "2 3 4"),
            ("DELETED", "3"),
            ("UNDELETED", "1 2 4"),
            ("FLAGGED", "2"),
            ("UNFLAGGED", "1 3 4"),
            ("SEEN", "1 3"),
            ("UNSEEN", "2 4"),
            ("DRAFT", "3"),
            ("UNDRAFT", "1 2 4"),
            ("RECENT", "3 4"),
            ("NEW", "4"),
            ("OLD", "1 2"),
            ("KEYWORD $Work", "2"),
            ("KEYWORD $work", "2"),
            ("UNKEYWORD $Work", "1 3 4"),
            ("KEYWORD $Other", ""),
        ])
    ))
    .await;
}

/// Header keys match a substring of the decoded field value, case-insensitively (RFC 9051
/// 6.4.4: "In all search keys that use strings ... a message matches the key if the string is
/// a substring of the associated text. The matching SHOULD be case-insensitive"); RFC 2047
/// words are decoded first. `HEADER field ""` matches every message that has the field.
#[tokio::test]
async fn rfc9051_6_4_4_search_headers() {
    check(&format!(
        "{}
         {}",
        corpus(),
        searches(&[
            ("FROM ann", "1"),
            ("FROM \"ANN EXAMPLE\"", "1"),
            ("FROM example.org", "1 3 4"),
            ("TO dave", "2"),
            ("TO ann@example.org", "3"),
            ("CC erin", "2"),
            ("BCC frank", "2"),
            ("BCC ann", ""),
            ("SUBJECT meeting", "1 3"),
            ("SUBJECT \"re: meeting\"", "3"),
            ("SUBJECT \"AUS k\"", "2"),
            ("SUBJECT Gr=C3", ""),
            ("HEADER X-Priority \"\"", "1 2"),
            ("HEADER x-priority 1", "1"),
            ("HEADER In-Reply-To <m1@example.org>", "3"),
            ("HEADER X-Missing \"\"", ""),
        ])
    ))
    .await;
}

/// BODY searches the decoded text of the body (the base64 of message 2 included); TEXT
/// searches the header and the body.
#[tokio::test]
async fn rfc9051_6_4_4_search_body_and_text() {
    check(&format!(
        "{}
         {}",
        corpus(),
        searches(&[
            ("BODY pineapple", "2 3"),
            ("BODY \"secret word\"", "2"),
            ("BODY VGhlIHNlY3Jld", ""),
            ("BODY meeting", "1"),
            ("BODY Ann", ""),
            ("TEXT meeting", "1 3"),
            ("TEXT carol", "2"),
            ("TEXT banana", "3"),
            ("TEXT x-priority", "1 2"),
        ])
    ))
    .await;
}

/// BEFORE/ON/SINCE compare the internal date, SENTBEFORE/SENTON/SENTSINCE the Date: header,
/// both "disregarding time and timezone" (each in its own zone); LARGER/SMALLER compare
/// RFC822.SIZE (93, 163, 337 and 362 octets for messages 4, 1, 3 and 2).
#[tokio::test]
async fn rfc9051_6_4_4_search_dates_and_sizes() {
    check(&format!(
        "{}
         C: a1 FETCH 1:* (UID RFC822.SIZE)
         S: * 1 FETCH (UID 2 RFC822.SIZE 163)
         S: * 2 FETCH (UID 3 RFC822.SIZE 362)
         S: * 3 FETCH (UID 4 RFC822.SIZE 337)
         S: * 4 FETCH (UID 5 RFC822.SIZE 93)
         S: a1 OK FETCH completed
         {}",
        corpus(),
        searches(&[
            ("BEFORE 15-Feb-2021", "1"),
            ("ON 15-Feb-2021", "2"),
            ("SINCE 15-Feb-2021", "2 3 4"),
            ("ON 1-Jan-2020", "1"),
            ("ON 31-Dec-2019", ""),
            ("ON 20-Mar-2022", "3"),
            ("ON 21-Mar-2022", "4"),
            ("SINCE 22-Mar-2022", ""),
            ("SENTON 31-Dec-2019", "1"),
            ("SENTBEFORE 1-Jan-2020", "1"),
            ("SENTSINCE 1-Jan-2020", "2 3 4"),
            ("SENTON 15-Feb-2021", "2"),
            ("SENTON 21-Mar-2022", "4"),
            ("SENTSINCE 21-Mar-2022", "4"),
            ("LARGER 163", "2 3"),
            ("LARGER 162", "1 2 3"),
            ("SMALLER 163", "4"),
            ("SMALLER 164", "1 4"),
            ("LARGER 100 SMALLER 340", "1 3"),
            ("LARGER 337 SMALLER 362", ""),
        ])
    ))
    .await;
}

/// Sequence sets and UID sets: `*` is the last message (or the largest UID), `a:b` and `b:a`
/// are the same range; NOT, OR and parenthesised lists combine keys.
#[tokio::test]
async fn rfc9051_6_4_4_search_sets_and_logic() {
    check(&format!(
        "{}
         {}",
        corpus(),
        searches(&[
            ("2:*", "2 3 4"),
            ("*", "4"),
            ("4:2", "2 3 4"),
            ("*:3", "3 4"),
            ("1,3", "1 3"),
            ("UID 3:4", "2 3"),
            ("UID 4:3", "2 3"),
            ("UID *", "4"),
            ("UID 5:*", "4"),
            ("UID 1", ""),
            ("UID 1:2,5", "1 4"),
            ("NOT SEEN", "2 4"),
            ("NOT NOT SEEN", "1 3"),
            ("OR SEEN FLAGGED", "1 2 3"),
            ("OR ANSWERED OR DRAFT KEYWORD $Work", "1 2 3"),
            ("(SEEN UNDELETED)", "1"),
            ("NOT (SEEN UNDELETED)", "2 3 4"),
            ("OR (SEEN DELETED) (UNSEEN FROM zoe)", "3 4"),
            ("SEEN NOT 3", "1"),
            ("2:4 NOT UID 4", "2 4"),
            ("(((ALL)))", "1 2 3 4"),
        ])
    ))
    .await;
}

/// `CHARSET UTF-8` with a literal: non-ASCII search text matches the decoded RFC 2047
/// subject, case-insensitively. Other charsets are refused with the list of supported ones.
#[tokio::test]
async fn rfc9051_6_4_4_search_charset_utf8_literal() {
    check(&format!(
        "{}
         C: a1 SEARCH CHARSET UTF-8 SUBJECT {{7+}}
         C: GRÜßE
         S: * SEARCH 2
         S: a1 OK SEARCH completed
         C: a2 UID SEARCH CHARSET utf-8 TEXT {{5}}
         S: + Ready for literal data
         C: KÖLN
         S: * SEARCH 3
         S: a2 OK UID SEARCH completed
         C: a3 SEARCH CHARSET US-ASCII FROM carol
         S: * SEARCH 2
         S: a3 OK SEARCH completed
         C: a4 SEARCH CHARSET ISO-8859-1 FROM carol
         S: a4 NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset
         C: a5 SEARCH CHARSET UTF-8 BODY {{9+}}
         C: PINEAPPLE
         S: * SEARCH 2 3
         S: a5 OK SEARCH completed",
        corpus()
    ))
    .await;
}
