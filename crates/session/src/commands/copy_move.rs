//! COPY, MOVE and their UID forms (RFC 9051 6.4.7, 6.4.8; RFC 6851; COPYUID from RFC 4315).
//!
//! Responses: `OK [COPYUID v source target]` (for MOVE as an untagged OK before the
//! EXPUNGEs, RFC 6851 4.3); `NO [TRYCREATE]` for a missing target.

use portcullis_proto::SequenceSet;
use portcullis_proto::command::MailboxArg;
use portcullis_proto::encode::{Code, Status, StatusResponse, sequence_set};
use portcullis_store::{CopyOutcome, Uid};

use crate::error::{CommandResult, Refusal, target_refusal};
use crate::output::Output;
use crate::session::{Done, Session};

fn copy_uid(outcome: &CopyOutcome) -> Code {
    let source: Vec<u32> = outcome.source.iter().map(|u| u.get()).collect();
    let target: Vec<u32> = outcome.target.iter().map(|u| u.get()).collect();
    Code::CopyUid(
        outcome.uid_validity.get(),
        sequence_set(&source),
        sequence_set(&target),
    )
}

impl Session {
    /// The live UIDs a set names, and the target mailbox.
    async fn copy_targets(
        &self,
        by_uid: bool,
        set: &SequenceSet,
        arg: &MailboxArg,
    ) -> CommandResult<(Vec<Uid>, portcullis_store::MailboxId)> {
        let name = self.mailbox_name(arg)?;
        let view = self
            .selected
            .as_ref()
            .ok_or_else(|| Refusal::bad("No mailbox selected"))?;
        let uids: Vec<Uid> = view
            .resolve(set, by_uid)?
            .into_iter()
            .filter(|(_, m)| !m.expunged)
            .map(|(_, m)| m.uid)
            .collect();
        let target = self
            .ctx
            .store
            .mailbox(self.account_id()?, &name)
            .await
            .map_err(target_refusal)?;
        Ok((uids, target.id))
    }

    /// COPY / UID COPY.
    pub(crate) async fn handle_copy(
        &mut self,
        by_uid: bool,
        set: &SequenceSet,
        arg: &MailboxArg,
        _out: &mut Output<'_>,
    ) -> CommandResult<Done> {
        let (uids, target) = self.copy_targets(by_uid, set, arg).await?;
        let source = self
            .selected
            .as_ref()
            .map(|v| v.id)
            .ok_or_else(|| Refusal::bad("No mailbox selected"))?;
        if uids.is_empty() {
            return Ok(Done::new("No messages copied"));
        }
        let outcome = self
            .ctx
            .store
            .copy(source, &uids, target)
            .await
            .map_err(target_refusal)?;
        Ok(Done::with_code(copy_uid(&outcome), "COPY completed"))
    }

    /// MOVE / UID MOVE. The EXPUNGEs are written by the resync after this returns.
    pub(crate) async fn handle_move(
        &mut self,
        by_uid: bool,
        set: &SequenceSet,
        arg: &MailboxArg,
        out: &mut Output<'_>,
    ) -> CommandResult<Done> {
        let (uids, target) = self.copy_targets(by_uid, set, arg).await?;
        let view = self
            .selected
            .as_ref()
            .ok_or_else(|| Refusal::bad("No mailbox selected"))?;
        if view.read_only {
            return Err(Refusal::No(None, "Mailbox is read-only".into()));
        }
        if uids.is_empty() {
            return Ok(Done::new("No messages moved"));
        }
        let outcome = self
            .ctx
            .store
            .move_messages(view.id, &uids, target)
            .await
            .map_err(target_refusal)?;
        out.status(&StatusResponse::untagged(
            Status::Ok,
            Some(copy_uid(&outcome)),
            "Moved",
        ));
        Ok(Done::new("MOVE completed"))
    }
}
