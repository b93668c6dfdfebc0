//! The brute-force defence's records (`auth_throttle`): one row per key, times in Unix
//! milliseconds. The policy lives in `portcullis-auth`; this only keeps its state.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use portcullis_store::{ThrottleKey, ThrottleRecord};
use rusqlite::{Connection, params};

use crate::error::{DbResult, Failure};

/// Every record.
pub(crate) fn list(conn: &Connection) -> DbResult<Vec<ThrottleRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, failures, window_start, banned_until, bans, expires FROM auth_throttle",
    )?;
    let mut rows = stmt.query([])?;
    let mut records = Vec::new();
    while let Some(row) = rows.next()? {
        let key: String = row.get(0)?;
        let banned_until: Option<i64> = row.get(3)?;
        records.push(ThrottleRecord {
            key: key
                .parse::<ThrottleKey>()
                .map_err(|error| Failure::Internal(error.to_string()))?,
            failures: row.get(1)?,
            window_start: time(row.get(2)?),
            banned_until: banned_until.map(time),
            bans: row.get(4)?,
            expires: time(row.get(5)?),
        });
    }
    Ok(records)
}

/// Upserts `save`, then deletes `forget`.
pub(crate) fn save(
    conn: &Connection,
    save: &[ThrottleRecord],
    forget: &[ThrottleKey],
) -> DbResult<()> {
    let mut upsert = conn.prepare_cached(
        "INSERT INTO auth_throttle (key, failures, window_start, banned_until, bans, expires)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
             window_start = excluded.window_start, banned_until = excluded.banned_until,
             bans = excluded.bans, expires = excluded.expires",
    )?;
    for record in save {
        upsert.execute(params![
            record.key.to_string(),
            record.failures,
            millis(record.window_start),
            record.banned_until.map(millis),
            record.bans,
            millis(record.expires),
        ])?;
    }
    let mut delete = conn.prepare_cached("DELETE FROM auth_throttle WHERE key = ?1")?;
    for key in forget {
        delete.execute([key.to_string()])?;
    }
    Ok(())
}

/// Unix milliseconds; times before 1970 count as 1970.
fn millis(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn time(millis: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(millis).unwrap_or(0))
}
