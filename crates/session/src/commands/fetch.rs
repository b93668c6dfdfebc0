//! FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9), BINARY (RFC 3516), MODSEQ and the
//! CHANGEDSINCE and VANISHED modifiers (RFC 7162 3.1.4, 3.2.6).
//!
//! Data comes from three tiers, loaded only when an item needs them and in batches: the view
//! (FLAGS, UID, MODSEQ — one consistent state, which the resync after the command brings up
//! to date), the message record (INTERNALDATE, RFC822.SIZE) and the stored parse
//! (ENVELOPE, BODYSTRUCTURE, section offsets), and last the message bytes (sections). No
//! message is ever re-parsed. Non-PEEK body items set `\Seen` before the data is sent, and
//! the FETCH then carries the new FLAGS (RFC 9051 6.4.5).
//!
//! Responses: `VANISHED (EARLIER)` first for the VANISHED modifier, then FETCH data;
//! `OK [EXPUNGEISSUED]` when some messages were expunged by another session meanwhile;
//! `NO [UNKNOWN-CTE]` for BINARY of an unknown transfer encoding; BAD for sequence numbers
//! beyond EXISTS.

use bytes::Bytes;
use portcullis_mime::MessageSummary;
use portcullis_proto::command::{FetchItem, Section, SectionText};
use portcullis_proto::encode::{Code, Data, FetchAttr};
use portcullis_proto::{DateTime, SequenceSet};
use portcullis_store::{FlagOperation, FlagSet, MessageMeta, SystemFlag, Uid, WireSummary};

use crate::commands::UidRanges;
use crate::commands::batch::{BATCH, Batch, ReadAhead, Wanted};
use crate::error::{CommandResult, Refusal};
use crate::output::Output;
use crate::session::{Done, FetchModifiers, Session, flag_names};
use crate::view::ViewMessage;

/// What the requested items need from the store.
#[derive(Debug, Clone, Copy, Default)]
struct Needs {
    /// What is read in batches (`wire`: ENVELOPE or BODYSTRUCTURE as the store keeps them
    /// encoded, when nothing else needs the decoded summary; `utf8` is the session's).
    batch: Wanted,
    /// The bytes, read per message.
    raw: bool,
    sets_seen: bool,
}

impl Needs {
    fn of(items: &[FetchItem]) -> Needs {
        let mut needs = Needs::default();
        for item in items {
            match item {
                FetchItem::Flags | FetchItem::Uid | FetchItem::ModSeq => {}
                FetchItem::InternalDate | FetchItem::Rfc822Size => needs.batch.meta = true,
                FetchItem::Envelope | FetchItem::BodyStructure { extensible: true } => {
                    needs.batch.wire = true;
                }
                FetchItem::BodyStructure { extensible: false } => needs.batch.summary = true,
                FetchItem::BodySection { section, peek, .. } => {
                    needs.raw = true;
                    needs.batch.summary |= !section.part.is_empty() || section.text.is_some();
                    needs.sets_seen |= !peek;
                }
                FetchItem::Binary { peek, .. } => {
                    needs.raw = true;
                    needs.batch.summary = true;
                    needs.sets_seen |= !peek;
                }
                FetchItem::BinarySize { .. } => {
                    needs.raw = true;
                    needs.batch.summary = true;
                }
            }
        }
        needs.batch.wire &= !needs.batch.summary;
        needs
    }
}

/// One message's data for a FETCH response, borrowed from its batch.
struct Loaded<'a> {
    meta: Option<&'a MessageMeta>,
    summary: Option<&'a MessageSummary>,
    wire: Option<&'a WireSummary>,
    raw: Option<Bytes>,
}

/// The value of one body item, computed before the response borrows it.
enum Computed {
    None,
    Section(Option<Bytes>, Option<u32>),
    Binary(Vec<u8>, Option<u32>),
    BinarySize(u64),
}

impl Session {
    /// FETCH / UID FETCH.
    pub(crate) async fn handle_fetch(
        &mut self,
        by_uid: bool,
        set: &SequenceSet,
        items: &[FetchItem],
        modifiers: FetchModifiers,
        out: &mut Output<'_>,
    ) -> CommandResult<Done> {
        let mut items = items.to_vec();
        if by_uid && !items.contains(&FetchItem::Uid) {
            // RFC 9051 6.4.9: UID FETCH responses always carry the UID.
            items.insert(0, FetchItem::Uid);
        }
        if modifiers.changed_since.is_some() && !items.contains(&FetchItem::ModSeq) {
            // RFC 7162 3.1.4.1: "When the CHANGEDSINCE FETCH modifier is specified, it
            // implicitly adds the MODSEQ FETCH message data item".
            items.push(FetchItem::ModSeq);
        }
        if let (true, Some(since)) = (modifiers.vanished, modifiers.changed_since) {
            self.write_vanished_earlier(set, since, out).await?;
        }
        let mut needs = Needs::of(&items);
        let view = self
            .selected
            .as_ref()
            .ok_or_else(|| Refusal::bad("No mailbox selected"))?;
        needs.sets_seen &= !view.read_only;
        // RFC 7162 3.1.4.1: "The information described by message data items is only
        // returned for messages that have a mod-sequence bigger than <mod-sequence>."
        let changed = |modseq: u64| modifiers.changed_since.is_none_or(|since| modseq > since);
        let targets: Vec<(u32, Uid, bool)> = view
            .resolve(set, by_uid)?
            .into_iter()
            .filter(|(_, m)| changed(m.modseq.get()))
            .map(|(seq, m)| (seq, m.uid, m.expunged))
            .collect();
        let batches: Vec<&[(u32, Uid, bool)]> = targets.chunks(BATCH).collect();
        let live = |batch: &[(u32, Uid, bool)]| -> Vec<Uid> {
            batch
                .iter()
                .filter(|(_, _, gone)| !gone)
                .map(|(_, uid, _)| *uid)
                .collect()
        };
        let mut reader = ReadAhead::new(
            self.ctx.store.clone(),
            view.id,
            Wanted {
                utf8: self.charset().utf8,
                ..needs.batch
            },
            batches.iter().map(|batch| live(batch)).collect(),
        );
        let mut some_gone = false;
        // Messages are written in sequence order: their runs of flags are walked, not
        // searched for each one.
        let mut cursor = 0;
        for batch in &batches {
            let newly_seen = if needs.sets_seen {
                self.mark_seen(&live(batch)).await?
            } else {
                Vec::new()
            };
            let loaded_batch = reader.next().await?;
            for &(seq, uid, expunged) in *batch {
                let loaded = match self
                    .load_message(uid, expunged, needs, &loaded_batch)
                    .await?
                {
                    Some(loaded) => loaded,
                    None => {
                        some_gone = true;
                        continue;
                    }
                };
                let Some(message) = self
                    .selected
                    .as_ref()
                    .and_then(|view| view.message_near(seq, &mut cursor))
                else {
                    continue;
                };
                let flags_changed = newly_seen.contains(&uid);
                self.write_fetch(seq, message, &items, &loaded, flags_changed, out)?;
                out.flush_if_full()
                    .await
                    .map_err(|_| Refusal::bad("Connection lost"))?;
            }
        }
        if some_gone {
            return Ok(Done::with_code(
                Code::ExpungeIssued,
                "Some messages were expunged meanwhile",
            ));
        }
        Ok(Done::new(if by_uid {
            "UID FETCH completed"
        } else {
            "FETCH completed"
        }))
    }

    /// `VANISHED (EARLIER)` for the VANISHED modifier (RFC 7162 3.2.6): "Any VANISHED
    /// (EARLIER) responses MUST be returned before any FETCH responses, otherwise the client
    /// might get confused about how message numbers map to UIDs."
    async fn write_vanished_earlier(
        &self,
        set: &SequenceSet,
        since: u64,
        out: &mut Output<'_>,
    ) -> CommandResult<()> {
        let view = self
            .selected
            .as_ref()
            .ok_or_else(|| Refusal::bad("No mailbox selected"))?;
        // `*` is the largest UID ever given out here, so `n:*` covers expunged UIDs above
        // the last message too.
        let largest = view.uid_next.get().saturating_sub(1);
        let scope = UidRanges::of_set(set, largest);
        let vanished = self.vanished_earlier(&scope, since, 1).await?;
        if !vanished.is_empty() {
            out.data(
                &Data::Vanished {
                    earlier: true,
                    uids: &vanished.to_set_string(),
                },
                self.charset(),
            );
        }
        Ok(())
    }

    /// Sets `\Seen` on the messages that lack it; returns those whose flags changed.
    async fn mark_seen(&mut self, uids: &[Uid]) -> CommandResult<Vec<Uid>> {
        let Some(view) = self.selected.as_mut() else {
            return Ok(Vec::new());
        };
        let unseen: Vec<Uid> = uids
            .iter()
            .copied()
            .filter(|uid| {
                view.message_by_uid(*uid)
                    .is_some_and(|m| !m.flags.contains(SystemFlag::Seen))
            })
            .collect();
        if unseen.is_empty() {
            return Ok(Vec::new());
        }
        let mut seen = FlagSet::new();
        seen.insert(SystemFlag::Seen);
        let update = self
            .ctx
            .store
            .store_flags(view.id, &unseen, FlagOperation::Add, &seen, None)
            .await?;
        view.set_flags(&update.changed);
        Ok(update
            .changed
            .iter()
            .map(|m| m.uid)
            .filter(|uid| view.seq_of(*uid).is_some())
            .collect())
    }

    /// Gathers one message's data; `None` when it is gone from the store.
    async fn load_message<'b>(
        &self,
        uid: Uid,
        expunged: bool,
        needs: Needs,
        batch: &'b Batch,
    ) -> CommandResult<Option<Loaded<'b>>> {
        if expunged {
            return Ok(None);
        }
        let (meta, summary, wire) = (batch.meta(uid), batch.summary(uid), batch.wire(uid));
        let gone = (needs.batch.meta && meta.is_none())
            || (needs.batch.summary && summary.is_none())
            || (needs.batch.wire && wire.is_none());
        if gone {
            return Ok(None);
        }
        let raw = match (needs.raw, self.selected.as_ref()) {
            (true, Some(view)) => match self.ctx.store.raw_message(view.id, uid).await? {
                Some(raw) => Some(raw),
                None => return Ok(None),
            },
            _ => None,
        };
        Ok(Some(Loaded {
            meta,
            summary,
            wire,
            raw,
        }))
    }

    /// Writes the FETCH response of `message` (sequence number `seq`, as the view has it
    /// now: after this command's implicit `\Seen`).
    fn write_fetch(
        &self,
        seq: u32,
        message: ViewMessage<'_>,
        items: &[FetchItem],
        loaded: &Loaded,
        flags_changed: bool,
        out: &mut Output<'_>,
    ) -> CommandResult<()> {
        let Some(view) = self.selected.as_ref() else {
            return Ok(());
        };
        // Body items' values (none, and no allocation, for metadata-only items).
        let computed: Vec<Computed> = match loaded.raw {
            Some(_) => items
                .iter()
                .map(|item| compute(item, loaded))
                .collect::<CommandResult<_>>()?,
            None => Vec::new(),
        };
        let mut response = out.fetch(seq, self.charset());
        let flags = || flag_names(view, message, !self.rev2);
        for (index, item) in items.iter().enumerate() {
            let value = computed.get(index).unwrap_or(&Computed::None);
            let attr = match (item, value) {
                (FetchItem::Flags, _) => {
                    response.flags(flags());
                    continue;
                }
                (FetchItem::Uid, _) => FetchAttr::Uid(message.uid.get()),
                (FetchItem::InternalDate, _) => match &loaded.meta {
                    Some(meta) => FetchAttr::InternalDate(DateTime {
                        unix_seconds: meta.internal_date.unix_seconds,
                        offset_minutes: meta.internal_date.offset_minutes,
                    }),
                    None => continue,
                },
                (FetchItem::Rfc822Size, _) => match &loaded.meta {
                    Some(meta) => FetchAttr::Rfc822Size(meta.size),
                    None => continue,
                },
                (FetchItem::ModSeq, _) => FetchAttr::ModSeq(message.modseq.get()),
                (FetchItem::Envelope, _) => match (&loaded.summary, &loaded.wire) {
                    (Some(summary), _) => FetchAttr::Envelope(&summary.envelope),
                    (None, Some(wire)) => FetchAttr::Encoded {
                        name: "ENVELOPE",
                        value: &wire.envelope,
                    },
                    (None, None) => continue,
                },
                (FetchItem::BodyStructure { extensible }, _) => {
                    match (&loaded.summary, &loaded.wire) {
                        (Some(summary), _) => FetchAttr::BodyStructure {
                            message: summary,
                            extensible: *extensible,
                        },
                        (None, Some(wire)) if *extensible => FetchAttr::Encoded {
                            name: "BODYSTRUCTURE",
                            value: &wire.body_structure,
                        },
                        _ => continue,
                    }
                }
                (
                    FetchItem::BodySection { section, alias, .. },
                    Computed::Section(data, origin),
                ) => FetchAttr::Section {
                    section,
                    alias: *alias,
                    origin: *origin,
                    data: data.as_deref(),
                },
                (FetchItem::Binary { part, .. }, Computed::Binary(data, origin)) => {
                    FetchAttr::Binary {
                        part,
                        origin: *origin,
                        data,
                    }
                }
                (FetchItem::BinarySize { part }, Computed::BinarySize(size)) => {
                    FetchAttr::BinarySize { part, size: *size }
                }
                _ => continue,
            };
            response.attr(&attr);
        }
        if flags_changed && !items.contains(&FetchItem::Flags) {
            response.flags(flags());
        }
        if flags_changed && self.condstore {
            // The implicit `\Seen` is a flag change like any other: once CONDSTORE is on,
            // its FETCH carries the UID and the new MODSEQ (RFC 7162 3.1, 3.2.4).
            if !items.contains(&FetchItem::Uid) {
                response.attr(&FetchAttr::Uid(message.uid.get()));
            }
            if !items.contains(&FetchItem::ModSeq) {
                response.attr(&FetchAttr::ModSeq(message.modseq.get()));
            }
        }
        response.finish();
        Ok(())
    }
}

/// Computes a body item's value from the loaded message.
fn compute(item: &FetchItem, loaded: &Loaded) -> CommandResult<Computed> {
    let (Some(raw), summary) = (&loaded.raw, &loaded.summary) else {
        return Ok(Computed::None);
    };
    Ok(match item {
        FetchItem::BodySection {
            section, partial, ..
        } => {
            let data = section_bytes(raw, *summary, section);
            let (data, origin) = match partial {
                Some((offset, length)) => (
                    data.map(|d| slice_partial(&d, *offset, *length)),
                    Some(*offset),
                ),
                None => (data, None),
            };
            Computed::Section(data, origin)
        }
        FetchItem::Binary { part, partial, .. } => {
            let decoded = binary_bytes(raw, *summary, part)?;
            match partial {
                Some((offset, length)) => Computed::Binary(
                    slice_partial(&Bytes::from(decoded), *offset, *length).to_vec(),
                    Some(*offset),
                ),
                None => Computed::Binary(decoded, None),
            }
        }
        FetchItem::BinarySize { part } => {
            let decoded = binary_bytes(raw, *summary, part)?;
            Computed::BinarySize(u64::try_from(decoded.len()).unwrap_or(u64::MAX))
        }
        _ => Computed::None,
    })
}

/// `<offset.length>` of some data (RFC 9051 6.4.5: an offset beyond the end gives an empty
/// string).
fn slice_partial(data: &Bytes, offset: u32, length: u32) -> Bytes {
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(data.len());
    let end = start
        .saturating_add(usize::try_from(length).unwrap_or(usize::MAX))
        .min(data.len());
    data.slice(start..end)
}

fn range(raw: &Bytes, range: std::ops::Range<u64>) -> Option<Bytes> {
    let start = usize::try_from(range.start).ok()?;
    let end = usize::try_from(range.end).ok()?;
    (start <= end && end <= raw.len()).then(|| raw.slice(start..end))
}

/// The bytes of a body section (RFC 9051 6.4.5 `section`); `None` for parts that do not exist.
fn section_bytes(
    raw: &Bytes,
    summary: Option<&MessageSummary>,
    section: &Section,
) -> Option<Bytes> {
    let Some(summary) = summary else {
        return Some(raw.clone());
    };
    match &section.text {
        None if section.part.is_empty() => Some(raw.clone()),
        None => range(raw, summary.part(&section.part)?.body_range()),
        Some(SectionText::Mime) => range(raw, summary.part(&section.part)?.header_range()),
        Some(text) => {
            let message = summary.message(&section.part)?;
            match text {
                SectionText::Text => range(raw, message.root.body_range()),
                SectionText::Header => range(raw, message.root.header_range()),
                SectionText::HeaderFields(names) | SectionText::HeaderFieldsNot(names) => {
                    let header = range(raw, message.root.header_range())?;
                    let names: Vec<&[u8]> = names.iter().map(|n| n.as_ref()).collect();
                    let negate = matches!(text, SectionText::HeaderFieldsNot(_));
                    Some(Bytes::from(portcullis_mime::header_fields(
                        &header, &names, negate,
                    )))
                }
                SectionText::Mime => None,
            }
        }
    }
}

/// The decoded content of a leaf part (RFC 3516 BINARY). An empty path is the whole
/// message, which has no transfer encoding of its own when it is not a leaf.
fn binary_bytes(
    raw: &Bytes,
    summary: Option<&MessageSummary>,
    path: &[u32],
) -> CommandResult<Vec<u8>> {
    let summary = summary.ok_or_else(|| Refusal::bad("BINARY needs the message structure"))?;
    if path.is_empty() {
        return Ok(raw.to_vec());
    }
    let part = summary
        .part(path)
        .ok_or_else(|| Refusal::no(Code::NonExistent, "No such body part"))?;
    if !part.children().is_empty() || part.message().is_some() {
        return Err(Refusal::no(
            Code::Cannot,
            "BINARY applies to leaf parts only",
        ));
    }
    let body = range(raw, part.body_range()).unwrap_or_default();
    portcullis_mime::decode_transfer_encoding(&part.encoding, &body)
        .ok_or_else(|| Refusal::no(Code::UnknownCte, "Unknown Content-Transfer-Encoding"))
}
