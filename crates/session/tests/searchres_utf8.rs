//! SEARCHRES (RFC 5182), UTF8=ACCEPT (RFC 6855) and the round trip of mailbox names in both
//! encodings.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{append, check};

const LOGIN: &str = "C: a0 LOGIN alice secret\nS: a0 OK [CAPABILITY {*}] Logged in";

fn inbox_with(subjects: &[&str]) -> String {
    let messages: Vec<String> = subjects
        .iter()
        .map(|s| format!("Subject: {s}\nFrom: a@example.org\n\nbody of {s}"))
        .collect();
    let refs: Vec<(&str, &str)> = messages.iter().map(|m| ("", m.as_str())).collect();
    format!(
        "{LOGIN}
         {}
         S: p1 OK [APPENDUID {{*}}] APPEND completed
         C: s1 SELECT INBOX
         S: {{*}}
         S: {{*}}
         S: * {} EXISTS
         S: {{*}}
         S: {{*}}
         S: {{*}}
         S: {{*}}
         S: s1 OK [READ-WRITE] SELECT completed",
        append("p1", "INBOX", &refs),
        subjects.len()
    )
}

#[tokio::test]
async fn rfc5182_2_save_alone_sends_no_esearch_and_dollar_names_the_result() {
    check(&format!(
        "{}
         C: a1 UID SEARCH RETURN (SAVE) SUBJECT red
         S: a1 OK UID SEARCH completed
         C: a2 FETCH $ (UID)
         S: * 1 FETCH (UID 1)
         S: * 3 FETCH (UID 3)
         S: a2 OK FETCH completed
         C: a3 UID FETCH $ (FLAGS)
         S: * 1 FETCH (UID 1 FLAGS (\\Recent))
         S: * 3 FETCH (UID 3 FLAGS (\\Recent))
         S: a3 OK UID FETCH completed
         C: a4 SEARCH $ SUBJECT apple
         S: * SEARCH 3
         S: a4 OK SEARCH completed
         C: a5 UID SEARCH UID $
         S: * SEARCH 1 3
         S: a5 OK UID SEARCH completed
         C: a6 STORE $ +FLAGS.SILENT (\\Flagged)
         S: a6 OK STORE completed
         C: a7 SEARCH FLAGGED
         S: * SEARCH 1 3
         S: a7 OK SEARCH completed",
        inbox_with(&["red car", "blue sky", "red apple", "green"])
    ))
    .await;
}

#[tokio::test]
async fn rfc5182_2_1_save_with_min_max_and_with_all() {
    check(&format!(
        "{}
         C: a1 SEARCH RETURN (SAVE MIN MAX) SUBJECT e
         S: * ESEARCH (TAG \"a1\") MIN 1 MAX 4
         S: a1 OK SEARCH completed
         C: a2 UID SEARCH UID $
         S: * SEARCH 1 4
         S: a2 OK UID SEARCH completed
         C: a3 SEARCH RETURN (SAVE ALL MIN) SUBJECT e
         S: * ESEARCH (TAG \"a3\") ALL 1:4 MIN 1
         S: a3 OK SEARCH completed
         C: a4 UID SEARCH UID $
         S: * SEARCH 1 2 3 4
         S: a4 OK UID SEARCH completed",
        inbox_with(&["red car", "blue sky", "red apple", "green"])
    ))
    .await;
}

#[tokio::test]
async fn rfc5182_2_4_failed_save_empties_the_result_and_expunges_leave_it() {
    check(&format!(
        "{}
         C: a1 SEARCH RETURN (SAVE) ALL
         S: a1 OK SEARCH completed
         C: a2 STORE 2 +FLAGS.SILENT (\\Deleted)
         S: a2 OK STORE completed
         C: a3 EXPUNGE
         S: * 2 EXPUNGE
         S: a3 OK EXPUNGE completed
         C: a4 UID FETCH $ (UID)
         S: * 1 FETCH (UID 1)
         S: * 2 FETCH (UID 3)
         S: a4 OK UID FETCH completed
         C: a5 SEARCH RETURN (SAVE) CHARSET KOI8-R TEXT x
         S: a5 NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset
         C: a6 FETCH $ (UID)
         S: a6 OK FETCH completed",
        inbox_with(&["one", "two", "three"])
    ))
    .await;
}

#[tokio::test]
async fn rfc6855_3_utf8_accept_changes_mailbox_names_and_strings() {
    let subject = "Subject: Grüße\r\n\r\nx";
    check(&format!(
        "{LOGIN}
         C: a1 CREATE Entw&APw-rfe
         S: a1 OK CREATE completed
         C: a2 LIST \"\" Entw*
         S: * LIST (\\HasNoChildren) \"/\" Entw&APw-rfe
         S: a2 OK LIST completed
         C: a3 APPEND INBOX UTF8 (~{{{len}+}}
         C: Subject: Grüße
         C:
         C: x)
         S: a3 BAD APPEND UTF8 requires ENABLE UTF8=ACCEPT
         C: a4 ENABLE UTF8=ACCEPT
         S: * ENABLED UTF8=ACCEPT
         S: a4 OK ENABLE completed
         C: a5 LIST \"\" Entw*
         S: * LIST (\\HasNoChildren) \"/\" \"Entwürfe\"
         S: a5 OK LIST completed
         C: a6 CREATE \"Привет/мир\"
         S: a6 OK CREATE completed
         C: a7 LIST \"\" \"Привет/*\"
         S: * LIST (\\HasNoChildren) \"/\" \"Привет/мир\"
         S: a7 OK LIST completed
         C: a8 APPEND INBOX UTF8 (~{{{len}+}}
         C: Subject: Grüße
         C:
         C: x)
         S: a8 OK [APPENDUID {{*}} 1] APPEND completed
         C: a9 EXAMINE INBOX
         S: {{*}}
         S: {{*}}
         S: * 1 EXISTS
         S: * 0 RECENT
         S: {{*}}
         S: {{*}}
         S: {{*}}
         S: a9 OK [READ-ONLY] EXAMINE completed
         C: b1 FETCH 1 (ENVELOPE)
         S: * 1 FETCH (ENVELOPE (NIL \"Grüße\" NIL NIL NIL NIL NIL NIL NIL NIL))
         S: b1 OK FETCH completed",
        len = subject.len()
    ))
    .await;
}

/// Names that break migrations when an encoding is not exact in both directions.
const NAMES: &[&str] = &[
    "plain",
    "with space",
    "A & B",
    "&",
    "&&",
    "&-",
    "a&-b",
    "Quote\"d",
    "back\\slash",
    "a\"b\\c",
    "Entwürfe",
    "Gelöschte Elemente",
    "Éléments envoyés",
    "Papierkorb ä",
    "Корзина",
    "Отправленные",
    "送信済みメール",
    "已删除邮件",
    "받은편지함",
    "Ελληνικά",
    "עברית",
    "العربية",
    "हिन्दी",
    "ไทย",
    "😀",
    "🎉 party",
    "𝄞 music",
    "𠜎 rare",
    "mixed é and 😀",
    "trailing space ",
    " leading space",
    "tab-free",
    "dots.in.name",
    "under_score",
    "percent-sign-free",
    "brackets [x]",
    "braces {x}",
    "parens (x)",
    "~tilde",
    "+plus",
    "comma,name",
    "semi;colon",
    "A/B/C",
    "Ünïcödé/Tïef/Ébène",
];

/// Every name created in modified UTF-7 comes back byte-identical from LIST, and so does
/// its UTF-8 form once UTF8=ACCEPT is enabled.
#[tokio::test]
async fn mailbox_names_round_trip_in_both_encodings() {
    assert!(NAMES.len() >= 40);
    let quoted = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut transcript = String::from(LOGIN);
    for (i, name) in NAMES.iter().enumerate() {
        let wire = portcullis_proto::mutf7::encode(name);
        transcript.push_str(&format!(
            "\nC: c{i} CREATE {}\nS: c{i} OK CREATE completed",
            quoted(&wire)
        ));
        transcript.push_str(&format!(
            "\nC: l{i} LIST \"\" {}\nS: * LIST ({{*}}) \"/\" {}\nS: l{i} OK LIST completed",
            quoted(&wire),
            listed(&wire)
        ));
    }
    transcript.push_str(
        "\nC: e1 ENABLE UTF8=ACCEPT\nS: * ENABLED UTF8=ACCEPT\nS: e1 OK ENABLE completed",
    );
    for (i, name) in NAMES.iter().enumerate() {
        transcript.push_str(&format!(
            "\nC: u{i} LIST \"\" {}\nS: * LIST ({{*}}) \"/\" {}\nS: u{i} OK LIST completed",
            quoted(name),
            listed(name)
        ));
    }
    check(&transcript).await;
}

/// How the server writes a name: an atom when it can be one, else a quoted string.
fn listed(name: &str) -> String {
    let atom = !name.is_empty()
        && name
            .bytes()
            .all(|b| b > 0x20 && b < 0x7f && !b"(){%*\"\\]".contains(&b))
        && !name.eq_ignore_ascii_case("NIL");
    if atom {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    }
}
