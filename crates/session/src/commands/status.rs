//! STATUS (RFC 9051 6.3.11) with SIZE (RFC 8438), HIGHESTMODSEQ (RFC 7162) and APPENDLIMIT
//! (RFC 7889); also the STATUS lines of LIST-STATUS (RFC 5819).

use portcullis_proto::command::{MailboxArg, StatusItem};
use portcullis_proto::encode::Data;
use portcullis_store::MailboxName;

use crate::error::CommandResult;
use crate::output::Output;
use crate::session::{Done, Session};

impl Session {
    /// STATUS.
    pub(crate) async fn handle_status(
        &mut self,
        arg: &MailboxArg,
        items: &[StatusItem],
        out: &mut Output<'_>,
    ) -> CommandResult<Done> {
        let name = self.mailbox_name(arg)?;
        self.write_status(&name, items, out).await?;
        Ok(Done::new("STATUS completed"))
    }

    /// Writes `* STATUS name (...)`.
    pub(crate) async fn write_status(
        &self,
        name: &MailboxName,
        items: &[StatusItem],
        out: &mut Output<'_>,
    ) -> CommandResult<()> {
        let store = &self.ctx.store;
        let mailbox = store.mailbox(self.account_id()?, name).await?;
        let status = store.status(mailbox.id).await?;
        let values: Vec<(StatusItem, u64)> = items
            .iter()
            .map(|item| {
                let value = match item {
                    StatusItem::Messages => u64::from(status.messages),
                    StatusItem::Recent => u64::from(status.recent),
                    StatusItem::UidNext => u64::from(status.uid_next.get()),
                    StatusItem::UidValidity => u64::from(status.uid_validity.get()),
                    StatusItem::Unseen => u64::from(status.unseen),
                    StatusItem::Deleted => u64::from(status.deleted),
                    StatusItem::Size => status.size,
                    StatusItem::HighestModSeq => status.highest_modseq.get(),
                    StatusItem::AppendLimit => self.ctx.config.append_limit,
                };
                (*item, value)
            })
            .collect();
        out.data(
            &Data::Status {
                mailbox: mailbox.name.as_str(),
                items: &values,
            },
            self.charset(),
        );
        Ok(())
    }
}
