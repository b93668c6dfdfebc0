//! Client quirks: behaviour switches that answer a named bug of a particular client.
//!
//! Every quirk is off by default. The administrator switches one on for the sessions of a
//! client, matched on what the client says about itself in ID (RFC 2971 `name` and
//! `version`, glob patterns), or for an account:
//!
//! ```toml
//! [[quirks.client]]
//! name = "Thunderbird"     # `*` any run of characters, `?` one; ASCII case ignored
//! version = "115.*"        # optional, default "*" (also matches a client that sends none)
//! enable = ["quirk-name"]
//!
//! [quirks.account]
//! alice = ["quirk-name"]
//! ```
//!
//! A session's quirks are those of the rules its ID matched plus those of its account
//! ([`Session::quirks`](crate::Session::quirks)); a client that sends no ID gets only its
//! account's.
//!
//! # Known quirks
//!
//! None yet. A quirk is added only together with a test that shows a client needs it. The
//! three that other servers' trackers suggested were checked first, and Portcullis already
//! behaves as those clients need, for every client (`tests/e2e/test_clients_quirks.py`,
//! `tests/e2e/test_clients_imapclient.py`, `docs/clients.md`):
//! - iOS Mail pipelines IDLE right after other commands, and DONE with the next ones: the
//!   connection handles every buffered command in order, IDLE and DONE included.
//! - Thunderbird mishandled untagged STATUS volunteered in NOOP replies (stale drafts):
//!   Portcullis sends STATUS only in answer to STATUS or LIST-STATUS.
//! - Clients with fragile BODYSTRUCTURE parsers: the structures follow the RFC grammar
//!   exactly (checked against Dovecot on the golden corpus, parsed by imapclient).
//!
//! # Adding a quirk
//!
//! All in this file, plus the switch at the behaviour it changes:
//! 1. a constant `pub const NAME: Quirk = Quirk(n);` with the next free `n`, documented with
//!    the client bug it answers (client, versions, symptom, where it is tracked);
//! 2. its [`QuirkInfo`] entry in [`KNOWN`] (the name the configuration uses);
//! 3. at the behaviour: `if self.quirks().has(quirks::NAME) { ... }`, and a test that shows
//!    the client's need and the quirk's effect.

use std::collections::BTreeMap;
use std::fmt;

/// One quirk: its bit in a [`QuirkSet`]. The known ones are the constants of this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quirk(u8);

/// What the configuration and the logs call a quirk, and the client bug it answers.
#[derive(Debug, Clone, Copy)]
pub struct QuirkInfo {
    /// The quirk.
    pub quirk: Quirk,
    /// Its name in the configuration (`enable = ["name"]`) and in logs.
    pub name: &'static str,
    /// The client bug it answers.
    pub answers: &'static str,
}

/// Every quirk Portcullis knows (see the module documentation for why the list is empty).
pub const KNOWN: &[QuirkInfo] = &[];

/// A set of quirks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuirkSet(u64);

impl QuirkSet {
    /// No quirk.
    pub const EMPTY: QuirkSet = QuirkSet(0);

    /// This set with `quirk` added.
    #[must_use]
    pub fn with(self, quirk: Quirk) -> QuirkSet {
        QuirkSet(self.0 | 1 << quirk.0)
    }

    /// Whether `quirk` is in the set.
    pub fn has(self, quirk: Quirk) -> bool {
        self.0 & 1 << quirk.0 != 0
    }

    /// Both sets together.
    #[must_use]
    pub fn union(self, other: QuirkSet) -> QuirkSet {
        QuirkSet(self.0 | other.0)
    }

    /// Whether no quirk is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names of the quirks in the set, as `registry` has them.
    pub fn names(self, registry: &[QuirkInfo]) -> Vec<&'static str> {
        registry
            .iter()
            .filter(|info| self.has(info.quirk))
            .map(|info| info.name)
            .collect()
    }
}

/// A glob pattern: `*` matches any run of characters, `?` one character, everything else
/// itself, ASCII case ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(Vec<char>);

impl Pattern {
    /// The pattern as written.
    pub fn new(text: &str) -> Pattern {
        Pattern(text.chars().map(|c| c.to_ascii_lowercase()).collect())
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
        let pattern = &self.0;
        // Iterative wildcard matching: on a mismatch, let the last `*` absorb one more
        // character. Linear in practice, never worse than |pattern| * |text|.
        let (mut p, mut t) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pattern.get(p) {
                Some('*') => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(&c) if c == '?' || c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((star_p, star_t)) => {
                        p = star_p + 1;
                        t = star_t + 1;
                        star = Some((star_p, star_t + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|&c| c == '*')
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.iter().collect::<String>())
    }
}

/// Quirks for the clients whose ID matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRule {
    /// Matched against the ID `name` value.
    pub name: Pattern,
    /// Matched against the ID `version` value; `None` matches any version or none.
    pub version: Option<Pattern>,
    /// The quirks the rule switches on.
    pub quirks: QuirkSet,
}

impl ClientRule {
    /// Whether the client that said `name` and `version` in ID is one this rule is for.
    pub fn matches(&self, name: &str, version: Option<&str>) -> bool {
        self.name.matches(name)
            && match (&self.version, version) {
                (None, _) => true,
                (Some(pattern), Some(version)) => pattern.matches(version),
                (Some(_), None) => false,
            }
    }
}

/// The configured quirks: rules keyed on the client's ID, and per-account sets. Empty (no
/// quirk for anyone) by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuirkConfig {
    /// Checked in order; every matching rule adds its quirks.
    pub clients: Vec<ClientRule>,
    /// Account name -> quirks for every session of that account.
    pub accounts: BTreeMap<String, QuirkSet>,
}

/// A quirk name the configuration used that no quirk has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownQuirk {
    /// The name as written.
    pub name: String,
    /// The names that exist.
    pub known: Vec<&'static str>,
}

impl fmt::Display for UnknownQuirk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known = if self.known.is_empty() {
            "none yet".to_owned()
        } else {
            self.known.join(", ")
        };
        write!(f, "unknown quirk {:?} (known quirks: {known})", self.name)
    }
}

impl std::error::Error for UnknownQuirk {}

impl QuirkConfig {
    /// The set named by `names` (the configuration's `enable` lists), from [`KNOWN`].
    pub fn parse_set<S: AsRef<str>>(names: &[S]) -> Result<QuirkSet, UnknownQuirk> {
        parse_set_in(KNOWN, names)
    }

    /// Whether no quirk is configured for anyone.
    pub fn is_empty(&self) -> bool {
        self.clients.iter().all(|rule| rule.quirks.is_empty())
            && self.accounts.values().all(|set| set.is_empty())
    }

    /// The quirks of a client that said `name` and `version` in ID.
    pub fn for_client(&self, name: &str, version: Option<&str>) -> QuirkSet {
        self.clients
            .iter()
            .filter(|rule| rule.matches(name, version))
            .fold(QuirkSet::EMPTY, |set, rule| set.union(rule.quirks))
    }

    /// The quirks of every session of `account`.
    pub fn for_account(&self, account: &str) -> QuirkSet {
        self.accounts.get(account).copied().unwrap_or_default()
    }

    /// One line per rule, for `config check`.
    pub fn describe(&self) -> Vec<String> {
        let names = |set: QuirkSet| set.names(KNOWN).join(", ");
        let mut lines: Vec<String> = self
            .clients
            .iter()
            .map(|rule| {
                let version = rule
                    .version
                    .as_ref()
                    .map_or_else(|| "*".to_owned(), ToString::to_string);
                format!(
                    "client name {:?} version {:?}: {}",
                    rule.name.to_string(),
                    version,
                    names(rule.quirks)
                )
            })
            .collect();
        lines.extend(
            self.accounts
                .iter()
                .map(|(account, set)| format!("account {account}: {}", names(*set))),
        );
        lines
    }
}

/// [`QuirkConfig::parse_set`] against any registry (the tests use their own).
pub fn parse_set_in<S: AsRef<str>>(
    registry: &[QuirkInfo],
    names: &[S],
) -> Result<QuirkSet, UnknownQuirk> {
    names.iter().try_fold(QuirkSet::EMPTY, |set, name| {
        let name = name.as_ref();
        registry
            .iter()
            .find(|info| info.name.eq_ignore_ascii_case(name))
            .map(|info| set.with(info.quirk))
            .ok_or_else(|| UnknownQuirk {
                name: name.to_owned(),
                known: registry.iter().map(|info| info.name).collect(),
            })
    })
}

/// The `name` and `version` values of an ID parameter list (keys are case-insensitive,
/// RFC 2971 3.3), as text.
pub fn id_name_version<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    parameters: &[(K, Option<V>)],
) -> (Option<String>, Option<String>) {
    let value = |key: &str| {
        parameters
            .iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(key.as_bytes()))
            .and_then(|(_, v)| v.as_ref())
            .map(|v| String::from_utf8_lossy(v.as_ref()).into_owned())
    };
    (value("name"), value("version"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // A registry of our own: the matching must work whatever quirks exist.
    const ALPHA: Quirk = Quirk(0);
    const BETA: Quirk = Quirk(1);
    const LAST: Quirk = Quirk(63);
    const REGISTRY: &[QuirkInfo] = &[
        QuirkInfo {
            quirk: ALPHA,
            name: "alpha",
            answers: "test",
        },
        QuirkInfo {
            quirk: BETA,
            name: "beta-thing",
            answers: "test",
        },
        QuirkInfo {
            quirk: LAST,
            name: "last",
            answers: "test",
        },
    ];

    fn set(names: &[&str]) -> QuirkSet {
        parse_set_in(REGISTRY, names).unwrap_or_else(|e| panic!("{e}"))
    }

    fn rule(name: &str, version: Option<&str>, quirks: &[&str]) -> ClientRule {
        ClientRule {
            name: Pattern::new(name),
            version: version.map(Pattern::new),
            quirks: set(quirks),
        }
    }

    #[test]
    fn patterns_match_whole_text_with_wildcards_ignoring_ascii_case() {
        let cases: &[(&str, &str, bool)] = &[
            ("Thunderbird", "thunderbird", true),
            ("Thunderbird", "Thunderbird Daily", false),
            ("Thunderbird*", "Thunderbird Daily", true),
            ("*bird", "Thunderbird", true),
            ("*bird", "Thunderbirds", false),
            ("115.*", "115.3.1", true),
            ("115.*", "1150", false),
            ("115.*", "115.", true),
            ("1?.0", "17.0", true),
            ("1?.0", "117.0", false),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("*mail*", "iPhone Mail", true),
            ("Mail?", "Mailé", true),
            ("ÄPFEL", "äpfel", false), // ASCII case only, as ID values are compared
        ];
        for &(pattern, text, expected) in cases {
            assert_eq!(
                Pattern::new(pattern).matches(text),
                expected,
                "{pattern:?} vs {text:?}"
            );
        }
    }

    #[test]
    fn pathological_patterns_finish() {
        let pattern = Pattern::new(&"*a".repeat(50));
        assert!(!pattern.matches(&"a".repeat(49)));
        assert!(pattern.matches(&"a".repeat(200)));
    }

    #[test]
    fn names_parse_case_insensitively_and_unknown_names_are_refused() {
        let parsed = set(&["ALPHA", "beta-thing", "last"]);
        assert!(parsed.has(ALPHA) && parsed.has(BETA) && parsed.has(LAST));
        assert_eq!(parsed.names(REGISTRY), ["alpha", "beta-thing", "last"]);
        assert!(set(&[]).is_empty());
        let Err(error) = parse_set_in(REGISTRY, &["alpha", "gamma"]) else {
            panic!("an unknown name was accepted");
        };
        assert_eq!(error.name, "gamma");
        assert_eq!(
            error.to_string(),
            "unknown quirk \"gamma\" (known quirks: alpha, beta-thing, last)"
        );
    }

    #[test]
    fn the_real_registry_refuses_every_name_while_it_is_empty() {
        let Err(error) = QuirkConfig::parse_set(&["no-status-in-noop"]) else {
            panic!("a name was accepted while no quirk exists");
        };
        assert_eq!(
            error.to_string(),
            "unknown quirk \"no-status-in-noop\" (known quirks: none yet)"
        );
        assert_eq!(QuirkConfig::parse_set::<&str>(&[]), Ok(QuirkSet::EMPTY));
    }

    #[test]
    fn client_rules_match_name_and_version_and_add_up() {
        let config = QuirkConfig {
            clients: vec![
                rule("Thunderbird", Some("115.*"), &["alpha"]),
                rule("thunder*", None, &["beta-thing"]),
                rule("iPhone Mail", Some("*"), &["last"]),
            ],
            accounts: BTreeMap::new(),
        };
        assert_eq!(
            config.for_client("Thunderbird", Some("115.3.1")),
            set(&["alpha", "beta-thing"])
        );
        assert_eq!(
            config.for_client("Thunderbird", Some("128.0")),
            set(&["beta-thing"])
        );
        // A version pattern needs a version; no version pattern takes any or none.
        assert_eq!(config.for_client("Thunderbird", None), set(&["beta-thing"]));
        assert_eq!(
            config.for_client("iPhone Mail", Some("21A329")),
            set(&["last"])
        );
        assert_eq!(config.for_client("iPhone Mail", None), QuirkSet::EMPTY);
        assert_eq!(config.for_client("K-9 Mail", Some("6.8")), QuirkSet::EMPTY);
        assert!(!config.is_empty());
        assert!(QuirkConfig::default().is_empty());
        assert_eq!(
            QuirkConfig::default().for_client("Thunderbird", Some("115.0")),
            QuirkSet::EMPTY
        );
    }

    #[test]
    fn account_quirks_apply_to_that_account_only() {
        let config = QuirkConfig {
            clients: Vec::new(),
            accounts: BTreeMap::from([("alice".to_owned(), set(&["alpha"]))]),
        };
        assert_eq!(config.for_account("alice"), set(&["alpha"]));
        assert_eq!(config.for_account("Alice"), QuirkSet::EMPTY);
        assert_eq!(config.for_account("bob"), QuirkSet::EMPTY);
    }

    #[test]
    fn id_name_and_version_are_found_whatever_the_key_case() {
        let parameters: Vec<(&[u8], Option<&[u8]>)> = vec![
            (b"NAME", Some(b"Thunderbird")),
            (b"Version", Some(b"115.3.1")),
            (b"os", None),
        ];
        assert_eq!(
            id_name_version(&parameters),
            (Some("Thunderbird".to_owned()), Some("115.3.1".to_owned()))
        );
        let parameters: Vec<(&[u8], Option<&[u8]>)> = vec![(b"name", None)];
        assert_eq!(id_name_version(&parameters), (None, None));
    }
}
