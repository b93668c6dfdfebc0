//! Response encoding (RFC 9051 section 7 and 9 `response`): typed responses that write
//! themselves into a byte buffer. Every form we send is checked against imap-codec's
//! response parser in the tests (`tests/oracle.rs`).

mod body;
mod strings;

pub use body::{NotAnEnvelope, body_structure, envelope, envelope_subject};
pub use strings::{Charset, NString, astring, literal, mailbox, nstring, read_nstring, string};

use portcullis_mime::{Envelope, MessageSummary};

use crate::command::{Section, SectionAlias, SectionText, StatusItem};
use crate::{DateTime, SequenceSet};

/// The status of a status response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// OK
    Ok,
    /// NO
    No,
    /// BAD
    Bad,
    /// PREAUTH (greeting only)
    PreAuth,
    /// BYE
    Bye,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::No => "NO",
            Status::Bad => "BAD",
            Status::PreAuth => "PREAUTH",
            Status::Bye => "BYE",
        }
    }
}

/// Response codes (RFC 9051 7.1, RFC 5530, RFC 4315, RFC 7162, RFC 3516, RFC 4469).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Code {
    /// ALERT
    Alert,
    /// BADCHARSET (charsets)
    BadCharset(Vec<String>),
    /// CAPABILITY ...
    Capability(Vec<String>),
    /// PARSE
    Parse,
    /// PERMANENTFLAGS (flags)
    PermanentFlags(Vec<String>),
    /// READ-ONLY
    ReadOnly,
    /// READ-WRITE
    ReadWrite,
    /// TRYCREATE
    TryCreate,
    /// UIDNEXT n
    UidNext(u32),
    /// UIDVALIDITY n
    UidValidity(u32),
    /// UNSEEN n (IMAP4rev1 SELECT)
    Unseen(u32),
    /// APPENDUID uidvalidity uid-set
    AppendUid(u32, String),
    /// COPYUID uidvalidity source-set target-set
    CopyUid(u32, String, String),
    /// UIDNOTSTICKY
    UidNotSticky,
    /// CLOSED (RFC 7162)
    Closed,
    /// HIGHESTMODSEQ n
    HighestModSeq(u64),
    /// NOMODSEQ
    NoModSeq,
    /// MODIFIED set
    Modified(String),
    /// AUTHENTICATIONFAILED
    AuthenticationFailed,
    /// AUTHORIZATIONFAILED
    AuthorizationFailed,
    /// UNAVAILABLE
    Unavailable,
    /// SERVERBUG
    ServerBug,
    /// CLIENTBUG
    ClientBug,
    /// LIMIT
    Limit,
    /// CANNOT
    Cannot,
    /// NONEXISTENT
    NonExistent,
    /// ALREADYEXISTS
    AlreadyExists,
    /// HASCHILDREN (RFC 9051)
    HasChildren,
    /// TOOBIG (RFC 4469/7889)
    TooBig,
    /// OVERQUOTA
    OverQuota,
    /// NOPERM
    NoPerm,
    /// INUSE
    InUse,
    /// EXPUNGEISSUED
    ExpungeIssued,
    /// PRIVACYREQUIRED
    PrivacyRequired,
    /// CONTACTADMIN
    ContactAdmin,
    /// UNKNOWN-CTE (RFC 3516)
    UnknownCte,
    /// USEATTR (RFC 6154)
    UseAttr,
}

impl Code {
    fn write(&self, out: &mut Vec<u8>) {
        let simple = match self {
            Code::Alert => "ALERT",
            Code::Parse => "PARSE",
            Code::ReadOnly => "READ-ONLY",
            Code::ReadWrite => "READ-WRITE",
            Code::TryCreate => "TRYCREATE",
            Code::UidNotSticky => "UIDNOTSTICKY",
            Code::Closed => "CLOSED",
            Code::NoModSeq => "NOMODSEQ",
            Code::AuthenticationFailed => "AUTHENTICATIONFAILED",
            Code::AuthorizationFailed => "AUTHORIZATIONFAILED",
            Code::Unavailable => "UNAVAILABLE",
            Code::ServerBug => "SERVERBUG",
            Code::ClientBug => "CLIENTBUG",
            Code::Limit => "LIMIT",
            Code::Cannot => "CANNOT",
            Code::NonExistent => "NONEXISTENT",
            Code::AlreadyExists => "ALREADYEXISTS",
            Code::HasChildren => "HASCHILDREN",
            Code::TooBig => "TOOBIG",
            Code::OverQuota => "OVERQUOTA",
            Code::NoPerm => "NOPERM",
            Code::InUse => "INUSE",
            Code::ExpungeIssued => "EXPUNGEISSUED",
            Code::PrivacyRequired => "PRIVACYREQUIRED",
            Code::ContactAdmin => "CONTACTADMIN",
            Code::UnknownCte => "UNKNOWN-CTE",
            Code::UseAttr => "USEATTR",
            _ => "",
        };
        if !simple.is_empty() {
            out.extend_from_slice(simple.as_bytes());
            return;
        }
        let text = match self {
            // `"BADCHARSET" [SP "(" charset *(SP charset) ")" ]`: no empty parentheses.
            Code::BadCharset(charsets) if charsets.is_empty() => "BADCHARSET".to_owned(),
            Code::BadCharset(charsets) => format!("BADCHARSET ({})", charsets.join(" ")),
            Code::Capability(capabilities) => format!("CAPABILITY {}", capabilities.join(" ")),
            Code::PermanentFlags(flags) => format!("PERMANENTFLAGS ({})", flags.join(" ")),
            Code::UidNext(n) => format!("UIDNEXT {n}"),
            Code::UidValidity(n) => format!("UIDVALIDITY {n}"),
            Code::Unseen(n) => format!("UNSEEN {n}"),
            Code::AppendUid(validity, uids) => format!("APPENDUID {validity} {uids}"),
            Code::CopyUid(validity, source, target) => {
                format!("COPYUID {validity} {source} {target}")
            }
            Code::HighestModSeq(n) => format!("HIGHESTMODSEQ {n}"),
            Code::Modified(set) => format!("MODIFIED {set}"),
            _ => String::new(),
        };
        out.extend_from_slice(text.as_bytes());
    }
}

/// A status response: tagged completion, or untagged OK/NO/BAD/BYE/PREAUTH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusResponse {
    /// The tag, or `None` for `*`.
    pub tag: Option<String>,
    /// OK, NO, BAD, ...
    pub status: Status,
    /// Response code.
    pub code: Option<Code>,
    /// Human-readable text.
    pub text: String,
}

impl StatusResponse {
    /// A tagged response.
    pub fn tagged(
        tag: &str,
        status: Status,
        code: Option<Code>,
        text: impl Into<String>,
    ) -> StatusResponse {
        StatusResponse {
            tag: Some(tag.to_owned()),
            status,
            code,
            text: text.into(),
        }
    }

    /// An untagged response.
    pub fn untagged(status: Status, code: Option<Code>, text: impl Into<String>) -> StatusResponse {
        StatusResponse {
            tag: None,
            status,
            code,
            text: text.into(),
        }
    }

    /// Writes the response line.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.tag.as_deref().unwrap_or("*").as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.status.as_str().as_bytes());
        out.push(b' ');
        if let Some(code) = &self.code {
            out.push(b'[');
            code.write(out);
            out.extend_from_slice(b"] ");
        }
        // `text` is 1*TEXT-CHAR: no CR, LF or NUL, never empty, and it must not start with
        // '[' when there is no code (it would read as one).
        let text: String = self
            .text
            .chars()
            .filter(|c| !matches!(c, '\r' | '\n' | '\0'))
            .collect();
        let text = if text.is_empty() {
            "completed".to_owned()
        } else {
            text
        };
        if self.code.is_none() && text.starts_with('[') {
            out.push(b' ');
        }
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// Writes a continuation request (`+ text` or `+ base64`).
pub fn continuation(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b"+ ");
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// A mailbox line of LIST or LSUB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem<'a> {
    /// Name attributes (`\HasChildren`, `\Sent`, ...).
    pub attributes: Vec<&'a str>,
    /// The mailbox name (Unicode; encoded per the session charset).
    pub name: &'a str,
    /// RFC 5258 CHILDINFO extended data item (`("SUBSCRIBED")`).
    pub child_info_subscribed: bool,
}

/// One ESEARCH result item (RFC 4731).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ESearchItem {
    /// MIN n
    Min(u32),
    /// MAX n
    Max(u32),
    /// COUNT n
    Count(u32),
    /// ALL set
    All(String),
    /// MODSEQ n (RFC 7162)
    ModSeq(u64),
}

/// Untagged data responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Data<'a> {
    /// `* CAPABILITY ...`
    Capability(&'a [String]),
    /// `* ENABLED ...`
    Enabled(&'a [String]),
    /// `* LIST (attrs) "/" name [ext]`
    List(ListItem<'a>),
    /// `* LSUB (attrs) "/" name`
    Lsub(ListItem<'a>),
    /// `* STATUS name (items)`
    Status {
        /// Mailbox name (Unicode).
        mailbox: &'a str,
        /// Items and values.
        items: &'a [(StatusItem, u64)],
    },
    /// `* FLAGS (...)`
    Flags(&'a [String]),
    /// `* n EXISTS`
    Exists(u32),
    /// `* n RECENT`
    Recent(u32),
    /// `* n EXPUNGE`
    Expunge(u32),
    /// `* SEARCH n...` with RFC 7162 `(MODSEQ n)`
    Search {
        /// Sequence numbers or UIDs.
        numbers: &'a [u32],
        /// Highest MODSEQ of the matches, when MODSEQ was searched.
        modseq: Option<u64>,
    },
    /// `* ESEARCH (TAG "t") [UID] items`
    ESearch {
        /// The command's tag.
        tag: &'a str,
        /// Whether numbers are UIDs.
        uid: bool,
        /// Result items.
        items: &'a [ESearchItem],
    },
    /// `* ID (...)` / `* ID NIL`
    Id(Option<&'a [(&'a str, &'a str)]>),
    /// `* NAMESPACE (("" "/")) NIL NIL`
    Namespace,
    /// `* VANISHED [(EARLIER)] uids` (RFC 7162)
    Vanished {
        /// `(EARLIER)`
        earlier: bool,
        /// The UID set.
        uids: &'a str,
    },
    /// `* n FETCH (...)`
    Fetch {
        /// Sequence number.
        seq: u32,
        /// Data items.
        items: &'a [FetchAttr<'a>],
    },
}

/// A FETCH response data item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchAttr<'a> {
    /// FLAGS (...)
    Flags(&'a [&'a str]),
    /// UID n
    Uid(u32),
    /// RFC822.SIZE n
    Rfc822Size(u64),
    /// INTERNALDATE "..."
    InternalDate(DateTime),
    /// MODSEQ (n)
    ModSeq(u64),
    /// ENVELOPE (...)
    Envelope(&'a Envelope),
    /// `name value` with the value already in wire form (the store's encoded ENVELOPE or
    /// BODYSTRUCTURE).
    Encoded {
        /// The item's name.
        name: &'static str,
        /// Its value, written as it is.
        value: &'a [u8],
    },
    /// BODY (...) or BODYSTRUCTURE (...)
    BodyStructure {
        /// The message.
        message: &'a MessageSummary,
        /// BODYSTRUCTURE (true) or BODY (false).
        extensible: bool,
    },
    /// BODY[section]<origin> data, RFC822, RFC822.HEADER, RFC822.TEXT
    Section {
        /// The section asked for.
        section: &'a Section,
        /// The name it was asked by.
        alias: SectionAlias,
        /// `<origin>` for a partial fetch.
        origin: Option<u32>,
        /// The data, or `None` for NIL (a part that does not exist).
        data: Option<&'a [u8]>,
    },
    /// BINARY[part]<origin> data (RFC 3516)
    Binary {
        /// Part path.
        part: &'a [u32],
        /// `<origin>`
        origin: Option<u32>,
        /// Decoded data.
        data: &'a [u8],
    },
    /// BINARY.SIZE[part] n (RFC 3516)
    BinarySize {
        /// Part path.
        part: &'a [u32],
        /// Decoded size.
        size: u64,
    },
}

impl Data<'_> {
    /// Writes the response line(s), `* ...\r\n`.
    pub fn write(&self, out: &mut Vec<u8>, charset: Charset) {
        out.extend_from_slice(b"* ");
        match self {
            Data::Capability(capabilities) => {
                out.extend_from_slice(b"CAPABILITY");
                words(out, capabilities);
            }
            Data::Enabled(capabilities) => {
                out.extend_from_slice(b"ENABLED");
                words(out, capabilities);
            }
            Data::List(item) => list_item(out, b"LIST", item, charset),
            Data::Lsub(item) => list_item(out, b"LSUB", item, charset),
            Data::Status {
                mailbox: name,
                items,
            } => {
                out.extend_from_slice(b"STATUS ");
                mailbox(out, name, charset);
                out.extend_from_slice(b" (");
                for (i, (item, value)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    write_fmt(out, format_args!("{} {value}", item.as_str()));
                }
                out.push(b')');
            }
            Data::Flags(flags) => {
                out.extend_from_slice(b"FLAGS (");
                out.extend_from_slice(flags.join(" ").as_bytes());
                out.push(b')');
            }
            Data::Exists(n) => write_fmt(out, format_args!("{n} EXISTS")),
            Data::Recent(n) => write_fmt(out, format_args!("{n} RECENT")),
            Data::Expunge(n) => write_fmt(out, format_args!("{n} EXPUNGE")),
            Data::Search { numbers, modseq } => {
                out.extend_from_slice(b"SEARCH");
                for n in *numbers {
                    write_fmt(out, format_args!(" {n}"));
                }
                // RFC 7162 7: `"SEARCH" [1*(SP nz-number) SP search-sort-mod-seq]` — the
                // MODSEQ only follows at least one number.
                if let (Some(modseq), false) = (modseq, numbers.is_empty()) {
                    write_fmt(out, format_args!(" (MODSEQ {modseq})"));
                }
            }
            Data::ESearch { tag, uid, items } => esearch(out, tag, *uid, items, charset),
            Data::Id(parameters) => id(out, *parameters, charset),
            Data::Namespace => out.extend_from_slice(b"NAMESPACE ((\"\" \"/\")) NIL NIL"),
            Data::Vanished { earlier, uids } => {
                out.extend_from_slice(b"VANISHED ");
                if *earlier {
                    out.extend_from_slice(b"(EARLIER) ");
                }
                out.extend_from_slice(uids.as_bytes());
            }
            Data::Fetch { seq, items } => {
                let mut response = FetchWriter::open(out, *seq, charset);
                for item in *items {
                    response.attr(item);
                }
                response.close();
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Formats straight into the output (no intermediate `String` per response: a FETCH or
/// SEARCH of 100,000 messages writes 100,000 of them).
fn write_fmt(out: &mut Vec<u8>, args: std::fmt::Arguments<'_>) {
    // Writing into a Vec cannot fail.
    let _ = std::io::Write::write_fmt(out, args);
}

/// Writes a number in decimal. Not through `fmt`: FETCH writes two or three numbers per
/// message, and the formatting machinery was a tenth of a 100,000-message
/// `FETCH 1:* (UID FLAGS)` (profiled); `itoa` writes two digits per step.
fn number(out: &mut Vec<u8>, n: impl Into<u64>) {
    out.extend_from_slice(itoa::Buffer::new().format(n.into()).as_bytes());
}

fn words(out: &mut Vec<u8>, words: &[String]) {
    for word in words {
        out.push(b' ');
        out.extend_from_slice(word.as_bytes());
    }
}

fn list_item(out: &mut Vec<u8>, kind: &[u8], item: &ListItem<'_>, charset: Charset) {
    out.extend_from_slice(kind);
    out.extend_from_slice(b" (");
    out.extend_from_slice(item.attributes.join(" ").as_bytes());
    out.extend_from_slice(b") \"/\" ");
    mailbox(out, item.name, charset);
    if item.child_info_subscribed {
        out.extend_from_slice(b" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
    }
}

fn esearch(out: &mut Vec<u8>, tag: &str, uid: bool, items: &[ESearchItem], charset: Charset) {
    out.extend_from_slice(b"ESEARCH (TAG ");
    string(out, tag.as_bytes(), charset);
    out.push(b')');
    if uid {
        out.extend_from_slice(b" UID");
    }
    for item in items {
        let text = match item {
            ESearchItem::Min(n) => format!(" MIN {n}"),
            ESearchItem::Max(n) => format!(" MAX {n}"),
            ESearchItem::Count(n) => format!(" COUNT {n}"),
            ESearchItem::All(set) => format!(" ALL {set}"),
            ESearchItem::ModSeq(n) => format!(" MODSEQ {n}"),
        };
        out.extend_from_slice(text.as_bytes());
    }
}

fn id(out: &mut Vec<u8>, parameters: Option<&[(&str, &str)]>, charset: Charset) {
    out.extend_from_slice(b"ID ");
    let Some(parameters) = parameters else {
        out.extend_from_slice(b"NIL");
        return;
    };
    out.push(b'(');
    for (i, (key, value)) in parameters.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        string(out, key.as_bytes(), charset);
        out.push(b' ');
        string(out, value.as_bytes(), charset);
    }
    out.push(b')');
}

/// One FETCH response written item by item, `* seq FETCH (...)\r\n`, for a command that
/// writes one per message: nothing is gathered first (FETCH of 100,000 messages built a
/// list of items and one of flag names for each, profiled).
#[derive(Debug)]
pub struct FetchWriter<'o> {
    out: &'o mut Vec<u8>,
    charset: Charset,
    empty: bool,
}

impl<'o> FetchWriter<'o> {
    /// Starts the response of message `seq`.
    pub fn start(out: &'o mut Vec<u8>, seq: u32, charset: Charset) -> FetchWriter<'o> {
        out.extend_from_slice(b"* ");
        FetchWriter::open(out, seq, charset)
    }

    /// `seq FETCH (`, after the `* ` of every data response.
    fn open(out: &'o mut Vec<u8>, seq: u32, charset: Charset) -> FetchWriter<'o> {
        number(out, seq);
        out.extend_from_slice(b" FETCH (");
        FetchWriter {
            out,
            charset,
            empty: true,
        }
    }

    fn separate(&mut self) {
        if !self.empty {
            self.out.push(b' ');
        }
        self.empty = false;
    }

    /// Writes one item.
    pub fn attr(&mut self, attr: &FetchAttr<'_>) {
        self.separate();
        fetch_attr(self.out, attr, self.charset);
    }

    /// Writes `FLAGS (...)` from the names as they come.
    pub fn flags<'n>(&mut self, names: impl IntoIterator<Item = &'n str>) {
        self.separate();
        flag_list(self.out, names);
    }

    fn close(self) {
        self.out.push(b')');
    }

    /// Ends the response.
    pub fn finish(self) {
        self.out.extend_from_slice(b")\r\n");
    }
}

/// `FLAGS (name name ...)`.
fn flag_list<'n>(out: &mut Vec<u8>, names: impl IntoIterator<Item = &'n str>) {
    out.extend_from_slice(b"FLAGS (");
    for (i, name) in names.into_iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(name.as_bytes());
    }
    out.push(b')');
}

fn fetch_attr(out: &mut Vec<u8>, attr: &FetchAttr<'_>, charset: Charset) {
    match attr {
        FetchAttr::Flags(flags) => flag_list(out, flags.iter().copied()),
        FetchAttr::Uid(uid) => {
            out.extend_from_slice(b"UID ");
            number(out, *uid);
        }
        FetchAttr::Rfc822Size(size) => {
            out.extend_from_slice(b"RFC822.SIZE ");
            number(out, *size);
        }
        FetchAttr::InternalDate(date) => write_fmt(out, format_args!("INTERNALDATE \"{date}\"")),
        FetchAttr::ModSeq(modseq) => write_fmt(out, format_args!("MODSEQ ({modseq})")),
        FetchAttr::Envelope(env) => {
            out.extend_from_slice(b"ENVELOPE ");
            envelope(out, env, charset);
        }
        FetchAttr::Encoded { name, value } => {
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
            out.extend_from_slice(value);
        }
        FetchAttr::BodyStructure {
            message,
            extensible,
        } => {
            out.extend_from_slice(if *extensible {
                b"BODYSTRUCTURE "
            } else {
                b"BODY "
            });
            body_structure(out, message, *extensible, charset);
        }
        FetchAttr::Section {
            section,
            alias,
            origin,
            data,
        } => {
            section_name(out, section, *alias, *origin, charset);
            out.push(b' ');
            match data {
                Some(data) => literal(out, data),
                None => out.extend_from_slice(b"NIL"),
            }
        }
        FetchAttr::Binary { part, origin, data } => {
            out.extend_from_slice(b"BINARY[");
            part_path(out, part);
            out.push(b']');
            if let Some(origin) = origin {
                write_fmt(out, format_args!("<{origin}>"));
            }
            out.push(b' ');
            if data.contains(&0) {
                out.push(b'~');
            }
            literal(out, data);
        }
        FetchAttr::BinarySize { part, size } => {
            out.extend_from_slice(b"BINARY.SIZE[");
            part_path(out, part);
            write_fmt(out, format_args!("] {size}"));
        }
    }
}

fn part_path(out: &mut Vec<u8>, part: &[u32]) {
    let path: Vec<String> = part.iter().map(u32::to_string).collect();
    out.extend_from_slice(path.join(".").as_bytes());
}

fn section_name(
    out: &mut Vec<u8>,
    section: &Section,
    alias: SectionAlias,
    origin: Option<u32>,
    charset: Charset,
) {
    match alias {
        SectionAlias::Rfc822 => return out.extend_from_slice(b"RFC822"),
        SectionAlias::Rfc822Header => return out.extend_from_slice(b"RFC822.HEADER"),
        SectionAlias::Rfc822Text => return out.extend_from_slice(b"RFC822.TEXT"),
        SectionAlias::Body => {}
    }
    out.extend_from_slice(b"BODY[");
    part_path(out, &section.part);
    if let Some(text) = &section.text {
        if !section.part.is_empty() {
            out.push(b'.');
        }
        let (name, fields) = match text {
            SectionText::Header => ("HEADER", None),
            SectionText::Text => ("TEXT", None),
            SectionText::Mime => ("MIME", None),
            SectionText::HeaderFields(names) => ("HEADER.FIELDS", Some(names)),
            SectionText::HeaderFieldsNot(names) => ("HEADER.FIELDS.NOT", Some(names)),
        };
        out.extend_from_slice(name.as_bytes());
        if let Some(names) = fields {
            out.extend_from_slice(b" (");
            for (i, field) in names.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                astring(out, field, charset);
            }
            out.push(b')');
        }
    }
    out.push(b']');
    if let Some(origin) = origin {
        write_fmt(out, format_args!("<{origin}>"));
    }
}

/// Writes a sequence set of ascending numbers in its shortest form.
pub fn sequence_set(numbers: &[u32]) -> String {
    SequenceSet::compress(numbers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn an_envelope_subject_reads_back_from_the_wire_form() {
        let dates: [Option<&[u8]>; 3] = [
            None,
            Some(b"Tue, 1 Jul 2003 10:52:37 +0200"),
            Some(b"\"odd\""),
        ];
        let subjects: [Option<&[u8]>; 5] = [
            None,
            Some(b"Re: \"quoted\" \\ back"),
            Some(b"=?utf-8?q?caf=C3=A9?="),
            Some("8-bit café".as_bytes()),
            Some(b"folded\r\n line"),
        ];
        for date in dates {
            for subject in subjects {
                let envelope = Envelope {
                    date: date.map(<[u8]>::to_vec),
                    subject: subject.map(<[u8]>::to_vec),
                    ..Envelope::default()
                };
                let mut wire = Vec::new();
                body::envelope(&mut wire, &envelope, Charset::default());
                assert_eq!(
                    envelope_subject(&wire).map(|s| s.map(std::borrow::Cow::into_owned)),
                    Ok(subject.map(<[u8]>::to_vec))
                );
            }
        }
        assert_eq!(envelope_subject(b"NIL"), Err(NotAnEnvelope));
        assert_eq!(envelope_subject(b"(NIL)"), Err(NotAnEnvelope));
    }

    #[test]
    fn numbers_in_decimal() {
        for n in [0, 7, 10, 99, 100, 4_294_967_295, u64::MAX] {
            assert_eq!(line(|out| number(out, n)), n.to_string());
        }
    }

    #[test]
    fn status_responses() {
        let ok =
            StatusResponse::tagged("a1", Status::Ok, Some(Code::ReadWrite), "SELECT completed");
        assert_eq!(
            line(|o| ok.write(o)),
            "a1 OK [READ-WRITE] SELECT completed\r\n"
        );
        let no = StatusResponse::untagged(Status::No, None, "[bracket\r\n injected");
        assert_eq!(line(|o| no.write(o)), "* NO  [bracket injected\r\n");
        let code = StatusResponse::tagged(
            "t",
            Status::Ok,
            Some(Code::CopyUid(
                38505,
                "304,319:320".into(),
                "3956:3958".into(),
            )),
            "Done",
        );
        assert_eq!(
            line(|o| code.write(o)),
            "t OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n"
        );
    }

    #[test]
    fn rfc9051_data_examples() {
        let charset = Charset::default();
        assert_eq!(
            line(|o| Data::Exists(23).write(o, charset)),
            "* 23 EXISTS\r\n"
        );
        let flags = ["\\Answered".to_owned(), "\\Flagged".to_owned()];
        assert_eq!(
            line(|o| Data::Flags(&flags).write(o, charset)),
            "* FLAGS (\\Answered \\Flagged)\r\n"
        );
        let items = [(StatusItem::Messages, 231), (StatusItem::UidNext, 44292)];
        assert_eq!(
            line(|o| Data::Status {
                mailbox: "blurdybloop",
                items: &items
            }
            .write(o, charset)),
            "* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n"
        );
        let list = ListItem {
            attributes: vec!["\\Noselect"],
            name: "foo",
            child_info_subscribed: false,
        };
        assert_eq!(
            line(|o| Data::List(list).write(o, charset)),
            "* LIST (\\Noselect) \"/\" foo\r\n"
        );
        let esearch = [ESearchItem::Min(2), ESearchItem::Count(3)];
        assert_eq!(
            line(|o| Data::ESearch {
                tag: "A282",
                uid: false,
                items: &esearch
            }
            .write(o, charset)),
            "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3\r\n"
        );
    }

    #[test]
    fn fetch_sections_are_named_as_requested() {
        let section = Section {
            part: vec![1, 2],
            text: Some(SectionText::HeaderFields(vec![
                bytes::Bytes::from_static(b"From"),
                bytes::Bytes::from_static(b"To"),
            ])),
        };
        let items = [
            FetchAttr::Uid(7),
            FetchAttr::Section {
                section: &section,
                alias: SectionAlias::Body,
                origin: Some(0),
                data: Some(b"From: a\r\n\r\n"),
            },
        ];
        assert_eq!(
            line(|o| Data::Fetch {
                seq: 3,
                items: &items
            }
            .write(o, Charset::default())),
            "* 3 FETCH (UID 7 BODY[1.2.HEADER.FIELDS (From To)]<0> {11}\r\nFrom: a\r\n\r\n)\r\n"
        );
    }

    #[test]
    fn a_fetch_written_item_by_item_is_the_same_response() {
        let whole = line(|o| {
            Data::Fetch {
                seq: 12,
                items: &[
                    FetchAttr::Uid(4_294_967_295),
                    FetchAttr::Flags(&["\\Seen", "$Junk"]),
                    FetchAttr::ModSeq(9),
                ],
            }
            .write(o, Charset::default());
        });
        let streamed = line(|o| {
            let mut response = FetchWriter::start(o, 12, Charset::default());
            response.attr(&FetchAttr::Uid(4_294_967_295));
            response.flags(["\\Seen", "$Junk"]);
            response.attr(&FetchAttr::ModSeq(9));
            response.finish();
        });
        assert_eq!(streamed, whole);
        assert_eq!(
            streamed,
            "* 12 FETCH (UID 4294967295 FLAGS (\\Seen $Junk) MODSEQ (9))\r\n"
        );
        let bare = line(|o| {
            let mut response = FetchWriter::start(o, 1, Charset::default());
            response.flags([]);
            response.finish();
        });
        assert_eq!(bare, "* 1 FETCH (FLAGS ())\r\n");
    }
}
