//! STORE and UID STORE (RFC 9051 6.4.6, 6.4.9), with UNCHANGEDSINCE (RFC 7162 3.1.3).
//!
//! Responses: FETCH FLAGS for every message of the set unless `.SILENT`; `OK [MODIFIED set]`
//! for messages left alone by UNCHANGEDSINCE; `NO` on a read-only mailbox; BAD for unknown
//! system flags.

use portcullis_proto::SequenceSet;
use portcullis_proto::command::{FlagArg, StoreOperation};
use portcullis_proto::encode::{Code, Data, FetchAttr, sequence_set};
use portcullis_store::{FlagOperation, ModSeq, Uid};

use crate::commands::flag_set;
use crate::error::{CommandResult, Refusal};
use crate::output::Output;
use crate::session::{Done, Session, flag_names};

impl Session {
    /// STORE / UID STORE.
    #[allow(clippy::too_many_arguments)] // the command's own arguments, one each
    pub(crate) async fn handle_store(
        &mut self,
        by_uid: bool,
        set: &SequenceSet,
        operation: StoreOperation,
        silent: bool,
        flags: &[FlagArg],
        unchanged_since: Option<u64>,
        out: &mut Output<'_>,
    ) -> CommandResult<Done> {
        let flags = flag_set(flags)?;
        let view = self
            .selected
            .as_mut()
            .ok_or_else(|| Refusal::bad("No mailbox selected"))?;
        if view.read_only {
            return Err(Refusal::No(None, "Mailbox is read-only".into()));
        }
        let uids: Vec<Uid> = view
            .resolve(set, by_uid)?
            .into_iter()
            .filter(|(_, m)| !m.expunged)
            .map(|(_, m)| m.uid)
            .collect();
        let operation = match operation {
            StoreOperation::Replace => FlagOperation::Replace,
            StoreOperation::Add => FlagOperation::Add,
            StoreOperation::Remove => FlagOperation::Remove,
        };
        // UNCHANGEDSINCE 0 can never hold (RFC 7162 3.1.3): every message is MODIFIED.
        let unchanged_since = match unchanged_since {
            Some(0) => ModSeq::new(1),
            Some(value) => ModSeq::new(value),
            None => None,
        };
        let update = self
            .ctx
            .store
            .store_flags(view.id, &uids, operation, &flags, unchanged_since)
            .await?;
        if silent {
            // "Regardless of whether or not the ".SILENT" suffix was used, the server SHOULD
            // send an untagged FETCH response if a change to a message's flags from an
            // external source is observed." The view takes the flags the client now expects,
            // so the resync reports exactly what other sessions changed.
            for uid in uids.iter().filter(|uid| !update.modified.contains(uid)) {
                if let Some(entry) = view.by_uid_mut(*uid) {
                    entry.flags.apply(operation, &flags);
                }
            }
        }
        for message in update.changed {
            if let Some(entry) = view.by_uid_mut(message.uid) {
                if !silent {
                    entry.flags = message.flags;
                }
                entry.modseq = message.modseq;
            }
        }
        // Without .SILENT the FETCH responses below carry the flags; with it, nothing is quiet.
        let quiet: &[Uid] = if silent { &[] } else { &uids };
        self.sync_or_close(out, by_uid, quiet).await;
        let Some(view) = self.selected.as_ref() else {
            return Ok(Done::new("STORE completed"));
        };
        if !silent {
            for uid in &uids {
                if update.modified.contains(uid) {
                    continue;
                }
                if let Some(seq) = view.seq_of(*uid) {
                    let mut items = vec![FetchAttr::Flags(flag_names(view, seq, !self.rev2))];
                    if by_uid {
                        items.insert(0, FetchAttr::Uid(uid.get()));
                    }
                    out.data(&Data::Fetch { seq, items: &items }, self.charset());
                }
            }
        }
        if !update.modified.is_empty() {
            let numbers: Vec<u32> = if by_uid {
                update.modified.iter().map(|u| u.get()).collect()
            } else {
                update
                    .modified
                    .iter()
                    .filter_map(|u| view.seq_of(*u))
                    .collect()
            };
            return Ok(Done::with_code(
                Code::Modified(sequence_set(&numbers)),
                "Conditional STORE failed for some messages",
            ));
        }
        Ok(Done::new("STORE completed"))
    }
}
