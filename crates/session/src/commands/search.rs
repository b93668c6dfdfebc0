//! SEARCH and UID SEARCH (RFC 9051 6.4.4, 6.4.9) with ESEARCH results (RFC 4731; always in
//! IMAP4rev2 mode), MODSEQ (RFC 7162 3.1.5) and WITHIN (RFC 5032).
//!
//! Strings match case-insensitively after decoding: header values have their RFC 2047
//! words decoded, bodies their transfer encoding and charset (`portcullis_mime`).
//!
//! Responses: `* SEARCH` or `* ESEARCH`, with the highest MODSEQ of what was returned when
//! the criteria use MODSEQ (omitted when nothing matched); `NO [BADCHARSET (US-ASCII
//! UTF-8)]` for other charsets.

use bytes::Bytes;
use portcullis_mime::{MessageSummary, fold};
use portcullis_proto::command::{DateRelation, FlagArg, SearchKey, SearchReturn};
use portcullis_proto::encode::{
    Code, Data, ESearchItem, NString, NotAnEnvelope, envelope_subject, sequence_set,
};
use portcullis_proto::{Date, SequenceSet, Tag};
use portcullis_store::{
    FlagSet, Keyword, MessageMeta, ModSeq, StoreError, SystemFlag, TextScope, Uid,
};

use crate::commands::batch::{BATCH, Batch, ReadAhead, Wanted};
use crate::error::{CommandResult, Refusal};
use crate::output::Output;
use crate::session::{Done, Session, searches_modseq};
use crate::view::ViewMessage;

/// What the criteria need beyond the view.
#[derive(Debug, Clone, Copy, Default)]
struct Needs {
    meta: bool,
    /// The stored parse (the sent date is in its envelope; header keys need its offsets).
    summary: bool,
    /// The envelope's SUBJECT, from the fetch cache's wire ENVELOPE unless the stored parse
    /// is read anyway.
    subject: bool,
    /// The header block's bytes (HEADER, FROM, TO ...).
    head: bool,
    /// The whole bytes (BODY, TEXT).
    body: bool,
}

/// Whether a HEADER key is SUBJECT, which RFC 9051 6.4.4 defines on the envelope ("the
/// envelope structure's SUBJECT field"): answered without reading the message (profiled:
/// the header blocks' reads were most of a SUBJECT search after a restart), from the
/// ENVELOPE the fetch cache keeps in wire form — a dense file that clients' ENVELOPE
/// fetches keep in memory, where the stored parses lie between the message bytes (a
/// SUBJECT search right after a restart and an ENVELOPE fetch read 2,000 of them from disk).
fn is_subject(field: &[u8]) -> bool {
    field.eq_ignore_ascii_case(b"SUBJECT")
}

fn needs(key: &SearchKey, acc: &mut Needs) {
    match key {
        SearchKey::And(keys) => keys.iter().for_each(|k| needs(k, acc)),
        SearchKey::Not(key) => needs(key, acc),
        SearchKey::Or(a, b) => {
            needs(a, acc);
            needs(b, acc);
        }
        SearchKey::InternalDate(..)
        | SearchKey::Larger(_)
        | SearchKey::Smaller(_)
        | SearchKey::Older(_)
        | SearchKey::Younger(_) => {
            acc.meta = true;
        }
        SearchKey::Header(field, _) if is_subject(field) => acc.subject = true,
        SearchKey::Header(..) => {
            acc.summary = true;
            acc.head = true;
            acc.meta = true;
        }
        SearchKey::SentDate(..) => {
            acc.summary = true;
            acc.meta = true;
        }
        SearchKey::Body(_) | SearchKey::Text(_) => {
            acc.summary = true;
            acc.meta = true;
            acc.body = true;
        }
        _ => {}
    }
}

/// Everything one message is judged on.
struct Candidate<'a> {
    seq: u32,
    message: ViewMessage<'a>,
    /// The saved result for `$` (RFC 5182), ascending UIDs.
    saved: &'a [Uid],
    recent: bool,
    meta: Option<&'a MessageMeta>,
    summary: Option<&'a MessageSummary>,
    /// The envelope's SUBJECT (encoded words as written), when a key needs it.
    subject: Option<&'a [u8]>,
    /// The bytes: whole, or only the header block when no key looks past it.
    raw: Option<&'a Bytes>,
    exists: u32,
    largest_uid: u32,
    now: i64,
}

/// Search strings, decoded and folded once.
fn needle(bytes: &[u8]) -> String {
    fold(&String::from_utf8_lossy(bytes))
}

impl Candidate<'_> {
    fn matches(&self, key: &SearchKey) -> bool {
        match key {
            SearchKey::And(keys) => keys.iter().all(|k| self.matches(k)),
            SearchKey::All => true,
            SearchKey::Not(key) => !self.matches(key),
            SearchKey::Or(a, b) => self.matches(a) || self.matches(b),
            SearchKey::Flag(flag) => self.has_flag(flag),
            SearchKey::New => self.recent && !self.message.flags.contains(SystemFlag::Seen),
            SearchKey::Old => !self.recent,
            SearchKey::Recent => self.recent,
            SearchKey::Header(field, value) if is_subject(field) => {
                self.subject_contains(&needle(value))
            }
            SearchKey::Header(field, value) => self.header_contains(field, &needle(value)),
            SearchKey::Body(value) => self.body_contains(&needle(value)),
            SearchKey::Text(value) => {
                let value = needle(value);
                self.header_text_contains(&value) || self.body_contains(&value)
            }
            SearchKey::InternalDate(relation, date) => self.meta.is_some_and(|meta| {
                compare(
                    Date::from_unix(
                        meta.internal_date.unix_seconds,
                        meta.internal_date.offset_minutes,
                    ),
                    *relation,
                    *date,
                )
            }),
            SearchKey::SentDate(relation, date) => self
                .sent_date()
                .is_some_and(|sent| compare(sent, *relation, *date)),
            SearchKey::Larger(n) => self.meta.is_some_and(|meta| meta.size > *n),
            SearchKey::Smaller(n) => self.meta.is_some_and(|meta| meta.size < *n),
            SearchKey::Uid(SequenceSet::Saved) | SearchKey::SequenceSet(SequenceSet::Saved) => {
                self.saved.binary_search(&self.message.uid).is_ok()
            }
            SearchKey::Uid(set) => {
                in_ranges(&set.to_ranges(self.largest_uid), self.message.uid.get())
            }
            SearchKey::SequenceSet(set) => in_ranges(&set.to_ranges(self.exists), self.seq),
            SearchKey::ModSeq(modseq) => self.message.modseq.get() >= *modseq,
            SearchKey::Older(seconds) => self.meta.is_some_and(|meta| {
                meta.internal_date.unix_seconds < self.now.saturating_sub_unsigned(*seconds)
            }),
            SearchKey::Younger(seconds) => self.meta.is_some_and(|meta| {
                meta.internal_date.unix_seconds >= self.now.saturating_sub_unsigned(*seconds)
            }),
        }
    }

    fn has_flag(&self, flag: &FlagArg) -> bool {
        let flags: &FlagSet = self.message.flags;
        match flag {
            FlagArg::System(name) if name.eq_ignore_ascii_case("\\Recent") => self.recent,
            FlagArg::System(name) => SystemFlag::from_name(name).is_some_and(|f| flags.contains(f)),
            FlagArg::Keyword(name) => Keyword::new(name).is_some_and(|k| flags.has_keyword(&k)),
        }
    }

    fn header_block(&self) -> Option<&[u8]> {
        let (raw, summary) = self.raw.zip(self.summary)?;
        let range = summary.root.header_range();
        raw.get(usize::try_from(range.start).ok()?..usize::try_from(range.end).ok()?)
    }

    /// HEADER field value: an empty value matches every message that has the field.
    fn header_contains(&self, field: &[u8], value: &str) -> bool {
        let Some(block) = self.header_block() else {
            return false;
        };
        portcullis_mime::headers(block)
            .filter(|(name, _)| name.eq_ignore_ascii_case(field))
            .any(|(_, raw)| {
                value.is_empty() || fold(&portcullis_mime::decode_header_value(raw)).contains(value)
            })
    }

    /// SUBJECT: an empty value matches every message with a subject.
    fn subject_contains(&self, value: &str) -> bool {
        let Some(subject) = self.subject else {
            return false;
        };
        value.is_empty() || fold(&portcullis_mime::decode_header_value(subject)).contains(value)
    }

    fn header_text_contains(&self, value: &str) -> bool {
        let Some(block) = self.header_block() else {
            return false;
        };
        portcullis_mime::headers(block).any(|(name, raw)| {
            fold(&String::from_utf8_lossy(name)).contains(value)
                || fold(&portcullis_mime::decode_header_value(raw)).contains(value)
        })
    }

    fn body_contains(&self, value: &str) -> bool {
        let Some((raw, summary)) = self.raw.zip(self.summary) else {
            return false;
        };
        portcullis_mime::text_parts(summary)
            .into_iter()
            .any(|part| fold(&portcullis_mime::decoded_text(raw, part)).contains(value))
    }

    /// The date of the Date: header, in its own zone; the internal date when it is missing
    /// or unreadable (as other servers do, so every message has a sent date).
    fn sent_date(&self) -> Option<Date> {
        let header = self
            .summary
            .and_then(|summary| summary.envelope.date.as_deref())
            .and_then(parse_header_date);
        header.or_else(|| {
            self.meta.map(|meta| {
                Date::from_unix(
                    meta.internal_date.unix_seconds,
                    meta.internal_date.offset_minutes,
                )
            })
        })
    }
}

fn in_ranges(ranges: &[(u32, u32)], value: u32) -> bool {
    ranges
        .iter()
        .any(|(low, high)| (*low..=*high).contains(&value))
}

fn compare(day: Date, relation: DateRelation, reference: Date) -> bool {
    match relation {
        DateRelation::Before => day < reference,
        DateRelation::On => day == reference,
        DateRelation::Since => day >= reference,
    }
}

/// The calendar date of an RFC 5322 `Date:` value (`Tue, 1 Jul 2003 10:52:37 +0200`),
/// read leniently: the first day number, month name and four-digit year found.
fn parse_header_date(raw: &[u8]) -> Option<Date> {
    let text = String::from_utf8_lossy(raw);
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-')
        .filter(|w| !w.is_empty())
        .collect();
    let month_at = words
        .iter()
        .position(|w| Date::parse(format!("1-{w}-2000").as_bytes()).is_some())?;
    let day: u8 = words.get(month_at.checked_sub(1)?)?.parse().ok()?;
    let year = words.get(month_at + 1)?;
    Date::parse(format!("{day}-{}-{year}", words[month_at]).as_bytes())
}

impl Session {
    /// SEARCH / UID SEARCH.
    pub(crate) async fn handle_search(
        &mut self,
        tag: &Tag,
        by_uid: bool,
        return_options: Option<&[SearchReturn]>,
        charset: Option<&str>,
        criteria: &SearchKey,
        out: &mut Output<'_>,
    ) -> CommandResult<Done> {
        let save = return_options.is_some_and(|options| options.contains(&SearchReturn::Save));
        let result = self.search_matches(charset, criteria).await;
        if save {
            // RFC 5182 2.1: a failed SEARCH with SAVE leaves an empty saved result.
            let saved = match &result {
                Ok(matched) => saved_result(return_options.unwrap_or_default(), matched),
                Err(_) => Vec::new(),
            };
            if let Some(view) = self.selected.as_mut() {
                view.saved = saved;
            }
        }
        let matched = result?;
        let numbers: Vec<u32> = matched
            .iter()
            .map(|(seq, uid, _)| if by_uid { uid.get() } else { *seq })
            .collect();
        let with_modseq = searches_modseq(criteria);
        let charset = self.charset();
        let reported: Option<Vec<SearchReturn>> = return_options.map(|o| {
            o.iter()
                .copied()
                .filter(|r| *r != SearchReturn::Save)
                .collect()
        });
        if save && reported.as_ref().is_some_and(Vec::is_empty) {
            // RFC 5182 2.1: SAVE alone produces no ESEARCH response.
        } else if return_options.is_some() || self.rev2 {
            let options = reported
                .as_deref()
                .filter(|o| !o.is_empty())
                .unwrap_or(&[SearchReturn::All]);
            let mut items = esearch_items(options, &numbers);
            if with_modseq && let Some(modseq) = returned_modseq(options, &matched) {
                items.push(ESearchItem::ModSeq(modseq));
            }
            out.data(
                &Data::ESearch {
                    tag: tag.as_str(),
                    uid: by_uid,
                    items: &items,
                },
                charset,
            );
        } else {
            // RFC 7162 3.1.6: "If a client specifies a MODSEQ criterion in a SEARCH (or UID
            // SEARCH) command and the server returns a non-empty SEARCH result, the server
            // MUST also append (to the end of the untagged SEARCH response) the highest
            // mod-sequence for all messages being returned." (The encoder drops it when
            // nothing matched.)
            let modseq = matched.iter().map(|(_, _, modseq)| modseq.get()).max();
            out.data(
                &Data::Search {
                    numbers: &numbers,
                    modseq: modseq.filter(|_| with_modseq),
                },
                charset,
            );
        }
        Ok(Done::new(if by_uid {
            "UID SEARCH completed"
        } else {
            "SEARCH completed"
        }))
    }

    /// The messages a full-text index says may match: the intersection of the store's
    /// candidates for every text key that must hold (the top-level AND). `None` when no key
    /// can be looked up, so every message is evaluated. Candidates are only a narrowing: every
    /// one is still evaluated against every key.
    async fn text_candidates(&self, criteria: &SearchKey) -> CommandResult<Option<Vec<Uid>>> {
        let Some(view) = self.selected.as_ref() else {
            return Ok(None);
        };
        let conjuncts: &[SearchKey] = match criteria {
            SearchKey::And(keys) => keys,
            key => std::slice::from_ref(key),
        };
        let mut narrowed: Option<Vec<Uid>> = None;
        for key in conjuncts {
            let (scope, value) = match key {
                SearchKey::Body(value) => (TextScope::Body, value),
                SearchKey::Text(value) => (TextScope::Anywhere, value),
                SearchKey::Header(_, value) if !value.is_empty() => (TextScope::Headers, value),
                _ => continue,
            };
            let Some(mut found) = self
                .ctx
                .store
                .text_candidates(view.id, scope, &needle(value))
                .await?
            else {
                continue;
            };
            if let Some(previous) = &narrowed {
                found.retain(|uid| previous.binary_search(uid).is_ok());
            }
            narrowed = Some(found);
        }
        Ok(narrowed)
    }

    /// Checks the charset, then evaluates.
    async fn search_matches(
        &self,
        charset: Option<&str>,
        criteria: &SearchKey,
    ) -> CommandResult<Vec<(u32, Uid, ModSeq)>> {
        if let Some(charset) = charset
            && !charset.eq_ignore_ascii_case("UTF-8")
            && !charset.eq_ignore_ascii_case("US-ASCII")
        {
            return Err(Refusal::no(
                Code::BadCharset(vec!["US-ASCII".into(), "UTF-8".into()]),
                "Unsupported charset",
            ));
        }
        let mut need = Needs::default();
        needs(criteria, &mut need);
        self.evaluate(criteria, need).await
    }

    /// The (sequence number, UID, MODSEQ) of every live message matching `criteria`, in
    /// mailbox order.
    async fn evaluate(
        &self,
        criteria: &SearchKey,
        need: Needs,
    ) -> CommandResult<Vec<(u32, Uid, ModSeq)>> {
        let view = self
            .selected
            .as_ref()
            .ok_or_else(|| Refusal::bad("No mailbox selected"))?;
        let store = &self.ctx.store;
        let exists = view.exists();
        let largest_uid = view.last_uid().map_or(0, Uid::get);
        let now = portcullis_store::InternalDate::now().unix_seconds;
        let mut matched = Vec::new();
        let candidates = self.text_candidates(criteria).await?;
        let indexed: Vec<(u32, ViewMessage<'_>)> = view
            .messages()
            .filter(|(_, m)| !m.expunged)
            .filter(|(_, m)| {
                candidates
                    .as_ref()
                    .is_none_or(|c| c.binary_search(&m.uid).is_ok())
            })
            .collect();
        let wanted = Wanted {
            meta: need.meta,
            summary: need.summary,
            wire: need.subject && !need.summary,
            ..Wanted::default()
        };
        let batches: Vec<&[(u32, ViewMessage<'_>)]> = indexed.chunks(BATCH).collect();
        let uids_of = |batch: &[(u32, ViewMessage<'_>)]| batch.iter().map(|(_, m)| m.uid).collect();
        let mut reader = ReadAhead::new(
            store.clone(),
            view.id,
            wanted,
            batches.iter().map(|batch| uids_of(batch)).collect(),
        );
        for batch in batches {
            let read = reader.next().await?;
            let subjects = wire_subjects(&read)?;
            let size_of = |&(_, message): &(u32, ViewMessage<'_>)| {
                read.meta(message.uid).map_or(0, |meta| meta.size)
            };
            // The bytes, when the keys need them, come a few MiB at a time in one read each.
            for run in runs_within(batch, size_of, RAW_READ_BUDGET) {
                let raws = if need.body {
                    let uids: Vec<Uid> = run.iter().map(|(_, m)| m.uid).collect();
                    store.raw_messages(view.id, &uids).await?
                } else if need.head {
                    // Header keys alone: the header blocks, not the whole messages.
                    let heads: Vec<(Uid, u64)> = run
                        .iter()
                        .filter_map(|(_, m)| Some((m.uid, read.summary(m.uid)?.root.body_start)))
                        .collect();
                    store.raw_prefixes(view.id, &heads).await?
                } else {
                    Vec::new()
                };
                for &(seq, message) in run {
                    let summary = read.summary(message.uid);
                    let subject = match summary {
                        Some(summary) => summary.envelope.subject.as_deref(),
                        None => subjects
                            .binary_search_by_key(&message.uid, |(u, _)| *u)
                            .ok()
                            .and_then(|i| subjects[i].1.as_deref()),
                    };
                    let raw = raws
                        .binary_search_by_key(&message.uid, |(u, _)| *u)
                        .ok()
                        .map(|i| &raws[i].1);
                    let candidate = Candidate {
                        seq,
                        message,
                        saved: &view.saved,
                        recent: !self.rev2 && view.is_recent(message.uid),
                        meta: read.meta(message.uid),
                        summary,
                        subject,
                        raw,
                        exists,
                        largest_uid,
                        now,
                    };
                    if candidate.matches(criteria) {
                        matched.push((seq, message.uid, message.modseq));
                    }
                }
            }
        }
        Ok(matched)
    }
}

/// The SUBJECT of each message whose wire ENVELOPE was read, ascending by UID.
fn wire_subjects(read: &Batch) -> CommandResult<Vec<(Uid, NString<'_>)>> {
    read.wires
        .iter()
        .map(|(uid, wire)| match envelope_subject(&wire.envelope) {
            Ok(subject) => Ok((*uid, subject)),
            Err(NotAnEnvelope) => Err(Refusal::from(StoreError::Backend(format!(
                "the cached ENVELOPE of UID {uid} is malformed"
            )))),
        })
        .collect()
}

/// Most message bytes one read of a text search brings in at once.
const RAW_READ_BUDGET: u64 = 8 << 20;

/// `items` cut into runs, in order, each of at most `budget` bytes by `size` — or of one item
/// bigger than that.
fn runs_within<T>(items: &[T], size: impl Fn(&T) -> u64, budget: u64) -> Vec<&[T]> {
    let mut runs = Vec::new();
    let (mut start, mut total) = (0, 0_u64);
    for (index, item) in items.iter().enumerate() {
        let bytes = size(item);
        if index > start && total.saturating_add(bytes) > budget {
            runs.push(&items[start..index]);
            (start, total) = (index, 0);
        }
        total = total.saturating_add(bytes);
    }
    if start < items.len() {
        runs.push(&items[start..]);
    }
    runs
}

/// What `RETURN (SAVE ...)` saves (RFC 5182 2.1): with MIN and/or MAX but neither ALL nor
/// COUNT, only those messages; otherwise every match. Ascending UIDs.
fn saved_result(options: &[SearchReturn], matched: &[(u32, Uid, ModSeq)]) -> Vec<Uid> {
    let has = |option: SearchReturn| options.contains(&option);
    let uids = matched.iter().map(|(_, uid, _)| *uid);
    if !has(SearchReturn::All)
        && !has(SearchReturn::Count)
        && (has(SearchReturn::Min) || has(SearchReturn::Max))
    {
        let mut ends: Vec<Uid> = Vec::new();
        if has(SearchReturn::Min) {
            ends.extend(matched.first().map(|(_, uid, _)| *uid));
        }
        if has(SearchReturn::Max) {
            ends.extend(matched.last().map(|(_, uid, _)| *uid));
        }
        ends.sort_unstable();
        ends.dedup();
        return ends;
    }
    uids.collect()
}

/// The MODSEQ result of an ESEARCH with a MODSEQ criterion (RFC 7162 3.1.10, RFC 4731 3.2):
/// the highest MODSEQ of the messages the result options return — the one message of MIN or
/// MAX alone, both of MIN and MAX without ALL or COUNT, every match otherwise. `None` when
/// nothing matched: the item is then omitted.
fn returned_modseq(options: &[SearchReturn], matched: &[(u32, Uid, ModSeq)]) -> Option<u64> {
    let has = |option: SearchReturn| options.contains(&option);
    let only_ends = !has(SearchReturn::All)
        && !has(SearchReturn::Count)
        && (has(SearchReturn::Min) || has(SearchReturn::Max));
    let modseqs = matched.iter().map(|(_, _, modseq)| modseq.get());
    if !only_ends {
        return modseqs.max();
    }
    let min = matched.first().filter(|_| has(SearchReturn::Min));
    let max = matched.last().filter(|_| has(SearchReturn::Max));
    min.into_iter()
        .chain(max)
        .map(|(_, _, modseq)| modseq.get())
        .max()
}

fn esearch_items(options: &[SearchReturn], numbers: &[u32]) -> Vec<ESearchItem> {
    let mut items = Vec::new();
    for option in options {
        match option {
            SearchReturn::Min => items.extend(numbers.first().map(|n| ESearchItem::Min(*n))),
            SearchReturn::Max => items.extend(numbers.last().map(|n| ESearchItem::Max(*n))),
            SearchReturn::Count => items.push(ESearchItem::Count(
                u32::try_from(numbers.len()).unwrap_or(u32::MAX),
            )),
            // RFC 4731 3.1: ALL is omitted when nothing matched.
            SearchReturn::All if !numbers.is_empty() => {
                let mut sorted = numbers.to_vec();
                sorted.sort_unstable();
                items.push(ESearchItem::All(sequence_set(&sorted)));
            }
            SearchReturn::All | SearchReturn::Save => {}
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_stay_within_the_budget_unless_one_item_is_bigger() {
        let sizes = [3_u64, 4, 2, 9, 1, 1];
        let runs = runs_within(&sizes, |&s| s, 7);
        assert_eq!(runs, vec![&[3, 4][..], &[2], &[9], &[1, 1]]);
        assert!(runs_within(&[] as &[u64], |&s| s, 7).is_empty());
        assert_eq!(runs_within(&sizes, |_| 0, 7), vec![&sizes[..]]);
    }

    #[test]
    fn header_dates_are_read_leniently() {
        assert_eq!(
            parse_header_date(b"Tue, 1 Jul 2003 10:52:37 +0200"),
            Date::new(2003, 7, 1)
        );
        assert_eq!(
            parse_header_date(b"01 Jan 2020 00:00 GMT"),
            Date::new(2020, 1, 1)
        );
        assert_eq!(
            parse_header_date(b"Thu, 13-Feb-2020"),
            Date::new(2020, 2, 13)
        );
        assert_eq!(parse_header_date(b"garbage"), None);
    }

    #[test]
    fn esearch_modseq_describes_the_returned_messages() {
        let modseq = |n: u64| ModSeq::new(n).unwrap_or(ModSeq::MIN);
        let uid = |n: u32| Uid::new(n).unwrap_or(Uid::MIN);
        let matched = [
            (1, uid(4), modseq(90)),
            (2, uid(5), modseq(30)),
            (3, uid(9), modseq(60)),
        ];
        use SearchReturn::{All, Count, Max, Min};
        assert_eq!(returned_modseq(&[Min], &matched), Some(90));
        assert_eq!(returned_modseq(&[Max], &matched), Some(60));
        assert_eq!(returned_modseq(&[Min, Max], &matched), Some(90));
        assert_eq!(returned_modseq(&[Max, Count], &matched), Some(90));
        assert_eq!(returned_modseq(&[All], &matched[1..]), Some(60));
        assert_eq!(returned_modseq(&[Max], &matched[..2]), Some(30));
        assert_eq!(returned_modseq(&[All, Min], &[]), None);
    }

    #[test]
    fn esearch_omits_empty_results() {
        assert_eq!(
            esearch_items(
                &[
                    SearchReturn::Min,
                    SearchReturn::Max,
                    SearchReturn::All,
                    SearchReturn::Count
                ],
                &[]
            ),
            vec![ESearchItem::Count(0)]
        );
        assert_eq!(
            esearch_items(&[SearchReturn::All, SearchReturn::Min], &[2, 3, 4, 9]),
            vec![ESearchItem::All("2:4,9".into()), ESearchItem::Min(2)]
        );
    }
}
