//! STORE and UID STORE through the session (RFC 9051 6.4.6, 6.4.9).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{append, check, second_client};

/// Three unseen messages in INBOX, selected (all `\Recent`).
fn three_messages() -> String {
    format!(
        "C: a0 LOGIN alice secret
         S: a0 OK {{*}}
         {}
         S: p1 OK [APPENDUID {{*}} 1:3] APPEND completed
         C: p2 SELECT INBOX
         S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
         S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
         S: * 3 EXISTS
         S: * 3 RECENT
         S: * OK [UNSEEN 1] Message 1 is first unseen
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT 4] Predicted next UID
         S: p2 OK [READ-WRITE] SELECT completed",
        append("p1", "INBOX", &[("", "Subject: 1\n\none"), ("", "Subject: 2\n\ntwo"), ("", "Subject: 3\n\nthree")])
    )
}

/// "FLAGS <flag list>: Replace the flags for the message with the argument", "+FLAGS: Add
/// the argument to the flags", "-FLAGS: Remove the argument from the flags"; ".SILENT:
/// Equivalent to FLAGS, but without returning a new value". The untagged FETCH carries the
/// new flags of every message of the set.
#[tokio::test]
async fn rfc9051_6_4_6_store_replace_add_remove_silent() {
    check(&format!(
        "{}
         C: a1 STORE 1 FLAGS (\\Seen \\Flagged)
         S: * 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent))
         S: a1 OK STORE completed
         C: a2 STORE 1 FLAGS (\\Answered)
         S: * 1 FETCH (FLAGS (\\Answered \\Recent))
         S: a2 OK STORE completed
         C: a3 STORE 1:2 +FLAGS (\\Draft)
         S: * 1 FETCH (FLAGS (\\Answered \\Draft \\Recent))
         S: * 2 FETCH (FLAGS (\\Draft \\Recent))
         S: a3 OK STORE completed
         C: a4 STORE 1 -FLAGS (\\Answered \\Draft \\Deleted)
         S: * 1 FETCH (FLAGS (\\Recent))
         S: a4 OK STORE completed
         C: a5 STORE 2:3 +FLAGS.SILENT (\\Seen)
         S: a5 OK STORE completed
         C: a6 STORE 3 -FLAGS.SILENT (\\Seen)
         S: a6 OK STORE completed
         C: a7 STORE 2 FLAGS.SILENT ()
         S: a7 OK STORE completed
         C: a8 STORE 3,1 +FLAGS (\\Seen)
         S: * 1 FETCH (FLAGS (\\Seen \\Recent))
         S: * 3 FETCH (FLAGS (\\Seen \\Recent))
         S: a8 OK STORE completed
         C: a9 STORE 1:3 +FLAGS (\\Seen)
         S: * 1 FETCH (FLAGS (\\Seen \\Recent))
         S: * 2 FETCH (FLAGS (\\Seen \\Recent))
         S: * 3 FETCH (FLAGS (\\Seen \\Recent))
         S: a9 OK STORE completed
         C: b1 FETCH 1:* FLAGS
         S: * 1 FETCH (FLAGS (\\Seen \\Recent))
         S: * 2 FETCH (FLAGS (\\Seen \\Recent))
         S: * 3 FETCH (FLAGS (\\Seen \\Recent))
         S: b1 OK FETCH completed
         C: b2 STORE 4 +FLAGS (\\Seen)
         S: b2 BAD Invalid message sequence number
         C: b3 STORE 1 FLAGS \\Seen
         S: * 1 FETCH (FLAGS (\\Seen \\Recent))
         S: b3 OK STORE completed",
        three_messages()
    ))
    .await;
}

/// Keywords are kept as sent, announced in FLAGS and PERMANENTFLAGS once the mailbox has
/// them (RFC 9051 7.3.5), and matched case-insensitively. `\Recent` cannot be stored (RFC
/// 3501 2.3.2: "This flag can not be altered by the client") and is ignored; an unknown
/// system flag is a syntax error (BAD) and changes nothing.
#[tokio::test]
async fn rfc9051_6_4_6_store_keywords_recent_and_bogus_flags() {
    check(&format!(
        "{}
         C: a1 STORE 1:2 +FLAGS ($Todo Junk)
         S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Todo Junk)
         S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Todo Junk \\*)] Flags permitted
         S: * 1 FETCH (FLAGS ($Todo Junk \\Recent))
         S: * 2 FETCH (FLAGS ($Todo Junk \\Recent))
         S: a1 OK STORE completed
         C: a2 STORE 2 -FLAGS ($TODO)
         S: * 2 FETCH (FLAGS (Junk \\Recent))
         S: a2 OK STORE completed
         C: a3 SEARCH KEYWORD $todo
         S: * SEARCH 1
         S: a3 OK SEARCH completed
         C: a4 STORE 3 +FLAGS (\\Recent)
         S: * 3 FETCH (FLAGS (\\Recent))
         S: a4 OK STORE completed
         C: a5 STORE 1 FLAGS (\\Recent \\Seen)
         S: * 1 FETCH (FLAGS (\\Seen \\Recent))
         S: a5 OK STORE completed
         C: a6 STORE 1 +FLAGS (\\Flagged \\Bogus)
         S: a6 BAD Unknown system flag \\Bogus
         C: a7 STORE 1 FLAGS (\\Bogus)
         S: a7 BAD Unknown system flag \\Bogus
         C: a8 FETCH 1:3 FLAGS
         S: * 1 FETCH (FLAGS (\\Seen \\Recent))
         S: * 2 FETCH (FLAGS (Junk \\Recent))
         S: * 3 FETCH (FLAGS (\\Recent))
         S: a8 OK FETCH completed",
        three_messages()
    ))
    .await;
}

/// RFC 9051 6.4.9: UID STORE takes UIDs, and its untagged FETCH responses carry the UID
/// ("the UID data item MUST be included in any FETCH response caused by a UID command").
/// UIDs that do not exist are no error.
#[tokio::test]
async fn rfc9051_6_4_9_uid_store() {
    check(&format!(
        "{}
         C: a1 STORE 2 +FLAGS.SILENT (\\Deleted)
         S: a1 OK STORE completed
         C: a2 EXPUNGE
         S: * 2 EXPUNGE
         S: a2 OK EXPUNGE completed
         C: a3 UID STORE 3 +FLAGS (\\Flagged)
         S: * 2 FETCH (UID 3 FLAGS (\\Flagged \\Recent))
         S: a3 OK STORE completed
         C: a4 UID STORE 1:* FLAGS (\\Answered)
         S: * 1 FETCH (UID 1 FLAGS (\\Answered \\Recent))
         S: * 2 FETCH (UID 3 FLAGS (\\Answered \\Recent))
         S: a4 OK STORE completed
         C: a5 UID STORE 2 +FLAGS (\\Seen)
         S: a5 OK STORE completed
         C: a6 UID STORE 2:99 -FLAGS.SILENT (\\Answered)
         S: a6 OK STORE completed
         C: a7 UID FETCH 1:* FLAGS
         S: * 1 FETCH (UID 1 FLAGS (\\Answered \\Recent))
         S: * 2 FETCH (UID 3 FLAGS (\\Recent))
         S: a7 OK UID FETCH completed
         C: a8 UID STORE 3 +FLAGS (\\Bogus)
         S: a8 BAD Unknown system flag \\Bogus",
        three_messages()
    ))
    .await;
}

/// RFC 9051 6.4.6: "Regardless of whether or not the ".SILENT" suffix was used, the server
/// SHOULD send an untagged FETCH response if a change to a message's flags from an external
/// source is observed. The intent is that the status of the flags is determinate without a
/// race condition." Session 2 flags messages 1 and 2; session 1, not yet told, stores
/// silently on message 1: its own change stays silent, the other session's are reported. A
/// silent STORE whose result the other session had already brought about reports nothing.
#[tokio::test]
async fn rfc9051_6_4_6_silent_store_still_reports_external_changes() {
    check(&format!(
        "{}
         {}
         C2: b2 STORE 1:2 +FLAGS (\\Flagged)
         S2: * 1 FETCH (FLAGS (\\Flagged))
         S2: * 2 FETCH (FLAGS (\\Flagged))
         S2: b2 OK STORE completed
         C: a1 STORE 1 +FLAGS.SILENT (\\Seen)
         S: * 1 FETCH (UID 1 FLAGS (\\Flagged \\Seen \\Recent))
         S: * 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent))
         S: a1 OK STORE completed
         C: a2 UID STORE 2 -FLAGS.SILENT (\\Flagged)
         S: a2 OK STORE completed
         C: a3 NOOP
         S: a3 OK completed
         C2: b3 STORE 3 FLAGS (\\Answered)
         S2: * 1 FETCH (UID 1 FLAGS (\\Flagged \\Seen))
         S2: * 2 FETCH (UID 2 FLAGS ())
         S2: * 3 FETCH (FLAGS (\\Answered))
         S2: b3 OK STORE completed
         C: a4 STORE 3 FLAGS.SILENT (\\Answered)
         S: a4 OK STORE completed
         C: a5 STORE 3 +FLAGS.SILENT (\\Draft)
         S: a5 OK STORE completed
         C: a6 FETCH 1:3 FLAGS
         S: * 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent))
         S: * 2 FETCH (FLAGS (\\Recent))
         S: * 3 FETCH (FLAGS (\\Answered \\Draft \\Recent))
         S: a6 OK FETCH completed",
        three_messages(),
        second_client(
            "C: b0 LOGIN alice secret
             S: b0 OK {*}
             C: b1 SELECT INBOX
             S: * FLAGS ({*})
             S: * OK [PERMANENTFLAGS ({*})] Flags permitted
             S: * 3 EXISTS
             S: * 0 RECENT
             S: * OK [UNSEEN 1] Message 1 is first unseen
             S: * OK [UIDVALIDITY {*}] UIDs valid
             S: * OK [UIDNEXT 4] Predicted next UID
             S: b1 OK [READ-WRITE] SELECT completed"
        ),
    ))
    .await;
}
