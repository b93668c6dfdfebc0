//! SEARCH grammar (RFC 9051 6.4.4 `search-key`, RFC 4731/9051 `RETURN`, RFC 7162 MODSEQ,
//! RFC 5032 WITHIN, RFC 5182 `$`).

use super::primitives::{PResult, Parser};
use crate::command::{CommandBody, DateRelation, FlagArg, SearchKey, SearchReturn};

/// How deep `NOT`/`OR`/parentheses may nest: bounds the recursion on hostile input.
const MAX_DEPTH: usize = 64;

pub(super) fn search(p: &mut Parser, uid: bool) -> PResult<CommandBody> {
    p.sp()?;
    let return_options = if p.eat_keyword("RETURN") {
        p.sp()?;
        let options = p.paren_list(true, search_return)?;
        p.sp()?;
        Some(options)
    } else {
        None
    };
    let charset = if p.eat_keyword("CHARSET") {
        p.sp()?;
        let charset = p.astring()?;
        p.sp()?;
        Some(String::from_utf8_lossy(&charset).into_owned())
    } else {
        None
    };
    let mut keys = vec![search_key(p, 0)?];
    while p.eat(b' ') {
        keys.push(search_key(p, 0)?);
    }
    let criteria = if keys.len() == 1 {
        keys.remove(0)
    } else {
        SearchKey::And(keys)
    };
    Ok(CommandBody::Search {
        uid,
        return_options,
        charset,
        criteria,
    })
}

fn search_return(p: &mut Parser) -> PResult<SearchReturn> {
    let option = p.atom()?.to_ascii_uppercase();
    match option.as_str() {
        "MIN" => Ok(SearchReturn::Min),
        "MAX" => Ok(SearchReturn::Max),
        "ALL" => Ok(SearchReturn::All),
        "COUNT" => Ok(SearchReturn::Count),
        "SAVE" => Ok(SearchReturn::Save),
        _ => Err("Unknown SEARCH return option".into()),
    }
}

fn flag_key(name: &str) -> SearchKey {
    SearchKey::Flag(FlagArg::System(name.to_owned()))
}

fn not(key: SearchKey) -> SearchKey {
    SearchKey::Not(Box::new(key))
}

fn search_key(p: &mut Parser, depth: usize) -> PResult<SearchKey> {
    if depth > MAX_DEPTH {
        return Err("Search criteria nested too deeply".into());
    }
    match p.peek() {
        Some(b'(') => {
            let keys = p.paren_list(false, |p| search_key(p, depth + 1))?;
            return Ok(SearchKey::And(keys));
        }
        Some(b'0'..=b'9' | b'*' | b'$') => return p.sequence_set().map(SearchKey::SequenceSet),
        _ => {}
    }
    let name = p
        .atom()
        .map_err(|_| "Expected a search key".to_owned())?
        .to_ascii_uppercase();
    let key = match name.as_str() {
        "ALL" => SearchKey::All,
        "ANSWERED" => flag_key("\\Answered"),
        "DELETED" => flag_key("\\Deleted"),
        "DRAFT" => flag_key("\\Draft"),
        "FLAGGED" => flag_key("\\Flagged"),
        "SEEN" => flag_key("\\Seen"),
        "UNANSWERED" => not(flag_key("\\Answered")),
        "UNDELETED" => not(flag_key("\\Deleted")),
        "UNDRAFT" => not(flag_key("\\Draft")),
        "UNFLAGGED" => not(flag_key("\\Flagged")),
        "UNSEEN" => not(flag_key("\\Seen")),
        "NEW" => SearchKey::New,
        "OLD" => SearchKey::Old,
        "RECENT" => SearchKey::Recent,
        "KEYWORD" | "UNKEYWORD" => {
            p.sp()?;
            let keyword = SearchKey::Flag(FlagArg::Keyword(p.atom()?));
            if name == "KEYWORD" {
                keyword
            } else {
                not(keyword)
            }
        }
        "BCC" | "CC" | "FROM" | "SUBJECT" | "TO" => {
            p.sp()?;
            let field = bytes::Bytes::from(name.into_bytes());
            SearchKey::Header(field, p.astring()?)
        }
        "HEADER" => {
            p.sp()?;
            let field = p.astring()?;
            p.sp()?;
            SearchKey::Header(field, p.astring()?)
        }
        "BODY" => {
            p.sp()?;
            SearchKey::Body(p.astring()?)
        }
        "TEXT" => {
            p.sp()?;
            SearchKey::Text(p.astring()?)
        }
        "BEFORE" | "ON" | "SINCE" | "SENTBEFORE" | "SENTON" | "SENTSINCE" => date_key(p, &name)?,
        "LARGER" => {
            p.sp()?;
            SearchKey::Larger(p.number64()?)
        }
        "SMALLER" => {
            p.sp()?;
            SearchKey::Smaller(p.number64()?)
        }
        "UID" => {
            p.sp()?;
            SearchKey::Uid(p.sequence_set()?)
        }
        "NOT" => {
            p.sp()?;
            not(search_key(p, depth + 1)?)
        }
        "OR" => {
            p.sp()?;
            let left = search_key(p, depth + 1)?;
            p.sp()?;
            let right = search_key(p, depth + 1)?;
            SearchKey::Or(Box::new(left), Box::new(right))
        }
        "MODSEQ" => modseq_key(p)?,
        "OLDER" => {
            p.sp()?;
            SearchKey::Older(u64::from(p.nz_number()?.get()))
        }
        "YOUNGER" => {
            p.sp()?;
            SearchKey::Younger(u64::from(p.nz_number()?.get()))
        }
        _ => return Err("Unknown search key".into()),
    };
    Ok(key)
}

fn date_key(p: &mut Parser, name: &str) -> PResult<SearchKey> {
    p.sp()?;
    let date = p.date()?;
    let relation = match name.trim_start_matches("SENT") {
        "BEFORE" => DateRelation::Before,
        "ON" => DateRelation::On,
        _ => DateRelation::Since,
    };
    Ok(if name.starts_with("SENT") {
        SearchKey::SentDate(relation, date)
    } else {
        SearchKey::InternalDate(relation, date)
    })
}

/// `MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer` (RFC 7162 3.1.5).
fn modseq_key(p: &mut Parser) -> PResult<SearchKey> {
    p.sp()?;
    if p.peek() == Some(b'"') {
        let _entry_name = p.astring()?;
        p.sp()?;
        let entry_type = p.atom()?.to_ascii_lowercase();
        if !matches!(entry_type.as_str(), "priv" | "shared" | "all") {
            return Err("Invalid MODSEQ entry type".into());
        }
        p.sp()?;
    }
    Ok(SearchKey::ModSeq(p.number64()?))
}
