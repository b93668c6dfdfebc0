//! EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (RFC 4315 2.1). The EXPUNGE responses come from
//! the resync that follows every command, so other sessions' expunges are reported in the
//! same pass and in one numbering.

use portcullis_proto::SequenceSet;
use portcullis_store::Uid;

use crate::error::{CommandResult, Refusal};
use crate::output::Output;
use crate::session::{Done, Session};

impl Session {
    /// EXPUNGE / UID EXPUNGE.
    pub(crate) async fn handle_expunge(
        &mut self,
        set: Option<&SequenceSet>,
        _out: &mut Output<'_>,
    ) -> CommandResult<Done> {
        let view = self
            .selected
            .as_ref()
            .ok_or_else(|| Refusal::bad("No mailbox selected"))?;
        if view.read_only {
            return Err(Refusal::No(None, "Mailbox is read-only".into()));
        }
        let uids: Option<Vec<Uid>> = match set {
            Some(set) => Some(
                view.resolve(set, true)?
                    .into_iter()
                    .map(|(_, m)| m.uid)
                    .collect(),
            ),
            None => None,
        };
        self.ctx.store.expunge(view.id, uids.as_deref()).await?;
        Ok(Done::new("EXPUNGE completed"))
    }
}
