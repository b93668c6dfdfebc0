//! The scenarios, and what they share: the run context, answer checks and the outcome.

pub(crate) mod append;
pub(crate) mod big_mailbox;
pub(crate) mod idle;
pub(crate) mod login;
pub(crate) mod mixed;

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::client::Target;
use crate::system::ServerSelector;

/// Everything a scenario needs to know about the server under test.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) target: Target,
    pub(crate) users: Users,
    pub(crate) seed: u64,
    pub(crate) server: ServerSelector,
}

/// The bench accounts: `pattern` with `{n}` replaced by 1..=count.
#[derive(Debug, Clone)]
pub(crate) struct Users {
    pub(crate) pattern: String,
    pub(crate) count: u64,
    pub(crate) password: String,
}

impl Users {
    /// The name of user `i` (wrapping around the count; 0 is the first user).
    pub(crate) fn name(&self, i: u64) -> String {
        let n = i % self.count.max(1) + 1;
        self.pattern.replace("{n}", &n.to_string())
    }
}

/// Answer checks: how many passed, how many failed, and the first failures' descriptions.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    passed: u64,
    failed: u64,
    failures: Vec<String>,
}

/// How many failure descriptions are kept.
const KEEP_FAILURES: usize = 10;

impl Checks {
    /// Records one check; `what` describes a failure.
    pub(crate) fn check(&mut self, ok: bool, what: impl FnOnce() -> String) -> bool {
        if ok {
            self.passed += 1;
        } else {
            self.fail(what());
        }
        ok
    }

    pub(crate) fn fail(&mut self, what: String) {
        self.failed += 1;
        if self.failures.len() < KEEP_FAILURES {
            self.failures.push(what);
        }
    }

    pub(crate) fn merge(&mut self, other: Checks) {
        self.passed += other.passed;
        self.failed += other.failed;
        for f in other.failures {
            if self.failures.len() < KEEP_FAILURES {
                self.failures.push(f);
            }
        }
    }

    pub(crate) fn failed(&self) -> u64 {
        self.failed
    }

    pub(crate) fn passed(&self) -> u64 {
        self.passed
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({ "passed": self.passed, "failed": self.failed, "failures": self.failures })
    }
}

/// Checks shared by concurrent tasks.
#[derive(Debug, Default)]
pub(crate) struct SharedChecks(Mutex<Checks>);

impl SharedChecks {
    pub(crate) fn merge(&self, c: Checks) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .merge(c);
    }

    pub(crate) fn into_inner(self) -> Checks {
        self.0
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What a scenario measured: named figures (for JSON) and table rows (for people).
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub(crate) figures: Map<String, Value>,
    pub(crate) rows: Vec<(String, String)>,
    pub(crate) checks: Checks,
}

impl Outcome {
    /// A figure that is also shown in the table.
    pub(crate) fn show(&mut self, key: &str, label: &str, value: Value) {
        let text = match &value {
            Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() => format!("{f:.3}"),
                _ => n.to_string(),
            },
            Value::Null => "-".to_owned(),
            other => other.to_string(),
        };
        self.rows.push((label.to_owned(), text));
        self.figures.insert(key.to_owned(), value);
    }

    /// A figure for the JSON only.
    pub(crate) fn put(&mut self, key: &str, value: Value) {
        self.figures.insert(key.to_owned(), value);
    }
}

/// Milliseconds with microsecond precision, as JSON.
pub(crate) fn ms(d: Duration) -> Value {
    json!((d.as_secs_f64() * 1e6).round() / 1e3)
}

/// A rounded rate.
pub(crate) fn rate(count: u64, over: Duration) -> Value {
    let secs = over.as_secs_f64();
    if secs <= 0.0 {
        return Value::Null;
    }
    json!((count as f64 / secs * 10.0).round() / 10.0)
}

/// The quantile `permille`/1000 of unsorted durations (500: the median).
pub(crate) fn quantile(samples: &mut [Duration], permille: u64) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let last = samples.len() - 1;
    let i = (last as u64 * permille.min(1000) + 500) / 1000;
    let i = usize::try_from(i).unwrap_or(last).min(last);
    samples.get(i).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_wrap() {
        let u = Users {
            pattern: "bench{n}".into(),
            count: 3,
            password: String::new(),
        };
        assert_eq!(u.name(0), "bench1");
        assert_eq!(u.name(2), "bench3");
        assert_eq!(u.name(3), "bench1");
    }

    #[test]
    fn quantiles() {
        let mut v: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        assert_eq!(quantile(&mut v, 500), Some(Duration::from_millis(51)));
        assert_eq!(quantile(&mut v, 990), Some(Duration::from_millis(99)));
        assert_eq!(quantile(&mut v, 0), Some(Duration::from_millis(1)));
        assert_eq!(quantile(&mut [], 500), None);
    }

    #[test]
    fn checks_keep_the_first_failures() {
        let mut c = Checks::default();
        for i in 0..20 {
            c.check(i % 2 == 0, || format!("odd {i}"));
        }
        assert_eq!((c.passed(), c.failed()), (10, 10));
        assert_eq!(c.failures.len(), KEEP_FAILURES);
        assert_eq!(c.failures[0], "odd 1");
    }
}
