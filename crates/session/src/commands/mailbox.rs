//! Mailbox management (RFC 9051 6.3.4–6.3.8): CREATE (with RFC 6154 USE), DELETE, RENAME,
//! SUBSCRIBE, UNSUBSCRIBE.
//!
//! Responses: `NO [ALREADYEXISTS]`, `NO [NONEXISTENT]`, `NO [HASCHILDREN]`, `NO [CANNOT]`
//! (INBOX, invalid names), `NO [USEATTR]` (RFC 6154 5.1) for special-use attributes we cannot
//! set.

use portcullis_proto::command::MailboxArg;
use portcullis_proto::encode::Code;
use portcullis_store::{AccountId, SpecialUse};

use crate::error::{CommandResult, Refusal};
use crate::session::{Done, Session};

impl Session {
    pub(crate) fn account_id(&self) -> CommandResult<AccountId> {
        self.user
            .as_ref()
            .map(|u| u.id)
            .ok_or_else(|| Refusal::bad("Not authenticated"))
    }

    /// CREATE (RFC 9051 6.3.4; RFC 6154 5.2 CREATE-SPECIAL-USE).
    pub(crate) async fn handle_create(
        &mut self,
        arg: &MailboxArg,
        special_use: &[String],
    ) -> CommandResult<Done> {
        let name = self.mailbox_name(arg)?;
        if name.is_inbox() {
            return Err(Refusal::no(Code::AlreadyExists, "INBOX always exists"));
        }
        let special_use = match special_use {
            [] => None,
            [one] => Some(SpecialUse::from_name(one).ok_or_else(|| {
                Refusal::no(
                    Code::UseAttr,
                    format!("Unknown special-use attribute {one}"),
                )
            })?),
            _ => {
                return Err(Refusal::no(
                    Code::UseAttr,
                    "Only one special-use attribute per mailbox",
                ));
            }
        };
        self.ctx
            .store
            .create_mailbox(self.account_id()?, &name, special_use)
            .await?;
        Ok(Done::new("CREATE completed"))
    }

    /// DELETE (RFC 9051 6.3.5).
    pub(crate) async fn handle_delete(&mut self, arg: &MailboxArg) -> CommandResult<Done> {
        let name = self.mailbox_name(arg)?;
        if name.is_inbox() {
            return Err(Refusal::no(Code::Cannot, "INBOX cannot be deleted"));
        }
        self.ctx
            .store
            .delete_mailbox(self.account_id()?, &name)
            .await?;
        Ok(Done::new("DELETE completed"))
    }

    /// RENAME (RFC 9051 6.3.6), including INBOX's special semantics.
    pub(crate) async fn handle_rename(
        &mut self,
        from: &MailboxArg,
        to: &MailboxArg,
    ) -> CommandResult<Done> {
        let from = self.mailbox_name(from)?;
        let to = self.mailbox_name(to)?;
        if to.is_inbox() {
            return Err(Refusal::no(Code::AlreadyExists, "INBOX always exists"));
        }
        // RFC 9051 6.3.6: renaming INBOX "moves all messages in INBOX to a new mailbox with
        // the given name ... inferior hierarchical names of INBOX ... are unaffected", so
        // INBOX may be renamed below itself; any other mailbox would move into itself.
        if to == from || (!from.is_inbox() && to.is_descendant_of(&from)) {
            return Err(Refusal::no(
                Code::Cannot,
                "Cannot rename a mailbox into itself",
            ));
        }
        self.ctx
            .store
            .rename_mailbox(self.account_id()?, &from, &to)
            .await?;
        Ok(Done::new("RENAME completed"))
    }

    /// SUBSCRIBE / UNSUBSCRIBE (RFC 9051 6.3.7, 6.3.8).
    pub(crate) async fn handle_subscribe(
        &mut self,
        arg: &MailboxArg,
        subscribe: bool,
    ) -> CommandResult<Done> {
        let name = self.mailbox_name(arg)?;
        self.ctx
            .store
            .set_subscribed(self.account_id()?, &name, subscribe)
            .await?;
        Ok(Done::new(if subscribe {
            "SUBSCRIBE completed"
        } else {
            "UNSUBSCRIBE completed"
        }))
    }
}
