//! RFC 2231 parameter continuations, merged for BODYSTRUCTURE.
//!
//! RFC 9051 7.5.2 (body parameter parenthesized list): "Servers SHOULD decode parameter value
//! continuations and parameter value character sets as described in [RFC2231], for example,
//! if the message contains parameters "baz*0", "baz*1" and "baz*2", the server should
//! RFC2231-decode them, concatenate and return the resulting value as a parameter "baz".
//! Similarly, if the message contains parameters "foo*0*" and "foo*1*", the server should
//! RFC2231-decode them, convert to UTF-8, concatenate and return the resulting value as a
//! parameter "foo*"."
//!
//! We do what Dovecot does, which clients are tuned to: continuations are concatenated, but
//! the value of an extended (`*`) parameter stays in its RFC 2231 form (`charset'lang'%XX`),
//! so clients decode it as they decode a single `name*=` parameter. In detail:
//!
//! * Parameters whose name is `base*`, `base*N` or `base*N*` (N decimal digits) take part;
//!   every other parameter is returned first, unchanged and in order.
//! * The RFC 2231 parameters are grouped by base name and ordered by base name (bytewise) and
//!   index. A group whose indexes are exactly 0, 1, 2, ... becomes one parameter: `base*` when
//!   any section is extended (then a first section that is not extended gets an empty
//!   `''` charset/language prefix, and `%` in non-extended sections becomes `%25`), else
//!   `base`; the value is the concatenation.
//! * A group with a missing or repeated index is returned section by section as `base*N` /
//!   `base*N*`.
//!
//! The stored summary keeps the parameters as written; this runs when BODYSTRUCTURE is encoded.

/// One parameter name split per RFC 2231.
#[derive(Debug)]
struct Section<'p> {
    base: &'p [u8],
    index: u32,
    extended: bool,
    value: &'p [u8],
}

/// Splits `base*`, `base*N` or `base*N*`; `None` for any other name.
fn section<'p>(name: &'p [u8], value: &'p [u8]) -> Option<Section<'p>> {
    let star = name.iter().position(|&c| c == b'*')?;
    let (base, rest) = (&name[..star], &name[star + 1..]);
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let (number, tail) = rest.split_at(digits);
    let extended = match tail {
        [] => false,
        [b'*'] => true,
        _ => return None,
    };
    let index = number.iter().try_fold(0u32, |n, &d| {
        n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })?;
    // `base*` alone is the extended form of section 0.
    let extended = extended || digits == 0;
    Some(Section {
        base,
        index,
        extended,
        value,
    })
}

/// Merges RFC 2231 continuations as described in the module docs.
pub fn merge_continuations(params: &[(Vec<u8>, Vec<u8>)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut plain = Vec::new();
    let mut sections = Vec::new();
    for (name, value) in params {
        match section(name, value) {
            Some(section) => sections.push(section),
            None => plain.push((name.clone(), value.clone())),
        }
    }
    if sections.is_empty() {
        return plain;
    }
    sections.sort_by(|a, b| a.base.cmp(b.base).then(a.index.cmp(&b.index)));
    let mut rest = sections.as_slice();
    while let Some(first) = rest.first() {
        let len = rest
            .iter()
            .take_while(|s| s.base.eq_ignore_ascii_case(first.base))
            .count();
        let (group, tail) = rest.split_at(len);
        rest = tail;
        plain.extend(merge_group(group));
    }
    plain
}

fn merge_group(group: &[Section<'_>]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let complete = group
        .iter()
        .zip(0u32..)
        .all(|(section, expected)| section.index == expected);
    if !complete {
        return group
            .iter()
            .map(|s| {
                let mut name = s.base.to_vec();
                name.extend_from_slice(format!("*{}", s.index).as_bytes());
                if s.extended {
                    name.push(b'*');
                }
                (name, s.value.to_vec())
            })
            .collect();
    }
    let any_extended = group.iter().any(|s| s.extended);
    let mut value = Vec::new();
    if any_extended && group.first().is_some_and(|s| !s.extended) {
        value.extend_from_slice(b"''");
    }
    for s in group {
        if any_extended && !s.extended {
            for &c in s.value {
                if c == b'%' {
                    value.extend_from_slice(b"%25");
                } else {
                    value.push(c);
                }
            }
        } else {
            value.extend_from_slice(s.value);
        }
    }
    let mut name = group.first().map(|s| s.base.to_vec()).unwrap_or_default();
    if any_extended {
        name.push(b'*');
    }
    vec![(name, value)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        list.iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    fn merged(list: &[(&str, &str)]) -> Vec<(String, String)> {
        merge_continuations(&pairs(list))
            .into_iter()
            .map(|(k, v)| {
                (
                    String::from_utf8(k).unwrap_or_default(),
                    String::from_utf8(v).unwrap_or_default(),
                )
            })
            .collect()
    }

    fn strings(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn rfc2231_section_4_1_example() {
        // RFC 2231 4.1: mixed extended and plain sections.
        let out = merged(&[
            ("title*0*", "us-ascii'en'This%20is%20even%20more%20"),
            ("title*1*", "%2A%2A%2Afun%2A%2A%2A%20"),
            ("title*2", "isn't it!"),
        ]);
        assert_eq!(
            out,
            strings(&[(
                "title*",
                "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn't it!"
            )])
        );
    }

    #[test]
    fn rfc2231_section_3_example_plain_continuations() {
        // RFC 2231 3: URL*0 and URL*1.
        let out = merged(&[
            ("access-type", "URL"),
            ("URL*0", "ftp://"),
            ("URL*1", "cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"),
        ]);
        assert_eq!(
            out,
            strings(&[
                ("access-type", "URL"),
                (
                    "URL",
                    "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"
                ),
            ])
        );
    }

    #[test]
    fn single_extended_parameter_is_unchanged() {
        let out = merged(&[("charset", "utf-8"), ("name*", "utf-8''a%20b")]);
        assert_eq!(
            out,
            strings(&[("charset", "utf-8"), ("name*", "utf-8''a%20b")])
        );
    }

    #[test]
    fn out_of_order_sections_are_sorted_and_plain_parameters_come_first() {
        let out = merged(&[
            ("b*1", "two"),
            ("z", "last?"),
            ("b*0", "one-"),
            ("a*0", "x"),
        ]);
        assert_eq!(
            out,
            strings(&[("z", "last?"), ("a", "x"), ("b", "one-two")])
        );
    }

    #[test]
    fn plain_first_section_with_extended_rest_gets_an_empty_charset() {
        let out = merged(&[("n*0", "100%"), ("n*1*", "%41")]);
        assert_eq!(out, strings(&[("n*", "''100%25%41")]));
    }

    #[test]
    fn gaps_and_duplicates_are_returned_section_by_section() {
        let out = merged(&[("f*0", "a"), ("f*2", "c")]);
        assert_eq!(out, strings(&[("f*0", "a"), ("f*2", "c")]));
        let out = merged(&[("g*00*", "x"), ("g*0", "y")]);
        assert_eq!(out, strings(&[("g*0*", "x"), ("g*0", "y")]));
    }

    #[test]
    fn names_that_are_not_rfc2231_stay_as_they_are() {
        let out = merged(&[("a*b", "1"), ("c*1x", "2")]);
        assert_eq!(out, strings(&[("a*b", "1"), ("c*1x", "2")]));
        // `c**` reads as section 0 (extended) of `c`, as in Dovecot.
        let out = merged(&[("c**", "2"), ("*", "3")]);
        assert_eq!(out, strings(&[("*", "3"), ("c*", "2")]));
    }

    #[test]
    fn huge_index_does_not_overflow() {
        let out = merged(&[("n*99999999999999999999", "v")]);
        assert_eq!(out, strings(&[("n*99999999999999999999", "v")]));
    }
}
