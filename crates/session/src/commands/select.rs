//! SELECT, EXAMINE (RFC 9051 6.3.2, 6.3.3) with the CONDSTORE and QRESYNC parameters (RFC
//! 7162 3.1.8, 3.2.5), and CLOSE (6.4.1, RFC 7162 3.2.8); UNSELECT (RFC 3691) is a one-liner
//! in the dispatcher.
//!
//! Responses: FLAGS, PERMANENTFLAGS, EXISTS, RECENT (IMAP4rev1), UNSEEN (IMAP4rev1),
//! UIDVALIDITY, UIDNEXT, `[HIGHESTMODSEQ]` (once CONDSTORE is enabled), LIST (IMAP4rev2),
//! then for QRESYNC `VANISHED (EARLIER)` and FETCH (`qresync.rs`); `[CLOSED]` when another
//! mailbox was selected, `[READ-WRITE]`/`[READ-ONLY]`; `NO [NONEXISTENT]` for unknown
//! mailboxes; BAD for QRESYNC without `ENABLE QRESYNC` (checked by the dispatcher).

use portcullis_proto::command::{MailboxArg, SelectParams};
use portcullis_proto::encode::{Code, Data, ListItem, Status, StatusResponse};
use portcullis_store::StoreError;

use crate::error::{CommandResult, Refusal};
use crate::output::Output;
use crate::session::{Done, Session, write_flags};

impl Session {
    /// SELECT / EXAMINE.
    pub(crate) async fn handle_select(
        &mut self,
        arg: &MailboxArg,
        read_only: bool,
        params: &SelectParams,
        out: &mut Output<'_>,
    ) -> CommandResult<Done> {
        if self.selected.take().is_some() {
            // RFC 9051 6.3.2: the previous mailbox is closed first, with [CLOSED]. RFC 7162
            // 3.2.11: "A server implementing the extension defined in this document MUST
            // return the CLOSED response code when the currently selected mailbox is closed
            // implicitly using the SELECT/EXAMINE command on another mailbox." Sent whether
            // or not the client enabled anything, and never for CLOSE or UNSELECT.
            out.status(&StatusResponse::untagged(
                Status::Ok,
                Some(Code::Closed),
                "Previous mailbox closed",
            ));
        }
        let name = self.mailbox_name(arg)?;
        let account = self
            .user
            .as_ref()
            .map(|u| u.id)
            .ok_or_else(|| Refusal::bad("Not authenticated"))?;
        let store = &self.ctx.store;
        let info = store.mailbox(account, &name).await?;
        let mut view = self
            .ctx
            .mailboxes
            .open(store.as_ref(), &info, read_only)
            .await?;
        if !self.rev2
            && !read_only
            // Nothing to claim when nothing was unclaimed and nothing arrived since.
            && (info.recent_unclaimed || view.known_modseq() != info.highest_modseq)
            && let Some(range) = store.claim_recent(info.id).await?
        {
            view.add_recent(range);
        }
        let charset = self.charset();
        write_flags(out, &view, charset);
        out.data(&Data::Exists(view.exists()), charset);
        if !self.rev2 {
            out.data(&Data::Recent(view.recent_count()), charset);
            if let Some(seq) = view.first_unseen() {
                out.status(&StatusResponse::untagged(
                    Status::Ok,
                    Some(Code::Unseen(seq)),
                    format!("Message {seq} is first unseen"),
                ));
            }
        }
        out.status(&StatusResponse::untagged(
            Status::Ok,
            Some(Code::UidValidity(view.uid_validity.get())),
            "UIDs valid",
        ));
        out.status(&StatusResponse::untagged(
            Status::Ok,
            Some(Code::UidNext(view.uid_next.get())),
            "Predicted next UID",
        ));
        if self.condstore {
            // RFC 7162 3.1.2: "One of these two response codes MUST be returned in an OK
            // untagged response for any successful SELECT/EXAMINE command issued after a
            // CONDSTORE enabling command." Every mailbox here has MODSEQs: never NOMODSEQ.
            out.status(&StatusResponse::untagged(
                Status::Ok,
                Some(Code::HighestModSeq(view.known_modseq().get())),
                "Highest",
            ));
        }
        if self.rev2 {
            let mut attributes = Vec::new();
            if let Some(special) = info.special_use {
                attributes.push(special.as_str());
            }
            out.data(
                &Data::List(ListItem {
                    attributes,
                    name: info.name.as_str(),
                    child_info_subscribed: false,
                }),
                charset,
            );
        }
        self.selected = Some(view);
        if let Some(qresync) = &params.qresync
            && let Err(refusal) = self.qresync_select(qresync, out).await
        {
            // A failed SELECT leaves no mailbox selected (RFC 9051 6.3.2).
            self.selected = None;
            return Err(refusal);
        }
        let (code, verb) = if read_only {
            (Code::ReadOnly, "EXAMINE")
        } else {
            (Code::ReadWrite, "SELECT")
        };
        Ok(Done::with_code(code, format!("{verb} completed")))
    }

    /// CLOSE: silently expunges `\Deleted` messages (read-write only) and leaves Selected.
    /// The view goes before the expunge, so the resync after the command reports nothing:
    /// RFC 7162 3.2.8 keeps CLOSE silent under QRESYNC too ("No untagged EXPUNGE (or
    /// VANISHED) responses are sent"), and its tagged OK carries no HIGHESTMODSEQ.
    pub(crate) async fn handle_close(&mut self) -> CommandResult<Done> {
        if let Some(view) = self.selected.take()
            && !view.read_only
        {
            // RFC 9051 6.4.1 gives CLOSE no NO result: a mailbox deleted meanwhile has nothing
            // left to expunge, and the session is in the authenticated state either way.
            match self.ctx.store.expunge(view.id, None).await {
                Ok(_) | Err(StoreError::MailboxGone | StoreError::MailboxNotFound(_)) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(Done::new("CLOSE completed"))
    }
}
