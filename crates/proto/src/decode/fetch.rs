//! FETCH grammar (RFC 9051 6.4.5, RFC 3516 BINARY, RFC 7162 CHANGEDSINCE/VANISHED).

use super::primitives::{PResult, Parser};
use crate::command::{CommandBody, FetchItem, Section, SectionAlias, SectionText};

pub(super) fn fetch(p: &mut Parser, uid: bool) -> PResult<CommandBody> {
    p.sp()?;
    let set = p.sequence_set()?;
    p.sp()?;
    let items = if p.peek() == Some(b'(') {
        p.paren_list(false, fetch_item)?
    } else {
        match macro_items(p)? {
            Some(items) => items,
            None => vec![fetch_item(p)?],
        }
    };
    let mut changed_since = None;
    let mut vanished = false;
    if p.eat(b' ') {
        p.paren_list(false, |p| {
            if p.eat_keyword("CHANGEDSINCE") {
                p.sp()?;
                changed_since = Some(p.number64()?);
                Ok(())
            } else if p.eat_keyword("VANISHED") {
                vanished = true;
                Ok(())
            } else {
                Err("Unknown FETCH modifier".into())
            }
        })?;
    }
    // RFC 7162 3.2.6: "The VANISHED UID FETCH modifier MUST only be specified together with
    // the CHANGEDSINCE UID FETCH modifier", and VANISHED with FETCH (not UID FETCH) is BAD.
    if vanished && (!uid || changed_since.is_none()) {
        return Err("VANISHED needs UID FETCH and CHANGEDSINCE".into());
    }
    Ok(CommandBody::Fetch {
        uid,
        set,
        items,
        changed_since,
        vanished,
    })
}

/// ALL, FAST, FULL (RFC 9051 6.4.5).
fn macro_items(p: &mut Parser) -> PResult<Option<Vec<FetchItem>>> {
    let fast = [
        FetchItem::Flags,
        FetchItem::InternalDate,
        FetchItem::Rfc822Size,
    ];
    Ok(if p.eat_keyword("ALL") {
        Some(fast.into_iter().chain([FetchItem::Envelope]).collect())
    } else if p.eat_keyword("FAST") {
        Some(fast.to_vec())
    } else if p.eat_keyword("FULL") {
        Some(
            fast.into_iter()
                .chain([
                    FetchItem::Envelope,
                    FetchItem::BodyStructure { extensible: false },
                ])
                .collect(),
        )
    } else {
        None
    })
}

fn fetch_item(p: &mut Parser) -> PResult<FetchItem> {
    let name = p.item_name()?;
    let whole = |alias, peek, text| FetchItem::BodySection {
        section: Section {
            part: Vec::new(),
            text,
        },
        partial: None,
        peek,
        alias,
    };
    Ok(match name.as_str() {
        "FLAGS" => FetchItem::Flags,
        "INTERNALDATE" => FetchItem::InternalDate,
        "RFC822.SIZE" => FetchItem::Rfc822Size,
        "UID" => FetchItem::Uid,
        "ENVELOPE" => FetchItem::Envelope,
        "BODYSTRUCTURE" => FetchItem::BodyStructure { extensible: true },
        "MODSEQ" => FetchItem::ModSeq,
        "RFC822" => whole(SectionAlias::Rfc822, false, None),
        "RFC822.HEADER" => whole(SectionAlias::Rfc822Header, true, Some(SectionText::Header)),
        "RFC822.TEXT" => whole(SectionAlias::Rfc822Text, false, Some(SectionText::Text)),
        "BODY" | "BODY.PEEK" if p.peek() == Some(b'[') => {
            let section = section(p)?;
            let partial = partial(p)?;
            FetchItem::BodySection {
                section,
                partial,
                peek: name == "BODY.PEEK",
                alias: SectionAlias::Body,
            }
        }
        "BODY" => FetchItem::BodyStructure { extensible: false },
        "BINARY" | "BINARY.PEEK" => {
            let part = binary_part(p)?;
            let partial = partial(p)?;
            FetchItem::Binary {
                part,
                partial,
                peek: name == "BINARY.PEEK",
            }
        }
        "BINARY.SIZE" => FetchItem::BinarySize {
            part: binary_part(p)?,
        },
        _ => return Err("Unknown FETCH data item".into()),
    })
}

/// `section`: `[` [section-spec] `]`.
fn section(p: &mut Parser) -> PResult<Section> {
    p.expect(b'[')?;
    let mut part = Vec::new();
    let mut text = None;
    // `section-part = nz-number *("." nz-number)`, then `["." section-text]` after a part:
    // every number is followed by `]` or by `.` and more (not `1HEADER`, not `1.]`).
    while p.peek().is_some_and(|b| b.is_ascii_digit()) {
        part.push(
            p.nz_number()
                .map_err(|_| "Invalid section part number".to_owned())?
                .get(),
        );
        if p.peek() == Some(b']') {
            break;
        }
        p.expect(b'.').map_err(|_| "Invalid section".to_owned())?;
        if !p.peek().is_some_and(|b| b.is_ascii_digit()) {
            text = Some(section_text(p, true)?);
            break;
        }
    }
    if part.is_empty() && p.peek() != Some(b']') {
        text = Some(section_text(p, false)?);
    }
    p.expect(b']')?;
    Ok(Section { part, text })
}

fn section_text(p: &mut Parser, after_part: bool) -> PResult<SectionText> {
    let name = p.item_name()?;
    Ok(match name.as_str() {
        "HEADER" => SectionText::Header,
        "TEXT" => SectionText::Text,
        "MIME" if after_part => SectionText::Mime,
        "HEADER.FIELDS" | "HEADER.FIELDS.NOT" => {
            p.sp()?;
            let names = p.paren_list(false, Parser::astring)?;
            if name == "HEADER.FIELDS" {
                SectionText::HeaderFields(names)
            } else {
                SectionText::HeaderFieldsNot(names)
            }
        }
        _ => return Err("Invalid section".into()),
    })
}

/// `section-binary`: `[` [part] `]`.
fn binary_part(p: &mut Parser) -> PResult<Vec<u32>> {
    p.expect(b'[')?;
    let mut part = Vec::new();
    if p.peek() != Some(b']') {
        loop {
            part.push(p.nz_number()?.get());
            if !p.eat(b'.') {
                break;
            }
        }
    }
    p.expect(b']')?;
    Ok(part)
}

/// `<offset.length>`
fn partial(p: &mut Parser) -> PResult<Option<(u32, u32)>> {
    if !p.eat(b'<') {
        return Ok(None);
    }
    let offset = p.number()?;
    p.expect(b'.')?;
    let length = p.nz_number()?.get();
    p.expect(b'>')?;
    Ok(Some((offset, length)))
}
