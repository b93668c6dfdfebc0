//! IMAP dates: `date-time` for APPEND and INTERNALDATE (`"17-Jul-1996 02:44:25 -0700"`) and
//! `date` for SEARCH (`1-Feb-1994`). Calendar arithmetic is done here (a few lines of the
//! proleptic Gregorian civil-from-days algorithm) rather than pulling in a date crate for it.

use std::fmt;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A calendar date without time or zone (SEARCH SINCE/BEFORE/ON ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year, four digits.
    pub year: i32,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
}

impl Date {
    /// Validates the day against the month.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        let valid = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }

    /// The date of `unix_seconds` shifted by `offset_minutes`.
    pub fn from_unix(unix_seconds: i64, offset_minutes: i16) -> Date {
        let local = unix_seconds + i64::from(offset_minutes) * 60;
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        Date { year, month, day }
    }

    /// Parses `date-text` (`1-Feb-1994`, day of one or two digits, month case-insensitive).
    pub fn parse(text: &[u8]) -> Option<Date> {
        let text = std::str::from_utf8(text).ok()?;
        let mut parts = text.split('-');
        let day = parts.next()?;
        let month = parts.next()?;
        let year = parts.next()?;
        if parts.next().is_some() || day.is_empty() || day.len() > 2 || year.len() != 4 {
            return None;
        }
        Date::new(
            parse_digits(year)?,
            month_number(month)?,
            parse_digits(day)?,
        )
    }
}

/// A point in time with the zone it was given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix_seconds: i64,
    /// Zone offset in minutes east of UTC.
    pub offset_minutes: i16,
}

impl DateTime {
    /// Parses the inside of an IMAP `date-time` (without the quotes):
    /// `dd-Mon-yyyy hh:mm:ss +hhmm`, with a leading space or a single digit allowed for the day.
    pub fn parse(text: &[u8]) -> Option<DateTime> {
        let text = std::str::from_utf8(text).ok()?;
        let text = text.strip_prefix(' ').unwrap_or(text);
        let (date, rest) = text.split_once(' ')?;
        let (time, zone) = rest.split_once(' ')?;
        let date = Date::parse(date.as_bytes())?;
        let mut hms = time.split(':');
        let (hour, minute, second) = (hms.next()?, hms.next()?, hms.next()?);
        if hms.next().is_some() || [hour, minute, second].iter().any(|part| part.len() != 2) {
            return None;
        }
        let (hour, minute, second): (i64, i64, i64) = (
            parse_digits(hour)?,
            parse_digits(minute)?,
            parse_digits(second)?,
        );
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let offset_minutes = parse_zone(zone)?;
        let local = date.days_since_epoch() * 86_400 + hour * 3600 + minute * 60 + second;
        Some(DateTime {
            unix_seconds: local - i64::from(offset_minutes) * 60,
            offset_minutes,
        })
    }
}

impl fmt::Display for DateTime {
    /// The `date-time` form without quotes: `17-Jul-1996 02:44:25 -0700`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.unix_seconds + i64::from(self.offset_minutes) * 60;
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        let seconds = local.rem_euclid(86_400);
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let offset = self.offset_minutes.unsigned_abs();
        write!(
            f,
            "{day:02}-{}-{year:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
            MONTHS[usize::from(month - 1)],
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
            offset / 60,
            offset % 60
        )
    }
}

fn parse_digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn month_number(name: &str) -> Option<u8> {
    let index = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(name))?;
    u8::try_from(index + 1).ok()
}

fn parse_zone(zone: &str) -> Option<i16> {
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    // All four must be ASCII digits before the split: a multi-byte character would put
    // the split inside it.
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i16 = parse_digits(&digits[..2])?;
    let minutes: i16 = parse_digits(&digits[2..])?;
    if minutes > 59 {
        return None;
    }
    Some(sign * (hours * 60 + minutes))
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day count since 1970-01-01 (inverse of `days_from_civil`).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Invariant: day is 1..=31 and month 1..=12 by construction; the year fits an i32 for
    // every i64 second count we accept (dates are parsed from four-digit years).
    (
        i32::try_from(year).unwrap_or(i32::MAX),
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9051_date_time_example_round_trips() {
        // RFC 9051 6.3.12: APPEND saved-messages (\Seen) {326} ... and the FETCH example
        // INTERNALDATE "17-Jul-1996 02:44:25 -0700".
        let parsed = DateTime::parse(b"17-Jul-1996 02:44:25 -0700");
        assert_eq!(
            parsed,
            Some(DateTime {
                unix_seconds: 837_596_665,
                offset_minutes: -420
            })
        );
        assert_eq!(
            parsed.map(|d| d.to_string()).as_deref(),
            Some("17-Jul-1996 02:44:25 -0700")
        );
    }

    #[test]
    fn leading_space_and_single_digit_days_are_accepted() {
        let expected = DateTime::parse(b"07-Feb-1994 21:52:25 +0100");
        assert!(expected.is_some());
        assert_eq!(DateTime::parse(b" 7-Feb-1994 21:52:25 +0100"), expected);
        assert_eq!(DateTime::parse(b"7-feb-1994 21:52:25 +0100"), expected);
    }

    #[test]
    fn invalid_dates_are_refused() {
        for bad in [
            &b"31-Feb-2020 00:00:00 +0000"[..],
            b"29-Feb-2021 00:00:00 +0000",
            b"01-Foo-2020 00:00:00 +0000",
            b"01-Jan-2020 24:00:00 +0000",
            b"01-Jan-2020 00:00:00 0000",
            b"01-Jan-2020 00:00:00 +00",
            b"01-Jan-20 00:00:00 +0000",
            // Found by the command fuzz target: a two-byte character across the zone's middle.
            "08-Jul-1996 02:44:25 -0\u{252}0".as_bytes(),
            "08-Jul-1996 02:44:25 +\u{e9}\u{e9}".as_bytes(),
            "\u{e9}-Jul-1996 02:44:25 +0000".as_bytes(),
            b"",
        ] {
            assert_eq!(
                DateTime::parse(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(DateTime::parse(b"29-Feb-2024 00:00:00 +0000").is_some());
    }

    #[test]
    fn search_dates() {
        assert_eq!(Date::parse(b"1-Feb-1994"), Date::new(1994, 2, 1));
        assert_eq!(Date::parse(b"01-FEB-1994"), Date::new(1994, 2, 1));
        assert_eq!(Date::parse(b"1-Feb-94"), None);
        assert_eq!(Date::new(1970, 1, 1).map(Date::days_since_epoch), Some(0));
        assert_eq!(
            Date::new(2000, 3, 1).map(Date::days_since_epoch),
            Some(11_017)
        );
        assert_eq!(
            Date::from_unix(837_596_665, -420),
            Date {
                year: 1996,
                month: 7,
                day: 17
            }
        );
        assert_eq!(
            Date::from_unix(-1, 0),
            Date {
                year: 1969,
                month: 12,
                day: 31
            }
        );
    }
}
