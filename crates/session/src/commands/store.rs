//! STORE and UID STORE (RFC 9051 6.4.6, 6.4.9), with UNCHANGEDSINCE (RFC 7162 3.1.3).
//!
//! Responses: FETCH FLAGS for every message of the set unless `.SILENT`, with UID and MODSEQ
//! once CONDSTORE is enabled; with UNCHANGEDSINCE a FETCH (UID MODSEQ) even for `.SILENT`;
//! `OK [MODIFIED set]` for messages left alone by UNCHANGEDSINCE; `NO` on a read-only
//! mailbox; BAD for unknown system flags.

use portcullis_proto::SequenceSet;
use portcullis_proto::command::{FlagArg, StoreOperation};
use portcullis_proto::encode::{Code, FetchAttr, sequence_set};
use portcullis_store::{FlagOperation, MessageFlags, ModSeq, Uid};

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
        // RFC 7162 3.1.3: "Use of UNCHANGEDSINCE with a modification sequence of 0 always
        // fails if the metadata item exists. A system flag MUST always be considered
        // existent, whether it was set or not." Every message has a MODSEQ above 1 (1 is the
        // new mailbox's), so "unchanged since 1" fails for all of them.
        let conditional = unchanged_since.is_some();
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
            let expected: Vec<MessageFlags> = uids
                .iter()
                .filter(|uid| !update.modified.contains(uid))
                .filter_map(|uid| {
                    let mut message = view.message_by_uid(*uid)?.to_flags();
                    message.flags.apply(operation, &flags);
                    // Its MODSEQ now when the store changed it, else as it was.
                    if let Ok(at) = update.changed.binary_search_by_key(uid, |m| m.uid) {
                        message.modseq = update.changed[at].modseq;
                    }
                    Some(message)
                })
                .collect();
            view.set_flags(&expected);
        } else {
            view.set_flags(&update.changed);
        }
        // Without .SILENT the FETCH responses below carry the flags; with it, nothing is quiet.
        // Messages that failed UNCHANGEDSINCE get no FETCH below, so the resync reports what
        // changed them (RFC 7162 3.1.3 lets the server include such an unsolicited FETCH).
        let quiet: Vec<Uid> = if silent {
            Vec::new()
        } else {
            uids.iter()
                .filter(|uid| !update.modified.contains(uid))
                .copied()
                .collect()
        };
        self.sync_or_close(out, by_uid, &quiet).await;
        let Some(view) = self.selected.as_ref() else {
            return Ok(Done::new("STORE completed"));
        };
        // RFC 7162 3.1.3: "If the operation is successful, the server MUST update the
        // mod-sequence attribute of the message. An untagged FETCH response MUST be sent,
        // even if the .SILENT suffix is specified, and the response MUST include the MODSEQ
        // message data item." Every message that passed the test gets one, with its MODSEQ
        // now (unchanged when its flags already were as asked, RFC 7162 3.1.11).
        if !silent || conditional {
            for uid in &uids {
                if update.modified.contains(uid) {
                    continue;
                }
                let Some((seq, message)) = view.numbered(*uid) else {
                    continue;
                };
                let mut response = out.fetch(seq, self.charset());
                if by_uid || self.condstore {
                    response.attr(&FetchAttr::Uid(uid.get()));
                }
                if !silent {
                    response.flags(flag_names(view, message, !self.rev2));
                }
                if self.condstore {
                    response.attr(&FetchAttr::ModSeq(message.modseq.get()));
                }
                response.finish();
            }
        }
        if !update.modified.is_empty() {
            // RFC 7162 3.1.3: "If this list is non-empty, the server MUST return in the tagged
            // response a MODIFIED response code. The MODIFIED response code includes the
            // message set (for STORE) or set of UIDs (for UID STORE) of all messages that
            // failed the UNCHANGEDSINCE test."
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
