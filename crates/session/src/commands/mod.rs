//! Command handlers, one file per command family, each named after its RFC section. Every
//! handler returns `CommandResult<Done>`; the dispatcher (`session.rs`) writes the tagged
//! completion and resyncs the selected mailbox. Helpers shared by several families live here.

mod any;
mod append;
mod auth;
mod batch;
mod copy_move;
mod expunge;
mod fetch;
mod list;
mod mailbox;
mod qresync;
mod search;
mod select;
mod status;
mod store;

pub(crate) use qresync::UidRanges;

use portcullis_proto::command::{FlagArg, MailboxArg};
use portcullis_proto::mutf7;
use portcullis_store::{FlagSet, Keyword, MailboxName, SystemFlag};

use crate::error::{CommandResult, Refusal};
use crate::session::Session;
use portcullis_proto::encode::Code;

impl Session {
    /// Decodes a mailbox argument: UTF-8 once UTF8=ACCEPT is enabled, modified UTF-7 before.
    pub(crate) fn mailbox_name(&self, arg: &MailboxArg) -> CommandResult<MailboxName> {
        let text = self.mailbox_text(&arg.0)?;
        let text = text
            .strip_suffix(portcullis_store::SEPARATOR)
            .unwrap_or(&text);
        MailboxName::new(text)
            .map_err(|e| Refusal::no(Code::Cannot, format!("Invalid mailbox name: {e}")))
    }

    /// Decodes mailbox-name bytes (also LIST patterns) to Unicode.
    pub(crate) fn mailbox_text(&self, raw: &[u8]) -> CommandResult<String> {
        if self.utf8 {
            return String::from_utf8(raw.to_vec())
                .map_err(|_| Refusal::no(Code::Cannot, "Invalid mailbox name: not UTF-8"));
        }
        mutf7::decode(raw)
            .map_err(|e| Refusal::no(Code::Cannot, format!("Invalid mailbox name: {e}")))
    }
}

/// Converts a client's flag list into a flag set. `\Recent` cannot be set by clients and is
/// ignored (RFC 3501 2.3.2); unknown system flags are BAD.
pub(crate) fn flag_set(args: &[FlagArg]) -> CommandResult<FlagSet> {
    let mut flags = FlagSet::new();
    for arg in args {
        match arg {
            FlagArg::System(name) if name.eq_ignore_ascii_case("\\Recent") => {}
            FlagArg::System(name) => {
                let flag = SystemFlag::from_name(name)
                    .ok_or_else(|| Refusal::bad(format!("Unknown system flag {name}")))?;
                flags.insert(flag);
            }
            FlagArg::Keyword(name) => {
                let keyword = Keyword::new(name).ok_or_else(|| Refusal::bad("Invalid keyword"))?;
                flags.insert_keyword(keyword);
            }
        }
    }
    Ok(flags)
}
