//! Conversions between SQL columns and domain types. SQLite integers are signed 64-bit; every
//! narrowing is checked, and a value that does not fit is reported as corruption rather than
//! silently wrapped.

use portcullis_store::{FlagSet, Keyword, MailboxName, ModSeq, SpecialUse, Uid, UidValidity};

use crate::error::{DbResult, Failure};

/// A UID column.
pub(crate) fn uid(value: i64) -> DbResult<Uid> {
    u32::try_from(value)
        .ok()
        .and_then(Uid::new)
        .ok_or_else(|| corrupt("UID", value))
}

/// A UIDVALIDITY column.
pub(crate) fn uid_validity(value: i64) -> DbResult<UidValidity> {
    u32::try_from(value)
        .ok()
        .and_then(UidValidity::new)
        .ok_or_else(|| corrupt("UIDVALIDITY", value))
}

/// A MODSEQ column.
pub(crate) fn modseq(value: i64) -> DbResult<ModSeq> {
    u64::try_from(value)
        .ok()
        .and_then(ModSeq::new)
        .ok_or_else(|| corrupt("MODSEQ", value))
}

/// A MODSEQ as SQL stores it. Lossless: `ModSeq` is at most `i64::MAX` by construction.
pub(crate) fn sql_modseq(value: ModSeq) -> i64 {
    i64::try_from(value.get()).unwrap_or(i64::MAX)
}

/// A count or sum column that must fit a `u32`.
pub(crate) fn count(value: i64) -> DbResult<u32> {
    u32::try_from(value).map_err(|_| corrupt("count", value))
}

/// A size column.
pub(crate) fn size(value: i64) -> DbResult<u64> {
    u64::try_from(value).map_err(|_| corrupt("size", value))
}

/// A zone offset column.
pub(crate) fn offset_minutes(value: i64) -> DbResult<i16> {
    i16::try_from(value).map_err(|_| corrupt("zone offset", value))
}

/// A size as SQL stores it.
pub(crate) fn sql_size(value: usize) -> DbResult<i64> {
    i64::try_from(value).map_err(|_| Failure::Internal(format!("size {value} does not fit SQL")))
}

fn corrupt(what: &str, value: i64) -> Failure {
    Failure::Internal(format!("stored {what} {value} is out of range"))
}

/// A mailbox name column.
pub(crate) fn mailbox_name(text: &str) -> DbResult<MailboxName> {
    MailboxName::new(text)
        .map_err(|error| Failure::Internal(format!("stored mailbox name: {error}")))
}

/// The flags of a message from its `flags` (system bits) and `keywords` (space-separated)
/// columns. Keywords are atoms, so a space never occurs inside one.
pub(crate) fn flags(bits: i64, keywords: Option<&str>) -> FlagSet {
    let system = u8::try_from(bits & 0x1f).unwrap_or_default();
    let keywords = keywords
        .unwrap_or_default()
        .split(' ')
        .filter_map(Keyword::new);
    FlagSet::from_parts(system, keywords)
}

/// The `keywords` column of a flag set; NULL when there are none.
pub(crate) fn keywords_text(flags: &FlagSet) -> Option<String> {
    let words: Vec<&str> = flags.keywords().iter().map(Keyword::as_str).collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// A special-use column.
pub(crate) fn special_use(text: Option<&str>) -> Option<SpecialUse> {
    text.and_then(SpecialUse::from_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_store::SystemFlag;

    #[test]
    fn flags_round_trip_through_their_columns() {
        let mut set = FlagSet::new();
        set.insert(SystemFlag::Seen);
        set.insert(SystemFlag::Draft);
        for word in ["$Forwarded", "work"] {
            set.insert_keyword(Keyword::new(word).unwrap_or_else(|| panic!("{word}")));
        }
        let text = keywords_text(&set);
        assert_eq!(text.as_deref(), Some("$Forwarded work"));
        assert_eq!(flags(i64::from(set.system_bits()), text.as_deref()), set);
        assert_eq!(keywords_text(&FlagSet::new()), None);
        assert_eq!(flags(0, None), FlagSet::new());
    }

    #[test]
    fn out_of_range_columns_are_corruption() {
        assert!(uid(0).is_err());
        assert!(uid(i64::from(u32::MAX) + 1).is_err());
        assert!(modseq(-1).is_err());
        assert!(uid_validity(0).is_err());
        assert_eq!(uid(7).ok().map(Uid::get), Some(7));
    }
}
