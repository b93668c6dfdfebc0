//! The session object: state, dispatch through the state gate, the tagged completion, and
//! the resync that turns store changes into untagged responses.

use bytes::Bytes;
use portcullis_auth::LoginTicket;
use portcullis_proto::command::{FetchItem, SearchKey, StatusItem};
use portcullis_proto::encode::{Charset, Code, Data, FetchAttr, Status, StatusResponse};
use portcullis_proto::framing::{RejectReason, Rejection};
use portcullis_proto::{Command, CommandBody, Tag, parse_command};
use portcullis_store::{AccountId, AccountName, ChangeWatch, StoreError, Uid};
use std::io;
use std::sync::Arc;

use crate::capability::capabilities;
use crate::commands::UidRanges;
use crate::config::{ConnectionInfo, ServerContext};
use crate::error::{CommandResult, Refusal};
use crate::output::Output;
use crate::quirks::QuirkSet;
use crate::state::{self, StateKind};
use crate::view::{MailboxView, ViewMessage};

/// What the connection should read next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// A command frame.
    Command,
    /// One line answering a continuation request (AUTHENTICATE).
    Line,
    /// IDLE: wait for a line (DONE) or a mailbox change ([`Session::idle_wakeup`]).
    Idle,
    /// Flush, then do the TLS handshake and call [`Session::tls_established`]; bytes the
    /// client pipelined after STARTTLS must be discarded.
    StartTls,
    /// Flush and close the connection.
    Close,
}

/// The logged-in user.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub(crate) id: AccountId,
    pub(crate) name: AccountName,
}

/// A multi-line exchange in progress.
#[derive(Debug, Clone)]
pub(crate) enum Pending {
    /// AUTHENTICATE PLAIN waiting for the client's response.
    Authenticate(Tag),
    /// IDLE waiting for DONE.
    Idle(Tag),
}

/// A successful completion: the tagged OK's code and text.
#[derive(Debug, Clone)]
pub(crate) struct Done {
    pub(crate) code: Option<Code>,
    pub(crate) text: String,
}

impl Done {
    pub(crate) fn new(text: impl Into<String>) -> Done {
        Done {
            code: None,
            text: text.into(),
        }
    }

    pub(crate) fn with_code(code: Code, text: impl Into<String>) -> Done {
        Done {
            code: Some(code),
            text: text.into(),
        }
    }
}

/// One client's IMAP session.
#[derive(Debug)]
pub struct Session {
    pub(crate) ctx: Arc<ServerContext>,
    pub(crate) conn: ConnectionInfo,
    pub(crate) tls: bool,
    pub(crate) user: Option<User>,
    pub(crate) selected: Option<MailboxView>,
    pub(crate) pending: Option<Pending>,
    /// `ENABLE IMAP4rev2` was accepted.
    pub(crate) rev2: bool,
    /// `ENABLE UTF8=ACCEPT` was accepted.
    pub(crate) utf8: bool,
    /// The client issued a CONDSTORE enabling command (RFC 7162 3.1): MODSEQ in every
    /// untagged FETCH caused by a flag change, HIGHESTMODSEQ on SELECT/EXAMINE.
    pub(crate) condstore: bool,
    /// `ENABLE QRESYNC` was accepted (RFC 7162 3.2.3): VANISHED instead of EXPUNGE, the
    /// QRESYNC SELECT parameter and the VANISHED FETCH modifier.
    pub(crate) qresync: bool,
    /// Quirks switched on by the client's ID (`quirks.rs`); the account's are added by
    /// [`Session::quirks`].
    pub(crate) client_quirks: QuirkSet,
    /// LOGOUT was done, or the session must end (selected mailbox deleted).
    pub(crate) closing: bool,
    /// Counts this login against the account-and-address cap while the session lives.
    pub(crate) login: Option<LoginTicket>,
    /// BAD answers in a row (`SessionConfig::max_bad_commands`).
    pub(crate) bad_streak: u32,
    /// An untagged BYE to send after the current command's completion (the session is
    /// closing: its address was just banned).
    pub(crate) farewell: Option<(Code, &'static str)>,
}

impl Session {
    /// A new session on a connection.
    pub fn new(ctx: Arc<ServerContext>, conn: ConnectionInfo) -> Session {
        Session {
            ctx,
            tls: conn.tls,
            conn,
            user: None,
            selected: None,
            pending: None,
            rev2: false,
            utf8: false,
            condstore: false,
            qresync: false,
            client_quirks: QuirkSet::EMPTY,
            closing: false,
            login: None,
            bad_streak: 0,
            farewell: None,
        }
    }

    /// The state the session is in.
    pub fn state(&self) -> StateKind {
        match (&self.user, &self.selected) {
            _ if self.closing => StateKind::Logout,
            (None, _) => StateKind::NotAuthenticated,
            (Some(_), None) => StateKind::Authenticated,
            (Some(_), Some(_)) => StateKind::Selected,
        }
    }

    /// The client quirks in force: those the client's ID matched and those of the logged-in
    /// account (`quirks.rs`; none unless configured).
    pub fn quirks(&self) -> QuirkSet {
        let account = self
            .account_name()
            .map(|name| self.ctx.config.quirks.for_account(name))
            .unwrap_or_default();
        self.client_quirks.union(account)
    }

    /// The logged-in account's name, for logs.
    pub fn account_name(&self) -> Option<&str> {
        self.user.as_ref().map(|user| user.name.as_str())
    }

    pub(crate) fn charset(&self) -> Charset {
        Charset { utf8: self.utf8 }
    }

    pub(crate) fn capability_list(&self) -> Vec<String> {
        let config = &self.ctx.config;
        capabilities(
            self.user.is_some(),
            self.tls,
            config.allow_plaintext_auth || self.conn.plaintext_auth_allowed,
            config.append_limit,
        )
    }

    /// Writes the greeting.
    pub fn greeting(&self, out: &mut Output<'_>) {
        let text = format!("{} ready", self.ctx.config.server_name);
        out.status(&StatusResponse::untagged(
            Status::Ok,
            Some(Code::Capability(self.capability_list())),
            text,
        ));
    }

    /// Writes a BYE for server shutdown.
    pub fn shutdown(&mut self, out: &mut Output<'_>) {
        out.status(&StatusResponse::untagged(
            Status::Bye,
            Some(Code::Unavailable),
            "Server shutting down",
        ));
        self.closing = true;
    }

    /// The TLS handshake after STARTTLS succeeded.
    pub fn tls_established(&mut self) {
        self.tls = true;
    }

    /// The watch of the selected mailbox, for IDLE.
    pub fn change_watch(&mut self) -> Option<&mut ChangeWatch> {
        self.selected.as_mut().map(|view| &mut view.watch)
    }

    /// Handles a command the framer refused before it was complete.
    pub fn handle_rejection(&mut self, rejection: &Rejection, out: &mut Output<'_>) -> Next {
        let (status, code, text) = match rejection.reason {
            RejectReason::CommandTooLong => (Status::Bad, None, "Command line too long".to_owned()),
            RejectReason::LiteralTooBig {
                size,
                synchronizing,
            } => {
                let status = if synchronizing {
                    Status::No
                } else {
                    Status::Bad
                };
                (
                    status,
                    Some(Code::TooBig),
                    format!("Literal of {size} octets is too big"),
                )
            }
        };
        let response = match &rejection.tag {
            Some(tag) => StatusResponse::tagged(tag, status, code, text),
            None => StatusResponse::untagged(Status::Bad, code, text),
        };
        out.status(&response);
        if status == Status::Bad || rejection.tag.is_none() {
            self.bad_streak = self.bad_streak.saturating_add(1);
        } else {
            self.bad_streak = 0;
        }
        if rejection.fatal {
            out.status(&StatusResponse::untagged(
                Status::Bye,
                None,
                "Too much data, closing connection",
            ));
            self.closing = true;
            return Next::Close;
        }
        self.next_after(out)
    }

    /// Decodes and runs one framed command.
    pub async fn handle_frame(&mut self, frame: Bytes, out: &mut Output<'_>) -> io::Result<Next> {
        let command = match parse_command(frame) {
            Ok(command) => command,
            Err(error) => {
                let response = match &error.tag {
                    Some(tag) => {
                        StatusResponse::tagged(tag.as_str(), Status::Bad, None, error.message)
                    }
                    None => StatusResponse::untagged(Status::Bad, None, error.message),
                };
                out.status(&response);
                self.bad_streak = self.bad_streak.saturating_add(1);
                return Ok(self.next_after(out));
            }
        };
        tracing::debug!(
            tag = command.tag.as_str(),
            command = command.body.name(),
            "command"
        );
        self.dispatch(command, out).await
    }

    /// Handles a line answering a continuation (AUTHENTICATE) or ending IDLE.
    pub async fn handle_line(&mut self, line: Bytes, out: &mut Output<'_>) -> io::Result<Next> {
        match self.pending.take() {
            Some(Pending::Authenticate(tag)) => {
                let result = self.authenticate_response(&line).await;
                self.complete(&tag, result, out);
                Ok(self.next_after(out))
            }
            Some(Pending::Idle(tag)) => {
                let result = if line.eq_ignore_ascii_case(b"DONE") {
                    Ok(Done::new("IDLE terminated"))
                } else {
                    Err(Refusal::bad("Expected DONE"))
                };
                self.sync_or_close(out, true, &[]).await;
                self.complete(&tag, result, out);
                Ok(self.next_after(out))
            }
            None => Ok(Next::Command),
        }
    }

    /// During IDLE: the mailbox changed; push the news.
    pub async fn idle_wakeup(&mut self, out: &mut Output<'_>) -> io::Result<()> {
        self.sync_or_close(out, true, &[]).await;
        Ok(())
    }

    async fn dispatch(&mut self, command: Command, out: &mut Output<'_>) -> io::Result<Next> {
        let Command { tag, body } = command;
        if let Err(text) = state::check(self.state(), state::requirement(&body)) {
            self.complete(&tag, Err(Refusal::bad(text)), out);
            return Ok(self.next_after(out));
        }
        if !self.qresync && uses_qresync(&body) {
            // RFC 7162 3.2.3: "A server MUST respond with a tagged BAD response if the
            // QRESYNC parameter to the SELECT/EXAMINE command or the VANISHED UID FETCH
            // modifier is specified and the client hasn't issued "ENABLE QRESYNC"".
            let refusal = Refusal::bad("QRESYNC is not enabled: ENABLE QRESYNC first");
            self.complete(&tag, Err(refusal), out);
            return Ok(self.next_after(out));
        }
        // RFC 7162 3.1: "Once a client issues a CONDSTORE enabling command, it has announced
        // itself as a "CONDSTORE-aware client". The server MUST then include mod-sequence
        // data in all subsequent untagged FETCH responses (until the connection is closed)".
        self.condstore |= enables_condstore(&body);
        let forbids_expunge = matches!(
            body,
            CommandBody::Fetch { uid: false, .. }
                | CommandBody::Store { uid: false, .. }
                | CommandBody::Search { uid: false, .. }
        );
        let reselects = matches!(body, CommandBody::Select { .. });
        let result = match body {
            CommandBody::Capability => self.handle_capability(out),
            CommandBody::Noop | CommandBody::Check => Ok(Done::new("completed")),
            CommandBody::Logout => {
                out.status(&StatusResponse::untagged(Status::Bye, None, "Logging out"));
                self.closing = true;
                // The account's place under max_connections_per_user_ip is free before
                // the client sees the OK.
                self.login = None;
                self.complete(&tag, Ok(Done::new("LOGOUT completed")), out);
                return Ok(Next::Close);
            }
            CommandBody::Id(parameters) => self.handle_id(parameters.as_deref(), out),
            CommandBody::StartTls => {
                let result = self.handle_starttls();
                if result.is_ok() {
                    self.complete(&tag, result, out);
                    return Ok(Next::StartTls);
                }
                self.complete(&tag, result, out);
                return Ok(self.next_after(out));
            }
            CommandBody::Login { username, password } => {
                self.handle_login(&username, &password).await
            }
            CommandBody::Authenticate {
                mechanism,
                initial_response,
            } => {
                match self
                    .handle_authenticate(&tag, &mechanism, initial_response.as_deref(), out)
                    .await
                {
                    Ok(None) => return Ok(Next::Line),
                    Ok(Some(done)) => Ok(done),
                    Err(refusal) => Err(refusal),
                }
            }
            CommandBody::Enable(capabilities) => self.handle_enable(&capabilities, out),
            CommandBody::Namespace => {
                out.data(&Data::Namespace, self.charset());
                Ok(Done::new("NAMESPACE completed"))
            }
            CommandBody::Select {
                read_only,
                mailbox,
                params,
            } => self.handle_select(&mailbox, read_only, &params, out).await,
            CommandBody::Create {
                mailbox,
                special_use,
            } => self.handle_create(&mailbox, &special_use).await,
            CommandBody::Delete(mailbox) => self.handle_delete(&mailbox).await,
            CommandBody::Rename { from, to } => self.handle_rename(&from, &to).await,
            CommandBody::Subscribe(mailbox) => self.handle_subscribe(&mailbox, true).await,
            CommandBody::Unsubscribe(mailbox) => self.handle_subscribe(&mailbox, false).await,
            CommandBody::List(list) => self.handle_list(&list, out).await,
            CommandBody::Lsub { reference, pattern } => {
                self.handle_lsub(&reference, &pattern, out).await
            }
            CommandBody::Status { mailbox, items } => {
                self.handle_status(&mailbox, &items, out).await
            }
            CommandBody::Append { mailbox, messages } => {
                self.handle_append(&mailbox, messages).await
            }
            CommandBody::Close => self.handle_close().await,
            CommandBody::Unselect => {
                self.selected = None;
                Ok(Done::new("UNSELECT completed"))
            }
            CommandBody::Expunge => self.handle_expunge(None, out).await,
            CommandBody::UidExpunge(set) => self.handle_expunge(Some(&set), out).await,
            CommandBody::Fetch {
                uid,
                set,
                items,
                changed_since,
                vanished,
            } => {
                let modifiers = FetchModifiers {
                    changed_since,
                    vanished,
                };
                self.handle_fetch(uid, &set, &items, modifiers, out).await
            }
            CommandBody::Store {
                uid,
                set,
                operation,
                silent,
                flags,
                unchanged_since,
            } => {
                self.handle_store(uid, &set, operation, silent, &flags, unchanged_since, out)
                    .await
            }
            CommandBody::Copy { uid, set, mailbox } => {
                self.handle_copy(uid, &set, &mailbox, out).await
            }
            CommandBody::Move { uid, set, mailbox } => {
                self.handle_move(uid, &set, &mailbox, out).await
            }
            CommandBody::Search {
                uid,
                return_options,
                charset,
                criteria,
            } => {
                self.handle_search(
                    &tag,
                    uid,
                    return_options.as_deref(),
                    charset.as_deref(),
                    &criteria,
                    out,
                )
                .await
            }
            CommandBody::Idle => {
                self.sync_or_close(out, true, &[]).await;
                if self.closing {
                    return Ok(Next::Close);
                }
                out.continuation("idling");
                self.pending = Some(Pending::Idle(tag));
                return Ok(Next::Idle);
            }
        };
        if !reselects || result.is_err() {
            self.sync_or_close(out, !forbids_expunge, &[]).await;
        }
        self.complete(&tag, result, out);
        Ok(self.next_after(out))
    }

    /// After a completion: the farewell of a closing session, or the BYE for too many BAD
    /// answers in a row; then what to read next.
    fn next_after(&mut self, out: &mut Output<'_>) -> Next {
        if let Some((code, text)) = self.farewell.take() {
            out.status(&StatusResponse::untagged(Status::Bye, Some(code), text));
            self.closing = true;
        } else if !self.closing && self.bad_streak >= self.ctx.config.max_bad_commands {
            let peer = self.conn.peer;
            tracing::info!(target: "audit", event = "limit", limit = "max_bad_commands", value = self.ctx.config.max_bad_commands, ip = %peer.ip(), port = peer.port(), user = self.account_name().unwrap_or(""), "too many invalid commands");
            out.status(&StatusResponse::untagged(
                Status::Bye,
                None,
                "Too many invalid commands",
            ));
            self.closing = true;
        }
        if self.closing {
            Next::Close
        } else {
            Next::Command
        }
    }

    /// Writes the tagged completion.
    pub(crate) fn complete(
        &mut self,
        tag: &Tag,
        result: CommandResult<Done>,
        out: &mut Output<'_>,
    ) {
        if matches!(result, Err(Refusal::Bad(_))) {
            self.bad_streak = self.bad_streak.saturating_add(1);
        } else {
            self.bad_streak = 0;
        }
        let response = match result {
            Ok(done) => StatusResponse::tagged(tag.as_str(), Status::Ok, done.code, done.text),
            Err(Refusal::No(code, text)) => {
                StatusResponse::tagged(tag.as_str(), Status::No, code, text)
            }
            Err(Refusal::Bad(text)) => {
                StatusResponse::tagged(tag.as_str(), Status::Bad, None, text)
            }
        };
        out.status(&response);
    }

    /// Resyncs the selected mailbox; when it has been deleted, says BYE and ends the session.
    pub(crate) async fn sync_or_close(
        &mut self,
        out: &mut Output<'_>,
        allow_expunge: bool,
        quiet: &[Uid],
    ) {
        match self.sync(out, allow_expunge, quiet).await {
            Ok(()) => {}
            Err(StoreError::MailboxGone | StoreError::MailboxNotFound(_)) => {
                out.status(&StatusResponse::untagged(
                    Status::Bye,
                    None,
                    "Selected mailbox was deleted",
                ));
                self.selected = None;
                self.closing = true;
            }
            Err(error) => {
                // The view stays as it was; the next command retries.
                let _ = Refusal::from(error);
            }
        }
    }

    /// Folds the store's changes into the view and reports them (RFC 9051 7.5.1 rules via
    /// `allow_expunge`).
    async fn sync(
        &mut self,
        out: &mut Output<'_>,
        allow_expunge: bool,
        quiet: &[Uid],
    ) -> Result<(), StoreError> {
        let charset = self.charset();
        let claims_recent = !self.rev2;
        let (condstore, qresync) = (self.condstore, self.qresync);
        let store = Arc::clone(&self.ctx.store);
        let Some(view) = self.selected.as_mut() else {
            return Ok(());
        };
        let changed = view.watch.has_changed().unwrap_or(true);
        if !(changed || allow_expunge && view.has_pending_expunges()) {
            return Ok(());
        }
        view.watch.borrow_and_update();
        let since = view.known_modseq();
        let mut changes = store.changes_since(view.id, since).await?;
        if !changes.is_complete_after(since) {
            // The expunge log was pruned past what this view knows (a session left alone
            // for longer than the retention period): find the expunges by comparing UIDs.
            // UIDs are never reused, so a view UID the store no longer has is expunged.
            let now = store.snapshot(view.id).await?;
            let gone = view
                .messages()
                .map(|(_, m)| m.uid)
                .filter(|uid| now.messages.index_of(*uid).is_none());
            changes.expunged.extend(gone);
            changes.expunged.sort_unstable();
            changes.expunged.dedup();
        }
        let events = view.apply(changes, allow_expunge, quiet);
        if events.new_messages
            && claims_recent
            && !view.read_only
            && let Some(range) = store.claim_recent(view.id).await?
        {
            view.add_recent(range);
        }
        if qresync {
            // RFC 7162 3.2.10.2: "the server MUST use the VANISHED response without the
            // EARLIER tag instead of the EXPUNGE response for all mailboxes that don't
            // return NOMODSEQ when selected."
            if !events.expunged_uids.is_empty() {
                let uids = UidRanges::from_ascending(events.expunged_uids.iter().map(|u| u.get()));
                out.data(
                    &Data::Vanished {
                        earlier: false,
                        uids: &uids.to_set_string(),
                    },
                    charset,
                );
            }
        } else {
            for seq in &events.expunged {
                out.data(&Data::Expunge(*seq), charset);
            }
        }
        if events.exists_grew {
            out.data(&Data::Exists(view.exists()), charset);
            if claims_recent {
                out.data(&Data::Recent(view.recent_count()), charset);
            }
        }
        if events.keywords_changed {
            write_flags(out, view, charset);
        }
        for uid in &events.flag_changes {
            if let Some((seq, message)) = view.numbered(*uid) {
                let mut response = out.fetch(seq, charset);
                response.attr(&FetchAttr::Uid(uid.get()));
                response.flags(flag_names(view, message, !self.rev2));
                if condstore {
                    response.attr(&FetchAttr::ModSeq(message.modseq.get()));
                }
                response.finish();
            }
        }
        Ok(())
    }
}

/// The modifiers of FETCH (RFC 7162 3.1.4.1, 3.2.6).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FetchModifiers {
    /// `CHANGEDSINCE n`
    pub(crate) changed_since: Option<u64>,
    /// `VANISHED` (UID FETCH with CHANGEDSINCE only; the parser refuses other uses)
    pub(crate) vanished: bool,
}

/// Whether a command uses what only `ENABLE QRESYNC` allows (RFC 7162 3.2.3).
fn uses_qresync(body: &CommandBody) -> bool {
    match body {
        CommandBody::Select { params, .. } => params.qresync.is_some(),
        CommandBody::Fetch { vanished, .. } => *vanished,
        _ => false,
    }
}

/// RFC 7162 3.1's "CONDSTORE enabling commands": "o  SELECT or EXAMINE command with the
/// CONDSTORE parameter, o  STATUS (HIGHESTMODSEQ) command, o  FETCH or SEARCH command that
/// includes the MODSEQ message data item, o  FETCH command with the CHANGEDSINCE modifier,
/// o  STORE command with the UNCHANGEDSINCE modifier" (ENABLE is handled by `handle_enable`;
/// the QRESYNC parameter needs ENABLE QRESYNC, which already enabled CONDSTORE).
fn enables_condstore(body: &CommandBody) -> bool {
    match body {
        CommandBody::Select { params, .. } => params.condstore || params.qresync.is_some(),
        CommandBody::Status { items, .. } => items.contains(&StatusItem::HighestModSeq),
        CommandBody::Fetch {
            items,
            changed_since,
            ..
        } => changed_since.is_some() || items.contains(&FetchItem::ModSeq),
        CommandBody::Search { criteria, .. } => searches_modseq(criteria),
        CommandBody::Store {
            unchanged_since, ..
        } => unchanged_since.is_some(),
        _ => false,
    }
}

/// Whether a search key uses MODSEQ anywhere.
pub(crate) fn searches_modseq(key: &SearchKey) -> bool {
    match key {
        SearchKey::ModSeq(_) => true,
        SearchKey::And(keys) => keys.iter().any(searches_modseq),
        SearchKey::Not(key) => searches_modseq(key),
        SearchKey::Or(a, b) => searches_modseq(a) || searches_modseq(b),
        _ => false,
    }
}

/// The FLAGS of `message`, with `\Recent` when the session owns it (IMAP4rev1 only), as
/// they come: FETCH writes them straight into its response.
pub(crate) fn flag_names<'a>(
    view: &MailboxView,
    message: ViewMessage<'a>,
    with_recent: bool,
) -> impl Iterator<Item = &'a str> + use<'a> {
    let recent = with_recent && view.is_recent(message.uid);
    message
        .flags
        .system_flags()
        .map(|flag| flag.as_str())
        .chain(message.flags.keywords().iter().map(|k| k.as_str()))
        .chain(recent.then_some("\\Recent"))
}

/// `* FLAGS` and `* OK [PERMANENTFLAGS]` for the view.
pub(crate) fn write_flags(out: &mut Output<'_>, view: &MailboxView, charset: Charset) {
    let mut flags: Vec<String> = portcullis_store::SystemFlag::ALL
        .iter()
        .map(|f| f.as_str().to_owned())
        .collect();
    flags.extend(view.keywords.iter().map(|k| k.as_str().to_owned()));
    out.data(&Data::Flags(&flags), charset);
    let permanent = if view.read_only {
        Vec::new()
    } else {
        let mut permanent = flags.clone();
        permanent.push("\\*".to_owned());
        permanent
    };
    let text = if view.read_only {
        "No permanent flags permitted"
    } else {
        "Flags permitted"
    };
    out.status(&StatusResponse::untagged(
        Status::Ok,
        Some(Code::PermanentFlags(permanent)),
        text,
    ));
}
