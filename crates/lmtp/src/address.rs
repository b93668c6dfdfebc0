//! SMTP paths and recipient addresses (RFC 5321 4.1.2, as used by LMTP): `<local@domain>`
//! with optional ESMTP parameters, and the `local+detail@domain` convention that files mail
//! into a folder.

/// A parsed `MAIL FROM:` / `RCPT TO:` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathArg {
    /// The address inside the angle brackets (empty for the null path `<>`).
    pub(crate) address: String,
    /// ESMTP parameters, upper-cased keywords.
    pub(crate) params: Vec<(String, Option<String>)>,
}

/// Parses `FROM:<addr> [params]` after the verb. Liberal: a space after the colon, a
/// missing pair of brackets, and any case are accepted.
pub(crate) fn parse_path(argument: &str, keyword: &str) -> Option<PathArg> {
    let rest = argument
        .get(..keyword.len())
        .filter(|k| k.eq_ignore_ascii_case(keyword))
        .map(|_| &argument[keyword.len()..])?;
    let rest = rest.strip_prefix(':')?.trim_start();
    let (address, params) = match rest.strip_prefix('<') {
        Some(inner) => {
            let close = inner.find('>')?;
            (&inner[..close], &inner[close + 1..])
        }
        None => rest.split_once(' ').unwrap_or((rest, "")),
    };
    if address.chars().any(|c| c.is_control() || c == ' ') || address.len() > 512 {
        return None;
    }
    let params = params
        .split_whitespace()
        .map(|param| match param.split_once('=') {
            Some((key, value)) => (key.to_ascii_uppercase(), Some(value.to_owned())),
            None => (param.to_ascii_uppercase(), None),
        })
        .collect();
    // A source route (`<@a,@b:user@host>`) is obsolete; its last part is the address.
    let address = address.rsplit_once(':').map_or(address, |(_, a)| a);
    Some(PathArg {
        address: address.to_owned(),
        params,
    })
}

/// A recipient address split for account lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Recipient {
    /// Local part without the detail.
    pub(crate) local: String,
    /// What followed the first `+` in the local part, if anything.
    pub(crate) detail: Option<String>,
    /// Domain, if any.
    pub(crate) domain: Option<String>,
}

/// Splits `local+detail@domain`.
pub(crate) fn recipient(address: &str) -> Option<Recipient> {
    let (local, domain) = match address.rsplit_once('@') {
        Some((local, domain)) => (local, Some(domain.to_owned())),
        None => (address, None),
    };
    let local = local.trim_matches('"');
    if local.is_empty() {
        return None;
    }
    let (local, detail) = match local.split_once('+') {
        Some((local, detail)) if !local.is_empty() => {
            (local, Some(detail.to_owned()).filter(|d| !d.is_empty()))
        }
        _ => (local, None),
    };
    Some(Recipient {
        local: local.to_owned(),
        detail,
        domain,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_with_and_without_brackets_and_params() {
        assert_eq!(
            parse_path("FROM:<a@b.c> SIZE=1234 BODY=8BITMIME", "FROM"),
            Some(PathArg {
                address: "a@b.c".into(),
                params: vec![
                    ("SIZE".into(), Some("1234".into())),
                    ("BODY".into(), Some("8BITMIME".into()))
                ],
            })
        );
        assert_eq!(
            parse_path("from: <>", "FROM").map(|p| p.address),
            Some(String::new())
        );
        assert_eq!(
            parse_path("TO:x@y", "TO").map(|p| p.address),
            Some("x@y".into())
        );
        assert_eq!(
            parse_path("TO:<@relay:x@y>", "TO").map(|p| p.address),
            Some("x@y".into())
        );
        assert_eq!(parse_path("TO <x@y>", "TO"), None);
        assert_eq!(parse_path("FROM:<x@y>", "TO"), None);
    }

    #[test]
    fn recipients_split_detail_and_domain() {
        assert_eq!(
            recipient("alice+lists@example.org"),
            Some(Recipient {
                local: "alice".into(),
                detail: Some("lists".into()),
                domain: Some("example.org".into())
            })
        );
        assert_eq!(
            recipient("bob").map(|r| (r.local, r.detail, r.domain)),
            Some(("bob".into(), None, None))
        );
        assert_eq!(recipient("+x@y").map(|r| r.local), Some("+x".into()));
        assert_eq!(recipient("carol+@y").map(|r| r.detail), Some(None));
        assert_eq!(recipient("@y"), None);
    }
}
