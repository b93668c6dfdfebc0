//! Leaving the selected state (RFC 9051 6.4.1 CLOSE, RFC 3691 UNSELECT) and the session
//! options that change what the selected state reports (RFC 5161 ENABLE with IMAP4rev2),
//! plus the informational commands ID (RFC 2971) and NAMESPACE (RFC 2342).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{append, check, second_client};

const LOGIN: &str = "C: a0 LOGIN alice secret\nS: a0 OK [CAPABILITY {*}] Logged in";

/// Logs in and appends three messages to INBOX, the second and third `\Deleted`.
fn three_messages_two_deleted() -> String {
    format!(
        "{LOGIN}
         {}
         S: p1 OK [APPENDUID {{*}} 1:3] APPEND completed",
        append(
            "p1",
            "INBOX",
            &[
                ("(\\Seen) ", "Subject: keep\n\nkept"),
                ("(\\Deleted) ", "Subject: drop\n\ngone"),
                ("(\\Deleted \\Seen) ", "Subject: drop too\n\ngone"),
            ]
        )
    )
}

const SELECT_INBOX_3: &str = "C: s1 SELECT INBOX
     S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
     S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
     S: * 3 EXISTS
     S: * 3 RECENT
     S: * OK [UNSEEN 2] Message 2 is first unseen
     S: * OK [UIDVALIDITY {*}] UIDs valid
     S: * OK [UIDNEXT 4] Predicted next UID
     S: s1 OK [READ-WRITE] SELECT completed";

/// "The CLOSE command permanently removes all messages that have the \Deleted flag set from
/// the currently selected mailbox ... No untagged EXPUNGE responses are sent."
#[tokio::test]
async fn rfc9051_6_4_1_close_expunges_silently() {
    check(&format!(
        "{}
         {SELECT_INBOX_3}
         C: a1 CLOSE
         S: a1 OK CLOSE completed
         C: a2 STATUS INBOX (MESSAGES DELETED UIDNEXT)
         S: * STATUS INBOX (MESSAGES 1 DELETED 0 UIDNEXT 4)
         S: a2 OK STATUS completed
         C: a3 FETCH 1 FLAGS
         S: a3 BAD No mailbox selected
         C: a4 CLOSE
         S: a4 BAD No mailbox selected",
        three_messages_two_deleted()
    ))
    .await;
}

/// "No messages are removed, and no error is given, if the mailbox is selected by an EXAMINE
/// command or is otherwise selected as read-only."
#[tokio::test]
async fn rfc9051_6_4_1_close_after_examine_does_not_expunge() {
    check(&format!(
        "{}
         C: a1 EXAMINE INBOX
         S: * FLAGS ({{*}})
         S: * OK [PERMANENTFLAGS ()] No permanent flags permitted
         S: * 3 EXISTS
         S: * 0 RECENT
         S: * OK [UNSEEN 2] Message 2 is first unseen
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT 4] Predicted next UID
         S: a1 OK [READ-ONLY] EXAMINE completed
         C: a2 CLOSE
         S: a2 OK CLOSE completed
         C: a3 STATUS INBOX (MESSAGES DELETED)
         S: * STATUS INBOX (MESSAGES 3 DELETED 2)
         S: a3 OK STATUS completed",
        three_messages_two_deleted()
    ))
    .await;
}

/// RFC 3691: "UNSELECT ... frees server's resources associated with the selected mailbox and
/// returns the server to the authenticated state. This command performs the same actions as
/// CLOSE, except that no messages are permanently removed from the currently selected
/// mailbox."
#[tokio::test]
async fn rfc3691_unselect_never_expunges() {
    check(&format!(
        "{}
         {SELECT_INBOX_3}
         C: a1 UNSELECT
         S: a1 OK UNSELECT completed
         C: a2 STATUS INBOX (MESSAGES DELETED)
         S: * STATUS INBOX (MESSAGES 3 DELETED 2)
         S: a2 OK STATUS completed
         C: a3 EXPUNGE
         S: a3 BAD No mailbox selected
         C: a4 UNSELECT
         S: a4 BAD No mailbox selected",
        three_messages_two_deleted()
    ))
    .await;
}

/// RFC 9051 with RFC 5161: once IMAP4rev2 is enabled, SELECT sends no RECENT and no
/// `[UNSEEN]` but a LIST response (RFC 9051 6.3.2), SEARCH answers with ESEARCH (6.4.4:
/// "the server MUST respond with ESEARCH"), and `\Recent` no longer exists (2.3.2).
#[tokio::test]
async fn rfc5161_enable_imap4rev2() {
    check(&format!(
        "{}
         C: a1 ENABLE IMAP4rev2
         S: * ENABLED IMAP4rev2
         S: a1 OK ENABLE completed
         C: a2 SELECT INBOX
         S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
         S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
         S: * 3 EXISTS
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT 4] Predicted next UID
         S: * LIST () \"/\" INBOX
         S: a2 OK [READ-WRITE] SELECT completed
         C: a3 FETCH 1:* FLAGS
         S: * 1 FETCH (FLAGS (\\Seen))
         S: * 2 FETCH (FLAGS (\\Deleted))
         S: * 3 FETCH (FLAGS (\\Deleted \\Seen))
         S: a3 OK FETCH completed
         C: a4 SEARCH DELETED
         S: * ESEARCH (TAG \"a4\") ALL 2:3
         S: a4 OK SEARCH completed
         C: a5 UID SEARCH UNSEEN
         S: * ESEARCH (TAG \"a5\") UID ALL 2
         S: a5 OK UID SEARCH completed
         C: a6 SEARCH SUBJECT nothing-like-this
         S: * ESEARCH (TAG \"a6\")
         S: a6 OK SEARCH completed
         C: a7 SEARCH RETURN (COUNT) ALL
         S: * ESEARCH (TAG \"a7\") COUNT 3
         S: a7 OK SEARCH completed
         C: a8 SEARCH RECENT
         S: * ESEARCH (TAG \"a8\")
         S: a8 OK SEARCH completed
         C: a9 EXAMINE Drafts
         S: * OK [CLOSED] Previous mailbox closed
         S: * FLAGS ({{*}})
         S: * OK [PERMANENTFLAGS ()] No permanent flags permitted
         S: * 0 EXISTS
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT 1] Predicted next UID
         S: * LIST (\\Drafts) \"/\" Drafts
         S: a9 OK [READ-ONLY] EXAMINE completed",
        three_messages_two_deleted()
    ))
    .await;
}

/// RFC 5161 3.1: "If the argument is not an extension known to the server, the server MUST
/// ignore the argument"; 3.2: "The ENABLED response may contain no capabilities". A repeated
/// ENABLE lists nothing new: "each corresponding ENABLED response SHOULD only contain
/// extensions enabled by the corresponding ENABLE command".
#[tokio::test]
async fn rfc5161_enable_of_unknown_capabilities() {
    check(&format!(
        "{LOGIN}
         C: a1 ENABLE X-UNKNOWN CONDSTORE-NOT
         S: * ENABLED
         S: a1 OK ENABLE completed
         C: a2 ENABLE X-UNKNOWN imap4rev2
         S: * ENABLED IMAP4rev2
         S: a2 OK ENABLE completed
         C: a3 ENABLE IMAP4rev2
         S: * ENABLED
         S: a3 OK ENABLE completed
         C: a4 ENABLE
         S: a4 BAD ENABLE needs at least one capability"
    ))
    .await;
}

/// A session that enabled IMAP4rev2 never shows `\Recent`, even for messages that arrive
/// while it has the mailbox selected; an IMAP4rev1 session on the same mailbox does.
#[tokio::test]
async fn rfc9051_2_3_2_no_recent_after_enable() {
    check(&format!(
        "{LOGIN}
         C2: b0 LOGIN alice secret
         S2: b0 OK {{*}}
         C: a1 ENABLE IMAP4rev2
         S: * ENABLED IMAP4rev2
         S: a1 OK ENABLE completed
         C: a2 SELECT INBOX
         S: * FLAGS ({{*}})
         S: * OK [PERMANENTFLAGS ({{*}})] Flags permitted
         S: * 0 EXISTS
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT 1] Predicted next UID
         S: * LIST () \"/\" INBOX
         S: a2 OK [READ-WRITE] SELECT completed
         {}
         S2: b1 OK [APPENDUID {{*}} 1] APPEND completed
         C: a3 NOOP
         S: * 1 EXISTS
         S: a3 OK completed
         C: a4 FETCH 1 (FLAGS)
         S: * 1 FETCH (FLAGS ())
         S: a4 OK FETCH completed
         C2: b2 SELECT INBOX
         S2: * FLAGS ({{*}})
         S2: * OK [PERMANENTFLAGS ({{*}})] Flags permitted
         S2: * 1 EXISTS
         S2: * 1 RECENT
         S2: * OK [UNSEEN 1] Message 1 is first unseen
         S2: * OK [UIDVALIDITY {{*}}] UIDs valid
         S2: * OK [UIDNEXT 2] Predicted next UID
         S2: b2 OK [READ-WRITE] SELECT completed
         C2: b3 FETCH 1 (FLAGS)
         S2: * 1 FETCH (FLAGS (\\Recent))
         S2: b3 OK FETCH completed",
        second_client(&append("b1", "INBOX", &[("", "Subject: new\n\nnew")]))
    ))
    .await;
}

/// RFC 2971: ID works in every state, with NIL or a list, and names the server.
#[tokio::test]
async fn rfc2971_id() {
    let version = env!("CARGO_PKG_VERSION");
    check(&format!(
        "C: a1 ID NIL
         S: * ID (\"name\" \"Portcullis\" \"version\" \"{version}\")
         S: a1 OK ID completed
         C: a2 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\" \"support-url\" NIL)
         S: * ID (\"name\" \"Portcullis\" \"version\" \"{version}\")
         S: a2 OK ID completed
         C: a3 ID ()
         S: * ID (\"name\" \"Portcullis\" \"version\" \"{version}\")
         S: a3 OK ID completed
         C: a4 ID (\"name\")
         S: a4 BAD Expected a space
         {LOGIN}
         C: a5 ID NIL
         S: * ID (\"name\" \"Portcullis\" \"version\" \"{version}\")
         S: a5 OK ID completed"
    ))
    .await;
}

/// RFC 2342 (part of RFC 9051 6.3.10): one personal namespace with the `/` separator, no
/// other users' or shared namespaces.
#[tokio::test]
async fn rfc9051_6_3_10_namespace() {
    check(&format!(
        "C: a1 NAMESPACE
         S: a1 BAD Not authenticated: LOGIN or AUTHENTICATE first
         {LOGIN}
         C: a2 NAMESPACE
         S: * NAMESPACE ((\"\" \"/\")) NIL NIL
         S: a2 OK NAMESPACE completed"
    ))
    .await;
}

/// CLOSE of a mailbox another session deleted meanwhile: there is nothing left to expunge,
/// and the session is back in the authenticated state either way (RFC 9051 6.4.1 lists only
/// OK and BAD as results).
#[tokio::test]
async fn rfc9051_6_4_1_close_of_a_mailbox_deleted_meanwhile() {
    check(&format!(
        "{LOGIN}
         C2: b0 LOGIN alice secret
         S2: b0 OK {{*}}
         C: a1 CREATE Short-lived
         S: a1 OK CREATE completed
         C2: b1 SELECT Short-lived
         S2: * FLAGS ({{*}})
         S2: * OK [PERMANENTFLAGS ({{*}})] Flags permitted
         S2: * 0 EXISTS
         S2: * 0 RECENT
         S2: * OK [UIDVALIDITY {{*}}] UIDs valid
         S2: * OK [UIDNEXT 1] Predicted next UID
         S2: b1 OK [READ-WRITE] SELECT completed
         C: a2 DELETE Short-lived
         S: a2 OK DELETE completed
         C2: b2 CLOSE
         S2: b2 OK CLOSE completed
         C2: b3 SELECT INBOX
         S2: * FLAGS ({{*}})
         S2: * OK [PERMANENTFLAGS ({{*}})] Flags permitted
         S2: * 0 EXISTS
         S2: * 0 RECENT
         S2: * OK [UIDVALIDITY {{*}}] UIDs valid
         S2: * OK [UIDNEXT 1] Predicted next UID
         S2: b3 OK [READ-WRITE] SELECT completed"
    ))
    .await;
}
