//! LIST (RFC 9051 6.3.9) with LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819) and
//! SPECIAL-USE (RFC 6154); LSUB (RFC 3501 6.3.9).
//!
//! Name attributes sent: `\HasChildren`/`\HasNoChildren` always (RFC 5258 4: allowed
//! without CHILDREN), special-use attributes always (RFC 6154 2: allowed without the
//! return option), `\Noselect` for names kept only as parents, `\NonExistent` and
//! `\Subscribed` for subscription listings, CHILDINFO with RECURSIVEMATCH.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use portcullis_proto::command::{ListCommand, ListReturn, ListSelection, MailboxArg, StatusItem};
use portcullis_proto::encode::{Data, ListItem};
use portcullis_store::{MailboxInfo, MailboxName, SEPARATOR, SpecialUse};

use crate::error::{CommandResult, Refusal};
use crate::output::Output;
use crate::session::{Done, Session};

/// Longest LIST pattern accepted (the matcher is O(pattern × name)).
const MAX_PATTERN: usize = 1024;

/// What LIST knows about one name.
#[derive(Debug, Clone, Default)]
struct Entry {
    /// A mailbox exists (possibly a `\Noselect` parent).
    exists: bool,
    selectable: bool,
    special_use: Option<SpecialUse>,
    subscribed: bool,
}

/// The account's names: mailboxes and subscriptions.
struct Names {
    entries: BTreeMap<String, Entry>,
}

impl Names {
    fn new(mailboxes: Vec<MailboxInfo>, subscriptions: Vec<MailboxName>) -> Names {
        let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
        for mailbox in mailboxes {
            entries.insert(
                mailbox.name.as_str().to_owned(),
                Entry {
                    exists: true,
                    selectable: mailbox.selectable,
                    special_use: mailbox.special_use,
                    subscribed: false,
                },
            );
        }
        for name in subscriptions {
            entries
                .entry(name.as_str().to_owned())
                .or_default()
                .subscribed = true;
        }
        Names { entries }
    }

    /// Whether an existing mailbox lives below `name`.
    fn has_children(&self, name: &str) -> bool {
        let prefix = format!("{name}{SEPARATOR}");
        self.entries
            .range(prefix.clone()..)
            .take_while(|(n, _)| n.starts_with(&prefix))
            .any(|(_, e)| e.exists)
    }

    /// Whether a subscribed name lives below `name`.
    fn has_subscribed_children(&self, name: &str) -> bool {
        let prefix = format!("{name}{SEPARATOR}");
        self.entries
            .range(prefix.clone()..)
            .take_while(|(n, _)| n.starts_with(&prefix))
            .any(|(_, e)| e.subscribed)
    }

    /// Every name, its ancestors included, INBOX first then by name.
    fn all_with_ancestors(&self) -> Vec<String> {
        let mut names: BTreeSet<String> = BTreeSet::new();
        for name in self.entries.keys() {
            names.insert(name.clone());
            for (at, _) in name.match_indices(SEPARATOR) {
                names.insert(name[..at].to_owned());
            }
        }
        inbox_first(names.into_iter().collect())
    }
}

fn inbox_first(mut names: Vec<String>) -> Vec<String> {
    if let Some(index) = names.iter().position(|n| n == "INBOX") {
        let inbox = names.remove(index);
        names.insert(0, inbox);
    }
    names
}

/// Joins reference and pattern (RFC 9051 6.3.9) and spells a leading INBOX in upper case.
fn full_pattern(reference: &str, pattern: &str) -> String {
    let joined = format!("{reference}{pattern}");
    let first = joined.split(SEPARATOR).next().unwrap_or_default();
    if first.eq_ignore_ascii_case("INBOX") {
        format!("INBOX{}", &joined[first.len()..])
    } else {
        joined
    }
}

/// LIST wildcard matching: `*` matches anything, `%` anything but the separator.
fn matches(pattern: &[char], name: &[char]) -> bool {
    // reachable[i]: pattern[..i] can match the name prefix read so far.
    let mut reachable = vec![false; pattern.len() + 1];
    reachable[0] = true;
    close_wildcards(pattern, &mut reachable);
    for &c in name {
        let mut next = vec![false; pattern.len() + 1];
        for (i, &p) in pattern.iter().enumerate() {
            if !reachable[i] {
                continue;
            }
            match p {
                '*' => next[i] = true,
                '%' if c != SEPARATOR => next[i] = true,
                '%' => {}
                literal if literal == c => next[i + 1] = true,
                _ => {}
            }
        }
        close_wildcards(pattern, &mut next);
        reachable = next;
    }
    reachable[pattern.len()]
}

/// A wildcard may match nothing: whatever reaches it reaches past it.
fn close_wildcards(pattern: &[char], reachable: &mut [bool]) {
    for i in 0..pattern.len() {
        if reachable[i] && matches!(pattern[i], '*' | '%') {
            reachable[i + 1] = true;
        }
    }
}

impl Session {
    fn list_patterns(
        &self,
        reference: &MailboxArg,
        patterns: &[Bytes],
    ) -> CommandResult<Vec<Vec<char>>> {
        let reference = self.mailbox_text(&reference.0)?;
        patterns
            .iter()
            .map(|pattern| {
                if pattern.len() > MAX_PATTERN {
                    return Err(Refusal::bad("LIST pattern too long"));
                }
                let pattern = self.mailbox_text(pattern)?;
                Ok(full_pattern(&reference, &pattern).chars().collect())
            })
            .collect()
    }

    async fn names(&self) -> CommandResult<Names> {
        let account = self.account_id()?;
        let store = &self.ctx.store;
        Ok(Names::new(
            store.mailboxes(account).await?,
            store.subscriptions(account).await?,
        ))
    }

    /// LIST, basic and extended.
    pub(crate) async fn handle_list(
        &mut self,
        list: &ListCommand,
        out: &mut Output<'_>,
    ) -> CommandResult<Done> {
        let subscribed_only = list.selection.contains(&ListSelection::Subscribed);
        let recursive = list.selection.contains(&ListSelection::RecursiveMatch);
        let special_only = list.selection.contains(&ListSelection::SpecialUse);
        let returns = list.return_options.as_deref().unwrap_or_default();
        let return_subscribed = subscribed_only || returns.contains(&ListReturn::Subscribed);
        let status_items: Option<&[StatusItem]> = returns.iter().find_map(|r| match r {
            ListReturn::Status(items) => Some(items.as_slice()),
            _ => None,
        });
        if list.selection.is_empty()
            && list.return_options.is_none()
            && list.patterns.len() == 1
            && list.patterns[0].is_empty()
        {
            // RFC 9051 6.3.9: an empty pattern asks for the hierarchy delimiter.
            let item = ListItem {
                attributes: vec!["\\Noselect"],
                name: "",
                child_info_subscribed: false,
            };
            out.data(&Data::List(item), self.charset());
            return Ok(Done::new("LIST completed"));
        }
        let patterns = self.list_patterns(&list.reference, &list.patterns)?;
        let names = self.names().await?;
        for name in names.all_with_ancestors() {
            let chars: Vec<char> = name.chars().collect();
            if !patterns.iter().any(|p| matches(p, &chars)) {
                continue;
            }
            let entry = names.entries.get(&name).cloned().unwrap_or_default();
            let child_info = recursive && subscribed_only && names.has_subscribed_children(&name);
            let listed = if subscribed_only {
                entry.subscribed || child_info
            } else {
                entry.exists
                    && (!special_only
                        || entry.special_use.is_some()
                        || (recursive && self.has_special_descendant(&names, &name)))
            };
            if !listed {
                continue;
            }
            let mut attributes = Vec::new();
            if !entry.exists {
                attributes.push("\\NonExistent");
            } else if !entry.selectable {
                attributes.push("\\Noselect");
            }
            if entry.exists {
                attributes.push(if names.has_children(&name) {
                    "\\HasChildren"
                } else {
                    "\\HasNoChildren"
                });
            }
            if return_subscribed && entry.subscribed {
                attributes.push("\\Subscribed");
            }
            if let Some(special) = entry.special_use {
                attributes.push(special.as_str());
            }
            let item = ListItem {
                attributes,
                name: &name,
                child_info_subscribed: child_info,
            };
            out.data(&Data::List(item), self.charset());
            if let Some(items) = status_items
                && entry.exists
                && entry.selectable
                && let Ok(mailbox) = MailboxName::new(&name)
            {
                self.write_status(&mailbox, items, out).await?;
            }
            out.flush_if_full()
                .await
                .map_err(|_| Refusal::bad("Connection lost"))?;
        }
        Ok(Done::new("LIST completed"))
    }

    fn has_special_descendant(&self, names: &Names, name: &str) -> bool {
        let prefix = format!("{name}{SEPARATOR}");
        names
            .entries
            .iter()
            .any(|(n, e)| n.starts_with(&prefix) && e.special_use.is_some())
    }

    /// LSUB (RFC 3501 6.3.9): subscribed names; a parent of a subscribed name that matches
    /// `%` but is not subscribed itself is listed with `\Noselect`.
    pub(crate) async fn handle_lsub(
        &mut self,
        reference: &MailboxArg,
        pattern: &Bytes,
        out: &mut Output<'_>,
    ) -> CommandResult<Done> {
        let patterns = self.list_patterns(reference, std::slice::from_ref(pattern))?;
        let has_percent = patterns.iter().any(|p| p.contains(&'%'));
        let names = self.names().await?;
        for name in names.all_with_ancestors() {
            let chars: Vec<char> = name.chars().collect();
            if !patterns.iter().any(|p| matches(p, &chars)) {
                continue;
            }
            let entry = names.entries.get(&name).cloned().unwrap_or_default();
            let implied_parent =
                !entry.subscribed && has_percent && names.has_subscribed_children(&name);
            if !entry.subscribed && !implied_parent {
                continue;
            }
            let mut attributes = Vec::new();
            if implied_parent || !entry.exists || !entry.selectable {
                attributes.push("\\Noselect");
            }
            out.data(
                &Data::Lsub(ListItem {
                    attributes,
                    name: &name,
                    child_info_subscribed: false,
                }),
                self.charset(),
            );
        }
        Ok(Done::new("LSUB completed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> bool {
        matches(
            &pattern.chars().collect::<Vec<_>>(),
            &name.chars().collect::<Vec<_>>(),
        )
    }

    #[test]
    fn wildcards() {
        assert!(m("*", "a/b/c"));
        assert!(m("%", "a"));
        assert!(!m("%", "a/b"));
        assert!(m("a/%", "a/b"));
        assert!(!m("a/%", "a/b/c"));
        assert!(m("a/*", "a/b/c"));
        assert!(m("*c", "a/b/c"));
        assert!(m("%/%", "a/b"));
        assert!(!m("a", "ab"));
        assert!(m("", ""));
        assert!(m("Entw*", "Entwürfe"));
    }

    #[test]
    fn reference_and_inbox() {
        assert_eq!(full_pattern("", "inbox"), "INBOX");
        assert_eq!(full_pattern("Inbox/", "%"), "INBOX/%");
        assert_eq!(full_pattern("a/", "b"), "a/b");
        assert_eq!(full_pattern("", "inboxes"), "inboxes");
    }
}
