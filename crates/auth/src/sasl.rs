//! SASL PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`, base64 on the IMAP wire.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::Secret;

/// A SASL exchange that failed before any credential check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    /// Not valid base64.
    #[error("invalid base64 in the SASL response")]
    Base64,
    /// Not `authzid NUL authcid NUL passwd`, or empty fields.
    #[error("malformed SASL PLAIN message")]
    Malformed,
}

/// The credentials of a PLAIN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// Authorization identity, if one was given.
    pub authzid: Option<String>,
    /// Authentication identity (the login name).
    pub authcid: String,
    /// Password.
    pub password: Secret<Vec<u8>>,
}

/// Decodes a base64 PLAIN message.
pub fn decode_plain(base64: &[u8]) -> Result<PlainCredentials, SaslError> {
    let message = STANDARD.decode(base64).map_err(|_| SaslError::Base64)?;
    let mut fields = message.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(SaslError::Malformed);
    };
    if authcid.is_empty() || password.is_empty() {
        return Err(SaslError::Malformed);
    }
    let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).map_err(|_| SaslError::Malformed);
    Ok(PlainCredentials {
        authzid: if authzid.is_empty() {
            None
        } else {
            Some(text(authzid)?)
        },
        authcid: text(authcid)?,
        password: Secret::new(password.to_vec()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4616_examples() {
        // RFC 4616 section 4: "\0tim\0tanstaaftanstaaf" and "Ursel\0Kurt\0xipj3plmq".
        let tim = decode_plain(b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
        assert_eq!(
            tim,
            Ok(PlainCredentials {
                authzid: None,
                authcid: "tim".into(),
                password: Secret::new(b"tanstaaftanstaaf".to_vec())
            })
        );
        let kurt = decode_plain(b"VXJzZWwAS3VydAB4aXBqM3BsbXE=");
        assert_eq!(
            kurt.map(|c| (c.authzid, c.authcid)),
            Ok((Some("Ursel".into()), "Kurt".into()))
        );
    }

    #[test]
    fn malformed_messages_are_refused() {
        assert_eq!(decode_plain(b"!!!"), Err(SaslError::Base64));
        assert_eq!(
            decode_plain(STANDARD.encode(b"onlyone").as_bytes()),
            Err(SaslError::Malformed)
        );
        assert_eq!(
            decode_plain(STANDARD.encode(b"\0user\0").as_bytes()),
            Err(SaslError::Malformed)
        );
        assert_eq!(
            decode_plain(STANDARD.encode(b"a\0b\0c\0d").as_bytes()),
            Err(SaslError::Malformed)
        );
    }
}
