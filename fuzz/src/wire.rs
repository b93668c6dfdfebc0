//! A command encoder — the inverse of `portcullis_proto::parse_command` — so the `command`
//! target can check decode → encode → decode. The server never sends commands, so this
//! lives here, written from RFC 9051's grammar (and the extensions the parser accepts), not
//! from the parser's code.
//!
//! Two styles: [`Style::Compact`] writes atoms and quoted strings wherever they are exact
//! (what a client usually sends); [`Style::Literals`] writes every string as a synchronising
//! literal. Both must decode to the same command.

use portcullis_proto::command::{
    AppendMessage, DateRelation, FetchItem, FlagArg, ListCommand, ListReturn, ListSelection,
    MailboxArg, QresyncParams, SearchKey, SearchReturn, Section, SectionAlias, SectionText,
    SelectParams, StatusItem, StoreOperation,
};
use portcullis_proto::{Command, CommandBody, Date, SeqBound, SequenceSet};

/// How strings are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Atoms and quoted strings where possible, non-synchronising literals otherwise.
    Compact,
    /// Every string a synchronising literal.
    Literals,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `ATOM-CHAR` (RFC 9051): any CHAR except `atom-specials`.
fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !b"(){ %*\"\\]".contains(&b)
}

fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

fn is_list_char(b: u8) -> bool {
    is_atom_char(b) || b"%*]".contains(&b)
}

/// Encodes `command` with its CRLF; `None` when the command has no wire form (which would
/// mean the parser produced a value it cannot have read).
pub fn encode(command: &Command, style: Style) -> Option<Vec<u8>> {
    let mut w = Writer {
        out: Vec::new(),
        style,
    };
    w.raw(command.tag.as_str());
    w.raw(" ");
    w.body(&command.body)?;
    w.raw("\r\n");
    Some(w.out)
}

struct Writer {
    out: Vec<u8>,
    style: Style,
}

impl Writer {
    fn raw(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn literal(&mut self, bytes: &[u8], binary: bool) {
        if binary {
            self.raw("~");
        }
        match self.style {
            Style::Compact => self.raw(&format!("{{{}+}}\r\n", bytes.len())),
            Style::Literals => self.raw(&format!("{{{}}}\r\n", bytes.len())),
        }
        self.bytes(bytes);
    }

    /// `string`: quoted when it can be, else a literal.
    fn string(&mut self, bytes: &[u8]) {
        let quotable = !bytes.iter().any(|b| matches!(b, b'\r' | b'\n' | 0));
        if self.style == Style::Compact && quotable {
            self.raw("\"");
            for &b in bytes {
                if b == b'"' || b == b'\\' {
                    self.out.push(b'\\');
                }
                self.out.push(b);
            }
            self.raw("\"");
        } else {
            self.literal(bytes, false);
        }
    }

    fn astring(&mut self, bytes: &[u8]) {
        if self.style == Style::Compact
            && !bytes.is_empty()
            && bytes.iter().all(|&b| is_astring_char(b))
        {
            self.bytes(bytes);
        } else {
            self.string(bytes);
        }
    }

    fn nstring(&mut self, bytes: Option<&[u8]>) {
        match bytes {
            Some(bytes) => self.string(bytes),
            None => self.raw("NIL"),
        }
    }

    fn list_mailbox(&mut self, bytes: &[u8]) {
        if self.style == Style::Compact
            && !bytes.is_empty()
            && bytes.iter().all(|&b| is_list_char(b))
        {
            self.bytes(bytes);
        } else {
            self.string(bytes);
        }
    }

    fn mailbox(&mut self, mailbox: &MailboxArg) {
        self.astring(&mailbox.0);
    }

    /// `(a b c)` with `item` writing each element.
    fn list<T>(
        &mut self,
        items: &[T],
        mut item: impl FnMut(&mut Writer, &T) -> Option<()>,
    ) -> Option<()> {
        self.raw("(");
        for (i, value) in items.iter().enumerate() {
            if i > 0 {
                self.raw(" ");
            }
            item(self, value)?;
        }
        self.raw(")");
        Some(())
    }

    fn flag(&mut self, flag: &FlagArg) -> Option<()> {
        match flag {
            FlagArg::System(name) | FlagArg::Keyword(name) => self.raw(name),
        }
        Some(())
    }

    fn set(&mut self, set: &SequenceSet) {
        let bound = |b: &SeqBound| match b {
            SeqBound::Value(n) => n.to_string(),
            SeqBound::Largest => "*".to_owned(),
        };
        match set {
            SequenceSet::Saved => self.raw("$"),
            SequenceSet::Ranges(ranges) => {
                let text: Vec<String> = ranges
                    .iter()
                    .map(|(a, b)| {
                        if a == b {
                            bound(a)
                        } else {
                            format!("{}:{}", bound(a), bound(b))
                        }
                    })
                    .collect();
                self.raw(&text.join(","));
            }
        }
    }

    fn date(&mut self, date: &Date) -> Option<()> {
        let month = MONTHS.get(usize::from(date.month).checked_sub(1)?)?;
        self.raw(&format!("{}-{month}-{:04}", date.day, date.year));
        Some(())
    }

    fn status_items(&mut self, items: &[StatusItem]) -> Option<()> {
        self.list(items, |w, item| {
            w.raw(item.as_str());
            Some(())
        })
    }

    fn body(&mut self, body: &CommandBody) -> Option<()> {
        match body {
            CommandBody::Capability => self.raw("CAPABILITY"),
            CommandBody::Noop => self.raw("NOOP"),
            CommandBody::Logout => self.raw("LOGOUT"),
            CommandBody::StartTls => self.raw("STARTTLS"),
            CommandBody::Namespace => self.raw("NAMESPACE"),
            CommandBody::Check => self.raw("CHECK"),
            CommandBody::Close => self.raw("CLOSE"),
            CommandBody::Unselect => self.raw("UNSELECT"),
            CommandBody::Expunge => self.raw("EXPUNGE"),
            CommandBody::Idle => self.raw("IDLE"),
            CommandBody::Login { username, password } => {
                self.raw("LOGIN ");
                self.astring(username);
                self.raw(" ");
                self.astring(password);
            }
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            } => {
                self.raw("AUTHENTICATE ");
                self.raw(mechanism);
                match initial_response.as_deref() {
                    None => {}
                    Some([]) => self.raw(" ="),
                    Some(response) => {
                        self.raw(" ");
                        self.bytes(response);
                    }
                }
            }
            CommandBody::Enable(capabilities) => {
                self.raw("ENABLE");
                for capability in capabilities {
                    self.raw(" ");
                    self.raw(capability);
                }
            }
            CommandBody::Id(None) => self.raw("ID NIL"),
            CommandBody::Id(Some(pairs)) => {
                self.raw("ID ");
                self.list(pairs, |w, (key, value)| {
                    w.string(key);
                    w.raw(" ");
                    w.nstring(value.as_deref());
                    Some(())
                })?;
            }
            CommandBody::Select {
                read_only,
                mailbox,
                params,
            } => {
                self.raw(if *read_only { "EXAMINE " } else { "SELECT " });
                self.mailbox(mailbox);
                self.select_params(params)?;
            }
            CommandBody::Create {
                mailbox,
                special_use,
            } => {
                self.raw("CREATE ");
                self.mailbox(mailbox);
                if !special_use.is_empty() {
                    self.raw(" (USE ");
                    self.list(special_use, |w, attr| {
                        attr.starts_with('\\').then(|| w.raw(attr))
                    })?;
                    self.raw(")");
                }
            }
            CommandBody::Delete(mailbox) => {
                self.raw("DELETE ");
                self.mailbox(mailbox);
            }
            CommandBody::Rename { from, to } => {
                self.raw("RENAME ");
                self.mailbox(from);
                self.raw(" ");
                self.mailbox(to);
            }
            CommandBody::Subscribe(mailbox) => {
                self.raw("SUBSCRIBE ");
                self.mailbox(mailbox);
            }
            CommandBody::Unsubscribe(mailbox) => {
                self.raw("UNSUBSCRIBE ");
                self.mailbox(mailbox);
            }
            CommandBody::List(list) => self.list_command(list)?,
            CommandBody::Lsub { reference, pattern } => {
                self.raw("LSUB ");
                self.mailbox(reference);
                self.raw(" ");
                self.list_mailbox(pattern);
            }
            CommandBody::Status { mailbox, items } => {
                self.raw("STATUS ");
                self.mailbox(mailbox);
                self.raw(" ");
                self.status_items(items)?;
            }
            CommandBody::Append { mailbox, messages } => {
                self.raw("APPEND ");
                self.mailbox(mailbox);
                for message in messages {
                    self.raw(" ");
                    self.append_message(message)?;
                }
            }
            CommandBody::UidExpunge(set) => {
                self.raw("UID EXPUNGE ");
                self.set(set);
            }
            CommandBody::Fetch {
                uid,
                set,
                items,
                changed_since,
                vanished,
            } => {
                self.uid(*uid);
                self.raw("FETCH ");
                self.set(set);
                self.raw(" ");
                self.list(items, Writer::fetch_item)?;
                let mut modifiers = Vec::new();
                if let Some(modseq) = changed_since {
                    modifiers.push(format!("CHANGEDSINCE {modseq}"));
                }
                if *vanished {
                    modifiers.push("VANISHED".to_owned());
                }
                if !modifiers.is_empty() {
                    self.raw(&format!(" ({})", modifiers.join(" ")));
                }
            }
            CommandBody::Store {
                uid,
                set,
                operation,
                silent,
                flags,
                unchanged_since,
            } => {
                self.uid(*uid);
                self.raw("STORE ");
                self.set(set);
                self.raw(" ");
                if let Some(modseq) = unchanged_since {
                    self.raw(&format!("(UNCHANGEDSINCE {modseq}) "));
                }
                self.raw(match operation {
                    StoreOperation::Replace => "FLAGS",
                    StoreOperation::Add => "+FLAGS",
                    StoreOperation::Remove => "-FLAGS",
                });
                if *silent {
                    self.raw(".SILENT");
                }
                self.raw(" ");
                self.list(flags, Writer::flag)?;
            }
            CommandBody::Copy { uid, set, mailbox } | CommandBody::Move { uid, set, mailbox } => {
                self.uid(*uid);
                self.raw(if matches!(body, CommandBody::Copy { .. }) {
                    "COPY "
                } else {
                    "MOVE "
                });
                self.set(set);
                self.raw(" ");
                self.mailbox(mailbox);
            }
            CommandBody::Search {
                uid,
                return_options,
                charset,
                criteria,
            } => {
                self.uid(*uid);
                self.raw("SEARCH ");
                if let Some(options) = return_options {
                    self.raw("RETURN ");
                    self.list(options, |w, option| {
                        w.raw(match option {
                            SearchReturn::Min => "MIN",
                            SearchReturn::Max => "MAX",
                            SearchReturn::All => "ALL",
                            SearchReturn::Count => "COUNT",
                            SearchReturn::Save => "SAVE",
                        });
                        Some(())
                    })?;
                    self.raw(" ");
                }
                if let Some(charset) = charset {
                    self.raw("CHARSET ");
                    self.astring(charset.as_bytes());
                    self.raw(" ");
                }
                // A top-level AND is written in parentheses: `SEARCH a b` and `SEARCH (a b)`
                // decode alike, and only the parenthesised form keeps `SEARCH ((a b))`.
                self.search_key(criteria)?;
            }
        }
        Some(())
    }

    fn uid(&mut self, uid: bool) {
        if uid {
            self.raw("UID ");
        }
    }

    fn select_params(&mut self, params: &SelectParams) -> Option<()> {
        let mut items: Vec<Vec<u8>> = Vec::new();
        if params.condstore {
            items.push(b"CONDSTORE".to_vec());
        }
        if let Some(QresyncParams {
            uid_validity,
            modseq,
            known_uids,
            seq_match,
        }) = &params.qresync
        {
            let mut w = Writer {
                out: Vec::new(),
                style: self.style,
            };
            w.raw(&format!("QRESYNC ({uid_validity} {modseq}"));
            if let Some(known) = known_uids {
                w.raw(" ");
                w.set(known);
            }
            if let Some((seqs, uids)) = seq_match {
                w.raw(" (");
                w.set(seqs);
                w.raw(" ");
                w.set(uids);
                w.raw(")");
            }
            w.raw(")");
            items.push(w.out);
        }
        if !items.is_empty() {
            self.raw(" (");
            self.bytes(&items.join(&b' '));
            self.raw(")");
        }
        Some(())
    }

    fn list_command(&mut self, list: &ListCommand) -> Option<()> {
        self.raw("LIST ");
        if !list.selection.is_empty() {
            self.list(&list.selection, |w, option| {
                w.raw(match option {
                    ListSelection::Subscribed => "SUBSCRIBED",
                    ListSelection::Remote => "REMOTE",
                    ListSelection::RecursiveMatch => "RECURSIVEMATCH",
                    ListSelection::SpecialUse => "SPECIAL-USE",
                });
                Some(())
            })?;
            self.raw(" ");
        }
        self.mailbox(&list.reference);
        self.raw(" ");
        match list.patterns.as_slice() {
            [one] => self.list_mailbox(one),
            patterns => self.list(patterns, |w, pattern| {
                w.list_mailbox(pattern);
                Some(())
            })?,
        }
        if let Some(options) = &list.return_options {
            self.raw(" RETURN ");
            self.list(options, |w, option| {
                match option {
                    ListReturn::Subscribed => w.raw("SUBSCRIBED"),
                    ListReturn::Children => w.raw("CHILDREN"),
                    ListReturn::SpecialUse => w.raw("SPECIAL-USE"),
                    ListReturn::Status(items) => {
                        w.raw("STATUS ");
                        w.status_items(items)?;
                    }
                }
                Some(())
            })?;
        }
        Some(())
    }

    fn append_message(&mut self, message: &AppendMessage) -> Option<()> {
        if !message.flags.is_empty() {
            self.list(&message.flags, Writer::flag)?;
            self.raw(" ");
        }
        if let Some(date) = &message.date {
            self.raw(&format!("\"{date}\" "));
        }
        if message.utf8 {
            self.raw("UTF8 (");
        }
        self.literal(&message.data, message.binary);
        if message.utf8 {
            self.raw(")");
        }
        Some(())
    }

    fn fetch_item(&mut self, item: &FetchItem) -> Option<()> {
        match item {
            FetchItem::Flags => self.raw("FLAGS"),
            FetchItem::InternalDate => self.raw("INTERNALDATE"),
            FetchItem::Rfc822Size => self.raw("RFC822.SIZE"),
            FetchItem::Uid => self.raw("UID"),
            FetchItem::Envelope => self.raw("ENVELOPE"),
            FetchItem::ModSeq => self.raw("MODSEQ"),
            FetchItem::BodyStructure { extensible: true } => self.raw("BODYSTRUCTURE"),
            FetchItem::BodyStructure { extensible: false } => self.raw("BODY"),
            FetchItem::BodySection {
                section,
                partial,
                peek,
                alias,
            } => {
                let whole = |text: Option<SectionText>| Section {
                    part: Vec::new(),
                    text,
                };
                match alias {
                    SectionAlias::Rfc822 => {
                        (*section == whole(None) && partial.is_none() && !peek).then_some(())?;
                        self.raw("RFC822");
                    }
                    SectionAlias::Rfc822Header => {
                        (*section == whole(Some(SectionText::Header))
                            && partial.is_none()
                            && *peek)
                            .then_some(())?;
                        self.raw("RFC822.HEADER");
                    }
                    SectionAlias::Rfc822Text => {
                        (*section == whole(Some(SectionText::Text)) && partial.is_none() && !peek)
                            .then_some(())?;
                        self.raw("RFC822.TEXT");
                    }
                    SectionAlias::Body => {
                        self.raw(if *peek { "BODY.PEEK[" } else { "BODY[" });
                        self.section(section)?;
                        self.raw("]");
                        self.partial(*partial);
                    }
                }
            }
            FetchItem::Binary {
                part,
                partial,
                peek,
            } => {
                self.raw(if *peek { "BINARY.PEEK[" } else { "BINARY[" });
                self.part(part);
                self.raw("]");
                self.partial(*partial);
            }
            FetchItem::BinarySize { part } => {
                self.raw("BINARY.SIZE[");
                self.part(part);
                self.raw("]");
            }
        }
        Some(())
    }

    fn part(&mut self, part: &[u32]) {
        let numbers: Vec<String> = part.iter().map(u32::to_string).collect();
        self.raw(&numbers.join("."));
    }

    fn partial(&mut self, partial: Option<(u32, u32)>) {
        if let Some((offset, length)) = partial {
            self.raw(&format!("<{offset}.{length}>"));
        }
    }

    fn section(&mut self, section: &Section) -> Option<()> {
        self.part(&section.part);
        let Some(text) = &section.text else {
            return Some(());
        };
        if !section.part.is_empty() {
            self.raw(".");
        }
        match text {
            SectionText::Header => self.raw("HEADER"),
            SectionText::Text => self.raw("TEXT"),
            SectionText::Mime => {
                (!section.part.is_empty()).then_some(())?;
                self.raw("MIME");
            }
            SectionText::HeaderFields(names) | SectionText::HeaderFieldsNot(names) => {
                self.raw(if matches!(text, SectionText::HeaderFields(_)) {
                    "HEADER.FIELDS "
                } else {
                    "HEADER.FIELDS.NOT "
                });
                self.list(names, |w, name| {
                    w.astring(name);
                    Some(())
                })?;
            }
        }
        Some(())
    }

    fn search_key(&mut self, key: &SearchKey) -> Option<()> {
        match key {
            SearchKey::And(keys) => self.list(keys, Writer::search_key)?,
            SearchKey::All => self.raw("ALL"),
            SearchKey::Flag(flag) => self.flag_key(flag, "")?,
            // `UNSEEN` and `NOT SEEN` decode alike, but `NOT` nests one level deeper, which
            // counts against the parser's depth limit: keep the short form.
            SearchKey::Not(inner) => match inner.as_ref() {
                SearchKey::Flag(flag) => self.flag_key(flag, "UN")?,
                other => {
                    self.raw("NOT ");
                    self.search_key(other)?;
                }
            },
            SearchKey::Or(left, right) => {
                self.raw("OR ");
                self.search_key(left)?;
                self.raw(" ");
                self.search_key(right)?;
            }
            SearchKey::New => self.raw("NEW"),
            SearchKey::Old => self.raw("OLD"),
            SearchKey::Recent => self.raw("RECENT"),
            SearchKey::Header(field, value) => {
                self.raw("HEADER ");
                self.astring(field);
                self.raw(" ");
                self.astring(value);
            }
            SearchKey::Body(text) => {
                self.raw("BODY ");
                self.astring(text);
            }
            SearchKey::Text(text) => {
                self.raw("TEXT ");
                self.astring(text);
            }
            SearchKey::InternalDate(relation, date) | SearchKey::SentDate(relation, date) => {
                if matches!(key, SearchKey::SentDate(..)) {
                    self.raw("SENT");
                }
                self.raw(match relation {
                    DateRelation::Before => "BEFORE ",
                    DateRelation::On => "ON ",
                    DateRelation::Since => "SINCE ",
                });
                self.date(date)?;
            }
            SearchKey::Larger(n) => self.raw(&format!("LARGER {n}")),
            SearchKey::Smaller(n) => self.raw(&format!("SMALLER {n}")),
            SearchKey::Uid(set) => {
                self.raw("UID ");
                self.set(set);
            }
            SearchKey::SequenceSet(set) => self.set(set),
            SearchKey::ModSeq(n) => self.raw(&format!("MODSEQ {n}")),
            SearchKey::Older(n) => self.raw(&format!("OLDER {n}")),
            SearchKey::Younger(n) => self.raw(&format!("YOUNGER {n}")),
        }
        Some(())
    }

    /// A flag search key, `prefix` being `UN` for the negated form.
    fn flag_key(&mut self, flag: &FlagArg, prefix: &str) -> Option<()> {
        self.raw(prefix);
        match flag {
            FlagArg::Keyword(keyword) => {
                self.raw("KEYWORD ");
                self.raw(keyword);
            }
            FlagArg::System(name) => {
                let name = name.strip_prefix('\\')?;
                ["Answered", "Deleted", "Draft", "Flagged", "Seen"]
                    .contains(&name)
                    .then_some(())?;
                self.raw(&name.to_ascii_uppercase());
            }
        }
        Some(())
    }
}
