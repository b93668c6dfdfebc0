//! The state gate (RFC 9051 section 3): which commands each state accepts. Dispatch asks
//! this one table before any handler runs, so no handler checks state on its own.
//!
//! ```text
//!  NotAuthenticated ──LOGIN/AUTHENTICATE──► Authenticated ──SELECT/EXAMINE──► Selected
//!         │                                   ▲      │                         │
//!         │                                   └──────┼──CLOSE/UNSELECT─────────┘
//!         └────────────── LOGOUT (any state) ────────┴──────────► Logout
//! ```

use portcullis_proto::CommandBody;

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateKind {
    /// Before authentication.
    NotAuthenticated,
    /// Authenticated, no mailbox selected.
    Authenticated,
    /// A mailbox is selected.
    Selected,
    /// LOGOUT done or connection ending.
    Logout,
}

/// The states a command is valid in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Requirement {
    /// Any state.
    Any,
    /// Not authenticated only.
    NotAuthenticated,
    /// Authenticated or selected.
    Authenticated,
    /// Selected only.
    Selected,
}

/// The row of the table for one command.
pub(crate) fn requirement(command: &CommandBody) -> Requirement {
    use CommandBody as C;
    match command {
        C::Capability | C::Noop | C::Logout | C::Id(_) => Requirement::Any,
        C::StartTls | C::Login { .. } | C::Authenticate { .. } => Requirement::NotAuthenticated,
        C::Enable(_)
        | C::Select { .. }
        | C::Namespace
        | C::Create { .. }
        | C::Delete(_)
        | C::Rename { .. }
        | C::Subscribe(_)
        | C::Unsubscribe(_)
        | C::List(_)
        | C::Lsub { .. }
        | C::Status { .. }
        | C::Append { .. }
        | C::Idle => Requirement::Authenticated,
        C::Check
        | C::Close
        | C::Unselect
        | C::Expunge
        | C::UidExpunge(_)
        | C::Fetch { .. }
        | C::Store { .. }
        | C::Copy { .. }
        | C::Move { .. }
        | C::Search { .. } => Requirement::Selected,
    }
}

/// Whether `state` accepts commands with `requirement`; the error text when not.
pub(crate) fn check(state: StateKind, requirement: Requirement) -> Result<(), &'static str> {
    match (requirement, state) {
        (_, StateKind::Logout) => Err("Logging out"),
        (Requirement::Any, _) => Ok(()),
        (Requirement::NotAuthenticated, StateKind::NotAuthenticated) => Ok(()),
        (Requirement::NotAuthenticated, _) => Err("Already authenticated"),
        (Requirement::Authenticated | Requirement::Selected, StateKind::NotAuthenticated) => {
            Err("Not authenticated: LOGIN or AUTHENTICATE first")
        }
        (Requirement::Authenticated, _) => Ok(()),
        (Requirement::Selected, StateKind::Selected) => Ok(()),
        (Requirement::Selected, StateKind::Authenticated) => Err("No mailbox selected"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StateKind::*;

    /// One row per requirement: (requirement, [NotAuthenticated, Authenticated, Selected, Logout]).
    const TABLE: [(Requirement, [bool; 4]); 4] = [
        (Requirement::Any, [true, true, true, false]),
        (Requirement::NotAuthenticated, [true, false, false, false]),
        (Requirement::Authenticated, [false, true, true, false]),
        (Requirement::Selected, [false, false, true, false]),
    ];

    #[test]
    fn permission_table() {
        for (requirement, allowed) in TABLE {
            for (state, expected) in [NotAuthenticated, Authenticated, Selected, Logout]
                .into_iter()
                .zip(allowed)
            {
                assert_eq!(
                    check(state, requirement).is_ok(),
                    expected,
                    "{requirement:?} in {state:?}"
                );
            }
        }
    }

    #[test]
    fn commands_map_to_their_rfc_states() {
        use portcullis_proto::command::MailboxArg;
        let mailbox = || MailboxArg(bytes::Bytes::from_static(b"INBOX"));
        assert_eq!(requirement(&CommandBody::Capability), Requirement::Any);
        assert_eq!(
            requirement(&CommandBody::StartTls),
            Requirement::NotAuthenticated
        );
        assert_eq!(
            requirement(&CommandBody::Delete(mailbox())),
            Requirement::Authenticated
        );
        assert_eq!(requirement(&CommandBody::Idle), Requirement::Authenticated);
        assert_eq!(requirement(&CommandBody::Expunge), Requirement::Selected);
        assert_eq!(requirement(&CommandBody::Close), Requirement::Selected);
    }
}
