//! APPEND (RFC 9051 6.3.12) with MULTIAPPEND (RFC 3502: all messages or none), APPENDUID
//! (RFC 4315) and APPENDLIMIT (RFC 7889).
//!
//! Responses: `OK [APPENDUID v uids]`, `NO [TRYCREATE]` for a missing mailbox, `NO [TOOBIG]`
//! above the limit, `BAD` for invalid flags or dates.

use portcullis_proto::command::{AppendMessage, MailboxArg};
use portcullis_proto::encode::{Code, sequence_set};
use portcullis_store::{InternalDate, NewMessage};

use crate::commands::flag_set;
use crate::error::{CommandResult, Refusal, target_refusal};
use crate::session::{Done, Session};

impl Session {
    /// APPEND. The OK is sent only once the store reports the messages durable.
    pub(crate) async fn handle_append(
        &mut self,
        arg: &MailboxArg,
        messages: Vec<AppendMessage>,
    ) -> CommandResult<Done> {
        let name = self.mailbox_name(arg)?;
        let limit = self.ctx.config.append_limit;
        let mut prepared = Vec::with_capacity(messages.len());
        for message in messages {
            if message.utf8 && !self.utf8 {
                // RFC 6855 4: the UTF8 data item is only for clients that enabled UTF8=ACCEPT.
                return Err(Refusal::bad("APPEND UTF8 requires ENABLE UTF8=ACCEPT"));
            }
            let size = u64::try_from(message.data.len()).unwrap_or(u64::MAX);
            if size > limit {
                return Err(Refusal::no(
                    Code::TooBig,
                    format!("Message exceeds the APPENDLIMIT of {limit} octets"),
                ));
            }
            if message.data.is_empty() {
                return Err(Refusal::No(None, "Cannot store an empty message".into()));
            }
            let flags = flag_set(&message.flags)?;
            let date = message
                .date
                .map_or_else(InternalDate::now, |d| InternalDate {
                    unix_seconds: d.unix_seconds,
                    offset_minutes: d.offset_minutes,
                });
            prepared.push((message.data, flags, date));
        }
        let store = &self.ctx.store;
        let mailbox = store
            .mailbox(self.account_id()?, &name)
            .await
            .map_err(target_refusal)?;
        // Parsing is CPU work proportional to the message size: keep it off the async threads.
        let parsed = tokio::task::spawn_blocking(move || {
            prepared
                .into_iter()
                .map(|(data, flags, date)| NewMessage::parse(data, flags, date))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|_| Refusal::no(Code::ServerBug, "Message parsing failed"))?;
        let outcome = store
            .append(mailbox.id, parsed)
            .await
            .map_err(target_refusal)?;
        let uids: Vec<u32> = outcome.uids.iter().map(|u| u.get()).collect();
        Ok(Done::with_code(
            Code::AppendUid(outcome.uid_validity.get(), sequence_set(&uids)),
            "APPEND completed",
        ))
    }
}
