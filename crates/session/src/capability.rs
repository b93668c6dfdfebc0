//! The CAPABILITY list, which depends on TLS and authentication state (RFC 9051 6.1.1,
//! 6.2.1: LOGINDISABLED and no AUTH= before TLS on a plaintext connection). CONDSTORE and
//! QRESYNC are advertised together (RFC 7162 3.2.2 asks a QRESYNC server to advertise
//! CONDSTORE too).

/// Extensions advertised once authenticated, each implemented in full.
const AUTHENTICATED: &[&str] = &[
    "IMAP4rev1",
    "IMAP4rev2",
    "LITERAL+",
    "ENABLE",
    "ID",
    "IDLE",
    "NAMESPACE",
    "UNSELECT",
    "UIDPLUS",
    "MOVE",
    "CHILDREN",
    "LIST-EXTENDED",
    "LIST-STATUS",
    "SPECIAL-USE",
    "CREATE-SPECIAL-USE",
    "ESEARCH",
    "MULTIAPPEND",
    "STATUS=SIZE",
    "CONDSTORE",
    "QRESYNC",
    "BINARY",
    "WITHIN",
    "SEARCHRES",
    "UTF8=ACCEPT",
];

/// Before authentication: enough for the client to choose how to log in.
const BEFORE_AUTH: &[&str] = &[
    "IMAP4rev1",
    "IMAP4rev2",
    "LITERAL+",
    "SASL-IR",
    "ENABLE",
    "ID",
    "IDLE",
];

/// The capabilities to announce.
pub(crate) fn capabilities(
    authenticated: bool,
    tls: bool,
    plaintext_auth_allowed: bool,
    append_limit: u64,
) -> Vec<String> {
    let mut list: Vec<String> = if authenticated {
        let mut list: Vec<String> = AUTHENTICATED.iter().map(|c| (*c).to_owned()).collect();
        list.push(format!("APPENDLIMIT={append_limit}"));
        list
    } else {
        BEFORE_AUTH.iter().map(|c| (*c).to_owned()).collect()
    };
    if !authenticated {
        if !tls {
            list.push("STARTTLS".to_owned());
        }
        if tls || plaintext_auth_allowed {
            list.push("AUTH=PLAIN".to_owned());
        } else {
            list.push("LOGINDISABLED".to_owned());
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_connections_advertise_starttls_and_logindisabled_only() {
        let list = capabilities(false, false, false, 1);
        assert!(list.contains(&"STARTTLS".to_owned()));
        assert!(list.contains(&"LOGINDISABLED".to_owned()));
        assert!(!list.iter().any(|c| c.starts_with("AUTH=")));
    }

    #[test]
    fn tls_connections_offer_plain_and_no_starttls() {
        let list = capabilities(false, true, false, 1);
        assert!(list.contains(&"AUTH=PLAIN".to_owned()));
        assert!(!list.contains(&"STARTTLS".to_owned()));
        assert!(!list.contains(&"LOGINDISABLED".to_owned()));
    }

    #[test]
    fn authenticated_list_has_the_extensions_and_appendlimit() {
        let list = capabilities(true, true, false, 1000);
        assert!(list.contains(&"MOVE".to_owned()));
        assert!(list.contains(&"CONDSTORE".to_owned()));
        assert!(list.contains(&"QRESYNC".to_owned()));
        assert!(list.contains(&"APPENDLIMIT=1000".to_owned()));
        assert!(!list.iter().any(|c| c.starts_with("AUTH=")));
    }
}
