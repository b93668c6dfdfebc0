//! Mailbox management through the session (RFC 9051 6.3.4–6.3.8, RFC 6154 CREATE-SPECIAL-USE,
//! RFC 3501 5.1.3 modified UTF-7 names).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{append, check};

const LOGIN: &str = "C: a0 LOGIN alice secret\nS: a0 OK [CAPABILITY {*}] Logged in";

fn with_login(rest: &str) -> String {
    format!("{LOGIN}\n{rest}")
}

#[tokio::test]
async fn rfc9051_6_3_4_create() {
    check(&with_login(
        "C: a1 CREATE Work/Projects/2026
         S: a1 OK CREATE completed
         C: a2 LIST \"\" Work*
         S: * LIST (\\HasChildren) \"/\" Work
         S: * LIST (\\HasChildren) \"/\" Work/Projects
         S: * LIST (\\HasNoChildren) \"/\" Work/Projects/2026
         S: a2 OK LIST completed
         C: a3 SELECT Work/Projects
         S: * FLAGS ({*})
         S: * OK [PERMANENTFLAGS ({*})] Flags permitted
         S: * 0 EXISTS
         S: * 0 RECENT
         S: * OK [UIDVALIDITY {*}] UIDs valid
         S: * OK [UIDNEXT 1] Predicted next UID
         S: a3 OK [READ-WRITE] SELECT completed
         C: a4 CREATE foo/
         S: a4 OK CREATE completed
         C: a5 LIST \"\" foo*
         S: * LIST (\\HasNoChildren) \"/\" foo
         S: a5 OK LIST completed
         C: a6 CREATE foo
         S: a6 NO [ALREADYEXISTS] Mailbox already exists
         C: a7 CREATE Work
         S: a7 NO [ALREADYEXISTS] Mailbox already exists
         C: a8 CREATE INBOX
         S: a8 NO [ALREADYEXISTS] INBOX always exists
         C: a9 CREATE inbox
         S: a9 NO [ALREADYEXISTS] INBOX always exists
         C: b1 CREATE a//b
         S: b1 NO [CANNOT] Invalid mailbox name: mailbox name has an empty hierarchy level
         C: b2 CREATE /top
         S: b2 NO [CANNOT] Invalid mailbox name: mailbox name has an empty hierarchy level
         C: b3 CREATE \"*\"
         S: b3 NO [CANNOT] Invalid mailbox name: mailbox name contains a forbidden character '*'
         C: b4 CREATE \"50%\"
         S: b4 NO [CANNOT] Invalid mailbox name: mailbox name contains a forbidden character '%'
         C: b5 CREATE &Jjo
         S: b5 NO [CANNOT] Invalid mailbox name: modified UTF-7 shift sequence is not closed with '-'
         C: b6 CREATE &AGE-
         S: b6 NO [CANNOT] Invalid mailbox name: modified UTF-7 name is not in canonical form
         C: b7 CREATE {5+}
         C: Caf\u{e9}
         S: b7 NO [CANNOT] Invalid mailbox name: 8-bit byte 0xc3 in a modified UTF-7 name
         C: b8 CREATE *
         S: b8 BAD Expected a mailbox name
         C: b9 CREATE Caf\u{e9}
         S: b9 BAD Unexpected characters at end of command
         C: c1 LIST \"\" *
         S: * LIST (\\HasNoChildren) \"/\" INBOX
         S: * LIST (\\HasNoChildren \\Archive) \"/\" Archive
         S: * LIST (\\HasNoChildren \\Drafts) \"/\" Drafts
         S: * LIST (\\HasNoChildren \\Junk) \"/\" Junk
         S: * LIST (\\HasNoChildren \\Sent) \"/\" Sent
         S: * LIST (\\HasNoChildren \\Trash) \"/\" Trash
         S: * LIST (\\HasChildren) \"/\" Work
         S: * LIST (\\HasChildren) \"/\" Work/Projects
         S: * LIST (\\HasNoChildren) \"/\" Work/Projects/2026
         S: * LIST (\\HasNoChildren) \"/\" foo
         S: c1 OK LIST completed",
    ))
    .await;
}

#[tokio::test]
async fn rfc6154_5_3_create_with_use() {
    check(&with_login(
        "C: a2 CREATE Templates (USE (\\Drafts))
         S: a2 OK CREATE completed
         C: a3 LIST \"\" Templates
         S: * LIST (\\HasNoChildren \\Drafts) \"/\" Templates
         S: a3 OK LIST completed
         C: a4 LIST (SPECIAL-USE) \"\" T*
         S: * LIST (\\HasNoChildren \\Drafts) \"/\" Templates
         S: * LIST (\\HasNoChildren \\Trash) \"/\" Trash
         S: a4 OK LIST completed
         C: a5 CREATE Odd (USE (\\Foo))
         S: a5 NO [USEATTR] Unknown special-use attribute \\Foo
         C: a6 CREATE Odd (USE (\\Sent \\Junk))
         S: a6 NO [USEATTR] Only one special-use attribute per mailbox
         C: a7 LIST \"\" Odd
         S: a7 OK LIST completed
         C: a8 CREATE Plain (USE ())
         S: a8 OK CREATE completed
         C: a9 LIST \"\" Plain
         S: * LIST (\\HasNoChildren) \"/\" Plain
         S: a9 OK LIST completed",
    ))
    .await;
}

#[tokio::test]
async fn rfc9051_6_3_5_delete() {
    check(&with_login(
        "C: a1 CREATE Leaf
         S: a1 OK CREATE completed
         C: a2 DELETE Leaf
         S: a2 OK DELETE completed
         C: a3 LIST \"\" Leaf
         S: a3 OK LIST completed
         C: a4 DELETE Leaf
         S: a4 NO [NONEXISTENT] Mailbox does not exist
         C: a5 CREATE Parent/Child
         S: a5 OK CREATE completed
         C: a6 DELETE Parent
         S: a6 OK DELETE completed
         C: a7 LIST \"\" Parent*
         S: * LIST (\\Noselect \\HasChildren) \"/\" Parent
         S: * LIST (\\HasNoChildren) \"/\" Parent/Child
         S: a7 OK LIST completed
         C: a8 SELECT Parent
         S: a8 NO [NONEXISTENT] Mailbox does not exist
         C: a9 STATUS Parent (MESSAGES)
         S: a9 NO [NONEXISTENT] Mailbox does not exist
         C: b1 DELETE Parent
         S: b1 NO [HASCHILDREN] Mailbox has children
         C: b2 DELETE INBOX
         S: b2 NO [CANNOT] INBOX cannot be deleted
         C: b3 DELETE inbox
         S: b3 NO [CANNOT] INBOX cannot be deleted
         C: b4 DELETE Parent/Child
         S: b4 OK DELETE completed
         C: b5 LIST \"\" Parent*
         S: * LIST (\\Noselect \\HasNoChildren) \"/\" Parent
         S: b5 OK LIST completed
         C: b6 DELETE Parent
         S: b6 OK DELETE completed
         C: b7 LIST \"\" Parent*
         S: b7 OK LIST completed",
    ))
    .await;
}

/// The other session cannot stay in a mailbox that no longer exists: it is told BYE with its
/// next command, and the connection ends (nothing answers `b3`).
#[tokio::test]
async fn rfc9051_6_3_5_delete_of_a_mailbox_another_session_has_selected() {
    check(
        "C: a0 LOGIN alice secret
         S: a0 OK {*}
         C2: b0 LOGIN alice secret
         S2: b0 OK {*}
         C: a1 CREATE Doomed
         S: a1 OK CREATE completed
         C2: b1 SELECT Doomed
         S2: * FLAGS ({*})
         S2: * OK [PERMANENTFLAGS ({*})] Flags permitted
         S2: * 0 EXISTS
         S2: * 0 RECENT
         S2: * OK [UIDVALIDITY {*}] UIDs valid
         S2: * OK [UIDNEXT 1] Predicted next UID
         S2: b1 OK [READ-WRITE] SELECT completed
         C: a2 DELETE Doomed
         S: a2 OK DELETE completed
         C2: b2 NOOP
         S2: * BYE Selected mailbox was deleted
         S2: b2 OK completed
         C2: b3 NOOP",
    )
    .await;
}

#[tokio::test]
async fn rfc9051_6_3_6_rename_with_children() {
    check(&with_login(
        "C: a1 CREATE Old/Sub/Deep
         S: a1 OK CREATE completed
         C: a3 RENAME Old New
         S: a3 OK RENAME completed
         C: a4 LIST \"\" *
         S: * LIST (\\HasNoChildren) \"/\" INBOX
         S: * LIST (\\HasNoChildren \\Archive) \"/\" Archive
         S: * LIST (\\HasNoChildren \\Drafts) \"/\" Drafts
         S: * LIST (\\HasNoChildren \\Junk) \"/\" Junk
         S: * LIST (\\HasChildren) \"/\" New
         S: * LIST (\\HasChildren) \"/\" New/Sub
         S: * LIST (\\HasNoChildren) \"/\" New/Sub/Deep
         S: * LIST (\\HasNoChildren \\Sent) \"/\" Sent
         S: * LIST (\\HasNoChildren \\Trash) \"/\" Trash
         S: a4 OK LIST completed
         C: a5 RENAME New/Sub/Deep Top/Level
         S: a5 OK RENAME completed
         C: a6 LIST \"\" Top*
         S: * LIST (\\HasChildren) \"/\" Top
         S: * LIST (\\HasNoChildren) \"/\" Top/Level
         S: a6 OK LIST completed
         C: a7 RENAME New Drafts
         S: a7 NO [ALREADYEXISTS] Mailbox already exists
         C: a8 RENAME New New/Sub/Inner
         S: a8 NO [CANNOT] Cannot rename a mailbox into itself
         C: a9 RENAME New New
         S: a9 NO [CANNOT] Cannot rename a mailbox into itself
         C: b1 RENAME Missing Other
         S: b1 NO [NONEXISTENT] Mailbox does not exist
         C: b2 RENAME New inbox
         S: b2 NO [ALREADYEXISTS] INBOX always exists
         C: b3 LIST \"\" New*
         S: * LIST (\\HasChildren) \"/\" New
         S: * LIST (\\HasNoChildren) \"/\" New/Sub
         S: b3 OK LIST completed",
    ))
    .await;
}

/// "Renaming INBOX ... moves all messages in INBOX to a new mailbox with the given name,
/// leaving INBOX empty. If the server implementation supports inferior hierarchical names of
/// INBOX, these are unaffected by a rename of INBOX." A session with INBOX selected sees the
/// messages go as EXPUNGEs.
#[tokio::test]
async fn rfc9051_6_3_6_rename_inbox() {
    check(&format!(
        "C: a0 LOGIN alice secret
         S: a0 OK {{*}}
         C2: b0 LOGIN alice secret
         S2: b0 OK {{*}}
         C: a1 CREATE INBOX/Kept
         S: a1 OK CREATE completed
         {}
         S: a2 OK [APPENDUID {{*}} 1:2] APPEND completed
         C2: b1 SELECT INBOX
         S2: * FLAGS ({{*}})
         S2: * OK [PERMANENTFLAGS ({{*}})] Flags permitted
         S2: * 2 EXISTS
         S2: * 2 RECENT
         S2: * OK [UNSEEN 2] Message 2 is first unseen
         S2: * OK [UIDVALIDITY {{*}}] UIDs valid
         S2: * OK [UIDNEXT 3] Predicted next UID
         S2: b1 OK [READ-WRITE] SELECT completed
         C: a3 RENAME INBOX Saved/Old
         S: a3 OK RENAME completed
         C: a4 STATUS Saved/Old (MESSAGES UNSEEN UIDNEXT)
         S: * STATUS Saved/Old (MESSAGES 2 UNSEEN 1 UIDNEXT 3)
         S: a4 OK STATUS completed
         C: a5 STATUS INBOX (MESSAGES)
         S: * STATUS INBOX (MESSAGES 0)
         S: a5 OK STATUS completed
         C: a6 LIST \"\" *
         S: * LIST (\\HasChildren) \"/\" INBOX
         S: * LIST (\\HasNoChildren \\Archive) \"/\" Archive
         S: * LIST (\\HasNoChildren \\Drafts) \"/\" Drafts
         S: * LIST (\\HasNoChildren) \"/\" INBOX/Kept
         S: * LIST (\\HasNoChildren \\Junk) \"/\" Junk
         S: * LIST (\\HasChildren) \"/\" Saved
         S: * LIST (\\HasNoChildren) \"/\" Saved/Old
         S: * LIST (\\HasNoChildren \\Sent) \"/\" Sent
         S: * LIST (\\HasNoChildren \\Trash) \"/\" Trash
         S: a6 OK LIST completed
         C: a7 FETCH 1 FLAGS
         S: a7 BAD No mailbox selected
         C2: b2 NOOP
         S2: * 1 EXPUNGE
         S2: * 1 EXPUNGE
         S2: b2 OK completed
         C2: b3 FETCH 1:* UID
         S2: b3 BAD Invalid message sequence number
         C: a8 SELECT Saved/Old
         S: * FLAGS ({{*}})
         S: * OK [PERMANENTFLAGS ({{*}})] Flags permitted
         S: * 2 EXISTS
         S: * 2 RECENT
         S: * OK [UNSEEN 2] Message 2 is first unseen
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT 3] Predicted next UID
         S: a8 OK [READ-WRITE] SELECT completed
         C: a9 FETCH 1:2 (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])
         S: * 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) BODY[HEADER.FIELDS (SUBJECT)] {{16}}
         S: Subject: one
         S:
         S: )
         S: * 2 FETCH (UID 2 FLAGS (\\Recent) BODY[HEADER.FIELDS (SUBJECT)] {{16}}
         S: Subject: two
         S:
         S: )
         S: a9 OK FETCH completed",
        append(
            "a2",
            "INBOX",
            &[
                ("(\\Seen) ", "Subject: one\n\nfirst"),
                ("", "Subject: two\n\nsecond")
            ]
        ),
    ))
    .await;
}

#[tokio::test]
async fn rfc9051_6_3_7_subscribe_and_6_3_8_unsubscribe() {
    check(&with_login(
        "C: a1 CREATE News/rust
         S: a1 OK CREATE completed
         C: a2 LSUB \"\" News*
         S: a2 OK LSUB completed
         C: a3 SUBSCRIBE News/rust
         S: a3 OK SUBSCRIBE completed
         C: a4 LSUB \"\" News*
         S: * LSUB () \"/\" News/rust
         S: a4 OK LSUB completed
         C: a5 LSUB \"\" %
         S: * LSUB () \"/\" INBOX
         S: * LSUB () \"/\" Archive
         S: * LSUB () \"/\" Drafts
         S: * LSUB () \"/\" Junk
         S: * LSUB (\\Noselect) \"/\" News
         S: * LSUB () \"/\" Sent
         S: * LSUB () \"/\" Trash
         S: a5 OK LSUB completed
         C: a6 LSUB News/ %
         S: * LSUB () \"/\" News/rust
         S: a6 OK LSUB completed
         C: a7 UNSUBSCRIBE News/rust
         S: a7 OK UNSUBSCRIBE completed
         C: a8 LSUB \"\" News*
         S: a8 OK LSUB completed
         C: a9 LSUB \"\" %
         S: * LSUB () \"/\" INBOX
         S: * LSUB () \"/\" Archive
         S: * LSUB () \"/\" Drafts
         S: * LSUB () \"/\" Junk
         S: * LSUB () \"/\" Sent
         S: * LSUB () \"/\" Trash
         S: a9 OK LSUB completed
         C: b1 UNSUBSCRIBE Trash
         S: b1 OK UNSUBSCRIBE completed
         C: b2 LSUB \"\" T*
         S: b2 OK LSUB completed
         C: b3 SUBSCRIBE Trash
         S: b3 OK SUBSCRIBE completed
         C: b4 DELETE Trash
         S: b4 OK DELETE completed
         C: b5 LSUB \"\" T*
         S: * LSUB (\\Noselect) \"/\" Trash
         S: b5 OK LSUB completed
         C: b6 LIST \"\" T*
         S: b6 OK LIST completed",
    ))
    .await;
}

/// RFC 3501 5.1.3 (kept by RFC 9051 for clients without UTF8=ACCEPT): names travel in
/// modified UTF-7 both ways, each with exactly one spelling.
#[tokio::test]
async fn rfc3501_5_1_3_modified_utf7_names_round_trip() {
    check(&with_login(
        "C: a1 CREATE Entw&APw-rfe
         S: a1 OK CREATE completed
         C: a2 CREATE \"A &- B\"
         S: a2 OK CREATE completed
         C: a3 CREATE \"Quote\\\"d\"
         S: a3 OK CREATE completed
         C: a4 CREATE &ZeVnLIqe-/&U,BTFw-
         S: a4 OK CREATE completed
         C: a5 LIST \"\" *
         S: * LIST (\\HasNoChildren) \"/\" INBOX
         S: * LIST (\\HasNoChildren) \"/\" \"A &- B\"
         S: * LIST (\\HasNoChildren \\Archive) \"/\" Archive
         S: * LIST (\\HasNoChildren \\Drafts) \"/\" Drafts
         S: * LIST (\\HasNoChildren) \"/\" Entw&APw-rfe
         S: * LIST (\\HasNoChildren \\Junk) \"/\" Junk
         S: * LIST (\\HasNoChildren) \"/\" \"Quote\\\"d\"
         S: * LIST (\\HasNoChildren \\Sent) \"/\" Sent
         S: * LIST (\\HasNoChildren \\Trash) \"/\" Trash
         S: * LIST (\\HasChildren) \"/\" &ZeVnLIqe-
         S: * LIST (\\HasNoChildren) \"/\" &ZeVnLIqe-/&U,BTFw-
         S: a5 OK LIST completed
         C: a6 LIST \"\" Entw*
         S: * LIST (\\HasNoChildren) \"/\" Entw&APw-rfe
         S: a6 OK LIST completed
         C: a7 LIST \"\" \"A &-*\"
         S: * LIST (\\HasNoChildren) \"/\" \"A &- B\"
         S: a7 OK LIST completed
         C: a8 STATUS Entw&APw-rfe (MESSAGES)
         S: * STATUS Entw&APw-rfe (MESSAGES 0)
         S: a8 OK STATUS completed
         C: a9 STATUS \"Quote\\\"d\" (UIDNEXT)
         S: * STATUS \"Quote\\\"d\" (UIDNEXT 1)
         S: a9 OK STATUS completed
         C: b1 CREATE Entw&APw-rfe
         S: b1 NO [ALREADYEXISTS] Mailbox already exists
         C: b2 CREATE Entw&AP8-rfe
         S: b2 OK CREATE completed
         C: b3 CREATE \"A & B\"
         S: b3 NO [CANNOT] Invalid mailbox name: modified UTF-7 shift sequence is not closed with '-'
         C: b4 CREATE Entw&APw-&AGU-
         S: b4 NO [CANNOT] Invalid mailbox name: modified UTF-7 name is not in canonical form
         C: b5 RENAME \"A &- B\" &ZeVnLIqe-/&AOk-
         S: b5 OK RENAME completed
         C: b6 LIST \"\" &ZeVnLIqe-/*
         S: * LIST (\\HasNoChildren) \"/\" &ZeVnLIqe-/&AOk-
         S: * LIST (\\HasNoChildren) \"/\" &ZeVnLIqe-/&U,BTFw-
         S: b6 OK LIST completed",
    ))
    .await;
}

/// INBOX may be renamed below itself: its messages move to the new child and its other
/// children stay where they are.
#[tokio::test]
async fn rfc9051_6_3_6_rename_inbox_below_itself() {
    check(&format!(
        "{LOGIN}
         C: a1 CREATE INBOX/Kept
         S: a1 OK CREATE completed
         {}
         S: a2 OK [APPENDUID {{*}} 1] APPEND completed
         C: a3 RENAME INBOX INBOX/Old
         S: a3 OK RENAME completed
         C: a4 LIST INBOX/ *
         S: * LIST (\\HasNoChildren) \"/\" INBOX/Kept
         S: * LIST (\\HasNoChildren) \"/\" INBOX/Old
         S: a4 OK LIST completed
         C: a5 STATUS INBOX/Old (MESSAGES)
         S: * STATUS INBOX/Old (MESSAGES 1)
         S: a5 OK STATUS completed
         C: a6 STATUS INBOX (MESSAGES UIDNEXT)
         S: * STATUS INBOX (MESSAGES 0 UIDNEXT 2)
         S: a6 OK STATUS completed
         C: a7 RENAME INBOX/Kept INBOX/Kept/Deeper
         S: a7 NO [CANNOT] Cannot rename a mailbox into itself",
        append("a2", "INBOX", &[("", "Subject: old\n\nold")]),
    ))
    .await;
}
