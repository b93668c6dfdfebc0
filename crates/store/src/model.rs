//! The records that cross the store boundary.

use bytes::Bytes;
use portcullis_mime::MessageSummary;

use crate::{FlagSet, Keyword, MailboxId, MailboxName, MessageList, ModSeq, Uid, UidValidity};

/// RFC 6154 special-use attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpecialUse {
    /// `\All`
    All,
    /// `\Archive`
    Archive,
    /// `\Drafts`
    Drafts,
    /// `\Flagged`
    Flagged,
    /// `\Junk`
    Junk,
    /// `\Sent`
    Sent,
    /// `\Trash`
    Trash,
}

impl SpecialUse {
    /// Every attribute.
    pub const ALL: [SpecialUse; 7] = [
        SpecialUse::All,
        SpecialUse::Archive,
        SpecialUse::Drafts,
        SpecialUse::Flagged,
        SpecialUse::Junk,
        SpecialUse::Sent,
        SpecialUse::Trash,
    ];

    /// The attribute as written on the wire, e.g. `\Sent`.
    pub fn as_str(self) -> &'static str {
        match self {
            SpecialUse::All => "\\All",
            SpecialUse::Archive => "\\Archive",
            SpecialUse::Drafts => "\\Drafts",
            SpecialUse::Flagged => "\\Flagged",
            SpecialUse::Junk => "\\Junk",
            SpecialUse::Sent => "\\Sent",
            SpecialUse::Trash => "\\Trash",
        }
    }

    /// Case-insensitive lookup of `\Name`.
    pub fn from_name(name: &str) -> Option<SpecialUse> {
        SpecialUse::ALL
            .into_iter()
            .find(|attr| attr.as_str().eq_ignore_ascii_case(name))
    }

    /// The mailboxes every new account gets.
    pub const DEFAULT_MAILBOXES: [(&'static str, Option<SpecialUse>); 6] = [
        ("INBOX", None),
        ("Drafts", Some(SpecialUse::Drafts)),
        ("Sent", Some(SpecialUse::Sent)),
        ("Trash", Some(SpecialUse::Trash)),
        ("Junk", Some(SpecialUse::Junk)),
        ("Archive", Some(SpecialUse::Archive)),
    ];
}

/// A mailbox as LIST sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxInfo {
    /// Primary key.
    pub id: MailboxId,
    /// Full name.
    pub name: MailboxName,
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
    /// RFC 6154 attribute, if any.
    pub special_use: Option<SpecialUse>,
    /// False for a name kept only because it has children after DELETE (`\Noselect`).
    pub selectable: bool,
    /// HIGHESTMODSEQ when this was read: a session holding the mailbox's state at this
    /// MODSEQ knows it is current without asking for changes.
    pub highest_modseq: ModSeq,
    /// Whether messages arrived that no session claimed as `\Recent` yet, when this was read.
    pub recent_unclaimed: bool,
}

/// STATUS figures (RFC 9051 6.3.11, RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxStatus {
    /// Number of messages.
    pub messages: u32,
    /// Messages with a UID at or above the recent floor (not yet claimed by any session).
    pub recent: u32,
    /// Messages without `\Seen`.
    pub unseen: u32,
    /// Messages with `\Deleted`.
    pub deleted: u32,
    /// The UID the next message will get.
    pub uid_next: Uid,
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
    /// The highest MODSEQ of the mailbox.
    pub highest_modseq: ModSeq,
    /// Sum of RFC822.SIZE of all messages.
    pub size: u64,
}

/// The mutable state of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageFlags {
    /// UID.
    pub uid: Uid,
    /// Current flags.
    pub flags: FlagSet,
    /// MODSEQ of the last change (or of the APPEND).
    pub modseq: ModSeq,
}

/// Everything SELECT needs to build a session's view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxSnapshot {
    /// UIDVALIDITY.
    pub uid_validity: UidValidity,
    /// UIDNEXT.
    pub uid_next: Uid,
    /// HIGHESTMODSEQ.
    pub highest_modseq: ModSeq,
    /// Keywords ever used in the mailbox (for FLAGS and PERMANENTFLAGS).
    pub keywords: Vec<Keyword>,
    /// All messages, ascending by UID.
    pub messages: MessageList,
}

/// What changed in a mailbox after a MODSEQ: the input of every session's resync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxChanges {
    /// UIDNEXT now.
    pub uid_next: Uid,
    /// HIGHESTMODSEQ now.
    pub highest_modseq: ModSeq,
    /// Keywords ever used in the mailbox.
    pub keywords: Vec<Keyword>,
    /// Messages added or changed after the given MODSEQ, ascending by UID.
    pub changed: Vec<MessageFlags>,
    /// UIDs expunged after the given MODSEQ that the expunge log still holds, ascending.
    pub expunged: Vec<Uid>,
    /// How far back the expunge log reaches (see [`ExpungeLog::pruned_through`]): when the
    /// given MODSEQ is below it, `expunged` may miss expunges and the caller has to find them
    /// by comparing UIDs.
    pub pruned_through: Option<ModSeq>,
}

/// The expunge log of a mailbox after a MODSEQ (RFC 7162 3.2: the server "MUST associate the
/// incremented mod-sequence with the UIDs of the expunged messages").
///
/// The log is pruned after a retention period ([`crate::Store::prune_expunged`]), so it is
/// complete only above `pruned_through`: a QRESYNC client that last synchronised below it
/// gets a longer (never shorter) VANISHED answer computed from the UIDs that still exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpungeLog {
    /// UIDs expunged after the given MODSEQ that the log still holds, ascending.
    pub uids: Vec<Uid>,
    /// Expunges with a MODSEQ up to and including this value may have been forgotten;
    /// `None` while nothing was ever pruned (the log is complete since the mailbox was
    /// created).
    pub pruned_through: Option<ModSeq>,
}

impl ExpungeLog {
    /// Whether every expunge after `since` is in the log.
    pub fn is_complete_after(&self, since: ModSeq) -> bool {
        complete_after(self.pruned_through, since)
    }
}

impl MailboxChanges {
    /// Whether `expunged` lists every expunge after `since` (the MODSEQ it was asked for).
    pub fn is_complete_after(&self, since: ModSeq) -> bool {
        complete_after(self.pruned_through, since)
    }
}

fn complete_after(pruned_through: Option<ModSeq>, since: ModSeq) -> bool {
    pruned_through.is_none_or(|pruned| since >= pruned)
}

/// The date a message entered the store, with the zone it was given in (RFC 9051
/// INTERNALDATE keeps the zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct InternalDate {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix_seconds: i64,
    /// Offset of the zone from UTC in minutes (`+0200` is 120).
    pub offset_minutes: i16,
}

impl InternalDate {
    /// Now, in UTC.
    pub fn now() -> InternalDate {
        let unix_seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        InternalDate {
            unix_seconds,
            offset_minutes: 0,
        }
    }
}

/// The immutable facts of one message, for FETCH and SEARCH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    /// UID.
    pub uid: Uid,
    /// Current flags.
    pub flags: FlagSet,
    /// MODSEQ of the last change.
    pub modseq: ModSeq,
    /// INTERNALDATE.
    pub internal_date: InternalDate,
    /// RFC822.SIZE: the size of the stored (CRLF-normalised) message.
    pub size: u64,
}

/// A message to be stored: its bytes with line endings normalised, parsed once here so that
/// no FETCH ever parses again.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// The message, CRLF line endings.
    pub raw: Bytes,
    /// The parse of `raw`.
    pub summary: MessageSummary,
    /// Initial flags.
    pub flags: FlagSet,
    /// INTERNALDATE.
    pub internal_date: InternalDate,
}

/// A message's ENVELOPE and BODYSTRUCTURE in IMAP's wire form (RFC 9051 `envelope` and
/// extensible `body`, strings written as a session without UTF8=ACCEPT gets them), kept by
/// the backend beside the parsed summary when the message is stored. A FETCH of these items
/// over a whole mailbox then copies bytes instead of decoding every summary and encoding it
/// again (profiled: that was nearly all of a 100,000-message FETCH ENVELOPE BODYSTRUCTURE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireSummary {
    /// `envelope`: `(date subject from ... message-id)`.
    pub envelope: Bytes,
    /// `body` with extension data, as BODYSTRUCTURE sends it.
    pub body_structure: Bytes,
}

impl WireSummary {
    /// Whether a UTF8=ACCEPT session gets the same bytes: it does unless some string holds
    /// 8-bit bytes (sent as a literal here, possibly quoted UTF-8 there).
    pub fn same_for_utf8(&self) -> bool {
        self.envelope.is_ascii() && self.body_structure.is_ascii()
    }
}

/// Most searchable text kept per column and message for indexing (1 MiB): beyond it a
/// message is marked incompletely indexed and always searched in full.
pub const SEARCH_TEXT_LIMIT: usize = 1 << 20;

/// Where a text search looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextScope {
    /// The header fields (FROM, SUBJECT, HEADER ...).
    Headers,
    /// The text parts (BODY).
    Body,
    /// Both (TEXT).
    Anywhere,
}

impl NewMessage {
    /// Normalises line endings and parses. CPU work: call it off the async threads for large
    /// messages.
    pub fn parse(raw: Bytes, flags: FlagSet, internal_date: InternalDate) -> NewMessage {
        let raw = match portcullis_mime::normalize_line_endings(&raw) {
            std::borrow::Cow::Borrowed(_) => raw,
            std::borrow::Cow::Owned(normalised) => Bytes::from(normalised),
        };
        let summary = portcullis_mime::parse(&raw);
        NewMessage {
            raw,
            summary,
            flags,
            internal_date,
        }
    }
}

/// The result of APPEND (RFC 4315 APPENDUID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendOutcome {
    /// UIDVALIDITY of the target mailbox.
    pub uid_validity: UidValidity,
    /// The UIDs given to the messages, in order.
    pub uids: Vec<Uid>,
}

/// The result of COPY or MOVE (RFC 4315 COPYUID).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOutcome {
    /// UIDVALIDITY of the target mailbox.
    pub uid_validity: UidValidity,
    /// Source UIDs that were copied, ascending.
    pub source: Vec<Uid>,
    /// The target UIDs, in the same order.
    pub target: Vec<Uid>,
    /// For MOVE: the MODSEQ of the expunge in the source mailbox.
    pub expunge_modseq: Option<ModSeq>,
}

/// The result of STORE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagUpdate {
    /// Messages whose flags changed, with their new state, ascending by UID.
    pub changed: Vec<MessageFlags>,
    /// Messages left alone because they changed after UNCHANGEDSINCE (RFC 7162 `[MODIFIED]`).
    pub modified: Vec<Uid>,
}
