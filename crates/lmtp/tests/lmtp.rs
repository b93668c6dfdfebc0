//! LMTP conversations against a real store (RFC 2033 examples and the edge cases).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::BytesMut;
use portcullis_lmtp::{Control, LmtpConfig, LmtpSession, StoreDelivery};
use portcullis_store::{AccountName, MailboxName, Store};
use portcullis_store_sqlite::SqliteStore;
use std::sync::Arc;

struct Fixture {
    store: Arc<SqliteStore>,
    config: Arc<LmtpConfig>,
    _dir: tempfile::TempDir,
}

async fn fixture(max_message_size: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    for name in ["alice", "bob@example.org"] {
        store
            .create_account(&AccountName::new(name).unwrap(), "$argon2id$x")
            .await
            .unwrap();
    }
    let alice = store
        .account(&AccountName::new("alice").unwrap())
        .await
        .unwrap()
        .unwrap();
    store
        .create_mailbox(alice.id, &MailboxName::new("lists").unwrap(), None)
        .await
        .unwrap();
    let config = Arc::new(LmtpConfig {
        hostname: "mx.test".into(),
        max_message_size,
        max_recipients: 10,
    });
    Fixture {
        store,
        config,
        _dir: dir,
    }
}

impl Fixture {
    fn session(&self) -> LmtpSession {
        let delivery = Arc::new(StoreDelivery::new(self.store.clone() as Arc<dyn Store>));
        LmtpSession::new(self.config.clone(), delivery)
    }

    /// The bytes of every message in `account`'s `mailbox`.
    async fn messages(&self, account: &str, mailbox: &str) -> Vec<Vec<u8>> {
        let account = self
            .store
            .account(&AccountName::new(account).unwrap())
            .await
            .unwrap()
            .unwrap();
        let mailbox = self
            .store
            .mailbox(account.id, &MailboxName::new(mailbox).unwrap())
            .await
            .unwrap();
        let snapshot = self.store.snapshot(mailbox.id).await.unwrap();
        let mut out = Vec::new();
        for message in snapshot.messages.iter() {
            out.push(
                self.store
                    .raw_message(mailbox.id, message.uid)
                    .await
                    .unwrap()
                    .unwrap()
                    .to_vec(),
            );
        }
        out
    }
}

/// Feeds `input` in chunks of `chunk` bytes; returns the replies and the last control.
async fn talk(session: &mut LmtpSession, input: &[u8], chunk: usize) -> (String, Control) {
    let mut out = Vec::new();
    let mut buf = BytesMut::new();
    let mut control = Control::Continue;
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        control = session.process(&mut buf, &mut out).await;
        if control == Control::Close {
            break;
        }
    }
    (String::from_utf8(out).unwrap(), control)
}

const MESSAGE: &str =
    "From: sender@example.net\r\nSubject: hi\r\n\r\nline one\r\n..leading dot\r\n.\r\n";

#[tokio::test]
async fn rfc2033_4_2_pipelined_transaction_with_per_recipient_replies() {
    let fixture = fixture(1 << 20).await;
    let mut session = fixture.session();
    let input = format!(
        "LHLO mx.example.net\r\nMAIL FROM:<sender@example.net> SIZE=100 BODY=8BITMIME\r\n\
         RCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<BOB@example.org>\r\nDATA\r\n{MESSAGE}QUIT\r\n"
    );
    let (replies, control) = talk(&mut session, input.as_bytes(), input.len()).await;
    assert_eq!(
        replies,
        "250-mx.test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SIZE 1048576\r\n\
         250 2.1.0 Sender OK\r\n250 2.1.5 Recipient OK\r\n550 5.1.1 <nobody@example.org> User unknown\r\n\
         250 2.1.5 Recipient OK\r\n354 2.0.0 Start mail input; end with <CRLF>.<CRLF>\r\n\
         250 2.0.0 <alice@example.org> Delivered\r\n250 2.0.0 <BOB@example.org> Delivered\r\n\
         221 2.0.0 mx.test closing connection\r\n"
    );
    assert_eq!(control, Control::Close);
    let expected =
        b"From: sender@example.net\r\nSubject: hi\r\n\r\nline one\r\n.leading dot\r\n".to_vec();
    assert_eq!(
        fixture.messages("alice", "INBOX").await,
        vec![expected.clone()]
    );
    assert_eq!(
        fixture.messages("bob@example.org", "INBOX").await,
        vec![expected]
    );
}

#[tokio::test]
async fn input_split_into_single_bytes_gives_the_same_result() {
    let fixture = fixture(1 << 20).await;
    let mut session = fixture.session();
    let input = format!("LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<alice>\r\nDATA\r\n{MESSAGE}");
    let (replies, _) = talk(&mut session, input.as_bytes(), 1).await;
    assert!(
        replies.ends_with("250 2.0.0 <alice> Delivered\r\n"),
        "{replies}"
    );
    let stored = fixture.messages("alice", "INBOX").await;
    assert_eq!(stored.len(), 1);
    assert!(stored[0].ends_with(b"\r\n.leading dot\r\n"));
}

#[tokio::test]
async fn detail_addresses_file_into_existing_folders_else_inbox() {
    let fixture = fixture(1 << 20).await;
    let mut session = fixture.session();
    let input = format!(
        "LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<alice+lists@example.org>\r\nRCPT TO:<alice+nosuch@example.org>\r\nDATA\r\n{MESSAGE}"
    );
    let (replies, _) = talk(&mut session, input.as_bytes(), 7).await;
    assert_eq!(replies.matches("Delivered").count(), 2, "{replies}");
    assert_eq!(fixture.messages("alice", "lists").await.len(), 1);
    assert_eq!(fixture.messages("alice", "INBOX").await.len(), 1);
}

#[tokio::test]
async fn oversized_messages_are_refused_for_every_recipient() {
    let fixture = fixture(1000).await;
    let mut session = fixture.session();
    let (replies, _) = talk(&mut session, b"LHLO x\r\nMAIL FROM:<a@b> SIZE=5000\r\n", 64).await;
    assert!(
        replies.ends_with("552 5.3.4 Message size exceeds fixed maximum message size\r\n"),
        "{replies}"
    );
    let body = "x".repeat(100);
    let mut input =
        String::from("MAIL FROM:<a@b>\r\nRCPT TO:<alice>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n");
    for _ in 0..100 {
        input.push_str(&body);
        input.push_str("\r\n");
    }
    input.push_str(".\r\nNOOP\r\n");
    let (replies, _) = talk(&mut session, input.as_bytes(), 333).await;
    assert!(
        replies.ends_with(
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.0.0 OK\r\n"
        ),
        "{replies}"
    );
    assert!(fixture.messages("alice", "INBOX").await.is_empty());
}

#[tokio::test]
async fn commands_out_of_order_are_refused_with_enhanced_codes() {
    let fixture = fixture(1 << 20).await;
    let mut session = fixture.session();
    let input = "MAIL FROM:<a@b>\r\nEHLO x\r\nLHLO\r\nLHLO x\r\nRCPT TO:<alice>\r\nDATA\r\nMAIL FROM:<a@b>\r\nMAIL FROM:<a@b>\r\nDATA\r\n\
                 RCPT TO:<nobody>\r\nDATA\r\nRCPT TO:<alice> NOTIFY=NEVER\r\nMAIL FROM:<a@b> AUTH=<>\r\nRSET\r\nRCPT TO:<alice>\r\nFOO\r\nVRFY alice\r\nNOOP\r\n";
    let (replies, _) = talk(&mut session, input.as_bytes(), 11).await;
    let expected = [
        "503 5.5.1 Send LHLO first",
        "500 5.5.1 This is LMTP: use LHLO",
        "501 5.5.4 LHLO needs a host name",
        "250-mx.test",
        "250-PIPELINING",
        "250-ENHANCEDSTATUSCODES",
        "250-8BITMIME",
        "250 SIZE 1048576",
        "503 5.5.1 Send MAIL first",
        "503 5.5.1 Send MAIL first",
        "250 2.1.0 Sender OK",
        "503 5.5.1 Nested MAIL command",
        "554 5.5.1 No valid recipients",
        "550 5.1.1 <nobody> User unknown",
        "554 5.5.1 No valid recipients",
        "555 5.5.4 Unsupported RCPT parameter",
        "503 5.5.1 Nested MAIL command",
        "250 2.0.0 OK",
        "503 5.5.1 Send MAIL first",
        "500 5.5.2 Unknown command",
        "252 2.5.0 Cannot VRFY; try RCPT",
        "250 2.0.0 OK",
    ];
    assert_eq!(replies.lines().collect::<Vec<_>>(), expected);
}

#[tokio::test]
async fn an_over_long_command_line_is_refused_and_the_session_continues() {
    let fixture = fixture(1 << 20).await;
    let mut session = fixture.session();
    let mut input = b"LHLO x\r\nNOOP ".to_vec();
    input.extend(std::iter::repeat_n(b'a', 10_000));
    input.extend_from_slice(b"\r\nNOOP\r\n");
    let (replies, _) = talk(&mut session, &input, 1000).await;
    assert!(
        replies.ends_with("500 5.5.2 Line too long\r\n250 2.0.0 OK\r\n"),
        "{replies}"
    );
    assert_eq!(replies.matches("Line too long").count(), 1);
}
