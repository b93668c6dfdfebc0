//! Commands as decoded from the wire (RFC 9051 section 9 grammar, plus the extensions we
//! implement). Strings are kept as bytes: what they mean (a mailbox name in modified UTF-7
//! or UTF-8, a search string in some charset) depends on session state that the syntax
//! layer does not know.

use bytes::Bytes;

use crate::{Date, DateTime, SequenceSet};

/// A command tag (RFC 9051 `tag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag(pub String);

impl Tag {
    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A decoded command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Tag.
    pub tag: Tag,
    /// What was asked.
    pub body: CommandBody,
}

/// A mailbox argument as sent (modified UTF-7 or, with UTF8=ACCEPT, UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxArg(pub Bytes);

/// A flag in a flag list, as sent: a system flag name (with `\`) or a keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagArg {
    /// `\Answered` and friends, `\Recent`, or an unknown `\Extension` — the session decides.
    System(String),
    /// A keyword atom.
    Keyword(String),
}

/// Every command this server understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandBody {
    /// CAPABILITY
    Capability,
    /// NOOP
    Noop,
    /// LOGOUT
    Logout,
    /// STARTTLS
    StartTls,
    /// LOGIN user password
    Login {
        /// User name.
        username: Bytes,
        /// Password.
        password: Bytes,
    },
    /// AUTHENTICATE mechanism [initial-response] (RFC 4959 SASL-IR)
    Authenticate {
        /// Mechanism name, upper-cased.
        mechanism: String,
        /// Initial response: `Some(empty)` for `=`.
        initial_response: Option<Bytes>,
    },
    /// ENABLE capability...
    Enable(Vec<String>),
    /// ID (RFC 2971): `None` for NIL.
    Id(Option<Vec<(Bytes, Option<Bytes>)>>),
    /// NAMESPACE
    Namespace,
    /// SELECT / EXAMINE
    Select {
        /// True for EXAMINE.
        read_only: bool,
        /// Mailbox.
        mailbox: MailboxArg,
        /// Parameters (RFC 4466 `select-params`).
        params: SelectParams,
    },
    /// CREATE mailbox [(USE (attrs))] (RFC 6154)
    Create {
        /// Mailbox.
        mailbox: MailboxArg,
        /// Requested special-use attributes, as sent.
        special_use: Vec<String>,
    },
    /// DELETE
    Delete(MailboxArg),
    /// RENAME
    Rename {
        /// Existing name.
        from: MailboxArg,
        /// New name.
        to: MailboxArg,
    },
    /// SUBSCRIBE
    Subscribe(MailboxArg),
    /// UNSUBSCRIBE
    Unsubscribe(MailboxArg),
    /// LIST, with RFC 5258 LIST-EXTENDED options
    List(ListCommand),
    /// LSUB reference pattern
    Lsub {
        /// Reference.
        reference: MailboxArg,
        /// Pattern.
        pattern: Bytes,
    },
    /// STATUS mailbox (items)
    Status {
        /// Mailbox.
        mailbox: MailboxArg,
        /// Items asked for.
        items: Vec<StatusItem>,
    },
    /// APPEND mailbox message... (RFC 3502 MULTIAPPEND when several)
    Append {
        /// Target mailbox.
        mailbox: MailboxArg,
        /// One or more messages.
        messages: Vec<AppendMessage>,
    },
    /// CHECK
    Check,
    /// CLOSE
    Close,
    /// UNSELECT (RFC 3691)
    Unselect,
    /// EXPUNGE
    Expunge,
    /// UID EXPUNGE set (RFC 4315)
    UidExpunge(SequenceSet),
    /// FETCH / UID FETCH
    Fetch {
        /// UID FETCH.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Items.
        items: Vec<FetchItem>,
        /// RFC 7162 CHANGEDSINCE.
        changed_since: Option<u64>,
        /// RFC 7162 VANISHED (UID FETCH only).
        vanished: bool,
    },
    /// STORE / UID STORE
    Store {
        /// UID STORE.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Replace, add or remove.
        operation: StoreOperation,
        /// `.SILENT`
        silent: bool,
        /// Flags.
        flags: Vec<FlagArg>,
        /// RFC 7162 UNCHANGEDSINCE.
        unchanged_since: Option<u64>,
    },
    /// COPY / UID COPY
    Copy {
        /// UID COPY.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Target.
        mailbox: MailboxArg,
    },
    /// MOVE / UID MOVE (RFC 6851)
    Move {
        /// UID MOVE.
        uid: bool,
        /// Messages.
        set: SequenceSet,
        /// Target.
        mailbox: MailboxArg,
    },
    /// SEARCH / UID SEARCH
    Search {
        /// UID SEARCH.
        uid: bool,
        /// `RETURN (...)` (RFC 4731 ESEARCH); `Some(empty)` for `RETURN ()`.
        return_options: Option<Vec<SearchReturn>>,
        /// `CHARSET x`.
        charset: Option<String>,
        /// The criteria, ANDed.
        criteria: SearchKey,
    },
    /// IDLE (RFC 2177)
    Idle,
}

impl CommandBody {
    /// The command name as logged (never with arguments: they may hold secrets).
    pub fn name(&self) -> &'static str {
        match self {
            CommandBody::Capability => "CAPABILITY",
            CommandBody::Noop => "NOOP",
            CommandBody::Logout => "LOGOUT",
            CommandBody::StartTls => "STARTTLS",
            CommandBody::Login { .. } => "LOGIN",
            CommandBody::Authenticate { .. } => "AUTHENTICATE",
            CommandBody::Enable(_) => "ENABLE",
            CommandBody::Id(_) => "ID",
            CommandBody::Namespace => "NAMESPACE",
            CommandBody::Select {
                read_only: false, ..
            } => "SELECT",
            CommandBody::Select {
                read_only: true, ..
            } => "EXAMINE",
            CommandBody::Create { .. } => "CREATE",
            CommandBody::Delete(_) => "DELETE",
            CommandBody::Rename { .. } => "RENAME",
            CommandBody::Subscribe(_) => "SUBSCRIBE",
            CommandBody::Unsubscribe(_) => "UNSUBSCRIBE",
            CommandBody::List(_) => "LIST",
            CommandBody::Lsub { .. } => "LSUB",
            CommandBody::Status { .. } => "STATUS",
            CommandBody::Append { .. } => "APPEND",
            CommandBody::Check => "CHECK",
            CommandBody::Close => "CLOSE",
            CommandBody::Unselect => "UNSELECT",
            CommandBody::Expunge => "EXPUNGE",
            CommandBody::UidExpunge(_) => "UID EXPUNGE",
            CommandBody::Fetch { uid: false, .. } => "FETCH",
            CommandBody::Fetch { uid: true, .. } => "UID FETCH",
            CommandBody::Store { uid: false, .. } => "STORE",
            CommandBody::Store { uid: true, .. } => "UID STORE",
            CommandBody::Copy { uid: false, .. } => "COPY",
            CommandBody::Copy { uid: true, .. } => "UID COPY",
            CommandBody::Move { uid: false, .. } => "MOVE",
            CommandBody::Move { uid: true, .. } => "UID MOVE",
            CommandBody::Search { uid: false, .. } => "SEARCH",
            CommandBody::Search { uid: true, .. } => "UID SEARCH",
            CommandBody::Idle => "IDLE",
        }
    }
}

/// SELECT/EXAMINE parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelectParams {
    /// `(CONDSTORE)` (RFC 7162 3.1.8).
    pub condstore: bool,
    /// `(QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]]))` (RFC 7162 3.2.5).
    pub qresync: Option<QresyncParams>,
}

/// The QRESYNC select parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QresyncParams {
    /// The UIDVALIDITY the client knows.
    pub uid_validity: u32,
    /// The last MODSEQ the client knows.
    pub modseq: u64,
    /// The UIDs the client knows.
    pub known_uids: Option<SequenceSet>,
    /// Sequence-number to UID mapping samples.
    pub seq_match: Option<(SequenceSet, SequenceSet)>,
}

/// LIST in its RFC 5258 extended form (the basic form is the special case with no options).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCommand {
    /// Selection options.
    pub selection: Vec<ListSelection>,
    /// Reference name.
    pub reference: MailboxArg,
    /// One or more patterns (a list with `(...)`).
    pub patterns: Vec<Bytes>,
    /// Return options; `None` when no RETURN was given.
    pub return_options: Option<Vec<ListReturn>>,
}

/// RFC 5258 selection options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListSelection {
    /// SUBSCRIBED
    Subscribed,
    /// REMOTE
    Remote,
    /// RECURSIVEMATCH
    RecursiveMatch,
    /// SPECIAL-USE (RFC 6154)
    SpecialUse,
}

/// RFC 5258 return options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListReturn {
    /// SUBSCRIBED
    Subscribed,
    /// CHILDREN
    Children,
    /// SPECIAL-USE (RFC 6154)
    SpecialUse,
    /// STATUS (items) (RFC 5819)
    Status(Vec<StatusItem>),
}

/// STATUS data items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusItem {
    /// MESSAGES
    Messages,
    /// RECENT (IMAP4rev1)
    Recent,
    /// UIDNEXT
    UidNext,
    /// UIDVALIDITY
    UidValidity,
    /// UNSEEN
    Unseen,
    /// DELETED (RFC 9051)
    Deleted,
    /// SIZE (RFC 8438)
    Size,
    /// HIGHESTMODSEQ (RFC 7162)
    HighestModSeq,
    /// APPENDLIMIT (RFC 7889)
    AppendLimit,
}

impl StatusItem {
    /// The item name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusItem::Messages => "MESSAGES",
            StatusItem::Recent => "RECENT",
            StatusItem::UidNext => "UIDNEXT",
            StatusItem::UidValidity => "UIDVALIDITY",
            StatusItem::Unseen => "UNSEEN",
            StatusItem::Deleted => "DELETED",
            StatusItem::Size => "SIZE",
            StatusItem::HighestModSeq => "HIGHESTMODSEQ",
            StatusItem::AppendLimit => "APPENDLIMIT",
        }
    }

    const ALL: [StatusItem; 9] = [
        StatusItem::Messages,
        StatusItem::Recent,
        StatusItem::UidNext,
        StatusItem::UidValidity,
        StatusItem::Unseen,
        StatusItem::Deleted,
        StatusItem::Size,
        StatusItem::HighestModSeq,
        StatusItem::AppendLimit,
    ];

    /// Case-insensitive lookup.
    pub fn from_name(name: &str) -> Option<StatusItem> {
        StatusItem::ALL
            .into_iter()
            .find(|item| item.as_str().eq_ignore_ascii_case(name))
    }
}

/// One message of an APPEND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendMessage {
    /// Initial flags.
    pub flags: Vec<FlagArg>,
    /// INTERNALDATE to set.
    pub date: Option<DateTime>,
    /// The message.
    pub data: Bytes,
    /// Sent as `~{n}` literal8 (RFC 3516): may contain NUL.
    pub binary: bool,
    /// Sent as `UTF8 (~{n})` (RFC 6855 4): a message with UTF-8 headers, valid only once
    /// UTF8=ACCEPT is enabled.
    pub utf8: bool,
}

/// STORE operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOperation {
    /// FLAGS
    Replace,
    /// +FLAGS
    Add,
    /// -FLAGS
    Remove,
}

/// A FETCH data item (macros expanded by the parser).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchItem {
    /// FLAGS
    Flags,
    /// INTERNALDATE
    InternalDate,
    /// RFC822.SIZE
    Rfc822Size,
    /// UID
    Uid,
    /// ENVELOPE
    Envelope,
    /// BODYSTRUCTURE (true) or BODY (false, the non-extensible form)
    BodyStructure {
        /// With extension data.
        extensible: bool,
    },
    /// BODY[section]<partial>, BODY.PEEK[...], RFC822, RFC822.HEADER, RFC822.TEXT
    BodySection {
        /// The section.
        section: Section,
        /// `<offset.length>`.
        partial: Option<(u32, u32)>,
        /// BODY.PEEK / RFC822.HEADER: do not set `\Seen`.
        peek: bool,
        /// How to name it in the response (RFC822 forms keep their names).
        alias: SectionAlias,
    },
    /// BINARY[part]<partial>, BINARY.PEEK (RFC 3516)
    Binary {
        /// Part path.
        part: Vec<u32>,
        /// `<offset.length>`.
        partial: Option<(u32, u32)>,
        /// BINARY.PEEK.
        peek: bool,
    },
    /// BINARY.SIZE[part] (RFC 3516)
    BinarySize {
        /// Part path.
        part: Vec<u32>,
    },
    /// MODSEQ (RFC 7162)
    ModSeq,
}

/// How a body section was asked for, which decides its name in the FETCH response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SectionAlias {
    /// BODY[...] / BODY.PEEK[...]
    Body,
    /// RFC822 (= BODY[])
    Rfc822,
    /// RFC822.HEADER (= BODY.PEEK[HEADER])
    Rfc822Header,
    /// RFC822.TEXT (= BODY[TEXT])
    Rfc822Text,
}

/// A body section specification (RFC 9051 `section`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    /// Part path (`1.2.3`); empty for the whole message.
    pub part: Vec<u32>,
    /// What of the part.
    pub text: Option<SectionText>,
}

/// The `section-text` / `section-msgtext` of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionText {
    /// HEADER
    Header,
    /// HEADER.FIELDS (names)
    HeaderFields(Vec<Bytes>),
    /// HEADER.FIELDS.NOT (names)
    HeaderFieldsNot(Vec<Bytes>),
    /// TEXT
    Text,
    /// MIME (only after a part number)
    Mime,
}

/// ESEARCH return options (RFC 4731, RFC 5182 SAVE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchReturn {
    /// MIN
    Min,
    /// MAX
    Max,
    /// ALL
    All,
    /// COUNT
    Count,
    /// SAVE
    Save,
}

/// A search key (RFC 9051 `search-key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchKey {
    /// Several keys, all of which must match (a parenthesised list, or the top level).
    And(Vec<SearchKey>),
    /// ALL
    All,
    /// ANSWERED, DELETED, DRAFT, FLAGGED, SEEN and their UN- forms (negation separate)
    Flag(FlagArg),
    /// NOT key
    Not(Box<SearchKey>),
    /// OR key key
    Or(Box<SearchKey>, Box<SearchKey>),
    /// NEW (RECENT UNSEEN)
    New,
    /// OLD (NOT RECENT)
    Old,
    /// RECENT
    Recent,
    /// BCC/CC/FROM/SUBJECT/TO string, HEADER name string
    Header(Bytes, Bytes),
    /// BODY string
    Body(Bytes),
    /// TEXT string
    Text(Bytes),
    /// BEFORE/ON/SINCE date (internal date)
    InternalDate(DateRelation, Date),
    /// SENTBEFORE/SENTON/SENTSINCE date (Date: header)
    SentDate(DateRelation, Date),
    /// LARGER n
    Larger(u64),
    /// SMALLER n
    Smaller(u64),
    /// UID set
    Uid(SequenceSet),
    /// A sequence set
    SequenceSet(SequenceSet),
    /// MODSEQ [entry type] n (RFC 7162)
    ModSeq(u64),
    /// OLDER n (RFC 5032 WITHIN)
    Older(u64),
    /// YOUNGER n (RFC 5032 WITHIN)
    Younger(u64),
}

/// How a date criterion compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateRelation {
    /// Strictly before the day.
    Before,
    /// On the day.
    On,
    /// On or after the day.
    Since,
}
