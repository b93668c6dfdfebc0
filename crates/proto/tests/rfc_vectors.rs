//! RFC command vectors: every client command example of RFC 9051 section 6 (and RFC 3501
//! section 6 where it differs), and the command examples of the extensions we parse, decoded
//! from the exact RFC bytes and compared with the full expected [`Command`]. Literal examples
//! also go through the [`Framer`] first, as they arrive on a connection.
//!
//! Then the negative vectors: malformed commands are `Err(DecodeError)`, tagged when the tag
//! itself was valid.
//!
//! Where an RFC example's tag or surrounding transcript could only be recalled rather than
//! copied, the command form (which is what the parser sees) is the RFC's; such tests say so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::num::NonZeroU32;

use bytes::{Bytes, BytesMut};
use portcullis_proto::command::{
    AppendMessage, CommandBody, DateRelation, FetchItem, FlagArg, ListCommand, ListReturn,
    ListSelection, MailboxArg, QresyncParams, SearchKey, SearchReturn, Section, SectionAlias,
    SectionText, SelectParams, StatusItem, StoreOperation,
};
use portcullis_proto::framing::{Frame, FrameLimits, Framer};
use portcullis_proto::{
    Command, Date, DateTime, DecodeError, SeqBound, SequenceSet, Tag, parse_command,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Decodes one command line (CRLF appended) that must be valid.
fn ok(line: &str) -> Command {
    ok_bytes(format!("{line}\r\n").as_bytes())
}

/// Decodes one complete frame that must be valid.
fn ok_bytes(frame: &[u8]) -> Command {
    match parse_command(Bytes::copy_from_slice(frame)) {
        Ok(command) => command,
        Err(error) => panic!("{:?} failed: {error:?}", String::from_utf8_lossy(frame)),
    }
}

/// Decodes one command line (CRLF appended) that must be refused.
fn bad(line: &str) -> DecodeError {
    bad_bytes(format!("{line}\r\n").as_bytes())
}

fn bad_bytes(frame: &[u8]) -> DecodeError {
    match parse_command(Bytes::copy_from_slice(frame)) {
        Ok(command) => panic!(
            "{:?} was accepted as {command:?}",
            String::from_utf8_lossy(frame)
        ),
        Err(error) => error,
    }
}

/// Asserts that `line` is refused with the tag `tag`.
fn bad_tagged(line: &str, tag: &str) {
    let error = bad(line);
    assert_eq!(error.tag, Some(Tag(tag.into())), "{line:?}: {error:?}");
    assert!(!error.message.is_empty());
}

/// Runs client bytes through a default framer: the command frames, in order. Synchronising
/// literals produce a continuation request, which is what the RFC transcripts show as `+`.
fn frames(input: &[u8]) -> (Vec<Bytes>, usize) {
    let mut framer = Framer::new(FrameLimits::default());
    let mut buf = BytesMut::from(input);
    let mut commands = Vec::new();
    let mut continuations = 0;
    while let Some(frame) = framer.next_frame(&mut buf) {
        match frame {
            Frame::Command(bytes) => commands.push(bytes),
            Frame::ContinueLiteral => continuations += 1,
            Frame::Rejected(rejection) => panic!("rejected: {rejection:?}"),
        }
    }
    assert!(
        buf.is_empty(),
        "unframed rest {:?}",
        String::from_utf8_lossy(&buf)
    );
    (commands, continuations)
}

/// Frames `input` (one command) and decodes it.
fn framed(input: &[u8], continuations: usize) -> Command {
    let (commands, seen) = frames(input);
    assert_eq!(commands.len(), 1);
    assert_eq!(&commands[0][..], input);
    assert_eq!(seen, continuations, "continuation requests");
    ok_bytes(&commands[0])
}

fn cmd(tag: &str, body: CommandBody) -> Command {
    Command {
        tag: Tag(tag.into()),
        body,
    }
}

fn mbox(name: &str) -> MailboxArg {
    MailboxArg(Bytes::copy_from_slice(name.as_bytes()))
}

fn b(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

fn n(value: u32) -> SeqBound {
    SeqBound::Value(NonZeroU32::new(value).unwrap())
}

/// A sequence set of `(first, last)` ranges; `0` stands for `*`.
fn set(ranges: &[(u32, u32)]) -> SequenceSet {
    let bound = |v: u32| if v == 0 { SeqBound::Largest } else { n(v) };
    SequenceSet::Ranges(ranges.iter().map(|&(a, z)| (bound(a), bound(z))).collect())
}

fn system(flag: &str) -> FlagArg {
    FlagArg::System(flag.into())
}

fn flag_key(flag: &str) -> SearchKey {
    SearchKey::Flag(system(flag))
}

fn not(key: SearchKey) -> SearchKey {
    SearchKey::Not(Box::new(key))
}

fn date(year: i32, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

fn header(field: &str, value: &str) -> SearchKey {
    SearchKey::Header(b(field), b(value))
}

fn list(reference: &str, pattern: &str) -> CommandBody {
    CommandBody::List(ListCommand {
        selection: Vec::new(),
        reference: mbox(reference),
        patterns: vec![b(pattern)],
        return_options: None,
    })
}

fn list_ext(
    selection: Vec<ListSelection>,
    patterns: &[&str],
    return_options: Option<Vec<ListReturn>>,
) -> CommandBody {
    CommandBody::List(ListCommand {
        selection,
        reference: mbox(""),
        patterns: patterns.iter().map(|p| b(p)).collect(),
        return_options,
    })
}

fn fetch(uid: bool, set: SequenceSet, items: Vec<FetchItem>) -> CommandBody {
    CommandBody::Fetch {
        uid,
        set,
        items,
        changed_since: None,
        vanished: false,
    }
}

fn body_section(
    part: &[u32],
    text: Option<SectionText>,
    partial: Option<(u32, u32)>,
    peek: bool,
) -> FetchItem {
    FetchItem::BodySection {
        section: Section {
            part: part.to_vec(),
            text,
        },
        partial,
        peek,
        alias: SectionAlias::Body,
    }
}

fn store(
    uid: bool,
    set: SequenceSet,
    operation: StoreOperation,
    silent: bool,
    flags: Vec<FlagArg>,
    unchanged_since: Option<u64>,
) -> CommandBody {
    CommandBody::Store {
        uid,
        set,
        operation,
        silent,
        flags,
        unchanged_since,
    }
}

fn search(
    uid: bool,
    return_options: Option<Vec<SearchReturn>>,
    charset: Option<&str>,
    criteria: SearchKey,
) -> CommandBody {
    CommandBody::Search {
        uid,
        return_options,
        charset: charset.map(str::to_owned),
        criteria,
    }
}

fn select(mailbox: &str, params: SelectParams) -> CommandBody {
    CommandBody::Select {
        read_only: false,
        mailbox: mbox(mailbox),
        params,
    }
}

/// `FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"`, the criteria of several RFC examples.
fn flagged_since_not_smith() -> SearchKey {
    SearchKey::And(vec![
        flag_key("\\Flagged"),
        SearchKey::InternalDate(DateRelation::Since, date(1994, 2, 1)),
        not(header("FROM", "Smith")),
    ])
}

const APPEND_3501: &str = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: Fred Foobar <foobar@Blurdybloop.COM>\r\n\
Subject: afternoon meeting\r\n\
To: mooch@owatagu.siam.edu\r\n\
Message-Id: <B27397-0100000@Blurdybloop.COM>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n\
Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

const APPEND_9051: &str = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: Fred Foobar <foobar@Blurdybloop.example>\r\n\
Subject: afternoon meeting\r\n\
To: mooch@owatagu.siam.edu.example\r\n\
Message-Id: <B27397-0100000@Blurdybloop.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n\
Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";

// ---------------------------------------------------------------------------------------------
// RFC 9051 6.1 Client Commands - Any State

#[test]
fn rfc9051_6_1_1_capability() {
    // C: abcd CAPABILITY
    assert_eq!(ok("abcd CAPABILITY"), cmd("abcd", CommandBody::Capability));
}

#[test]
fn rfc9051_6_1_2_noop() {
    // C: a002 NOOP ... C: a047 NOOP
    assert_eq!(ok("a002 NOOP"), cmd("a002", CommandBody::Noop));
    assert_eq!(ok("a047 NOOP"), cmd("a047", CommandBody::Noop));
}

#[test]
fn rfc9051_6_1_3_logout() {
    // C: A023 LOGOUT
    assert_eq!(ok("A023 LOGOUT"), cmd("A023", CommandBody::Logout));
}

// RFC 9051 6.2 Client Commands - Not Authenticated State

#[test]
fn rfc9051_6_2_1_starttls() {
    // C: a001 CAPABILITY / C: a002 STARTTLS / C: a003 CAPABILITY / C: a004 LOGIN joe password
    assert_eq!(ok("a001 CAPABILITY"), cmd("a001", CommandBody::Capability));
    assert_eq!(ok("a002 STARTTLS"), cmd("a002", CommandBody::StartTls));
    assert_eq!(
        ok("a004 LOGIN joe password"),
        cmd(
            "a004",
            CommandBody::Login {
                username: b("joe"),
                password: b("password")
            }
        )
    );
}

#[test]
fn rfc9051_6_2_2_authenticate() {
    // C: A001 AUTHENTICATE GSSAPI (the responses follow on their own lines).
    assert_eq!(
        ok("A001 AUTHENTICATE GSSAPI"),
        cmd(
            "A001",
            CommandBody::Authenticate {
                mechanism: "GSSAPI".into(),
                initial_response: None
            }
        )
    );
    // Mechanism names are case-insensitive and kept upper-cased.
    assert_eq!(
        ok("A002 authenticate plain"),
        cmd(
            "A002",
            CommandBody::Authenticate {
                mechanism: "PLAIN".into(),
                initial_response: None
            }
        )
    );
}

#[test]
fn rfc9051_6_2_3_login() {
    // C: a001 LOGIN SMITH SESAME
    assert_eq!(
        ok("a001 LOGIN SMITH SESAME"),
        cmd(
            "a001",
            CommandBody::Login {
                username: b("SMITH"),
                password: b("SESAME")
            }
        )
    );
}

#[test]
fn rfc7888_literal_plus_login() {
    // RFC 7888 (LITERAL+) 3: C: A001 LOGIN {11+} / C: FRED FOOBAR {7+} / C: fat man
    let input = b"A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man\r\n";
    assert_eq!(
        framed(input, 0),
        cmd(
            "A001",
            CommandBody::Login {
                username: b("FRED FOOBAR"),
                password: b("fat man")
            }
        )
    );
    // The same with synchronising literals asks twice for continuation.
    let input = b"A001 LOGIN {11}\r\nFRED FOOBAR {7}\r\nfat man\r\n";
    assert_eq!(
        framed(input, 2),
        cmd(
            "A001",
            CommandBody::Login {
                username: b("FRED FOOBAR"),
                password: b("fat man")
            }
        )
    );
}

// RFC 9051 6.3 Client Commands - Authenticated State

#[test]
fn rfc9051_6_3_1_enable() {
    // C: t2 ENABLE CONDSTORE X-GOOD-IDEA (also RFC 5161 4)
    assert_eq!(
        ok("t2 ENABLE CONDSTORE X-GOOD-IDEA"),
        cmd(
            "t2",
            CommandBody::Enable(vec!["CONDSTORE".into(), "X-GOOD-IDEA".into()])
        )
    );
    assert_eq!(
        ok("a1 ENABLE IMAP4rev2"),
        cmd("a1", CommandBody::Enable(vec!["IMAP4REV2".into()]))
    );
}

#[test]
fn rfc9051_6_3_2_select() {
    // C: A142 SELECT INBOX
    assert_eq!(
        ok("A142 SELECT INBOX"),
        cmd("A142", select("INBOX", SelectParams::default()))
    );
}

#[test]
fn rfc9051_6_3_3_examine() {
    // C: A932 EXAMINE blurdybloop
    assert_eq!(
        ok("A932 EXAMINE blurdybloop"),
        cmd(
            "A932",
            CommandBody::Select {
                read_only: true,
                mailbox: mbox("blurdybloop"),
                params: SelectParams::default()
            }
        )
    );
}

#[test]
fn rfc9051_6_3_4_create() {
    // C: A003 CREATE owatagusiam/ / C: A004 CREATE owatagusiam/blurdybloop
    for (tag, name) in [
        ("A003", "owatagusiam/"),
        ("A004", "owatagusiam/blurdybloop"),
    ] {
        assert_eq!(
            ok(&format!("{tag} CREATE {name}")),
            cmd(
                tag,
                CommandBody::Create {
                    mailbox: mbox(name),
                    special_use: Vec::new()
                }
            )
        );
    }
}

#[test]
fn rfc9051_6_3_5_delete() {
    // C: A682 LIST "" * / C: A683 DELETE blurdybloop / C: A684 DELETE foo /
    // C: A685 DELETE foo/bar / C: A686 LIST "" * / C: A687 DELETE foo
    assert_eq!(ok("A682 LIST \"\" *"), cmd("A682", list("", "*")));
    for (tag, name) in [
        ("A683", "blurdybloop"),
        ("A684", "foo"),
        ("A685", "foo/bar"),
        ("A687", "foo"),
    ] {
        assert_eq!(
            ok(&format!("{tag} DELETE {name}")),
            cmd(tag, CommandBody::Delete(mbox(name)))
        );
    }
}

#[test]
fn rfc9051_6_3_6_rename() {
    // C: A683 RENAME blurdybloop sarasoop / C: A684 RENAME foo zowie /
    // C: Z432 LIST "" * / C: Z433 RENAME INBOX old-mail
    for (tag, from, to) in [
        ("A683", "blurdybloop", "sarasoop"),
        ("A684", "foo", "zowie"),
        ("Z433", "INBOX", "old-mail"),
    ] {
        assert_eq!(
            ok(&format!("{tag} RENAME {from} {to}")),
            cmd(
                tag,
                CommandBody::Rename {
                    from: mbox(from),
                    to: mbox(to)
                }
            )
        );
    }
    assert_eq!(ok("Z432 LIST \"\" *"), cmd("Z432", list("", "*")));
}

#[test]
fn rfc9051_6_3_7_subscribe() {
    // C: A002 SUBSCRIBE #news.comp.mail.mime
    assert_eq!(
        ok("A002 SUBSCRIBE #news.comp.mail.mime"),
        cmd("A002", CommandBody::Subscribe(mbox("#news.comp.mail.mime")))
    );
}

#[test]
fn rfc9051_6_3_8_unsubscribe() {
    // C: A002 UNSUBSCRIBE #news.comp.mail.mime
    assert_eq!(
        ok("A002 UNSUBSCRIBE #news.comp.mail.mime"),
        cmd(
            "A002",
            CommandBody::Unsubscribe(mbox("#news.comp.mail.mime"))
        )
    );
}

#[test]
fn rfc9051_6_3_9_list() {
    // C: A101 LIST "" "" / C: A102 LIST #news.comp.mail.misc "" /
    // C: A103 LIST /usr/staff/jones "" / C: A202 LIST ~/Mail/ %
    assert_eq!(ok("A101 LIST \"\" \"\""), cmd("A101", list("", "")));
    assert_eq!(
        ok("A102 LIST #news.comp.mail.misc \"\""),
        cmd("A102", list("#news.comp.mail.misc", ""))
    );
    assert_eq!(
        ok("A103 LIST /usr/staff/jones \"\""),
        cmd("A103", list("/usr/staff/jones", ""))
    );
    // `~` is an ASTRING-CHAR: the reference is the atom `~/Mail/`, not a literal8.
    assert_eq!(ok("A202 LIST ~/Mail/ %"), cmd("A202", list("~/Mail/", "%")));
}

#[test]
fn rfc3501_6_3_9_lsub() {
    // RFC 3501 6.3.9 (LSUB is not in RFC 9051): C: A002 LSUB "#news." "comp.mail.*"
    assert_eq!(
        ok("A002 LSUB \"#news.\" \"comp.mail.*\""),
        cmd(
            "A002",
            CommandBody::Lsub {
                reference: mbox("#news."),
                pattern: b("comp.mail.*")
            }
        )
    );
    assert_eq!(
        ok("A003 LSUB \"#news.\" \"comp.%\""),
        cmd(
            "A003",
            CommandBody::Lsub {
                reference: mbox("#news."),
                pattern: b("comp.%")
            }
        )
    );
}

#[test]
fn rfc9051_6_3_10_namespace() {
    // C: A001 NAMESPACE
    assert_eq!(ok("A001 NAMESPACE"), cmd("A001", CommandBody::Namespace));
}

#[test]
fn rfc9051_6_3_11_status() {
    // C: A042 STATUS blurdybloop (UIDNEXT MESSAGES)
    assert_eq!(
        ok("A042 STATUS blurdybloop (UIDNEXT MESSAGES)"),
        cmd(
            "A042",
            CommandBody::Status {
                mailbox: mbox("blurdybloop"),
                items: vec![StatusItem::UidNext, StatusItem::Messages]
            }
        )
    );
    // Every item we know, including RFC 9051 DELETED / SIZE, RFC 7162 HIGHESTMODSEQ and
    // RFC 7889 APPENDLIMIT, case-insensitively.
    assert_eq!(
        ok(
            "A043 STATUS x (messages RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE HIGHESTMODSEQ APPENDLIMIT)"
        ),
        cmd(
            "A043",
            CommandBody::Status {
                mailbox: mbox("x"),
                items: vec![
                    StatusItem::Messages,
                    StatusItem::Recent,
                    StatusItem::UidNext,
                    StatusItem::UidValidity,
                    StatusItem::Unseen,
                    StatusItem::Deleted,
                    StatusItem::Size,
                    StatusItem::HighestModSeq,
                    StatusItem::AppendLimit,
                ],
            }
        )
    );
}

#[test]
fn rfc9051_6_3_12_append() {
    // C: A003 APPEND saved-messages (\Seen) {326}
    // S: + Ready for literal data
    // C: Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST) ...
    assert_eq!(APPEND_9051.len(), 326);
    let input = format!("A003 APPEND saved-messages (\\Seen) {{326}}\r\n{APPEND_9051}\r\n");
    assert_eq!(
        framed(input.as_bytes(), 1),
        cmd(
            "A003",
            CommandBody::Append {
                mailbox: mbox("saved-messages"),
                messages: vec![AppendMessage {
                    flags: vec![system("\\Seen")],
                    date: None,
                    data: b(APPEND_9051),
                    binary: false,
                    utf8: false,
                }],
            }
        )
    );
}

#[test]
fn rfc3501_6_3_11_append() {
    // RFC 3501 has the same example with .COM addresses: C: A003 APPEND saved-messages (\Seen) {310}
    assert_eq!(APPEND_3501.len(), 310);
    let input = format!("A003 APPEND saved-messages (\\Seen) {{310}}\r\n{APPEND_3501}\r\n");
    let CommandBody::Append { messages, .. } = framed(input.as_bytes(), 1).body else {
        panic!("not an APPEND");
    };
    assert_eq!(messages[0].data, b(APPEND_3501));
}

#[test]
fn rfc9051_6_3_12_append_with_date_time() {
    // The date-time form of `append` (RFC 9051 9: append-opts = [SP flag-list] [SP date-time]).
    let input = format!(
        "A004 APPEND saved-messages (\\Seen) \"07-Feb-1994 21:52:25 -0800\" {{326+}}\r\n{APPEND_9051}\r\n"
    );
    assert_eq!(
        framed(input.as_bytes(), 0),
        cmd(
            "A004",
            CommandBody::Append {
                mailbox: mbox("saved-messages"),
                messages: vec![AppendMessage {
                    flags: vec![system("\\Seen")],
                    date: Some(DateTime {
                        unix_seconds: 760_686_745,
                        offset_minutes: -480
                    }),
                    data: b(APPEND_9051),
                    binary: false,
                    utf8: false,
                }],
            }
        )
    );
}

#[test]
fn rfc9051_6_3_13_idle() {
    // C: A002 IDLE / S: + idling / ... / C: DONE
    assert_eq!(ok("A002 IDLE"), cmd("A002", CommandBody::Idle));
    // DONE is not a command: the session reads it as a line (RFC 2177 3).
    let mut framer = Framer::new(FrameLimits::default());
    let mut buf = BytesMut::from(&b"DONE\r\nA003 NOOP\r\n"[..]);
    assert_eq!(framer.next_line(&mut buf), Some(Ok(b("DONE"))));
    assert_eq!(
        framer.next_frame(&mut buf),
        Some(Frame::Command(b("A003 NOOP\r\n")))
    );
}

#[test]
fn rfc2177_3_idle() {
    // RFC 2177 3: C: A001 SELECT INBOX / C: A002 IDLE / S: + idling / ... / C: DONE
    assert_eq!(
        ok("A001 SELECT INBOX"),
        cmd("A001", select("INBOX", SelectParams::default()))
    );
    assert_eq!(ok("A002 IDLE"), cmd("A002", CommandBody::Idle));
}

// RFC 9051 6.4 Client Commands - Selected State

#[test]
fn rfc3501_6_4_1_check() {
    // RFC 3501 6.4.1 (CHECK is gone from RFC 9051 6.4): C: FXXZ CHECK
    assert_eq!(ok("FXXZ CHECK"), cmd("FXXZ", CommandBody::Check));
}

#[test]
fn rfc9051_6_4_1_close() {
    // C: A341 CLOSE
    assert_eq!(ok("A341 CLOSE"), cmd("A341", CommandBody::Close));
}

#[test]
fn rfc9051_6_4_2_unselect() {
    // C: A342 UNSELECT (also RFC 3691)
    assert_eq!(ok("A342 UNSELECT"), cmd("A342", CommandBody::Unselect));
}

#[test]
fn rfc9051_6_4_3_expunge() {
    // C: A202 EXPUNGE
    assert_eq!(ok("A202 EXPUNGE"), cmd("A202", CommandBody::Expunge));
}

#[test]
fn rfc9051_6_4_4_search() {
    // C: A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
    assert_eq!(
        ok("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""),
        cmd(
            "A282",
            search(
                false,
                Some(vec![SearchReturn::Min, SearchReturn::Count]),
                None,
                flagged_since_not_smith()
            )
        )
    );
    // C: A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
    assert_eq!(
        ok("A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""),
        cmd(
            "A283",
            search(false, Some(Vec::new()), None, flagged_since_not_smith())
        )
    );
    // C: A284 SEARCH TEXT "string not in mailbox"
    assert_eq!(
        ok("A284 SEARCH TEXT \"string not in mailbox\""),
        cmd(
            "A284",
            search(
                false,
                None,
                None,
                SearchKey::Text(b("string not in mailbox"))
            )
        )
    );
    // C: A285 SEARCH CHARSET UTF-8 TEXT {12} / S: + Ready for literal text / C: отпуск
    let input = "A285 SEARCH CHARSET UTF-8 TEXT {12}\r\nотпуск\r\n";
    assert_eq!(
        framed(input.as_bytes(), 1),
        cmd(
            "A285",
            search(false, None, Some("UTF-8"), SearchKey::Text(b("отпуск")))
        )
    );
}

#[test]
fn rfc3501_6_4_4_search() {
    // C: A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
    assert_eq!(
        ok("A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""),
        cmd("A282", search(false, None, None, flagged_since_not_smith()))
    );
    // C: A284 SEARCH CHARSET UTF-8 TEXT {6} / C: XXXXXX
    assert_eq!(
        framed(b"A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n", 1),
        cmd(
            "A284",
            search(false, None, Some("UTF-8"), SearchKey::Text(b("XXXXXX")))
        )
    );
}

#[test]
fn rfc9051_6_4_4_1_search_result_saving() {
    // RFC 9051 6.4.4.1 / RFC 5182 2.1:
    // C: A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
    assert_eq!(
        ok("A282 SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""),
        cmd(
            "A282",
            search(
                false,
                Some(vec![SearchReturn::Save]),
                None,
                flagged_since_not_smith()
            )
        )
    );
    // C: A283 FETCH $ (UID INTERNALDATE FLAGS RFC822.HEADER)
    assert_eq!(
        ok("A283 FETCH $ (UID INTERNALDATE FLAGS RFC822.HEADER)"),
        cmd(
            "A283",
            fetch(
                false,
                SequenceSet::Saved,
                vec![
                    FetchItem::Uid,
                    FetchItem::InternalDate,
                    FetchItem::Flags,
                    FetchItem::BodySection {
                        section: Section {
                            part: Vec::new(),
                            text: Some(SectionText::Header)
                        },
                        partial: None,
                        peek: true,
                        alias: SectionAlias::Rfc822Header,
                    },
                ],
            )
        )
    );
    // C: A301 UID SEARCH UID $ SMALLER 4096 / C: A302 COPY $ "Other Messages"
    assert_eq!(
        ok("A301 UID SEARCH UID $ SMALLER 4096"),
        cmd(
            "A301",
            search(
                true,
                None,
                None,
                SearchKey::And(vec![
                    SearchKey::Uid(SequenceSet::Saved),
                    SearchKey::Smaller(4096)
                ])
            )
        )
    );
    assert_eq!(
        ok("A302 COPY $ \"Other Messages\""),
        cmd(
            "A302",
            CommandBody::Copy {
                uid: false,
                set: SequenceSet::Saved,
                mailbox: mbox("Other Messages")
            }
        )
    );
    // RFC 5182 2.1: C: A300 SEARCH RETURN (SAVE MIN) ... and `$` as a search key.
    assert_eq!(
        ok("A303 SEARCH RETURN (SAVE MIN) $"),
        cmd(
            "A303",
            search(
                false,
                Some(vec![SearchReturn::Save, SearchReturn::Min]),
                None,
                SearchKey::SequenceSet(SequenceSet::Saved)
            )
        )
    );
}

#[test]
fn rfc9051_6_4_5_fetch() {
    // C: A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])
    assert_eq!(
        ok("A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])"),
        cmd(
            "A654",
            fetch(
                false,
                set(&[(2, 4)]),
                vec![
                    FetchItem::Flags,
                    body_section(
                        &[],
                        Some(SectionText::HeaderFields(vec![b("DATE"), b("FROM")])),
                        None,
                        false
                    ),
                ],
            )
        )
    );
}

#[test]
fn rfc9051_6_4_5_fetch_macros_and_items() {
    // The macros expand as RFC 9051 6.4.5 defines them.
    let fast = vec![
        FetchItem::Flags,
        FetchItem::InternalDate,
        FetchItem::Rfc822Size,
    ];
    let all = [fast.clone(), vec![FetchItem::Envelope]].concat();
    let full = [
        all.clone(),
        vec![FetchItem::BodyStructure { extensible: false }],
    ]
    .concat();
    assert_eq!(
        ok("a FETCH 1:* FAST"),
        cmd("a", fetch(false, set(&[(1, 0)]), fast))
    );
    assert_eq!(
        ok("a FETCH 1:* all"),
        cmd("a", fetch(false, set(&[(1, 0)]), all))
    );
    assert_eq!(
        ok("a FETCH 1 FULL"),
        cmd("a", fetch(false, set(&[(1, 1)]), full))
    );
    // RFC 3501 8 (sample connection): C: a003 fetch 12 full / C: a004 fetch 12 body[header]
    assert_eq!(
        ok("a004 fetch 12 body[header]"),
        cmd(
            "a004",
            fetch(
                false,
                set(&[(12, 12)]),
                vec![body_section(&[], Some(SectionText::Header), None, false)]
            )
        )
    );
    // Every section form of RFC 9051 6.4.5.
    assert_eq!(
        ok(
            "a FETCH 1 (BODY[] BODY.PEEK[1.2.MIME] BODY[TEXT]<0.100> BODY[3.HEADER.FIELDS.NOT (Received)] BODY[4.1] BODY RFC822 RFC822.TEXT RFC822.SIZE ENVELOPE BODYSTRUCTURE UID MODSEQ)"
        ),
        cmd(
            "a",
            fetch(
                false,
                set(&[(1, 1)]),
                vec![
                    body_section(&[], None, None, false),
                    body_section(&[1, 2], Some(SectionText::Mime), None, true),
                    body_section(&[], Some(SectionText::Text), Some((0, 100)), false),
                    body_section(
                        &[3],
                        Some(SectionText::HeaderFieldsNot(vec![b("Received")])),
                        None,
                        false
                    ),
                    body_section(&[4, 1], None, None, false),
                    FetchItem::BodyStructure { extensible: false },
                    FetchItem::BodySection {
                        section: Section::default(),
                        partial: None,
                        peek: false,
                        alias: SectionAlias::Rfc822,
                    },
                    FetchItem::BodySection {
                        section: Section {
                            part: Vec::new(),
                            text: Some(SectionText::Text)
                        },
                        partial: None,
                        peek: false,
                        alias: SectionAlias::Rfc822Text,
                    },
                    FetchItem::Rfc822Size,
                    FetchItem::Envelope,
                    FetchItem::BodyStructure { extensible: true },
                    FetchItem::Uid,
                    FetchItem::ModSeq,
                ],
            )
        )
    );
}

#[test]
fn rfc9051_6_4_6_store() {
    // C: A003 STORE 2:4 +FLAGS (\Deleted)
    assert_eq!(
        ok("A003 STORE 2:4 +FLAGS (\\Deleted)"),
        cmd(
            "A003",
            store(
                false,
                set(&[(2, 4)]),
                StoreOperation::Add,
                false,
                vec![system("\\Deleted")],
                None
            )
        )
    );
    // The other operations, .SILENT, keywords, and the parenthesis-less flag form.
    assert_eq!(
        ok("A004 STORE 1 -FLAGS.SILENT \\Seen $Forwarded"),
        cmd(
            "A004",
            store(
                false,
                set(&[(1, 1)]),
                StoreOperation::Remove,
                true,
                vec![system("\\Seen"), FlagArg::Keyword("$Forwarded".into())],
                None
            )
        )
    );
    assert_eq!(
        ok("A005 STORE 1:* FLAGS ()"),
        cmd(
            "A005",
            store(
                false,
                set(&[(1, 0)]),
                StoreOperation::Replace,
                false,
                Vec::new(),
                None
            )
        )
    );
}

#[test]
fn rfc9051_6_4_7_copy() {
    // C: A003 COPY 2:4 MEETING
    assert_eq!(
        ok("A003 COPY 2:4 MEETING"),
        cmd(
            "A003",
            CommandBody::Copy {
                uid: false,
                set: set(&[(2, 4)]),
                mailbox: mbox("MEETING")
            }
        )
    );
}

#[test]
fn rfc9051_6_4_8_move() {
    // C: a UID MOVE 42:69 foo (also RFC 6851 4.1)
    assert_eq!(
        ok("a UID MOVE 42:69 foo"),
        cmd(
            "a",
            CommandBody::Move {
                uid: true,
                set: set(&[(42, 69)]),
                mailbox: mbox("foo")
            }
        )
    );
}

#[test]
fn rfc6851_3_1_move() {
    // RFC 6851 3.1: MOVE with a sequence set (C: a MOVE 2:4 ... form)
    assert_eq!(
        ok("a MOVE 2:4,7 Archive"),
        cmd(
            "a",
            CommandBody::Move {
                uid: false,
                set: set(&[(2, 4), (7, 7)]),
                mailbox: mbox("Archive")
            }
        )
    );
}

#[test]
fn rfc9051_6_4_9_uid() {
    // C: A999 UID FETCH 4827313:4828442 FLAGS
    assert_eq!(
        ok("A999 UID FETCH 4827313:4828442 FLAGS"),
        cmd(
            "A999",
            fetch(true, set(&[(4_827_313, 4_828_442)]), vec![FetchItem::Flags])
        )
    );
    // RFC 9051 6.4.9: "UID SEARCH 1:100 UID 443:557"
    assert_eq!(
        ok("A001 UID SEARCH 1:100 UID 443:557"),
        cmd(
            "A001",
            search(
                true,
                None,
                None,
                SearchKey::And(vec![
                    SearchKey::SequenceSet(set(&[(1, 100)])),
                    SearchKey::Uid(set(&[(443, 557)]))
                ])
            )
        )
    );
    // "a UID range of 559:* always includes the UID of the last message".
    assert_eq!(
        ok("A002 UID FETCH 559:* UID"),
        cmd("A002", fetch(true, set(&[(559, 0)]), vec![FetchItem::Uid]))
    );
}

#[test]
fn rfc9051_6_4_9_uid_expunge() {
    // C: A003 UID EXPUNGE 3000:3002 (also RFC 4315 2.1)
    assert_eq!(
        ok("A003 UID EXPUNGE 3000:3002"),
        cmd("A003", CommandBody::UidExpunge(set(&[(3000, 3002)])))
    );
}

#[test]
fn rfc4315_2_1_uid_expunge() {
    // RFC 4315 2.1: C: A003 UID EXPUNGE 3000:3002
    assert_eq!(
        ok("A003 UID EXPUNGE 3000:3002"),
        cmd("A003", CommandBody::UidExpunge(set(&[(3000, 3002)])))
    );
    // Comma-separated ranges and `*`.
    assert_eq!(
        ok("A004 UID EXPUNGE 1,3:5,9:*"),
        cmd(
            "A004",
            CommandBody::UidExpunge(set(&[(1, 1), (3, 5), (9, 0)]))
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Extensions

#[test]
fn rfc4731_3_1_esearch() {
    // RFC 4731 3.1 (and RFC 9051 6.4.4):
    // C: A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
    assert_eq!(
        ok("A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""),
        cmd(
            "A282",
            search(
                false,
                Some(vec![SearchReturn::Min, SearchReturn::Count]),
                None,
                flagged_since_not_smith()
            )
        )
    );
    // C: A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"
    assert_eq!(
        ok("A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\""),
        cmd(
            "A283",
            search(false, Some(Vec::new()), None, flagged_since_not_smith())
        )
    );
    // C: A285 UID SEARCH RETURN (MIN MAX) 1:5000
    assert_eq!(
        ok("A285 UID SEARCH RETURN (MIN MAX) 1:5000"),
        cmd(
            "A285",
            search(
                true,
                Some(vec![SearchReturn::Min, SearchReturn::Max]),
                None,
                SearchKey::SequenceSet(set(&[(1, 5000)]))
            )
        )
    );
    // C: A286 SEARCH RETURN (ALL) with CHARSET after RETURN (`search-return-opts` first).
    assert_eq!(
        ok("A286 SEARCH RETURN (ALL COUNT) CHARSET US-ASCII ALL"),
        cmd(
            "A286",
            search(
                false,
                Some(vec![SearchReturn::All, SearchReturn::Count]),
                Some("US-ASCII"),
                SearchKey::All
            )
        )
    );
}

#[test]
fn rfc5258_5_list_extended_examples() {
    // RFC 5258 5 (Examples). Example 1: C: A01 LIST "" "*"
    assert_eq!(ok("A01 LIST \"\" \"*\""), cmd("A01", list("", "*")));
    // Example 2: C: A02 LIST (SUBSCRIBED) "" "*"
    assert_eq!(
        ok("A02 LIST (SUBSCRIBED) \"\" \"*\""),
        cmd(
            "A02",
            list_ext(vec![ListSelection::Subscribed], &["*"], None)
        )
    );
    // Example 3: C: A03 LIST () "" "%" RETURN (CHILDREN)
    assert_eq!(
        ok("A03 LIST () \"\" \"%\" RETURN (CHILDREN)"),
        cmd(
            "A03",
            list_ext(Vec::new(), &["%"], Some(vec![ListReturn::Children]))
        )
    );
    // Example 4: C: A04 LIST (REMOTE) "" "%" RETURN (CHILDREN)
    assert_eq!(
        ok("A04 LIST (REMOTE) \"\" \"%\" RETURN (CHILDREN)"),
        cmd(
            "A04",
            list_ext(
                vec![ListSelection::Remote],
                &["%"],
                Some(vec![ListReturn::Children])
            )
        )
    );
    // Example 5: C: A05 LIST (REMOTE SUBSCRIBED) "" "*"
    assert_eq!(
        ok("A05 LIST (REMOTE SUBSCRIBED) \"\" \"*\""),
        cmd(
            "A05",
            list_ext(
                vec![ListSelection::Remote, ListSelection::Subscribed],
                &["*"],
                None
            )
        )
    );
    // Example 6: C: A06 LIST (REMOTE) "" "*" RETURN (SUBSCRIBED)
    assert_eq!(
        ok("A06 LIST (REMOTE) \"\" \"*\" RETURN (SUBSCRIBED)"),
        cmd(
            "A06",
            list_ext(
                vec![ListSelection::Remote],
                &["*"],
                Some(vec![ListReturn::Subscribed])
            )
        )
    );
    // Example 7: C: BBB LIST "" ("INBOX" "Drafts" "Sent/%")
    assert_eq!(
        ok("BBB LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")"),
        cmd(
            "BBB",
            list_ext(Vec::new(), &["INBOX", "Drafts", "Sent/%"], None)
        )
    );
}

#[test]
fn rfc5258_5_8_recursivematch_and_childinfo() {
    // Example 8: C: C01 LIST "" "%" RETURN (CHILDREN) ... C: C02 LIST (SUBSCRIBED) "" "*"
    // ... C: C04 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%" [RETURN (CHILDREN)]
    assert_eq!(
        ok("C01 LIST \"\" \"%\" RETURN (CHILDREN)"),
        cmd(
            "C01",
            list_ext(Vec::new(), &["%"], Some(vec![ListReturn::Children]))
        )
    );
    assert_eq!(
        ok("C02 LIST (SUBSCRIBED) \"\" \"*\""),
        cmd(
            "C02",
            list_ext(vec![ListSelection::Subscribed], &["*"], None)
        )
    );
    assert_eq!(
        ok("C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\""),
        cmd(
            "C04",
            list_ext(
                vec![ListSelection::Subscribed, ListSelection::RecursiveMatch],
                &["%"],
                None
            )
        )
    );
    assert_eq!(
        ok("C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)"),
        cmd(
            "C04",
            list_ext(
                vec![ListSelection::Subscribed, ListSelection::RecursiveMatch],
                &["%"],
                Some(vec![ListReturn::Children])
            )
        )
    );
}

#[test]
fn rfc5258_5_9_and_5_10_patterns() {
    // Example 9: C: D01 LIST (SUBSCRIBED RECURSIVEMATCH) "" "*2" (tag recalled)
    assert_eq!(
        ok("D01 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"*2\""),
        cmd(
            "D01",
            list_ext(
                vec![ListSelection::Subscribed, ListSelection::RecursiveMatch],
                &["*2"],
                None
            )
        )
    );
    // Example 10: C: a1 LIST "" ("foo") / C: a3.1 LIST "" (% music/rock)
    assert_eq!(
        ok("a1 LIST \"\" (\"foo\")"),
        cmd("a1", list_ext(Vec::new(), &["foo"], None))
    );
    assert_eq!(
        ok("a3.1 LIST \"\" (% music/rock)"),
        cmd("a3.1", list_ext(Vec::new(), &["%", "music/rock"], None))
    );
    // `RETURN ()` is a valid (empty) return option list.
    assert_eq!(
        ok("a4 LIST \"\" % RETURN ()"),
        cmd("a4", list_ext(Vec::new(), &["%"], Some(Vec::new())))
    );
}

#[test]
fn rfc5819_5_list_status() {
    // RFC 5819 5: C: A01 LIST "" % RETURN (STATUS (MESSAGES UNSEEN))
    assert_eq!(
        ok("A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))"),
        cmd(
            "A01",
            list_ext(
                Vec::new(),
                &["%"],
                Some(vec![ListReturn::Status(vec![
                    StatusItem::Messages,
                    StatusItem::Unseen
                ])])
            )
        )
    );
    // C: A02 LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (CHILDREN STATUS (MESSAGES))
    assert_eq!(
        ok("A02 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (CHILDREN STATUS (MESSAGES))"),
        cmd(
            "A02",
            list_ext(
                vec![ListSelection::Subscribed, ListSelection::RecursiveMatch],
                &["%"],
                Some(vec![
                    ListReturn::Children,
                    ListReturn::Status(vec![StatusItem::Messages])
                ])
            )
        )
    );
}

#[test]
fn rfc6154_5_special_use() {
    // RFC 6154 5.1: C: t1 LIST "" "%" RETURN (SPECIAL-USE)
    assert_eq!(
        ok("t1 LIST \"\" \"%\" RETURN (SPECIAL-USE)"),
        cmd(
            "t1",
            list_ext(Vec::new(), &["%"], Some(vec![ListReturn::SpecialUse]))
        )
    );
    // RFC 6154 5.2: C: t1 LIST (SPECIAL-USE) "" "*"
    assert_eq!(
        ok("t1 LIST (SPECIAL-USE) \"\" \"*\""),
        cmd(
            "t1",
            list_ext(vec![ListSelection::SpecialUse], &["*"], None)
        )
    );
    // RFC 6154 5.3: C: t1 CREATE MySpecial (USE (\Drafts \Sent)) / C: t2 LIST "" MySpecial
    assert_eq!(
        ok("t1 CREATE MySpecial (USE (\\Drafts \\Sent))"),
        cmd(
            "t1",
            CommandBody::Create {
                mailbox: mbox("MySpecial"),
                special_use: vec!["\\Drafts".into(), "\\Sent".into()]
            }
        )
    );
    assert_eq!(
        ok("t2 LIST \"\" MySpecial"),
        cmd("t2", list("", "MySpecial"))
    );
}

#[test]
fn rfc6154_6_create_use_grammar() {
    // RFC 6154 6: create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")" — may be empty.
    assert_eq!(
        ok("t3 CREATE Drafts (USE (\\Drafts))"),
        cmd(
            "t3",
            CommandBody::Create {
                mailbox: mbox("Drafts"),
                special_use: vec!["\\Drafts".into()]
            }
        )
    );
    assert_eq!(
        ok("t4 CREATE Nothing (USE ())"),
        cmd(
            "t4",
            CommandBody::Create {
                mailbox: mbox("Nothing"),
                special_use: Vec::new()
            }
        )
    );
}

#[test]
fn rfc3502_multiappend() {
    // RFC 3502 3 (MULTIAPPEND example):
    // C: A003 APPEND saved-messages (\Seen) {329} ... C:  (\Seen) " 7-Feb-1994 22:43:04 -0800" {295}
    let first = "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n\
From: Fred Foobar <foobar@Blurdybloop.example.COM>\r\n\
Subject: afternoon meeting\r\n\
To: mooch@owatagu.example.net\r\n\
Message-Id: <B27397-0100000@Blurdybloop.example.COM>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n\
Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
    let second = "Date: Mon, 7 Feb 1994 22:43:04 -0800 (PST)\r\n\
From: Joe Mooch <mooch@OWATAGU.example.net>\r\n\
Subject: Re: afternoon meeting\r\n\
To: foobar@blurdybloop.example.com\r\n\
Message-Id: <a0434793874930@OWATAGU.example.net>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n\
\r\n\
3:30 is fine with me.\r\n";
    assert_eq!((first.len(), second.len()), (329, 295));
    let input = format!(
        "A003 APPEND saved-messages (\\Seen) {{329}}\r\n{first} (\\Seen) \" 7-Feb-1994 22:43:04 -0800\" {{295}}\r\n{second}\r\n"
    );
    assert_eq!(
        framed(input.as_bytes(), 2),
        cmd(
            "A003",
            CommandBody::Append {
                mailbox: mbox("saved-messages"),
                messages: vec![
                    AppendMessage {
                        flags: vec![system("\\Seen")],
                        date: None,
                        data: b(first),
                        binary: false,
                        utf8: false,
                    },
                    AppendMessage {
                        flags: vec![system("\\Seen")],
                        date: Some(DateTime {
                            unix_seconds: 760_689_784,
                            offset_minutes: -480
                        }),
                        data: b(second),
                        binary: false,
                        utf8: false,
                    },
                ],
            }
        )
    );
}

#[test]
fn rfc4959_3_sasl_ir() {
    // RFC 4959 3: C: A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=
    assert_eq!(
        ok("A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q="),
        cmd(
            "A01",
            CommandBody::Authenticate {
                mechanism: "PLAIN".into(),
                initial_response: Some(b("dGVzdAB0ZXN0AHRlc3Q="))
            }
        )
    );
    // An empty initial response is sent as "=": C: A01 AUTHENTICATE EXTERNAL =
    assert_eq!(
        ok("A01 AUTHENTICATE EXTERNAL ="),
        cmd(
            "A01",
            CommandBody::Authenticate {
                mechanism: "EXTERNAL".into(),
                initial_response: Some(Bytes::new())
            }
        )
    );
}

#[test]
fn rfc2971_3_id() {
    // RFC 2971 3.1: C: a023 ID ("name" "sodr" "version" "19.34" "vendor" "Pink Floyd Music Limited")
    assert_eq!(
        ok(
            "a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" \"Pink Floyd Music Limited\")"
        ),
        cmd(
            "a023",
            CommandBody::Id(Some(vec![
                (b("name"), Some(b("sodr"))),
                (b("version"), Some(b("19.34"))),
                (b("vendor"), Some(b("Pink Floyd Music Limited"))),
            ]))
        )
    );
    // C: a042 ID NIL; NIL values; and `()` (RFC 2971 4: `"(" #(string SPACE nstring) ")"`).
    assert_eq!(ok("a042 ID NIL"), cmd("a042", CommandBody::Id(None)));
    assert_eq!(
        ok("a043 ID (\"name\" NIL)"),
        cmd("a043", CommandBody::Id(Some(vec![(b("name"), None)])))
    );
    assert_eq!(
        ok("a044 ID ()"),
        cmd("a044", CommandBody::Id(Some(Vec::new())))
    );
}

#[test]
fn rfc2971_3_3_id_thirty_pairs_is_the_limit() {
    // RFC 2971 3.3: "Implementations MUST NOT send more than 30 field-value pairs."
    let pairs = |count: usize| {
        (0..count)
            .map(|i| format!("\"k{i}\" \"v\""))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let CommandBody::Id(Some(accepted)) = ok(&format!("a ID ({})", pairs(30))).body else {
        panic!("not an ID");
    };
    assert_eq!(accepted.len(), 30);
    bad_tagged(&format!("a ID ({})", pairs(31)), "a");
}

#[test]
fn rfc5161_4_enable() {
    // RFC 5161 4: C: t2 ENABLE CONDSTORE X-GOOD-IDEA
    assert_eq!(
        ok("t2 ENABLE CONDSTORE X-GOOD-IDEA"),
        cmd(
            "t2",
            CommandBody::Enable(vec!["CONDSTORE".into(), "X-GOOD-IDEA".into()])
        )
    );
    // RFC 7162 3.2.3: C: A01 ENABLE QRESYNC
    assert_eq!(
        ok("A01 ENABLE QRESYNC"),
        cmd("A01", CommandBody::Enable(vec!["QRESYNC".into()]))
    );
}

#[test]
fn rfc7162_3_1_8_select_condstore() {
    // RFC 7162 3.1.8: C: A142 SELECT INBOX (CONDSTORE)
    assert_eq!(
        ok("A142 SELECT INBOX (CONDSTORE)"),
        cmd(
            "A142",
            select(
                "INBOX",
                SelectParams {
                    condstore: true,
                    qresync: None
                }
            )
        )
    );
    // EXAMINE takes the same parameters.
    assert_eq!(
        ok("A143 EXAMINE INBOX (CONDSTORE)"),
        cmd(
            "A143",
            CommandBody::Select {
                read_only: true,
                mailbox: mbox("INBOX"),
                params: SelectParams {
                    condstore: true,
                    qresync: None
                },
            }
        )
    );
}

#[test]
fn rfc7162_3_2_5_select_qresync() {
    // RFC 7162 3.2.5.2: C: A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))
    assert_eq!(
        ok("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))"),
        cmd(
            "A02",
            select(
                "INBOX",
                SelectParams {
                    condstore: false,
                    qresync: Some(QresyncParams {
                        uid_validity: 67_890_007,
                        modseq: 20_050_715_194_045_000,
                        known_uids: Some(set(&[(41, 41), (43, 211), (214, 541)])),
                        seq_match: None,
                    }),
                }
            )
        )
    );
    // C: B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999
    //    15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))
    assert_eq!(
        ok(
            "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))"
        ),
        cmd(
            "B04",
            select(
                "INBOX",
                SelectParams {
                    condstore: false,
                    qresync: Some(QresyncParams {
                        uid_validity: 67_890_007,
                        modseq: 90_060_115_194_045_000,
                        known_uids: Some(set(&[(1, 29997)])),
                        seq_match: Some((
                            set(&[(5000, 5000), (7500, 7500), (9000, 9000), (9990, 9999)]),
                            set(&[
                                (15000, 15000),
                                (22500, 22500),
                                (27000, 27000),
                                (29970, 29970),
                                (29973, 29973),
                                (29976, 29976),
                                (29979, 29979),
                                (29982, 29982),
                                (29985, 29985),
                                (29988, 29988),
                                (29991, 29991),
                                (29994, 29994),
                                (29997, 29997),
                            ]),
                        )),
                    }),
                }
            )
        )
    );
    // Without known UIDs but with the mapping, and with neither.
    let CommandBody::Select { params, .. } =
        ok("A03 SELECT INBOX (QRESYNC (1 2 (1:3 10:12)))").body
    else {
        panic!("not a SELECT");
    };
    assert_eq!(
        params.qresync,
        Some(QresyncParams {
            uid_validity: 1,
            modseq: 2,
            known_uids: None,
            seq_match: Some((set(&[(1, 3)]), set(&[(10, 12)]))),
        })
    );
    let CommandBody::Select { params, .. } = ok("A04 SELECT INBOX (CONDSTORE QRESYNC (1 2))").body
    else {
        panic!("not a SELECT");
    };
    assert!(params.condstore);
    assert_eq!(
        params.qresync,
        Some(QresyncParams {
            uid_validity: 1,
            modseq: 2,
            known_uids: None,
            seq_match: None
        })
    );
}

#[test]
fn rfc7162_3_1_4_fetch_changedsince() {
    // RFC 7162 3.1.4.1: C: s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)
    assert_eq!(
        ok("s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)"),
        cmd(
            "s100",
            CommandBody::Fetch {
                uid: true,
                set: set(&[(1, 0)]),
                items: vec![FetchItem::Flags],
                changed_since: Some(12345),
                vanished: false,
            }
        )
    );
    // RFC 7162 3.2.6: C: A02 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)
    assert_eq!(
        ok("A02 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)"),
        cmd(
            "A02",
            CommandBody::Fetch {
                uid: true,
                set: set(&[(300, 500)]),
                items: vec![FetchItem::Flags],
                changed_since: Some(12345),
                vanished: true,
            }
        )
    );
    // RFC 7162 3.1.5: C: a FETCH 1:* (MODSEQ)
    assert_eq!(
        ok("a FETCH 1:* (MODSEQ)"),
        cmd("a", fetch(false, set(&[(1, 0)]), vec![FetchItem::ModSeq]))
    );
}

#[test]
fn rfc7162_3_1_3_store_unchangedsince() {
    // RFC 7162 3.1.3: C: a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\Deleted)
    assert_eq!(
        ok("a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)"),
        cmd(
            "a103",
            store(
                true,
                set(&[(6, 6), (4, 4), (8, 8)]),
                StoreOperation::Add,
                true,
                vec![system("\\Deleted")],
                Some(12_121_230_045)
            )
        )
    );
    // C: d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\Deleted)
    assert_eq!(
        ok("d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)"),
        cmd(
            "d105",
            store(
                false,
                set(&[(7, 7), (5, 5), (9, 9)]),
                StoreOperation::Add,
                true,
                vec![system("\\Deleted")],
                Some(320_162_338)
            )
        )
    );
    // UNCHANGEDSINCE 0 is `mod-sequence-valzer`: valid.
    assert_eq!(
        ok("c101 STORE 1 (UNCHANGEDSINCE 0) FLAGS ($NoJunk)"),
        cmd(
            "c101",
            store(
                false,
                set(&[(1, 1)]),
                StoreOperation::Replace,
                false,
                vec![FlagArg::Keyword("$NoJunk".into())],
                Some(0)
            )
        )
    );
}

#[test]
fn rfc7162_3_1_5_search_modseq() {
    // RFC 7162 3.1.5: C: a SEARCH MODSEQ "/flags/\\draft" all 620162338
    assert_eq!(
        ok("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338"),
        cmd(
            "a",
            search(false, None, None, SearchKey::ModSeq(620_162_338))
        )
    );
    // C: t SEARCH OR NOT MODSEQ 720162338 LARGER 50000
    assert_eq!(
        ok("t SEARCH OR NOT MODSEQ 720162338 LARGER 50000"),
        cmd(
            "t",
            search(
                false,
                None,
                None,
                SearchKey::Or(
                    Box::new(not(SearchKey::ModSeq(720_162_338))),
                    Box::new(SearchKey::Larger(50000))
                )
            )
        )
    );
}

#[test]
fn rfc3516_binary_fetch() {
    // RFC 3516 4.2 grammar: "BINARY" [".PEEK"] section-binary [partial], "BINARY.SIZE" section-binary
    assert_eq!(
        ok("A1 UID FETCH 1233 (BINARY.PEEK[1.2]<0.1024> BINARY.SIZE[1] BINARY[])"),
        cmd(
            "A1",
            fetch(
                true,
                set(&[(1233, 1233)]),
                vec![
                    FetchItem::Binary {
                        part: vec![1, 2],
                        partial: Some((0, 1024)),
                        peek: true
                    },
                    FetchItem::BinarySize { part: vec![1] },
                    FetchItem::Binary {
                        part: Vec::new(),
                        partial: None,
                        peek: false
                    },
                ],
            )
        )
    );
    assert_eq!(
        ok("A2 FETCH 4 BINARY[3]"),
        cmd(
            "A2",
            fetch(
                false,
                set(&[(4, 4)]),
                vec![FetchItem::Binary {
                    part: vec![3],
                    partial: None,
                    peek: false
                }]
            )
        )
    );
}

#[test]
fn rfc3516_4_3_append_literal8() {
    // RFC 3516 4.3: append-data =/ literal8 — `~{n}` may carry NUL.
    let input = b"A003 APPEND Drafts (\\Draft) ~{5}\r\nhe\0lo\r\n";
    assert_eq!(
        framed(input, 1),
        cmd(
            "A003",
            CommandBody::Append {
                mailbox: mbox("Drafts"),
                messages: vec![AppendMessage {
                    flags: vec![system("\\Draft")],
                    date: None,
                    data: Bytes::from_static(b"he\0lo"),
                    binary: true,
                    utf8: false,
                }],
            }
        )
    );
    // LITERAL+ form of literal8.
    let input = b"A004 APPEND Drafts ~{3+}\r\n\0\0\0\r\n";
    let CommandBody::Append { messages, .. } = framed(input, 0).body else {
        panic!("not an APPEND");
    };
    assert_eq!(
        (&messages[0].data[..], messages[0].binary),
        (&b"\0\0\0"[..], true)
    );
}

#[test]
fn rfc5032_within() {
    // RFC 5032 3: C: a1 SEARCH UNDELETED YOUNGER 259200 (and OLDER)
    assert_eq!(
        ok("a1 SEARCH UNDELETED YOUNGER 259200"),
        cmd(
            "a1",
            search(
                false,
                None,
                None,
                SearchKey::And(vec![
                    not(flag_key("\\Deleted")),
                    SearchKey::Younger(259_200)
                ])
            )
        )
    );
    assert_eq!(
        ok("a2 SEARCH OLDER 3600"),
        cmd("a2", search(false, None, None, SearchKey::Older(3600)))
    );
}

#[test]
fn rfc3501_6_4_4_every_search_key() {
    // Every `search-key` alternative of RFC 3501 9 / RFC 9051 9, each once.
    let criteria = "ALL ANSWERED BCC a BEFORE 1-Feb-1994 BODY b CC c DELETED DRAFT FLAGGED FROM d \
HEADER X-Foo e KEYWORD $Junk LARGER 100 NEW NOT SEEN OLD ON 2-Mar-2000 OR RECENT SEEN SENTBEFORE \"3-Apr-2001\" \
SENTON 4-May-2002 SENTSINCE 5-Jun-2003 SINCE 6-Jul-2004 SMALLER 200 SUBJECT f TEXT g TO h UID 1:5 UNANSWERED \
UNDELETED UNDRAFT UNFLAGGED UNKEYWORD $Junk UNSEEN 1,3:* (SEEN FLAGGED)";
    let expected = SearchKey::And(vec![
        SearchKey::All,
        flag_key("\\Answered"),
        header("BCC", "a"),
        SearchKey::InternalDate(DateRelation::Before, date(1994, 2, 1)),
        SearchKey::Body(b("b")),
        header("CC", "c"),
        flag_key("\\Deleted"),
        flag_key("\\Draft"),
        flag_key("\\Flagged"),
        header("FROM", "d"),
        header("X-Foo", "e"),
        SearchKey::Flag(FlagArg::Keyword("$Junk".into())),
        SearchKey::Larger(100),
        SearchKey::New,
        not(flag_key("\\Seen")),
        SearchKey::Old,
        SearchKey::InternalDate(DateRelation::On, date(2000, 3, 2)),
        SearchKey::Or(Box::new(SearchKey::Recent), Box::new(flag_key("\\Seen"))),
        SearchKey::SentDate(DateRelation::Before, date(2001, 4, 3)),
        SearchKey::SentDate(DateRelation::On, date(2002, 5, 4)),
        SearchKey::SentDate(DateRelation::Since, date(2003, 6, 5)),
        SearchKey::InternalDate(DateRelation::Since, date(2004, 7, 6)),
        SearchKey::Smaller(200),
        header("SUBJECT", "f"),
        SearchKey::Text(b("g")),
        header("TO", "h"),
        SearchKey::Uid(set(&[(1, 5)])),
        not(flag_key("\\Answered")),
        not(flag_key("\\Deleted")),
        not(flag_key("\\Draft")),
        not(flag_key("\\Flagged")),
        not(SearchKey::Flag(FlagArg::Keyword("$Junk".into()))),
        not(flag_key("\\Seen")),
        SearchKey::SequenceSet(set(&[(1, 1), (3, 0)])),
        SearchKey::And(vec![flag_key("\\Seen"), flag_key("\\Flagged")]),
    ]);
    assert_eq!(
        ok(&format!("a SEARCH {criteria}")),
        cmd("a", search(false, None, None, expected))
    );
}

#[test]
fn rfc3501_5_1_3_mailbox_names_starting_with_tilde() {
    // RFC 3501 5.1.3: "~peter/mail/&U,BTFw-/&ZeVnLIqe-" — `~` is an ASTRING-CHAR.
    assert_eq!(
        ok("a SELECT ~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
        cmd(
            "a",
            select("~peter/mail/&U,BTFw-/&ZeVnLIqe-", SelectParams::default())
        )
    );
    assert_eq!(
        ok("a RENAME ~a ~b"),
        cmd(
            "a",
            CommandBody::Rename {
                from: mbox("~a"),
                to: mbox("~b")
            }
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Negative vectors

#[test]
fn malformed_commands_are_refused_with_their_tag() {
    for line in [
        // Unknown commands and missing or extra pieces.
        "a FROB",
        "a UID FROB 1",
        "a UID",
        "a UID EXPUNGE",
        "a XNOOP",
        "a NOOP extra",
        "a NOOP ",
        "a CAPABILITY (x)",
        "a  NOOP",
        "a LOGIN user",
        "a LOGIN user pass extra",
        "a LOGIN",
        "a SELECT",
        "a SELECT INBOX extra",
        "a SELECT INBOX (FOO)",
        "a SELECT INBOX ()",
        "a SELECT INBOX (QRESYNC (0 1))",
        "a SELECT INBOX (QRESYNC (1))",
        "a SELECT INBOX (QRESYNC (1 2 (1:3)))",
        "a RENAME a",
        "a ENABLE",
        "a ENABLE ",
        "a AUTHENTICATE",
        "a AUTHENTICATE PLAIN ==",
        "a ID",
        "a ID (\"k\")",
        "a ID (k v)",
        "a CREATE x (FOO (\\Drafts))",
        "a CREATE x (USE (Drafts))",
        "a CREATE x (USE \\Drafts)",
        "a STATUS INBOX ()",
        "a STATUS INBOX (FOO)",
        "a STATUS INBOX MESSAGES",
        "a LIST \"\"",
        "a LIST \"\" % RETURN",
        "a LIST \"\" % RETURN (FOO)",
        "a LIST \"\" % EXTRA (CHILDREN)",
        "a LIST (FOO) \"\" %",
        "a LIST \"\" ()",
        "a LSUB \"\"",
        // RFC 5258 3: RECURSIVEMATCH alone or only with REMOTE is BAD.
        "a LIST (RECURSIVEMATCH) \"\" *",
        "a LIST (REMOTE RECURSIVEMATCH) \"\" *",
        // Missing SP.
        "a FETCH 1FLAGS",
        "a FETCH 1 (FLAGS)(CHANGEDSINCE 1)",
        "a COPY 1INBOX",
        "a STORE 1 FLAGS(\\Seen)",
        // Bad sequence sets.
        "a FETCH 0 FLAGS",
        "a FETCH 0:3 FLAGS",
        "a FETCH 1: FLAGS",
        "a FETCH :1 FLAGS",
        "a FETCH 1,,2 FLAGS",
        "a FETCH 1, FLAGS",
        "a FETCH 4294967296 FLAGS",
        "a FETCH -1 FLAGS",
        "a FETCH 1:2:3 FLAGS",
        "a UID EXPUNGE 0",
        "a COPY * ",
        "a SEARCH UID 0",
        // Unterminated or broken strings.
        "a LOGIN \"user pass",
        "a LOGIN \"us\\er\" pass",
        "a SEARCH TEXT \"abc",
        // FETCH items.
        "a FETCH 1 FOO",
        "a FETCH 1 (FLAGS FOO)",
        "a FETCH 1 ()",
        "a FETCH 1 (FLAGS",
        "a FETCH 1 BODY[MIME]",
        "a FETCH 1 BODY[1HEADER]",
        "a FETCH 1 BODY[1.]",
        "a FETCH 1 BODY[1.2.]",
        "a FETCH 1 BODY[0]",
        "a FETCH 1 BODY[HEADER.FIELDS]",
        "a FETCH 1 BODY[HEADER.FIELDS ()]",
        "a FETCH 1 BODY[FOO]",
        "a FETCH 1 BODY[TEXT",
        "a FETCH 1 BODY[]<0.0>",
        "a FETCH 1 BODY[]<0>",
        "a FETCH 1 BODY.PEEK",
        "a FETCH 1 BINARY",
        "a FETCH 1 BINARY[1.]",
        "a FETCH 1 BINARY[TEXT]",
        "a FETCH 1 BINARY.SIZE[1]<0.1>",
        "a FETCH 1 ALL FLAGS",
        "a FETCH 1 (ALL)",
        "a FETCH 1 FLAGS (FOO 1)",
        "a FETCH 1 FLAGS (CHANGEDSINCE)",
        // RFC 7162 3.2.6: VANISHED only with UID FETCH and CHANGEDSINCE.
        "a FETCH 1 FLAGS (CHANGEDSINCE 5 VANISHED)",
        "a UID FETCH 1 FLAGS (VANISHED)",
        // STORE without FLAGS, with bad flags or modifiers.
        "a STORE 1 \\Seen",
        "a STORE 1 +FLAGS",
        "a STORE 1 FLAG (\\Seen)",
        "a STORE 1 +FLAGS.LOUD (\\Seen)",
        "a STORE 1 *FLAGS (\\Seen)",
        "a STORE 1 FLAGS (\\*)",
        "a STORE 1 FLAGS (\\Seen",
        "a STORE 1 (UNCHANGEDSINCE) FLAGS (\\Seen)",
        "a STORE 1 (FOO 1) FLAGS (\\Seen)",
        // SEARCH.
        "a SEARCH",
        "a SEARCH FOO",
        "a SEARCH ()",
        "a SEARCH (ALL",
        "a SEARCH NOT",
        "a SEARCH OR ALL",
        "a SEARCH SINCE 1-Foo-2020",
        "a SEARCH SINCE 31-Feb-2020",
        "a SEARCH SINCE 1-Feb-94",
        "a SEARCH LARGER x",
        "a SEARCH LARGER 9223372036854775808",
        "a SEARCH KEYWORD \\Seen",
        "a SEARCH HEADER X-Foo",
        "a SEARCH RETURN (FOO) ALL",
        "a SEARCH RETURN ALL",
        "a SEARCH CHARSET",
        "a SEARCH MODSEQ \"/flags/\\\\draft\" none 1",
        "a SEARCH MODSEQ x",
        "a SEARCH OLDER 0",
        "a SEARCH YOUNGER 4294967296",
        "a SEARCH ALL extra)",
        // APPEND.
        "a APPEND INBOX",
        "a APPEND INBOX (\\Seen)",
        "a APPEND INBOX \"not a date\" {1}",
        "a APPEND INBOX (\\Seen) \"31-Feb-2020 00:00:00 +0000\" {1}",
        // literal8 is for APPEND data only (RFC 3516 4.3).
        "a SEARCH TEXT ~{1}",
    ] {
        bad_tagged(line, "a");
    }
}

#[test]
fn malformed_literals_are_refused_with_their_tag() {
    for frame in [
        // NUL in a literal (only literal8 may carry it).
        &b"a LOGIN {3}\r\na\0b pass\r\n"[..],
        b"a APPEND INBOX {3}\r\na\0b\r\n",
        b"a SEARCH TEXT {2}\r\n\0\0\r\n",
        // Literal shorter than announced, no CRLF after the length, bad lengths.
        b"a LOGIN {10}\r\nabc pass\r\n",
        b"a LOGIN {3} abc pass\r\n",
        b"a LOGIN {} pass\r\n",
        b"a LOGIN {x}\r\nabc pass\r\n",
        b"a LOGIN {99999999999999999999}\r\n",
        // literal8 where a string is expected: NUL would reach a mailbox name or password.
        b"a LOGIN ~{3}\r\na\0b pass\r\n",
        b"a SELECT ~{3}\r\nabc\r\n",
        b"a CREATE ~{1}\r\n\0\r\n",
        // NUL, CR or LF in quoted strings.
        b"a LOGIN \"a\0b\" pass\r\n",
        b"a LOGIN \"a\rb\" pass\r\n",
        b"a LOGIN \"a\nb\" pass\r\n",
        // Text after the final line end, and a missing line end is accepted only at the end.
        b"a NOOP\r\nb NOOP\r\n",
        b"a NOOP\rx\r\n",
    ] {
        let error = bad_bytes(frame);
        assert_eq!(
            error.tag,
            Some(Tag("a".into())),
            "{:?}: {error:?}",
            String::from_utf8_lossy(frame)
        );
    }
}

#[test]
fn search_nesting_deeper_than_64_is_refused() {
    let nested = |depth: usize| format!("a SEARCH {}ALL{}", "(".repeat(depth), ")".repeat(depth));
    assert!(matches!(ok(&nested(64)).body, CommandBody::Search { .. }));
    bad_tagged(&nested(65), "a");
    bad_tagged(&nested(10_000), "a");
    let nots = |depth: usize| format!("a SEARCH {}ALL", "NOT ".repeat(depth));
    assert!(matches!(ok(&nots(64)).body, CommandBody::Search { .. }));
    bad_tagged(&nots(65), "a");
    bad_tagged(&format!("a SEARCH {}ALL", "OR ALL ".repeat(10_000)), "a");
    // Unbalanced, hostile input never recurses without bound.
    bad_tagged(&format!("a SEARCH {}", "(".repeat(100_000)), "a");
}

#[test]
fn invalid_tags_are_refused_untagged() {
    for frame in [
        &b"\r\n"[..],
        b" NOOP\r\n",
        b"+ NOOP\r\n",
        b"(a) NOOP\r\n",
        b"* NOOP\r\n",
        b"{3}\r\nabc NOOP\r\n",
        b"\"a\" NOOP\r\n",
        b"a+b NOOP\r\n",
        b"a\"b NOOP\r\n",
        b"a%b NOOP\r\n",
        b"a\0 NOOP\r\n",
        b"\xc3\xa4 NOOP\r\n",
        b"",
    ] {
        let error = bad_bytes(frame);
        assert_eq!(
            error.tag,
            None,
            "{:?}: {error:?}",
            String::from_utf8_lossy(frame)
        );
    }
    // A valid tag followed by nothing is still that command's tag.
    assert_eq!(bad_bytes(b"a\r\n").tag, Some(Tag("a".into())));
    // `]` is an ASTRING-CHAR, so it may be part of a tag; `+` may not.
    assert_eq!(ok("a] NOOP").tag, Tag("a]".into()));
}

#[test]
fn decode_errors_do_not_echo_arguments() {
    // Arguments may be secrets: the message names what is wrong, never the argument text.
    let error = bad("a LOGIN \"s3cr3t-password");
    assert!(!error.message.contains("s3cr3t"), "{}", error.message);
    let error = bad("a FROB\x01\x02\x7f");
    assert!(
        error.message.chars().all(|c| !c.is_control()),
        "{:?}",
        error.message
    );
}

/// RFC 6855 4: `append-data =/ "UTF8" SP "(" literal8 ")"`.
#[test]
fn rfc6855_4_append_utf8_data() {
    let input = "A1 APPEND INBOX UTF8 (~{11+}\r\nSubject: é)\r\n";
    let command = parse_command(bytes::Bytes::copy_from_slice(input.as_bytes()));
    match command.map(|c| c.body) {
        Ok(CommandBody::Append { messages, .. }) => {
            assert_eq!(messages.len(), 1);
            assert!(messages[0].utf8 && messages[0].binary);
            assert_eq!(&messages[0].data[..], "Subject: é".as_bytes());
        }
        other => panic!("{other:?}"),
    }
    assert!(
        parse_command(bytes::Bytes::from_static(
            b"A2 APPEND INBOX UTF8 ~{1+}\r\nx\r\n"
        ))
        .is_err()
    );
}
