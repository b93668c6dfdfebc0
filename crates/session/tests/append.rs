//! APPEND through the session: MULTIAPPEND (RFC 3502) with APPENDUID (RFC 4315), TRYCREATE
//! (RFC 9051 6.3.12), invalid flags, APPENDLIMIT (RFC 7889), and literals the framer refuses
//! (RFC 7888 section 4; the TOOBIG response code is RFC 4469's).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use portcullis_proto::framing::FrameLimits;
use portcullis_session::SessionConfig;
use support::{Server, append, check, check_on};

const LOGIN: &str = "C: a0 LOGIN alice secret\nS: a0 OK [CAPABILITY {*}] Logged in";

/// RFC 3502 3: one APPEND with several messages stores them all, in order, with ascending
/// UIDs, and RFC 4315 3 reports them as one APPENDUID set.
#[tokio::test]
async fn rfc3502_multiappend_with_appenduid_range() {
    check(&format!(
        "{LOGIN}
         C: a1 STATUS Sent (MESSAGES UIDNEXT)
         S: * STATUS Sent (MESSAGES 0 UIDNEXT 1)
         S: a1 OK STATUS completed
         {}
         S: a2 OK [APPENDUID {{*}} 1:3] APPEND completed
         C: a3 STATUS Sent (MESSAGES UIDNEXT UNSEEN)
         S: * STATUS Sent (MESSAGES 3 UIDNEXT 4 UNSEEN 1)
         S: a3 OK STATUS completed
         C: a4 EXAMINE Sent
         S: * FLAGS ({{*}})
         S: * OK [PERMANENTFLAGS ()] No permanent flags permitted
         S: * 3 EXISTS
         S: * 0 RECENT
         S: * OK [UNSEEN 3] Message 3 is first unseen
         S: * OK [UIDVALIDITY {{*}}] UIDs valid
         S: * OK [UIDNEXT 4] Predicted next UID
         S: a4 OK [READ-ONLY] EXAMINE completed
         C: a5 FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)
         S: * 1 FETCH (UID 1 FLAGS (\\Seen) INTERNALDATE \"01-Feb-2024 10:00:00 +0100\" RFC822.SIZE 23)
         S: * 2 FETCH (UID 2 FLAGS (\\Flagged \\Seen $Work) INTERNALDATE \"{{*}}\" RFC822.SIZE 24)
         S: * 3 FETCH (UID 3 FLAGS () INTERNALDATE \"{{*}}\" RFC822.SIZE 25)
         S: a5 OK FETCH completed
         C: a6 APPEND Sent {{3+}}
         C: x
         C:
         S: * 4 EXISTS
         S: * 0 RECENT
         S: a6 OK [APPENDUID {{*}} 4] APPEND completed",
        append(
            "a2",
            "Sent",
            &[
                ("(\\Seen) \"01-Feb-2024 10:00:00 +0100\" ", "Subject: one\n\nfirst"),
                ("(\\Seen \\Flagged $Work) ", "Subject: two\n\nsecond"),
                ("", "Subject: three\n\nthird"),
            ]
        ),
    ))
    .await;
}

/// RFC 9051 6.3.12: "If the destination mailbox does not exist, a server MUST return an error,
/// and MUST NOT automatically create the mailbox. Unless it is certain that the destination
/// mailbox can not be created, the server MUST send the response code "[TRYCREATE]"". Flags
/// are syntax: an unknown system flag is BAD, and (RFC 3502) a failed MULTIAPPEND stores
/// nothing: neither message of `a4` is kept.
#[tokio::test]
async fn rfc9051_6_3_12_append_failures_store_nothing() {
    check(&format!(
        "{LOGIN}
         {}
         S: a1 NO [TRYCREATE] Mailbox does not exist
         C: a2 LIST \"\" Nowhere
         S: a2 OK LIST completed
         {}
         S: a3 BAD Unknown system flag \\Bogus
         {}
         S: a4 BAD Unknown system flag \\Bogus
         C: a5 STATUS INBOX (MESSAGES UIDNEXT)
         S: * STATUS INBOX (MESSAGES 0 UIDNEXT 1)
         S: a5 OK STATUS completed
         C: a6 APPEND INBOX (\\Seen) {{0+}}
         C:
         S: a6 NO Cannot store an empty message
         C: a7 APPEND INBOX \"31-Feb-2024 10:00:00 +0000\" {{3+}}
         C: x
         C:
         S: a7 BAD Invalid date-time
         C: a8 APPEND INBOX
         S: a8 BAD APPEND needs a message literal
         C: a9 STATUS INBOX (MESSAGES UIDNEXT)
         S: * STATUS INBOX (MESSAGES 0 UIDNEXT 1)
         S: a9 OK STATUS completed",
        append("a1", "Nowhere", &[("", "Subject: lost\n\nlost")]),
        append("a3", "INBOX", &[("(\\Bogus) ", "Subject: bogus\n\nbogus")]),
        append(
            "a4",
            "INBOX",
            &[
                ("(\\Seen) ", "Subject: fine\n\nfine"),
                ("(\\Seen \\Bogus) ", "Subject: bogus\n\nbogus")
            ]
        ),
    ))
    .await;
}

/// RFC 7889: a message above the APPENDLIMIT that the framer let through (its own limit is
/// higher here) is refused by the session with `NO [TOOBIG]`, and nothing is stored.
#[tokio::test]
async fn rfc7889_appendlimit_is_enforced_by_the_session() {
    let server = Server::with_config(SessionConfig {
        append_limit: 20,
        ..SessionConfig::default()
    })
    .await;
    check_on(
        &server,
        &format!(
            "{LOGIN}
             C: a1 STATUS INBOX (APPENDLIMIT)
             S: * STATUS INBOX (APPENDLIMIT 20)
             S: a1 OK STATUS completed
             {}
             S: a2 NO [TOOBIG] Message exceeds the APPENDLIMIT of 20 octets
             {}
             S: a3 NO [TOOBIG] Message exceeds the APPENDLIMIT of 20 octets
             {}
             S: a4 OK [APPENDUID {{*}} 1] APPEND completed
             C: a5 STATUS INBOX (MESSAGES)
             S: * STATUS INBOX (MESSAGES 1)
             S: a5 OK STATUS completed",
            append("a2", "INBOX", &[("", "Subject: big\n\n123456")]),
            append(
                "a3",
                "INBOX",
                &[("", "Subject: a\n\n"), ("", "Subject: big\n\n123456")]
            ),
            append("a4", "INBOX", &[("", "Subject: b\n\n12")]),
        ),
    )
    .await;
}

/// The framer limits of the framing tests: 1000-octet messages (as the APPENDLIMIT), 1500
/// octets per MULTIAPPEND, 200 octets of other command text.
fn small_limits() -> FrameLimits {
    FrameLimits {
        max_command: 200,
        max_append_literal: 1000,
        max_append_total: 1500,
    }
}

async fn small_server() -> Server {
    let config = SessionConfig {
        append_limit: 1000,
        ..SessionConfig::default()
    };
    Server::with_limits(config, small_limits()).await
}

/// A synchronising literal above the limit is refused before the client sends it (the
/// client waits for a continuation it never gets): `NO [TOOBIG]`, and the connection goes
/// on with the next command.
#[tokio::test]
async fn rfc7889_too_big_synchronising_literal_gets_no() {
    let server = small_server().await;
    check_on(
        &server,
        &format!(
            "{LOGIN}
             C: a1 APPEND INBOX {{1001}}
             S: a1 NO [TOOBIG] Literal of 1001 octets is too big
             C: a2 NOOP
             S: a2 OK completed
             C: a3 APPEND INBOX {{3}}
             S: + Ready for literal data
             C: a:b
             C: a4 STATUS INBOX (MESSAGES)
             S: a3 OK [APPENDUID {{*}} 1] APPEND completed
             S: * STATUS INBOX (MESSAGES 1)
             S: a4 OK STATUS completed"
        ),
    )
    .await;
}

/// RFC 7888 4: a non-synchronising literal is sent whether the server wants it or not, so a
/// refused one (`BAD [TOOBIG]`) must be read and thrown away — its bytes are data, never
/// commands: the `x LOGOUT` lines inside it do not end the session.
#[tokio::test]
async fn rfc7888_4_too_big_non_synchronising_literal_is_skipped() {
    let server = small_server().await;
    let logouts = "C: x LOGOUT\n".repeat(30);
    check_on(
        &server,
        &format!(
            "{LOGIN}
             C: a1 LOGIN alice {{300+}}
             {logouts}C:
             S: a1 BAD [TOOBIG] Literal of 300 octets is too big
             C: a2 NOOP
             S: a2 OK completed
             C: a3 APPEND INBOX {{900+}}
             {logouts}{logouts}{logouts}C:  {{900+}}
             {logouts}{logouts}{logouts}C:
             S: a3 BAD [TOOBIG] Literal of 900 octets is too big
             C: a4 STATUS INBOX (MESSAGES)
             S: * STATUS INBOX (MESSAGES 0)
             S: a4 OK STATUS completed"
        ),
    )
    .await;
}

/// A non-synchronising literal too big to be skipped safely ends the connection: BAD, then
/// BYE, and nothing after it is read.
#[tokio::test]
async fn rfc7888_4_huge_non_synchronising_literal_closes_the_connection() {
    let server = small_server().await;
    check_on(
        &server,
        &format!(
            "{LOGIN}
             C: a1 APPEND INBOX {{5000+}}
             C: x LOGOUT
             S: a1 BAD [TOOBIG] Literal of 5000 octets is too big
             S: * BYE Too much data, closing connection
             C: a2 NOOP"
        ),
    )
    .await;
}
