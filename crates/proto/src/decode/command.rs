//! Command dispatch: tag, command name, then the arguments of each command.

use bytes::Bytes;

use super::primitives::{PResult, Parser};
use super::{DecodeError, fetch, mailbox, search};
use crate::Tag;
use crate::command::{AppendMessage, Command, CommandBody, MailboxArg, StoreOperation};

/// Decodes one framed command (its lines and literals, ending with CRLF).
pub fn parse_command(frame: Bytes) -> Result<Command, DecodeError> {
    let mut parser = Parser::new(frame);
    let tag = parser
        .tag()
        .map_err(|message| DecodeError { tag: None, message })?;
    if parser.peek() != Some(b' ') && !parser.at_end() {
        // `a+b NOOP`: the tag token is not a tag; answering `a BAD` could complete another
        // command, so the error is untagged (as the framer's `command_tag` decides too).
        return Err(DecodeError {
            tag: None,
            message: "Missing or invalid command tag".into(),
        });
    }
    let tag = Tag(tag);
    let body = parser
        .sp()
        .and_then(|()| command_body(&mut parser))
        .and_then(|body| parser.end().map(|()| body));
    match body {
        Ok(body) => Ok(Command { tag, body }),
        Err(message) => Err(DecodeError {
            tag: Some(tag),
            message,
        }),
    }
}

fn command_body(p: &mut Parser) -> PResult<CommandBody> {
    let name = p
        .atom()
        .map_err(|_| "Missing command name".to_owned())?
        .to_ascii_uppercase();
    let body = match name.as_str() {
        "CAPABILITY" => CommandBody::Capability,
        "NOOP" => CommandBody::Noop,
        "LOGOUT" => CommandBody::Logout,
        "STARTTLS" => CommandBody::StartTls,
        "NAMESPACE" => CommandBody::Namespace,
        "CHECK" => CommandBody::Check,
        "CLOSE" => CommandBody::Close,
        "UNSELECT" => CommandBody::Unselect,
        "EXPUNGE" => CommandBody::Expunge,
        "IDLE" => CommandBody::Idle,
        "LOGIN" => login(p)?,
        "AUTHENTICATE" => authenticate(p)?,
        "ENABLE" => enable(p)?,
        "ID" => id(p)?,
        "SELECT" => mailbox::select(p, false)?,
        "EXAMINE" => mailbox::select(p, true)?,
        "CREATE" => mailbox::create(p)?,
        "DELETE" => CommandBody::Delete(mailbox_arg(p)?),
        "RENAME" => {
            let from = mailbox_arg(p)?;
            let to = mailbox_arg(p)?;
            CommandBody::Rename { from, to }
        }
        "SUBSCRIBE" => CommandBody::Subscribe(mailbox_arg(p)?),
        "UNSUBSCRIBE" => CommandBody::Unsubscribe(mailbox_arg(p)?),
        "LIST" => mailbox::list(p)?,
        "LSUB" => mailbox::lsub(p)?,
        "STATUS" => mailbox::status(p)?,
        "APPEND" => append(p)?,
        "FETCH" => fetch::fetch(p, false)?,
        "STORE" => store(p, false)?,
        "COPY" => copy_or_move(p, false, false)?,
        "MOVE" => copy_or_move(p, false, true)?,
        "SEARCH" => search::search(p, false)?,
        "UID" => uid_command(p)?,
        _ => return Err(format!("Unknown command {}", printable(&name))),
    };
    Ok(body)
}

/// The command name for an error message: bounded and free of control characters.
fn printable(name: &str) -> String {
    name.chars()
        .take(32)
        .filter(|c| c.is_ascii_graphic())
        .collect()
}

fn uid_command(p: &mut Parser) -> PResult<CommandBody> {
    p.sp()?;
    let name = p
        .atom()
        .map_err(|_| "Missing command after UID".to_owned())?
        .to_ascii_uppercase();
    match name.as_str() {
        "FETCH" => fetch::fetch(p, true),
        "STORE" => store(p, true),
        "COPY" => copy_or_move(p, true, false),
        "MOVE" => copy_or_move(p, true, true),
        "SEARCH" => search::search(p, true),
        "EXPUNGE" => {
            p.sp()?;
            Ok(CommandBody::UidExpunge(p.sequence_set()?))
        }
        _ => Err(format!("Unknown command UID {}", printable(&name))),
    }
}

/// SP mailbox
pub(super) fn mailbox_arg(p: &mut Parser) -> PResult<MailboxArg> {
    p.sp()?;
    p.astring()
        .map(MailboxArg)
        .map_err(|_| "Expected a mailbox name".to_owned())
}

fn login(p: &mut Parser) -> PResult<CommandBody> {
    p.sp()?;
    let username = p.astring()?;
    p.sp()?;
    let password = p.astring()?;
    Ok(CommandBody::Login { username, password })
}

fn authenticate(p: &mut Parser) -> PResult<CommandBody> {
    p.sp()?;
    let mechanism = p.atom()?.to_ascii_uppercase();
    let initial_response = if p.eat(b' ') {
        if p.eat(b'=') {
            Some(Bytes::new())
        } else {
            let response = p.atom()?;
            Some(Bytes::from(response.into_bytes()))
        }
    } else {
        None
    };
    Ok(CommandBody::Authenticate {
        mechanism,
        initial_response,
    })
}

fn enable(p: &mut Parser) -> PResult<CommandBody> {
    let mut capabilities = Vec::new();
    while p.eat(b' ') {
        capabilities.push(p.atom()?.to_ascii_uppercase());
    }
    if capabilities.is_empty() {
        return Err("ENABLE needs at least one capability".into());
    }
    Ok(CommandBody::Enable(capabilities))
}

fn id(p: &mut Parser) -> PResult<CommandBody> {
    p.sp()?;
    if p.eat_keyword("NIL") {
        return Ok(CommandBody::Id(None));
    }
    // RFC 2971 4: `id_params_list ::= "(" #(string SPACE nstring) ")" / nil` — `#` allows
    // an empty list, so `ID ()` is valid.
    let pairs = p.paren_list(true, |p| {
        let key = p.string()?;
        p.sp()?;
        let value = p.nstring()?;
        Ok((key, value))
    })?;
    if pairs.len() > 30 {
        // RFC 2971 3.3: "Implementations MUST NOT send more than 30 field-value pairs."
        return Err("ID has more than 30 field-value pairs".into());
    }
    Ok(CommandBody::Id(Some(pairs)))
}

fn append(p: &mut Parser) -> PResult<CommandBody> {
    let mailbox = mailbox_arg(p)?;
    let mut messages = Vec::new();
    while p.eat(b' ') {
        let flags = if p.peek() == Some(b'(') {
            let flags = p.flag_list()?;
            p.sp()?;
            flags
        } else {
            Vec::new()
        };
        let date = if p.peek() == Some(b'"') {
            let date = p.date_time()?;
            p.sp()?;
            Some(date)
        } else {
            None
        };
        // RFC 6855 4: append-data =/ "UTF8" SP "(" literal8 ")"
        let utf8 = p.eat_keyword("UTF8");
        if utf8 {
            p.sp()?;
            p.expect(b'(')?;
        }
        let (data, binary) = p.literal().map_err(|e| format!("APPEND message: {e}"))?;
        if utf8 {
            p.expect(b')')?;
        }
        messages.push(AppendMessage {
            flags,
            date,
            data,
            binary,
            utf8,
        });
    }
    if messages.is_empty() {
        return Err("APPEND needs a message literal".into());
    }
    Ok(CommandBody::Append { mailbox, messages })
}

fn store(p: &mut Parser, uid: bool) -> PResult<CommandBody> {
    p.sp()?;
    let set = p.sequence_set()?;
    p.sp()?;
    let unchanged_since = if p.peek() == Some(b'(') {
        let modifiers = p.paren_list(false, |p| {
            if !p.eat_keyword("UNCHANGEDSINCE") {
                return Err("Unknown STORE modifier".into());
            }
            p.sp()?;
            p.number64()
        })?;
        p.sp()?;
        modifiers.last().copied()
    } else {
        None
    };
    let item = p.item_name()?;
    let (operation, rest) = match item.as_bytes().first() {
        Some(b'+') => (StoreOperation::Add, &item[1..]),
        Some(b'-') => (StoreOperation::Remove, &item[1..]),
        _ => (StoreOperation::Replace, item.as_str()),
    };
    let silent = match rest {
        "FLAGS" => false,
        "FLAGS.SILENT" => true,
        _ => return Err("Expected FLAGS, +FLAGS or -FLAGS (optionally .SILENT)".into()),
    };
    p.sp()?;
    let flags = p.store_flags()?;
    Ok(CommandBody::Store {
        uid,
        set,
        operation,
        silent,
        flags,
        unchanged_since,
    })
}

fn copy_or_move(p: &mut Parser, uid: bool, is_move: bool) -> PResult<CommandBody> {
    p.sp()?;
    let set = p.sequence_set()?;
    let mailbox = mailbox_arg(p)?;
    Ok(if is_move {
        CommandBody::Move { uid, set, mailbox }
    } else {
        CommandBody::Copy { uid, set, mailbox }
    })
}
