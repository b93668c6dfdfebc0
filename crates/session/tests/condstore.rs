//! CONDSTORE and QRESYNC through the session (RFC 7162 3.1 and 3.2): the RFC's examples
//! adapted to our UIDs and MODSEQs, pushes to a second session, the resynchronisation of a
//! client that was away while 1,000 random changes happened, and the answers given once the
//! expunge log has been pruned.
//!
//! MODSEQs are exact: a new mailbox is at MODSEQ 1 and every write request that changes it
//! takes the next one, so after `appends(n)` message k has UID k and MODSEQ k + 1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use portcullis_store::{AccountName, MailboxName, Store};
use support::{Client, Server, append, check, check_on, glob, second_client};

const LOGIN: &str = "C: a0 LOGIN alice secret\nS: a0 OK [CAPABILITY {*}] Logged in";

/// `count` APPENDs to INBOX, one message each.
fn appends(count: u32) -> String {
    (1..=count)
        .map(|k| {
            let message = format!("Subject: {k}\n\nbody {k}");
            format!(
                "{}\nS: p{k} OK [APPENDUID {{*}} {k}] APPEND completed",
                append(&format!("p{k}"), "INBOX", &[("", &message)])
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The untagged lines of an IMAP4rev2 SELECT or EXAMINE of INBOX.
fn selected(exists: u32, uid_next: u32, highest: Option<u64>) -> String {
    let mut lines = format!(
        "S: * FLAGS ({{*}})
         S: * OK [PERMANENTFLAGS ({{*}})] {{*}}
         S: * {exists} EXISTS
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT {uid_next}] Predicted next UID"
    );
    if let Some(highest) = highest {
        lines.push_str(&format!("\nS: * OK [HIGHESTMODSEQ {highest}] Highest"));
    }
    lines.push_str("\nS: * LIST () \"/\" INBOX");
    lines
}

/// The untagged lines of an IMAP4rev1 SELECT of INBOX by the first session to see its
/// (unseen) messages.
fn selected_rev1(exists: u32, uid_next: u32) -> String {
    format!(
        "S: * FLAGS ({{*}})
         S: * OK [PERMANENTFLAGS ({{*}})] {{*}}
         S: * {exists} EXISTS
         S: * {exists} RECENT
         S: * OK [UNSEEN 1] {{*}}
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT {uid_next}] Predicted next UID"
    )
}

/// ENABLE IMAP4rev2 and more.
fn enable(tag: &str, capabilities: &str) -> String {
    format!(
        "C: {tag} ENABLE {capabilities}
         S: * ENABLED {capabilities}
         S: {tag} OK ENABLE completed"
    )
}

async fn inbox_uid_validity(server: &Server) -> u32 {
    let account = server
        .store
        .account(&AccountName::new("alice").unwrap())
        .await
        .unwrap()
        .unwrap();
    server
        .store
        .mailbox(account.id, &MailboxName::inbox())
        .await
        .unwrap()
        .uid_validity
        .get()
}

/// Forgets every expunge logged so far.
async fn prune_everything(server: &Server) {
    server
        .store
        .prune_expunged(SystemTime::now() + Duration::from_secs(3600))
        .await
        .unwrap();
}

// ---- CONDSTORE (RFC 7162 3.1) -----------------------------------------------------------

/// 3.1.1 / 3.2.2: both capabilities are advertised once authenticated. 3.2.3: "ENABLE
/// QRESYNC" also enables CONDSTORE; ENABLED lists what the command newly enabled (RFC 5161).
#[tokio::test]
async fn rfc7162_3_1_1_capabilities_and_3_2_3_enable() {
    check(&format!(
        "{LOGIN}
         C: a1 CAPABILITY
         S: * CAPABILITY {{*}} CONDSTORE QRESYNC {{*}}
         S: a1 OK CAPABILITY completed
         {}
         C: a3 ENABLE QRESYNC CONDSTORE
         S: * ENABLED QRESYNC
         S: a3 OK ENABLE completed
         C: a4 ENABLE QRESYNC
         S: * ENABLED
         S: a4 OK ENABLE completed
         C2: b0 LOGIN alice secret
         S2: b0 OK [CAPABILITY {{*}}] Logged in
         C2: b1 ENABLE qresync
         S2: * ENABLED QRESYNC
         S2: b1 OK ENABLE completed
         C2: b2 ENABLE CONDSTORE
         S2: * ENABLED
         S2: b2 OK ENABLE completed",
        enable("a2", "CONDSTORE")
    ))
    .await;
}

/// 3.1.2: "One of these two response codes MUST be returned in an OK untagged response for
/// any successful SELECT/EXAMINE command issued after a CONDSTORE enabling command" — and
/// not before one. 3.1.7: STATUS (HIGHESTMODSEQ) is such a command and reports the same
/// value.
#[tokio::test]
async fn rfc7162_3_1_2_highestmodseq_after_enabling_and_3_1_7_status() {
    check(&format!(
        "{LOGIN}
         {}
         {}
         C: a2 SELECT INBOX
         {}
         S: a2 OK [READ-WRITE] SELECT completed
         C: a3 STATUS INBOX (UIDNEXT MESSAGES HIGHESTMODSEQ)
         S: * STATUS INBOX (UIDNEXT 3 MESSAGES 2 HIGHESTMODSEQ 3)
         S: a3 OK STATUS completed
         C: a4 EXAMINE INBOX
         S: * OK [CLOSED] Previous mailbox closed
         {}
         S: a4 OK [READ-ONLY] EXAMINE completed",
        appends(2),
        enable("a1", "IMAP4rev2"),
        selected(2, 3, None),
        selected(2, 3, Some(3)),
    ))
    .await;
}

/// 3.1.8: "SELECT INBOX (CONDSTORE)" enables CONDSTORE and answers HIGHESTMODSEQ; from then
/// on every FETCH caused by a flag change carries the UID and the new MODSEQ (3.1) — also
/// the implicit `\Seen` of a FETCH (3.2.4) — a `.SILENT` STORE without UNCHANGEDSINCE stays
/// silent, and a new keyword is announced before the FETCH.
#[tokio::test]
async fn rfc7162_3_1_8_select_condstore() {
    check(&format!(
        "{LOGIN}
         {}
         {}
         C: a2 SELECT INBOX (CONDSTORE)
         {}
         S: a2 OK [READ-WRITE] SELECT completed
         C: a3 STORE 2 +FLAGS (\\Seen)
         S: * 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (5))
         S: a3 OK STORE completed
         C: a4 STORE 1 +FLAGS.SILENT (\\Answered)
         S: a4 OK STORE completed
         C: a5 STORE 1 FLAGS ($NoJunk)
         S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $NoJunk)
         S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $NoJunk \\*)] Flags permitted
         S: * 1 FETCH (UID 1 FLAGS ($NoJunk) MODSEQ (7))
         S: a5 OK STORE completed
         C: a6 FETCH 3 (BODY[TEXT])
         S: * 3 FETCH (BODY[TEXT] {{8}}
         S: body 3
         S: {{*}}FLAGS (\\Seen) UID 3 MODSEQ (8))
         S: a6 OK FETCH completed
         C: a7 EXAMINE INBOX (CONDSTORE)
         S: * OK [CLOSED] Previous mailbox closed
         {}
         S: a7 OK [READ-ONLY] EXAMINE completed",
        appends(3),
        enable("a1", "IMAP4rev2"),
        selected(3, 4, Some(4)),
        selected(3, 4, Some(8)),
    ))
    .await;
}

/// 3.1.3 examples 1 and 2: a conditional STORE that passes updates the MODSEQ, and "An
/// untagged FETCH response MUST be sent, even if the .SILENT suffix is specified, and the
/// response MUST include the MODSEQ message data item." A STORE that changes nothing keeps
/// the MODSEQ (3.1.11) and still reports it.
#[tokio::test]
async fn rfc7162_3_1_3_store_unchangedsince_silent() {
    check(&format!(
        "{LOGIN}
         {}
         {}
         C: a2 SELECT INBOX (CONDSTORE)
         {}
         S: a2 OK [READ-WRITE] SELECT completed
         C: a3 STORE 1 (UNCHANGEDSINCE 5) +FLAGS.SILENT (\\Deleted)
         S: * 1 FETCH (UID 1 MODSEQ (6))
         S: a3 OK STORE completed
         C: a4 UID STORE 4,2,3 (UNCHANGEDSINCE 6) +FLAGS.SILENT (\\Deleted)
         S: * 2 FETCH (UID 2 MODSEQ (7))
         S: * 3 FETCH (UID 3 MODSEQ (7))
         S: * 4 FETCH (UID 4 MODSEQ (7))
         S: a4 OK STORE completed
         C: a5 STORE 1:2 (UNCHANGEDSINCE 7) +FLAGS.SILENT (\\Deleted)
         S: * 1 FETCH (UID 1 MODSEQ (6))
         S: * 2 FETCH (UID 2 MODSEQ (7))
         S: a5 OK STORE completed
         C: a6 STORE 4 (UNCHANGEDSINCE 7) FLAGS (\\Seen)
         S: * 4 FETCH (UID 4 FLAGS (\\Seen) MODSEQ (8))
         S: a6 OK STORE completed
         C: a7 FETCH 1:4 (FLAGS MODSEQ)
         S: * 1 FETCH (FLAGS (\\Deleted) MODSEQ (6))
         S: * 2 FETCH (FLAGS (\\Deleted) MODSEQ (7))
         S: * 3 FETCH (FLAGS (\\Deleted) MODSEQ (7))
         S: * 4 FETCH (FLAGS (\\Seen) MODSEQ (8))
         S: a7 OK FETCH completed",
        appends(4),
        enable("a1", "IMAP4rev2"),
        selected(4, 5, Some(5)),
    ))
    .await;
}

/// 3.1.3 examples 3 and 4: messages changed after UNCHANGEDSINCE are left alone and listed
/// in `[MODIFIED]` — sequence numbers for STORE, UIDs for UID STORE; "Use of UNCHANGEDSINCE
/// with a modification sequence of 0 always fails". What changed a refused message reaches
/// the client as an unsolicited FETCH.
#[tokio::test]
async fn rfc7162_3_1_3_store_unchangedsince_modified() {
    check(&format!(
        "{LOGIN}
         {}
         {}
         C: a2 SELECT INBOX (CONDSTORE)
         {}
         S: a2 OK [READ-WRITE] SELECT completed
         C2: b0 LOGIN alice secret
         S2: b0 OK [CAPABILITY {{*}}] Logged in
         C2: b1 SELECT INBOX
         {}
         S2: b1 OK [READ-WRITE] SELECT completed
         C2: b2 STORE 3 +FLAGS.SILENT (\\Flagged)
         S2: b2 OK STORE completed
         C: a3 STORE 3,1,2 (UNCHANGEDSINCE 4) +FLAGS.SILENT (\\Deleted)
         S: * 3 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (5))
         S: * 1 FETCH (UID 1 MODSEQ (6))
         S: * 2 FETCH (UID 2 MODSEQ (6))
         S: a3 OK [MODIFIED 3] Conditional STORE failed for some messages
         C: a4 UID STORE 1:3 (UNCHANGEDSINCE 5) -FLAGS (\\Deleted)
         S: * 3 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (5))
         S: a4 OK [MODIFIED 1:2] Conditional STORE failed for some messages
         C: a5 STORE 1:3 (UNCHANGEDSINCE 0) +FLAGS ($MDNSent)
         S: a5 OK [MODIFIED 1:3] Conditional STORE failed for some messages
         C2: b3 STORE 1 +FLAGS.SILENT (\\Answered)
         S2: * 1 FETCH (UID 1 FLAGS (\\Answered \\Deleted \\Recent))
         S2: * 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent))
         S2: b3 OK STORE completed
         C: a6 STORE 1:2 (UNCHANGEDSINCE 6) +FLAGS (\\Seen)
         S: * 1 FETCH (UID 1 FLAGS (\\Answered \\Deleted) MODSEQ (7))
         S: * 2 FETCH (UID 2 FLAGS (\\Deleted \\Seen) MODSEQ (8))
         S: a6 OK [MODIFIED 1] Conditional STORE failed for some messages",
        appends(3),
        enable("a1", "IMAP4rev2"),
        selected(3, 4, Some(4)),
        second_client(&selected_rev1(3, 4)),
    ))
    .await;
}

/// 3.1.4.1: "The information described by message data items is only returned for messages
/// that have a mod-sequence bigger than <mod-sequence>", and CHANGEDSINCE "implicitly adds
/// the MODSEQ FETCH message data item". 3.1.4.2: FETCH MODSEQ (both enable CONDSTORE).
/// VANISHED is BAD without ENABLE QRESYNC (3.2.3) and outside UID FETCH ... CHANGEDSINCE
/// (3.2.6).
#[tokio::test]
async fn rfc7162_3_1_4_fetch_changedsince_and_modseq() {
    check(&format!(
        "{LOGIN}
         {}
         {}
         C: a2 SELECT INBOX
         {}
         S: a2 OK [READ-WRITE] SELECT completed
         C: a3 STORE 2 +FLAGS (\\Seen)
         S: * 2 FETCH (FLAGS (\\Seen))
         S: a3 OK STORE completed
         C: a4 STORE 4 +FLAGS (\\Deleted)
         S: * 4 FETCH (FLAGS (\\Deleted))
         S: a4 OK STORE completed
         C: a5 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 5)
         S: * 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (6))
         S: * 4 FETCH (UID 4 FLAGS (\\Deleted) MODSEQ (7))
         S: a5 OK UID FETCH completed
         C: a6 FETCH 1:4 (UID) (CHANGEDSINCE 6)
         S: * 4 FETCH (UID 4 MODSEQ (7))
         S: a6 OK FETCH completed
         C: a7 FETCH 1:* (FLAGS) (CHANGEDSINCE 7)
         S: a7 OK FETCH completed
         C: a8 FETCH 1:3 (MODSEQ)
         S: * 1 FETCH (MODSEQ (2))
         S: * 2 FETCH (MODSEQ (6))
         S: * 3 FETCH (MODSEQ (4))
         S: a8 OK FETCH completed
         C: a9 STORE 1 +FLAGS (\\Flagged)
         S: * 1 FETCH (UID 1 FLAGS (\\Flagged) MODSEQ (8))
         S: a9 OK STORE completed
         C: b1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)
         S: b1 BAD QRESYNC is not enabled: ENABLE QRESYNC first
         C: b2 FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)
         S: b2 BAD {{*}}
         C: b3 UID FETCH 1:* (FLAGS) (VANISHED)
         S: b3 BAD {{*}}",
        appends(4),
        enable("a1", "IMAP4rev2"),
        selected(4, 5, None),
    ))
    .await;
}

/// 3.1.5 / 3.1.6: SEARCH MODSEQ matches messages whose MODSEQ is at least the value (the
/// entry name is accepted and ignored: one MODSEQ per message), and "the server MUST also
/// append (to the end of the untagged SEARCH response) the highest mod-sequence for all
/// messages being returned" — only when something matched and only for MODSEQ searches.
#[tokio::test]
async fn rfc7162_3_1_5_search_modseq() {
    check(&format!(
        "{LOGIN}
         {}
         C: a1 SELECT INBOX
         {}
         S: a1 OK [READ-WRITE] SELECT completed
         C: a2 STORE 2:3 +FLAGS.SILENT (\\Draft)
         S: a2 OK STORE completed
         C: a3 STORE 3 +FLAGS.SILENT (\\Flagged)
         S: a3 OK STORE completed
         C: a4 SEARCH MODSEQ \"/flags/\\\\draft\" all 6
         S: * SEARCH 2 3 (MODSEQ 7)
         S: a4 OK SEARCH completed
         C: a5 UID SEARCH MODSEQ 7
         S: * SEARCH 3 (MODSEQ 7)
         S: a5 OK UID SEARCH completed
         C: a6 SEARCH MODSEQ 8
         S: * SEARCH
         S: a6 OK SEARCH completed
         C: a7 SEARCH OR NOT MODSEQ 3 LARGER 50000
         S: * SEARCH 1 (MODSEQ 2)
         S: a7 OK SEARCH completed
         C: a8 SEARCH DRAFT
         S: * SEARCH 2 3
         S: a8 OK SEARCH completed
         C: a9 STORE 1 +FLAGS (\\Seen)
         S: * 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) MODSEQ (8))
         S: a9 OK STORE completed",
        appends(4),
        selected_rev1(4, 5),
    ))
    .await;
}

/// 3.1.10 (with RFC 4731 3.2): with result options the MODSEQ comes as an ESEARCH item
/// describing the messages returned — the one of MIN or MAX alone, otherwise all matches —
/// and is omitted when nothing matched. IMAP4rev2 answers every SEARCH with ESEARCH.
#[tokio::test]
async fn rfc7162_3_1_10_esearch_modseq() {
    check(&format!(
        "{LOGIN}
         {}
         {}
         C: a2 SELECT INBOX
         {}
         S: a2 OK [READ-WRITE] SELECT completed
         C: a3 STORE 2:3 +FLAGS.SILENT (\\Draft)
         S: a3 OK STORE completed
         C: a4 STORE 3 +FLAGS.SILENT (\\Flagged)
         S: a4 OK STORE completed
         C: a5 SEARCH RETURN (ALL) MODSEQ 6
         S: * ESEARCH (TAG \"a5\") ALL 2:3 MODSEQ 7
         S: a5 OK SEARCH completed
         C: a6 SEARCH RETURN (MIN) MODSEQ 6
         S: * ESEARCH (TAG \"a6\") MIN 2 MODSEQ 6
         S: a6 OK SEARCH completed
         C: a7 SEARCH RETURN (MAX) MODSEQ 6
         S: * ESEARCH (TAG \"a7\") MAX 3 MODSEQ 7
         S: a7 OK SEARCH completed
         C: a8 UID SEARCH RETURN (COUNT) MODSEQ 6
         S: * ESEARCH (TAG \"a8\") UID COUNT 2 MODSEQ 7
         S: a8 OK UID SEARCH completed
         C: a9 SEARCH RETURN (MIN MAX) MODSEQ 8
         S: * ESEARCH (TAG \"a9\")
         S: a9 OK SEARCH completed
         C: b1 SEARCH MODSEQ 2
         S: * ESEARCH (TAG \"b1\") ALL 1:4 MODSEQ 7
         S: b1 OK SEARCH completed
         C: b2 SEARCH RETURN (COUNT) DRAFT
         S: * ESEARCH (TAG \"b2\") COUNT 2
         S: b2 OK SEARCH completed",
        appends(4),
        enable("a1", "IMAP4rev2"),
        selected(4, 5, None),
    ))
    .await;
}

/// Two sessions, CONDSTORE: another session's STORE reaches a CONDSTORE-aware session with
/// its MODSEQ, on NOOP and pushed during IDLE (3.1: "whether they were caused by a regular
/// STORE, a STORE with an UNCHANGEDSINCE modifier, or an external agent"). The session that
/// enabled nothing gets no MODSEQ.
#[tokio::test]
async fn condstore_push_of_other_sessions_flag_changes_on_noop_and_idle() {
    check(&format!(
        "{LOGIN}
         {}
         {}
         C: a2 SELECT INBOX (CONDSTORE)
         {}
         S: a2 OK [READ-WRITE] SELECT completed
         C2: b0 LOGIN alice secret
         S2: b0 OK [CAPABILITY {{*}}] Logged in
         C2: b1 SELECT INBOX
         {}
         S2: b1 OK [READ-WRITE] SELECT completed
         C2: b2 STORE 1 +FLAGS (\\Flagged)
         S2: * 1 FETCH (FLAGS (\\Flagged \\Recent))
         S2: b2 OK STORE completed
         C: a3 NOOP
         S: * 1 FETCH (UID 1 FLAGS (\\Flagged) MODSEQ (4))
         S: a3 OK completed
         C: a4 IDLE
         S: + idling
         C2: b3 UID STORE 2 +FLAGS (\\Seen)
         S2: * 2 FETCH (UID 2 FLAGS (\\Seen \\Recent))
         S2: b3 OK STORE completed
         S: * 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (5))
         C2: b4 STORE 1:2 (UNCHANGEDSINCE 5) -FLAGS.SILENT (\\Flagged \\Seen)
         S2: * 1 FETCH (UID 1 MODSEQ (6))
         S2: * 2 FETCH (UID 2 MODSEQ (6))
         S2: b4 OK STORE completed
         S: * 1 FETCH (UID 1 FLAGS () MODSEQ (6))
         S: * 2 FETCH (UID 2 FLAGS () MODSEQ (6))
         C: DONE
         S: a4 OK IDLE terminated",
        appends(2),
        enable("a1", "IMAP4rev2"),
        selected(2, 3, Some(3)),
        second_client(&selected_rev1(2, 3)),
    ))
    .await;
}

// ---- QRESYNC (RFC 7162 3.2) ---------------------------------------------------------------

/// 3.2.3: the QRESYNC parameter without ENABLE QRESYNC is BAD, and a BAD SELECT leaves the
/// selected mailbox alone. 3.2.5: with a UIDVALIDITY that does not match, the parameter's
/// other values are ignored and the SELECT is a plain one (with HIGHESTMODSEQ: QRESYNC
/// enabled CONDSTORE).
#[tokio::test]
async fn rfc7162_3_2_3_qresync_parameter_needs_enable() {
    check(&format!(
        "{LOGIN}
         {}
         {}
         C: a2 SELECT INBOX
         {}
         S: a2 OK [READ-WRITE] SELECT completed
         C: a3 SELECT INBOX (QRESYNC (1 1))
         S: a3 BAD QRESYNC is not enabled: ENABLE QRESYNC first
         C: a4 FETCH 1 (FLAGS)
         S: * 1 FETCH (FLAGS ())
         S: a4 OK FETCH completed
         {}
         C: a6 SELECT INBOX (QRESYNC (1 1))
         S: * OK [CLOSED] Previous mailbox closed
         {}
         S: a6 OK [READ-WRITE] SELECT completed",
        appends(1),
        enable("a1", "IMAP4rev2"),
        selected(1, 2, None),
        enable("a5", "QRESYNC"),
        selected(1, 2, Some(2)),
    ))
    .await;
}

/// 3.2.5.1, adapted: while the client was away (it knew UIDs 1:6 at MODSEQ 7) message 2 got
/// `\Seen`, 3 and 5 were expunged and 7 arrived. "The server sends the client any pending
/// flag changes (using FETCH responses that MUST contain UIDs) and expunges those that have
/// occurred in this mailbox since the provided modification sequence": VANISHED (EARLIER)
/// first, restricted to known-uids when given, then FETCH (UID FLAGS MODSEQ).
#[tokio::test]
async fn rfc7162_3_2_5_1_select_qresync() {
    let server = Server::new().await;
    check_on(
        &server,
        &format!(
            "{LOGIN}
             {}
             {}
             C: s1 SELECT INBOX
             {}
             S: s1 OK [READ-WRITE] SELECT completed
             C: s2 STORE 2 +FLAGS.SILENT (\\Seen)
             S: s2 OK STORE completed
             C: s3 STORE 3,5 +FLAGS.SILENT (\\Deleted)
             S: s3 OK STORE completed
             C: s4 EXPUNGE
             S: * 3 EXPUNGE
             S: * 4 EXPUNGE
             S: s4 OK EXPUNGE completed
             {}
             S: * 5 EXISTS
             S: s5 OK [APPENDUID {{*}} 7] APPEND completed",
            appends(6),
            enable("s0", "IMAP4rev2"),
            selected(6, 7, None),
            append("s5", "INBOX", &[("", "Subject: 7\n\nbody 7")]),
        ),
    )
    .await;
    let v = inbox_uid_validity(&server).await;
    let head = selected(5, 8, Some(11));
    check_on(
        &server,
        &format!(
            "{LOGIN}
             {}
             C: a2 SELECT INBOX (QRESYNC ({v} 7 1:6))
             {head}
             S: * VANISHED (EARLIER) 3,5
             S: * 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (8))
             S: * 5 FETCH (UID 7 FLAGS () MODSEQ (11))
             S: a2 OK [READ-WRITE] SELECT completed
             C: a3 EXAMINE INBOX (QRESYNC ({v} 7 4:6))
             S: * OK [CLOSED] Previous mailbox closed
             {head}
             S: * VANISHED (EARLIER) 5
             S: * 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (8))
             S: * 5 FETCH (UID 7 FLAGS () MODSEQ (11))
             S: a3 OK [READ-ONLY] EXAMINE completed
             C: a4 SELECT INBOX (QRESYNC ({v} 9))
             S: * OK [CLOSED] Previous mailbox closed
             {head}
             S: * VANISHED (EARLIER) 3,5
             S: * 5 FETCH (UID 7 FLAGS () MODSEQ (11))
             S: a4 OK [READ-WRITE] SELECT completed
             C: a5 SELECT INBOX (QRESYNC ({v} 10 1:7))
             S: * OK [CLOSED] Previous mailbox closed
             {head}
             S: * 5 FETCH (UID 7 FLAGS () MODSEQ (11))
             S: a5 OK [READ-WRITE] SELECT completed
             C: a6 SELECT INBOX (QRESYNC ({v} 11 1:7))
             S: * OK [CLOSED] Previous mailbox closed
             {head}
             S: a6 OK [READ-WRITE] SELECT completed
             C: a7 SELECT INBOX (QRESYNC ({} 7 1:6))
             S: * OK [CLOSED] Previous mailbox closed
             {head}
             S: a7 OK [READ-WRITE] SELECT completed",
            enable("a1", "IMAP4rev2 QRESYNC"),
            v.wrapping_add(1),
        ),
    )
    .await;
}

/// 3.2.5.2 and 5.1, once the expunge log no longer reaches back to the client's MODSEQ: the
/// answer lists every UID of known-uids that no longer exists (here also UID 3, which the
/// client had already seen go — more than needed, never less), and the sequence-match data
/// narrows it: "If a pair matches, then the client knows of any expunges up to, and
/// including, the message".
#[tokio::test]
async fn rfc7162_3_2_5_2_seq_match_data_after_pruning() {
    let server = Server::new().await;
    // The client syncs at MODSEQ 13 knowing UIDs 1, 2 and 4:10; then UID 9 goes.
    check_on(
        &server,
        &format!(
            "{LOGIN}
             {}
             {}
             C: s1 SELECT INBOX
             {}
             S: s1 OK [READ-WRITE] SELECT completed
             C: s2 STORE 3 +FLAGS.SILENT (\\Deleted)
             S: s2 OK STORE completed
             C: s3 EXPUNGE
             S: * 3 EXPUNGE
             S: s3 OK EXPUNGE completed
             C: s4 UID STORE 9 +FLAGS.SILENT (\\Deleted)
             S: s4 OK STORE completed
             C: s5 EXPUNGE
             S: * 8 EXPUNGE
             S: s5 OK EXPUNGE completed",
            appends(10),
            enable("s0", "IMAP4rev2"),
            selected(10, 11, None),
        ),
    )
    .await;
    let v = inbox_uid_validity(&server).await;
    let head = selected(8, 11, Some(15));
    let select = |tag: &str, args: &str, vanished: &str, closed: bool| {
        let mut lines = format!("C: {tag} SELECT INBOX (QRESYNC ({v} {args}))\n");
        if closed {
            lines.push_str("S: * OK [CLOSED] Previous mailbox closed\n");
        }
        lines.push_str(&head);
        if !vanished.is_empty() {
            lines.push_str(&format!("\nS: * VANISHED (EARLIER) {vanished}"));
        }
        lines.push_str(&format!("\nS: {tag} OK [READ-WRITE] SELECT completed\n"));
        lines
    };
    // While the log is complete the answer is exact.
    check_on(
        &server,
        &format!(
            "{LOGIN}
             {}
             {}",
            enable("a1", "IMAP4rev2 QRESYNC"),
            select("a2", "13 1:10", "9", false),
        ),
    )
    .await;
    prune_everything(&server).await;
    check_on(
        &server,
        &format!(
            "{LOGIN}
             {}
             {}{}{}{}{}{}",
            enable("a1", "IMAP4rev2 QRESYNC"),
            select("a2", "13 1:10", "3,9", false),
            select("a3", "13", "3,9", true),
            select("a4", "13 1:10 (1:3 1,2,4)", "9", true),
            select("a5", "13 1:10 (1:3,8 1,2,4,9)", "9", true),
            select("a6", "13 1:10 (1:3,7 1,2,4,8)", "9", true),
            select("a7", "15 1:10", "", true),
        ),
    )
    .await;
}

/// 3.2.6 example, adapted: "The VANISHED UID FETCH modifier instructs the server to report
/// those messages from the UID set parameter that have been expunged and whose associated
/// mod-sequence is larger than the specified mod-sequence", before the FETCH responses.
/// Also 3.2.7 and 3.2.9: EXPUNGE and UID EXPUNGE report VANISHED and, when something went,
/// `[HIGHESTMODSEQ]` on the tagged OK.
#[tokio::test]
async fn rfc7162_3_2_6_uid_fetch_vanished_and_3_2_7_expunge() {
    check(&format!(
        "{LOGIN}
         {}
         {}
         C: a2 SELECT INBOX
         {}
         S: a2 OK [READ-WRITE] SELECT completed
         C: a3 STORE 3,5 +FLAGS.SILENT (\\Deleted)
         S: a3 OK STORE completed
         C: a4 STORE 2 +FLAGS (\\Seen)
         S: * 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (9))
         S: a4 OK STORE completed
         C: a5 EXPUNGE
         S: * VANISHED 3,5
         S: a5 OK [HIGHESTMODSEQ 10] EXPUNGE completed
         C: a6 UID FETCH 1:6 (FLAGS) (CHANGEDSINCE 7 VANISHED)
         S: * VANISHED (EARLIER) 3,5
         S: * 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (9))
         S: a6 OK UID FETCH completed
         C: a7 UID FETCH 4:* (FLAGS) (CHANGEDSINCE 9 VANISHED)
         S: * VANISHED (EARLIER) 5
         S: a7 OK UID FETCH completed
         C: a8 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 10 VANISHED)
         S: a8 OK UID FETCH completed
         C: a9 STORE 1 +FLAGS.SILENT (\\Deleted)
         S: a9 OK STORE completed
         C: b1 UID EXPUNGE 4:6
         S: b1 OK EXPUNGE completed
         C: b2 UID EXPUNGE 1:2
         S: * VANISHED 1
         S: b2 OK [HIGHESTMODSEQ 12] EXPUNGE completed
         C: b3 UID FETCH 1:* (UID) (CHANGEDSINCE 1 VANISHED)
         S: * VANISHED (EARLIER) 1,3,5
         S: * 1 FETCH (UID 2 MODSEQ (9))
         S: * 2 FETCH (UID 4 MODSEQ (5))
         S: * 3 FETCH (UID 6 MODSEQ (7))
         S: b3 OK UID FETCH completed",
        appends(6),
        enable("a1", "IMAP4rev2 QRESYNC"),
        selected(6, 7, Some(7)),
    ))
    .await;
}

/// 3.2.8: CLOSE sends no VANISHED and no HIGHESTMODSEQ; MOVE (RFC 6851) reports its expunge
/// as VANISHED after the COPYUID. 3.2.11: "[CLOSED]" marks SELECT/EXAMINE closing another
/// mailbox, never CLOSE or UNSELECT.
#[tokio::test]
async fn rfc7162_3_2_8_close_move_and_3_2_11_closed() {
    check(&format!(
        "{LOGIN}
         {}
         {}
         C: a2 SELECT INBOX
         {}
         S: a2 OK [READ-WRITE] SELECT completed
         C: a3 MOVE 2 Archive
         S: * OK [COPYUID {{*}} 2 1] Moved
         S: * VANISHED 2
         S: a3 OK MOVE completed
         C: a4 STORE 1 +FLAGS.SILENT (\\Deleted)
         S: a4 OK STORE completed
         C: a5 CLOSE
         S: a5 OK CLOSE completed
         C: a6 STATUS INBOX (MESSAGES HIGHESTMODSEQ)
         S: * STATUS INBOX (MESSAGES 1 HIGHESTMODSEQ 7)
         S: a6 OK STATUS completed
         C: a7 SELECT INBOX
         {}
         S: a7 OK [READ-WRITE] SELECT completed
         C: a8 EXAMINE Archive (CONDSTORE)
         S: * OK [CLOSED] Previous mailbox closed
         S: * FLAGS ({{*}})
         S: * OK [PERMANENTFLAGS ()] {{*}}
         S: * 1 EXISTS
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT 2] Predicted next UID
         S: * OK [HIGHESTMODSEQ 2] Highest
         S: * LIST (\\Archive) \"/\" Archive
         S: a8 OK [READ-ONLY] EXAMINE completed
         C: a9 UNSELECT
         S: a9 OK UNSELECT completed",
        appends(3),
        enable("a1", "IMAP4rev2 QRESYNC"),
        selected(3, 4, Some(4)),
        selected(1, 4, Some(7)),
    ))
    .await;
}

/// 3.2.10.2, two sessions: once QRESYNC is enabled, another session's expunges arrive as
/// VANISHED (never EXPUNGE), on NOOP and pushed during IDLE, before the FETCHes in the new
/// numbering; the session without QRESYNC still gets EXPUNGE.
#[tokio::test]
async fn qresync_push_of_other_sessions_expunges_on_noop_and_idle() {
    check(&format!(
        "{LOGIN}
         {}
         {}
         C: a2 SELECT INBOX
         {}
         S: a2 OK [READ-WRITE] SELECT completed
         C2: b0 LOGIN alice secret
         S2: b0 OK [CAPABILITY {{*}}] Logged in
         C2: b1 SELECT INBOX
         {}
         S2: b1 OK [READ-WRITE] SELECT completed
         C2: b2 STORE 1:4 +FLAGS.SILENT (\\Deleted)
         S2: b2 OK STORE completed
         C2: b3 UID EXPUNGE 2
         S2: * 2 EXPUNGE
         S2: b3 OK EXPUNGE completed
         C: a3 NOOP
         S: * VANISHED 2
         S: * 1 FETCH (UID 1 FLAGS (\\Deleted) MODSEQ (6))
         S: * 2 FETCH (UID 3 FLAGS (\\Deleted) MODSEQ (6))
         S: * 3 FETCH (UID 4 FLAGS (\\Deleted) MODSEQ (6))
         S: a3 OK completed
         C: a4 IDLE
         S: + idling
         C2: b4 EXPUNGE
         S2: * 1 EXPUNGE
         S2: * 1 EXPUNGE
         S2: * 1 EXPUNGE
         S2: b4 OK EXPUNGE completed
         S: * VANISHED 1,3:4
         C: DONE
         S: a4 OK IDLE terminated",
        appends(4),
        enable("a1", "IMAP4rev2 QRESYNC"),
        selected(4, 5, Some(5)),
        second_client(&selected_rev1(4, 5)),
    ))
    .await;
}

/// 3.2.10.2: VANISHED "MUST NOT be sent" while a FETCH, STORE or SEARCH by sequence number
/// runs, like EXPUNGE (RFC 9051 7.5.1); the next command that allows it reports it.
#[tokio::test]
async fn vanished_waits_for_a_command_that_allows_it() {
    check(&format!(
        "{LOGIN}
         {}
         {}
         C: a2 SELECT INBOX
         {}
         S: a2 OK [READ-WRITE] SELECT completed
         C2: b0 LOGIN alice secret
         S2: b0 OK [CAPABILITY {{*}}] Logged in
         C2: b1 SELECT INBOX
         {}
         S2: b1 OK [READ-WRITE] SELECT completed
         C2: b2 STORE 1 +FLAGS.SILENT (\\Deleted)
         S2: b2 OK STORE completed
         C2: b3 EXPUNGE
         S2: * 1 EXPUNGE
         S2: b3 OK EXPUNGE completed
         C: a3 FETCH 1:2 (UID)
         S: * 1 FETCH (UID 1)
         S: * 2 FETCH (UID 2)
         S: a3 OK FETCH completed
         C: a4 FETCH 1:2 (UID)
         S: * 2 FETCH (UID 2)
         S: a4 OK [EXPUNGEISSUED] Some messages were expunged meanwhile
         C: a5 SEARCH ALL
         S: * ESEARCH (TAG \"a5\") ALL 2
         S: a5 OK SEARCH completed
         C: a6 UID SEARCH ALL
         S: * ESEARCH (TAG \"a6\") UID ALL 2
         S: * VANISHED 1
         S: a6 OK UID SEARCH completed",
        appends(2),
        enable("a1", "IMAP4rev2 QRESYNC"),
        selected(2, 3, Some(3)),
        second_client(&selected_rev1(2, 3)),
    ))
    .await;
}

// ---- driven clients ------------------------------------------------------------------------

/// Sends one command and checks every line of the answer (`{*}` globs).
async fn exchange(client: &mut Client, input: &str, expected: &[&str]) -> String {
    let out = client.send(format!("{input}\r\n").as_bytes()).await;
    let lines: Vec<&str> = out.split_terminator("\r\n").collect();
    let ok = lines.len() == expected.len() && expected.iter().zip(&lines).all(|(e, a)| glob(e, a));
    assert!(
        ok,
        "after {input}\n--- expected ---\n{}\n--- actual ---\n{}",
        expected.join("\n"),
        lines.join("\n")
    );
    out
}

/// Sends one command and returns the answer, which must end in a tagged OK.
async fn command(client: &mut Client, tag: &str, input: &str) -> String {
    let out = client.send(format!("{tag} {input}\r\n").as_bytes()).await;
    let last = out.split_terminator("\r\n").last().unwrap_or_default();
    assert!(last.starts_with(&format!("{tag} OK")), "{input}:\n{out}");
    out
}

/// A logged-in client with IMAP4rev2 and QRESYNC enabled.
async fn qresync_client(server: &Server) -> Client {
    let mut client = server.client();
    client.greeting().await;
    command(&mut client, "l1", "LOGIN alice secret").await;
    command(&mut client, "l2", "ENABLE IMAP4rev2 QRESYNC").await;
    client
}

async fn append_message(client: &mut Client, tag: &str, flags: &str, n: u32) -> String {
    let body = format!("Subject: message {n}\r\n\r\nbody {n}\r\n");
    let input = format!(
        "{tag} APPEND INBOX ({flags}) {{{}+}}\r\n{body}\r\n",
        body.len()
    );
    let out = client.send(input.as_bytes()).await;
    assert!(out.contains(&format!("{tag} OK [APPENDUID")), "{out}");
    out
}

/// Once the log was pruned past what a selected view knows, its next resync still reports
/// every expunge (found by comparing UIDs), and `UID FETCH ... (CHANGEDSINCE n VANISHED)`
/// below the floor lists every UID of the set that no longer exists — here also UID 1, gone
/// before n — while above the floor the answer is exact again.
#[tokio::test]
async fn expunges_are_reported_correctly_after_the_log_was_pruned() {
    let server = Server::new().await;
    let mut writer = qresync_client(&server).await;
    for n in 1..=6 {
        append_message(&mut writer, &format!("p{n}"), "", n).await;
    }
    command(&mut writer, "w1", "SELECT INBOX").await;
    let mut watcher = qresync_client(&server).await;
    exchange(
        &mut watcher,
        "r1 SELECT INBOX",
        &[
            "* FLAGS ({*})",
            "* OK [PERMANENTFLAGS ({*})] {*}",
            "* 6 EXISTS",
            "* OK [UIDVALIDITY {*}] UIDs valid",
            "* OK [UIDNEXT 7] Predicted next UID",
            "* OK [HIGHESTMODSEQ 7] Highest",
            "* LIST () \"/\" INBOX",
            "r1 OK [READ-WRITE] SELECT completed",
        ],
    )
    .await;
    exchange(
        &mut writer,
        "w2 STORE 1 +FLAGS.SILENT (\\Deleted)",
        &["w2 OK STORE completed"],
    )
    .await;
    exchange(
        &mut writer,
        "w3 EXPUNGE",
        &["* VANISHED 1", "w3 OK [HIGHESTMODSEQ 9] EXPUNGE completed"],
    )
    .await;
    exchange(
        &mut writer,
        "w4 UID STORE 3,5 +FLAGS.SILENT (\\Deleted)",
        &["w4 OK STORE completed"],
    )
    .await;
    exchange(
        &mut writer,
        "w5 EXPUNGE",
        &[
            "* VANISHED 3,5",
            "w5 OK [HIGHESTMODSEQ 11] EXPUNGE completed",
        ],
    )
    .await;
    prune_everything(&server).await;

    // The watcher knew MODSEQ 7: its log is gone, the UIDs tell.
    exchange(
        &mut watcher,
        "r2 NOOP",
        &["* VANISHED 1,3,5", "r2 OK completed"],
    )
    .await;
    exchange(
        &mut writer,
        "w6 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 9 VANISHED)",
        &["* VANISHED (EARLIER) 1,3,5", "w6 OK UID FETCH completed"],
    )
    .await;
    exchange(
        &mut writer,
        "w7 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 11 VANISHED)",
        &["w7 OK UID FETCH completed"],
    )
    .await;
    exchange(
        &mut writer,
        "w8 UID STORE 6 +FLAGS.SILENT (\\Deleted)",
        &["w8 OK STORE completed"],
    )
    .await;
    exchange(
        &mut writer,
        "w9 UID EXPUNGE 6",
        &["* VANISHED 6", "w9 OK [HIGHESTMODSEQ 13] EXPUNGE completed"],
    )
    .await;
    exchange(
        &mut writer,
        "x1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 11 VANISHED)",
        &["* VANISHED (EARLIER) 6", "x1 OK UID FETCH completed"],
    )
    .await;
    exchange(
        &mut watcher,
        "r3 NOOP",
        &["* VANISHED 6", "r3 OK completed"],
    )
    .await;
}

// ---- resynchronisation after 1,000 random changes -------------------------------------------

/// xorshift64*: a fixed-seed PRNG, so a failure replays exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
}

const FLAGS: [&str; 7] = [
    "\\Seen",
    "\\Flagged",
    "\\Answered",
    "\\Draft",
    "\\Deleted",
    "$Work",
    "Junk",
];

type FlagMap = BTreeMap<u32, BTreeSet<String>>;

/// `1:3,7` → [1, 2, 3, 7].
fn expand(set: &str) -> Vec<u32> {
    set.split(',')
        .flat_map(|part| match part.split_once(':') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().unwrap(), b.parse().unwrap());
                (a.min(b)..=a.max(b)).collect::<Vec<_>>()
            }
            None => vec![part.parse().unwrap()],
        })
        .collect()
}

/// The UID and FLAGS of a `* n FETCH (UID u FLAGS (...) ...)` line.
fn fetched(line: &str) -> Option<(u32, BTreeSet<String>)> {
    let rest = line.strip_prefix("* ")?;
    let (_, rest) = rest.split_once(" FETCH (UID ")?;
    let (uid, rest) = rest.split_once(' ')?;
    let flags = rest.strip_prefix("FLAGS (")?.split_once(')')?.0;
    Some((
        uid.parse().ok()?,
        flags.split_whitespace().map(str::to_owned).collect(),
    ))
}

/// The value of `[CODE n]` in an answer.
fn code_value(out: &str, code: &str) -> u64 {
    let start = out.find(&format!("[{code} ")).unwrap() + code.len() + 2;
    out[start..].split(']').next().unwrap().parse().unwrap()
}

/// The server's state: UID → flags.
async fn server_state(client: &mut Client) -> FlagMap {
    command(client, "z1", "UID FETCH 1:* (FLAGS)")
        .await
        .split_terminator("\r\n")
        .filter_map(fetched)
        .collect()
}

/// A client syncs (QRESYNC), remembers UIDVALIDITY, HIGHESTMODSEQ and its UID → flags map,
/// and logs out; another session makes 1,000 random changes (appends, flag changes with
/// keywords, expunges); the client comes back with `SELECT INBOX (QRESYNC (v m known-uids))`,
/// applies VANISHED (EARLIER) and the FETCHes to its map and must hold exactly the server's
/// state. Without known-uids, VANISHED (EARLIER) lists exactly what was expunged after m
/// while the log is complete; after pruning, every UID below UIDNEXT that is gone (also the
/// ones expunged before m) — more, never fewer.
async fn resync_after_random_changes(prune: bool) {
    let server = Server::new().await;
    let mut setup = qresync_client(&server).await;
    for n in 1..=30 {
        append_message(&mut setup, &format!("p{n}"), "", n).await;
    }
    // Some expunges before the client's sync, which it never needs to hear of again.
    command(&mut setup, "s1", "SELECT INBOX").await;
    command(
        &mut setup,
        "s2",
        "UID STORE 4,9:10 +FLAGS.SILENT (\\Deleted)",
    )
    .await;
    command(&mut setup, "s3", "EXPUNGE").await;
    drop(setup);

    let mut client = qresync_client(&server).await;
    let selected = command(&mut client, "c1", "SELECT INBOX").await;
    let uid_validity = code_value(&selected, "UIDVALIDITY");
    let modseq = code_value(&selected, "HIGHESTMODSEQ");
    let mut map = server_state(&mut client).await;
    assert_eq!(map.len(), 27);
    command(&mut client, "c2", "LOGOUT").await;

    let mut rng = Rng(0x5EED_CAFE_F00D_0001);
    let mut other = qresync_client(&server).await;
    command(&mut other, "o1", "SELECT INBOX").await;
    let mut live: Vec<u32> = map.keys().copied().collect();
    let mut next_uid = 31;
    let mut expunged_after = BTreeSet::new();
    for step in 0..1000 {
        let tag = format!("r{step}");
        let choice = rng.below(10);
        if choice < 3 || live.is_empty() {
            let flags = FLAGS[rng.below(FLAGS.len())];
            append_message(&mut other, &tag, flags, next_uid).await;
            live.push(next_uid);
            next_uid += 1;
        } else if choice < 8 {
            let uid = live[rng.below(live.len())];
            let op = ["+FLAGS", "-FLAGS", "FLAGS"][rng.below(3)];
            let mut picked: Vec<&str> = (0..rng.below(3) + 1)
                .map(|_| FLAGS[rng.below(FLAGS.len())])
                .collect();
            picked.dedup();
            let input = format!("UID STORE {uid} {op}.SILENT ({})", picked.join(" "));
            command(&mut other, &tag, &input).await;
        } else {
            let index = rng.below(live.len());
            let uid = live.swap_remove(index);
            command(
                &mut other,
                &tag,
                &format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)"),
            )
            .await;
            command(
                &mut other,
                &format!("{tag}x"),
                &format!("UID EXPUNGE {uid}"),
            )
            .await;
            expunged_after.insert(uid);
        }
    }
    if prune {
        prune_everything(&server).await;
    }

    let mut client = qresync_client(&server).await;
    let known: Vec<String> = map.keys().map(u32::to_string).collect();
    let out = command(
        &mut client,
        "c3",
        &format!(
            "SELECT INBOX (QRESYNC ({uid_validity} {modseq} {}))",
            known.join(",")
        ),
    )
    .await;
    assert!(code_value(&out, "HIGHESTMODSEQ") > modseq);
    for line in out.split_terminator("\r\n") {
        if let Some(set) = line.strip_prefix("* VANISHED (EARLIER) ") {
            for uid in expand(set) {
                map.remove(&uid);
            }
        } else if let Some((uid, flags)) = fetched(line) {
            map.insert(uid, flags);
        } else {
            assert!(!line.starts_with("* VANISHED"), "{line}");
        }
    }
    let truth = server_state(&mut client).await;
    assert_eq!(
        map, truth,
        "the resynchronised client differs from the server"
    );

    // Without known-uids: 1:UIDNEXT-1.
    let out = command(
        &mut client,
        "c4",
        &format!("SELECT INBOX (QRESYNC ({uid_validity} {modseq}))"),
    )
    .await;
    let vanished: BTreeSet<u32> = out
        .split_terminator("\r\n")
        .filter_map(|line| line.strip_prefix("* VANISHED (EARLIER) "))
        .flat_map(expand)
        .collect();
    let gone: BTreeSet<u32> = (1..next_uid)
        .filter(|uid| !truth.contains_key(uid))
        .collect();
    if prune {
        assert_eq!(vanished, gone);
        assert!(vanished.is_superset(&expunged_after));
        assert!(vanished.contains(&4) && vanished.contains(&9));
    } else {
        assert_eq!(vanished, expunged_after);
    }
}

#[tokio::test]
async fn qresync_resync_after_1000_random_changes() {
    resync_after_random_changes(false).await;
}

#[tokio::test]
async fn qresync_resync_after_1000_random_changes_and_a_pruned_log() {
    resync_after_random_changes(true).await;
}
