//! EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (RFC 4315 2.1), with their QRESYNC form (RFC
//! 7162 3.2.7, 3.2.9). The EXPUNGE (or, once QRESYNC is enabled, VANISHED) responses come
//! from the resync that follows every command, so other sessions' expunges are reported in
//! the same pass and in one numbering.
//!
//! Responses: EXPUNGE or VANISHED; `OK [HIGHESTMODSEQ n]` under QRESYNC when something was
//! expunged; `NO` on a read-only mailbox.

use portcullis_proto::SequenceSet;
use portcullis_proto::encode::Code;
use portcullis_store::Uid;

use crate::error::{CommandResult, Refusal};
use crate::output::Output;
use crate::session::{Done, Session};

impl Session {
    /// EXPUNGE / UID EXPUNGE.
    pub(crate) async fn handle_expunge(
        &mut self,
        set: Option<&SequenceSet>,
        out: &mut Output<'_>,
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
        let removed = self.ctx.store.expunge(view.id, uids.as_deref()).await?;
        if self.qresync && !removed.is_empty() {
            // RFC 7162 3.2.7 (and 3.2.9 for UID EXPUNGE): "If at least one message got
            // expunged and QRESYNC was enabled, the server MUST send the updated per-mailbox
            // modification sequence using the HIGHESTMODSEQ response code (see Section
            // 3.1.2.1) in the tagged OK response." The resync runs first, so the value
            // covers every VANISHED sent before it.
            self.sync_or_close(out, true, &[]).await;
            if let Some(view) = self.selected.as_ref() {
                return Ok(Done::with_code(
                    Code::HighestModSeq(view.known_modseq().get()),
                    "EXPUNGE completed",
                ));
            }
        }
        Ok(Done::new("EXPUNGE completed"))
    }
}
