//! Mailbox-level grammar: SELECT/EXAMINE parameters (RFC 7162), CREATE with USE (RFC 6154),
//! LIST-EXTENDED (RFC 5258) with LIST-STATUS (RFC 5819), LSUB, STATUS.

use super::command::mailbox_arg;
use super::primitives::{PResult, Parser};
use crate::command::{
    CommandBody, ListCommand, ListReturn, ListSelection, QresyncParams, SelectParams, StatusItem,
};

pub(super) fn select(p: &mut Parser, read_only: bool) -> PResult<CommandBody> {
    let mailbox = mailbox_arg(p)?;
    let mut params = SelectParams::default();
    if p.eat(b' ') {
        p.expect(b'(')?;
        loop {
            if p.eat_keyword("CONDSTORE") {
                params.condstore = true;
            } else if p.eat_keyword("QRESYNC") {
                p.sp()?;
                params.qresync = Some(qresync(p)?);
            } else {
                return Err("Unknown SELECT parameter".into());
            }
            if p.eat(b')') {
                break;
            }
            p.sp()?;
        }
    }
    Ok(CommandBody::Select {
        read_only,
        mailbox,
        params,
    })
}

fn qresync(p: &mut Parser) -> PResult<QresyncParams> {
    p.expect(b'(')?;
    let uid_validity = p.nz_number()?.get();
    p.sp()?;
    let modseq = p.number64()?;
    let mut known_uids = None;
    let mut seq_match = None;
    if p.eat(b' ') {
        if p.peek() != Some(b'(') {
            known_uids = Some(p.sequence_set()?);
            if !p.eat(b' ') {
                p.expect(b')')?;
                return Ok(QresyncParams {
                    uid_validity,
                    modseq,
                    known_uids,
                    seq_match,
                });
            }
        }
        p.expect(b'(')?;
        let seqs = p.sequence_set()?;
        p.sp()?;
        let uids = p.sequence_set()?;
        p.expect(b')')?;
        seq_match = Some((seqs, uids));
    }
    p.expect(b')')?;
    Ok(QresyncParams {
        uid_validity,
        modseq,
        known_uids,
        seq_match,
    })
}

pub(super) fn create(p: &mut Parser) -> PResult<CommandBody> {
    let mailbox = mailbox_arg(p)?;
    let mut special_use = Vec::new();
    if p.eat(b' ') {
        p.expect(b'(')?;
        if !p.eat_keyword("USE") {
            return Err("Unknown CREATE parameter".into());
        }
        p.sp()?;
        // RFC 6154 6: `create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")"`.
        special_use = p.paren_list(true, |p| {
            p.expect(b'\\')?;
            Ok(format!("\\{}", p.atom()?))
        })?;
        p.expect(b')')?;
    }
    Ok(CommandBody::Create {
        mailbox,
        special_use,
    })
}

pub(super) fn list(p: &mut Parser) -> PResult<CommandBody> {
    p.sp()?;
    let selection = if p.peek() == Some(b'(') {
        let options = p.paren_list(true, list_selection)?;
        p.sp()?;
        options
    } else {
        Vec::new()
    };
    // RFC 5258 3: "the RECURSIVEMATCH option MUST NOT occur as the only selection option
    // (or only with REMOTE) ... The server MUST return BAD tagged response in such case."
    // (The grammar says the same: a `list-select-mod-opt` needs a `list-select-base-opt`.)
    if selection.contains(&ListSelection::RecursiveMatch)
        && selection.iter().all(|option| {
            matches!(
                option,
                ListSelection::RecursiveMatch | ListSelection::Remote
            )
        })
    {
        return Err("RECURSIVEMATCH needs another selection option such as SUBSCRIBED".into());
    }
    let reference = crate::command::MailboxArg(p.astring()?);
    p.sp()?;
    let patterns = if p.peek() == Some(b'(') {
        p.paren_list(false, Parser::list_mailbox)?
    } else {
        vec![p.list_mailbox()?]
    };
    let return_options = if p.eat(b' ') {
        if !p.eat_keyword("RETURN") {
            return Err("Expected RETURN".into());
        }
        p.sp()?;
        Some(p.paren_list(true, list_return)?)
    } else {
        None
    };
    Ok(CommandBody::List(ListCommand {
        selection,
        reference,
        patterns,
        return_options,
    }))
}

fn list_selection(p: &mut Parser) -> PResult<ListSelection> {
    let option = p.atom()?.to_ascii_uppercase();
    match option.as_str() {
        "SUBSCRIBED" => Ok(ListSelection::Subscribed),
        "REMOTE" => Ok(ListSelection::Remote),
        "RECURSIVEMATCH" => Ok(ListSelection::RecursiveMatch),
        "SPECIAL-USE" => Ok(ListSelection::SpecialUse),
        _ => Err("Unknown LIST selection option".into()),
    }
}

fn list_return(p: &mut Parser) -> PResult<ListReturn> {
    let option = p.atom()?.to_ascii_uppercase();
    match option.as_str() {
        "SUBSCRIBED" => Ok(ListReturn::Subscribed),
        "CHILDREN" => Ok(ListReturn::Children),
        "SPECIAL-USE" => Ok(ListReturn::SpecialUse),
        "STATUS" => {
            p.sp()?;
            Ok(ListReturn::Status(status_items(p)?))
        }
        _ => Err("Unknown LIST return option".into()),
    }
}

pub(super) fn lsub(p: &mut Parser) -> PResult<CommandBody> {
    p.sp()?;
    let reference = crate::command::MailboxArg(p.astring()?);
    p.sp()?;
    let pattern = p.list_mailbox()?;
    Ok(CommandBody::Lsub { reference, pattern })
}

pub(super) fn status(p: &mut Parser) -> PResult<CommandBody> {
    let mailbox = mailbox_arg(p)?;
    p.sp()?;
    let items = status_items(p)?;
    Ok(CommandBody::Status { mailbox, items })
}

fn status_items(p: &mut Parser) -> PResult<Vec<StatusItem>> {
    p.paren_list(false, |p| {
        let name = p.atom()?;
        StatusItem::from_name(&name).ok_or_else(|| "Unknown STATUS item".to_owned())
    })
}
