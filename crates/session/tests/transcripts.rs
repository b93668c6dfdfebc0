//! Session transcripts: RFC behaviour end to end through the session, over a real store.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Server, check};

const LOGIN: &str = "C: a0 LOGIN alice secret\nS: a0 OK [CAPABILITY {*}] Logged in";

fn with_login(rest: &str) -> String {
    format!("{LOGIN}\n{rest}")
}

#[tokio::test]
async fn greeting_and_capabilities_depend_on_tls() {
    let server = Server::new().await;
    let mut plain = server.client_with(false);
    let greeting = plain.greeting().await;
    assert!(greeting.starts_with("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 "));
    assert!(greeting.contains(" STARTTLS LOGINDISABLED]"));
    assert!(!greeting.contains("AUTH="));
    let mut tls = server.client();
    let greeting = tls.greeting().await;
    assert!(greeting.contains("AUTH=PLAIN"));
    assert!(!greeting.contains("STARTTLS"));
}

#[tokio::test]
async fn login_is_refused_before_tls() {
    let server = Server::new().await;
    let mut plain = server.client_with(false);
    plain.greeting().await;
    let out = plain.send(b"a LOGIN alice secret\r\n").await;
    assert_eq!(
        out,
        "a NO [PRIVACYREQUIRED] Authentication requires TLS: use STARTTLS or port 993\r\n"
    );
    let out = plain
        .send(b"b AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==\r\n")
        .await;
    assert!(out.starts_with("b NO [PRIVACYREQUIRED]"));
    let out = plain.send(b"c STARTTLS\r\nd LOGIN alice secret\r\n").await;
    // The pipelined LOGIN after STARTTLS is discarded (command injection defence).
    assert_eq!(out, "c OK Begin TLS negotiation now\r\n");
    let out = plain.send(b"e CAPABILITY\r\n").await;
    assert!(out.contains("AUTH=PLAIN") && !out.contains("STARTTLS"));
    let out = plain.send(b"f LOGIN alice secret\r\n").await;
    assert!(out.starts_with("f OK [CAPABILITY"));
}

#[tokio::test]
async fn rfc9051_6_2_3_login_and_failures() {
    check(
        "C: a1 LOGIN alice wrong
         S: a1 NO [AUTHENTICATIONFAILED] Authentication failed
         C: a2 LOGIN nobody secret
         S: a2 NO [AUTHENTICATIONFAILED] Authentication failed
         C: a3 SELECT INBOX
         S: a3 BAD Not authenticated: LOGIN or AUTHENTICATE first
         C: a4 LOGIN \"ALICE\" {6+}
         C: secret
         S: a4 OK [CAPABILITY {*}] Logged in
         C: a5 LOGIN alice secret
         S: a5 BAD Already authenticated",
    )
    .await;
}

#[tokio::test]
async fn rfc4959_authenticate_plain_with_and_without_initial_response() {
    // "\0alice\0secret" is AGFsaWNlAHNlY3JldA==
    check(
        "C: a1 AUTHENTICATE PLAIN
         S: + 
         C: *
         S: a1 BAD Authentication cancelled
         C: a2 AUTHENTICATE PLAIN
         S: + 
         C: !!notbase64
         S: a2 BAD Invalid base64 in SASL response
         C: a3 AUTHENTICATE CRAM-MD5
         S: a3 NO Unsupported authentication mechanism CRAM-MD5
         C: a4 AUTHENTICATE PLAIN
         S: + 
         C: AGFsaWNlAHdyb25n
         S: a4 NO [AUTHENTICATIONFAILED] Authentication failed
         C: a5 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==
         S: a5 OK [CAPABILITY {*}] Logged in",
    )
    .await;
}

#[tokio::test]
async fn rfc9051_6_3_2_select_a_new_account_inbox() {
    check(&with_login(
        "C: a1 SELECT INBOX
         S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
         S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted
         S: * 0 EXISTS
         S: * 0 RECENT
         S: * OK [UIDVALIDITY {*}] UIDs valid
         S: * OK [UIDNEXT 1] Predicted next UID
         S: a1 OK [READ-WRITE] SELECT completed
         C: a2 EXAMINE Sent
         S: * OK [CLOSED] Previous mailbox closed
         S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)
         S: * OK [PERMANENTFLAGS ()] No permanent flags permitted
         S: * 0 EXISTS
         S: * 0 RECENT
         S: * OK [UIDVALIDITY {*}] UIDs valid
         S: * OK [UIDNEXT 1] Predicted next UID
         S: a2 OK [READ-ONLY] EXAMINE completed
         C: a3 SELECT nosuch
         S: * OK [CLOSED] Previous mailbox closed
         S: a3 NO [NONEXISTENT] Mailbox does not exist
         C: a4 FETCH 1 FLAGS
         S: a4 BAD No mailbox selected",
    ))
    .await;
}

#[tokio::test]
async fn rfc9051_6_3_9_list_with_special_use_and_children() {
    check(&with_login(
        "C: a1 CREATE Work/Projects/2026
         S: a1 OK CREATE completed
         C: a2 LIST \"\" *
         S: * LIST (\\HasNoChildren) \"/\" INBOX
         S: * LIST (\\HasNoChildren \\Archive) \"/\" Archive
         S: * LIST (\\HasNoChildren \\Drafts) \"/\" Drafts
         S: * LIST (\\HasNoChildren \\Junk) \"/\" Junk
         S: * LIST (\\HasNoChildren \\Sent) \"/\" Sent
         S: * LIST (\\HasNoChildren \\Trash) \"/\" Trash
         S: * LIST (\\HasChildren) \"/\" Work
         S: * LIST (\\HasChildren) \"/\" Work/Projects
         S: * LIST (\\HasNoChildren) \"/\" Work/Projects/2026
         S: a2 OK LIST completed
         C: a3 LIST \"\" %
         S: * LIST (\\HasNoChildren) \"/\" INBOX
         S: * LIST (\\HasNoChildren \\Archive) \"/\" Archive
         S: * LIST (\\HasNoChildren \\Drafts) \"/\" Drafts
         S: * LIST (\\HasNoChildren \\Junk) \"/\" Junk
         S: * LIST (\\HasNoChildren \\Sent) \"/\" Sent
         S: * LIST (\\HasNoChildren \\Trash) \"/\" Trash
         S: * LIST (\\HasChildren) \"/\" Work
         S: a3 OK LIST completed
         C: a4 LIST \"\" \"\"
         S: * LIST (\\Noselect) \"/\" \"\"
         S: a4 OK LIST completed
         C: a5 LIST Work/ %
         S: * LIST (\\HasChildren) \"/\" Work/Projects
         S: a5 OK LIST completed
         C: a6 LIST (SPECIAL-USE) \"\" *
         S: * LIST (\\HasNoChildren \\Archive) \"/\" Archive
         S: * LIST (\\HasNoChildren \\Drafts) \"/\" Drafts
         S: * LIST (\\HasNoChildren \\Junk) \"/\" Junk
         S: * LIST (\\HasNoChildren \\Sent) \"/\" Sent
         S: * LIST (\\HasNoChildren \\Trash) \"/\" Trash
         S: a6 OK LIST completed",
    ))
    .await;
}

#[tokio::test]
async fn rfc5258_subscribed_listings_and_lsub() {
    check(&with_login(
        "C: a1 CREATE Lists/rust
         S: a1 OK CREATE completed
         C: a2 SUBSCRIBE Lists/rust
         S: a2 OK SUBSCRIBE completed
         C: a3 SUBSCRIBE Gone/away
         S: a3 OK SUBSCRIBE completed
         C: a4 LIST (SUBSCRIBED) \"\" \"L*\"
         S: * LIST (\\HasNoChildren \\Subscribed) \"/\" Lists/rust
         S: a4 OK LIST completed
         C: a5 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %
         S: * LIST (\\HasNoChildren \\Subscribed) \"/\" INBOX
         S: * LIST (\\HasNoChildren \\Subscribed \\Archive) \"/\" Archive
         S: * LIST (\\HasNoChildren \\Subscribed \\Drafts) \"/\" Drafts
         S: * LIST (\\NonExistent) \"/\" Gone (\"CHILDINFO\" (\"SUBSCRIBED\"))
         S: * LIST (\\HasNoChildren \\Subscribed \\Junk) \"/\" Junk
         S: * LIST (\\HasChildren) \"/\" Lists (\"CHILDINFO\" (\"SUBSCRIBED\"))
         S: * LIST (\\HasNoChildren \\Subscribed \\Sent) \"/\" Sent
         S: * LIST (\\HasNoChildren \\Subscribed \\Trash) \"/\" Trash
         S: a5 OK LIST completed
         C: a6 LSUB \"\" \"Lists/%\"
         S: * LSUB () \"/\" Lists/rust
         S: a6 OK LSUB completed
         C: a7 LSUB \"\" \"G%\"
         S: * LSUB (\\Noselect) \"/\" Gone
         S: a7 OK LSUB completed
         C: a8 LIST (RECURSIVEMATCH) \"\" %
         S: a8 BAD RECURSIVEMATCH needs another selection option such as SUBSCRIBED",
    ))
    .await;
}

#[tokio::test]
async fn rfc5819_list_status() {
    check(&with_login(
        "C: a1 APPEND Drafts {20+}
         C: Subject: x
         C:
         C: body
         C:
         S: a1 OK [APPENDUID {*} 1] APPEND completed
         C: a2 LIST \"\" \"Dr*\" RETURN (STATUS (MESSAGES UNSEEN SIZE))
         S: * LIST (\\HasNoChildren \\Drafts) \"/\" Drafts
         S: * STATUS Drafts (MESSAGES 1 UNSEEN 1 SIZE 20)
         S: a2 OK LIST completed",
    ))
    .await;
}

/// Two APPENDs: a 50-octet message with `\Seen` and a date, and a 43-octet one. Each
/// literal ends without CRLF; the CRLF after it ends the command.
const APPEND_TWO: &str = "C: p1 APPEND INBOX (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {50+}
     C: Subject: first
     C: From: Ann <ann@example.org>
     C:
     C: one
     C: p2 APPEND INBOX {43+}
     C: Subject: second
     C: To: bob@example.org
     C:
     C: two";

#[tokio::test]
async fn rfc9051_6_3_12_append_then_fetch_store_search() {
    check(&with_login(&format!(
        "{APPEND_TWO}
         S: p1 OK [APPENDUID {{*}} 1] APPEND completed
         S: p2 OK [APPENDUID {{*}} 2] APPEND completed
         C: a1 SELECT INBOX
         S: * FLAGS ({{*}})
         S: * OK [PERMANENTFLAGS ({{*}})] Flags permitted
         S: * 2 EXISTS
         S: * 2 RECENT
         S: * OK [UNSEEN 2] Message 2 is first unseen
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT 3] Predicted next UID
         S: a1 OK [READ-WRITE] SELECT completed
         C: a2 FETCH 1:* (FLAGS INTERNALDATE RFC822.SIZE)
         S: * 1 FETCH (FLAGS (\\Seen \\Recent) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 50)
         S: * 2 FETCH (FLAGS (\\Recent) INTERNALDATE \"{{*}}\" RFC822.SIZE 43)
         S: a2 OK FETCH completed
         C: a3 FETCH 2 BODY[HEADER.FIELDS (SUBJECT)]
         S: * 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {{19}}
         S: Subject: second
         S: 
         S:  FLAGS (\\Seen \\Recent))
         S: a3 OK FETCH completed
         C: a4 UID FETCH 1 (BODY.PEEK[TEXT]<1.2>)
         S: * 1 FETCH (UID 1 BODY[TEXT]<1> {{2}}
         S: ne)
         S: a4 OK UID FETCH completed
         C: a5 STORE 1 +FLAGS (\\Flagged $Important)
         S: * FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)
         S: * OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important \\*)] Flags permitted
         S: * 1 FETCH (FLAGS (\\Flagged \\Seen $Important \\Recent))
         S: a5 OK STORE completed
         C: a6 SEARCH SUBJECT second
         S: * SEARCH 2
         S: a6 OK SEARCH completed
         C: a7 UID SEARCH OR KEYWORD $important TO bob SINCE 1-Jan-2000
         S: * SEARCH 2
         S: a7 OK UID SEARCH completed
         C: a8 SEARCH RETURN (MIN MAX COUNT ALL) BODY o
         S: * ESEARCH (TAG \"a8\") MIN 1 MAX 2 COUNT 2 ALL 1:2
         S: a8 OK SEARCH completed
         C: a9 SEARCH CHARSET KOI8-R TEXT x
         S: a9 NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset
         C: b1 FETCH 3 FLAGS
         S: b1 BAD Invalid message sequence number
         C: b2 STORE 1:2 FLAGS.SILENT (\\Deleted)
         S: b2 OK STORE completed
         C: b3 EXPUNGE
         S: * 1 EXPUNGE
         S: * 1 EXPUNGE
         S: b3 OK EXPUNGE completed
         C: b4 STATUS INBOX (MESSAGES UIDNEXT UNSEEN)
         S: * STATUS INBOX (MESSAGES 0 UIDNEXT 3 UNSEEN 0)
         S: b4 OK STATUS completed"
    )))
    .await;
}

#[tokio::test]
async fn rfc4315_rfc6851_copy_move_uid_expunge() {
    check(&with_login(&format!(
        "{APPEND_TWO}
         S: p1 OK {{*}}
         S: p2 OK {{*}}
         C: a1 EXAMINE INBOX
         S: {{*}}
         S: {{*}}
         S: * 2 EXISTS
         S: * 0 RECENT
         S: {{*}}
         S: {{*}}
         S: {{*}}
         S: a1 OK [READ-ONLY] EXAMINE completed
         C: a2 STORE 1 +FLAGS (\\Deleted)
         S: a2 NO Mailbox is read-only
         C: a3 SELECT INBOX
         S: * OK [CLOSED] Previous mailbox closed
         S: {{*}}
         S: {{*}}
         S: * 2 EXISTS
         S: * 2 RECENT
         S: {{*}}
         S: {{*}}
         S: {{*}}
         S: a3 OK [READ-WRITE] SELECT completed
         C: a4 COPY 1:2 Archive
         S: a4 OK [COPYUID {{*}} 1:2 1:2] COPY completed
         C: a5 COPY 1 Nowhere
         S: a5 NO [TRYCREATE] Mailbox does not exist
         C: a6 UID MOVE 2 Trash
         S: * OK [COPYUID {{*}} 2 1] Moved
         S: * 2 EXPUNGE
         S: a6 OK MOVE completed
         C: a7 STORE 1 +FLAGS.SILENT (\\Deleted)
         S: a7 OK STORE completed
         C: a8 UID EXPUNGE 99
         S: a8 OK EXPUNGE completed
         C: a9 UID EXPUNGE 1
         S: * 1 EXPUNGE
         S: a9 OK EXPUNGE completed
         C: b1 STATUS Archive (MESSAGES)
         S: * STATUS Archive (MESSAGES 2)
         S: b1 OK STATUS completed"
    )))
    .await;
}

#[tokio::test]
async fn rfc9051_7_5_1_two_sessions_see_each_others_changes() {
    check(&format!(
        "C: a0 LOGIN alice secret
         S: a0 OK {{*}}
         C2: b0 LOGIN alice secret
         S2: b0 OK {{*}}
         {APPEND_TWO}
         S: p1 OK {{*}}
         S: p2 OK {{*}}
         C: a1 SELECT INBOX
         S: {{*}}
         S: {{*}}
         S: * 2 EXISTS
         S: * 2 RECENT
         S: {{*}}
         S: {{*}}
         S: {{*}}
         S: a1 OK [READ-WRITE] SELECT completed
         C2: b1 SELECT INBOX
         S2: {{*}}
         S2: {{*}}
         S2: * 2 EXISTS
         S2: * 0 RECENT
         S2: {{*}}
         S2: {{*}}
         S2: {{*}}
         S2: b1 OK [READ-WRITE] SELECT completed
         C2: b2 STORE 2 +FLAGS (\\Deleted)
         S2: * 2 FETCH (FLAGS (\\Deleted))
         S2: b2 OK STORE completed
         C2: b3 EXPUNGE
         S2: * 2 EXPUNGE
         S2: b3 OK EXPUNGE completed
         C: a2 FETCH 1:2 UID
         S: * 1 FETCH (UID 1)
         S: * 2 FETCH (UID 2)
         S: a2 OK FETCH completed
         C: a3 FETCH 2 BODY[]
         S: a3 OK [EXPUNGEISSUED] Some messages were expunged meanwhile
         C: a4 NOOP
         S: * 2 EXPUNGE
         S: a4 OK completed
         C: a5 IDLE
         S: + idling
         C2: b4 STORE 1 +FLAGS (\\Answered)
         S2: * 1 FETCH (FLAGS (\\Answered \\Seen))
         S2: b4 OK STORE completed
         S: * 1 FETCH (UID 1 FLAGS (\\Answered \\Seen \\Recent))
         C2: b5 APPEND INBOX {{10+}}
         C2: Subject: x
         S2: * 2 EXISTS
         S2: * 1 RECENT
         S2: b5 OK [APPENDUID {{*}} 3] APPEND completed
         S: * 2 EXISTS
         S: * 1 RECENT
         C: DONE
         S: a5 OK IDLE terminated
         C2: b6 LOGOUT
         S2: * BYE Logging out
         S2: b6 OK LOGOUT completed"
    ))
    .await;
}
