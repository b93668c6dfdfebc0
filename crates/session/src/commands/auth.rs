//! Not-authenticated state (RFC 9051 6.2): STARTTLS, LOGIN, AUTHENTICATE PLAIN (RFC 4616)
//! with SASL-IR (RFC 4959).
//!
//! Responses: `NO [PRIVACYREQUIRED]` before TLS, `NO [AUTHENTICATIONFAILED]` for bad
//! credentials, `NO [AUTHORIZATIONFAILED]` for a foreign authzid, `BAD` for malformed SASL or
//! a cancelled exchange. Unknown users cost a full password verification, like wrong
//! passwords (portcullis_auth::PasswordVerifier::verify_or_dummy).

use portcullis_auth::{SaslError, decode_plain};
use portcullis_proto::Tag;
use portcullis_proto::encode::Code;
use portcullis_store::AccountName;

use crate::error::{CommandResult, Refusal};
use crate::output::Output;
use crate::session::{Done, Pending, Session, User};

/// Log target of authentication decisions (the audit log).
const AUDIT: &str = "audit";

impl Session {
    /// STARTTLS (RFC 9051 6.2.1).
    pub(crate) fn handle_starttls(&self) -> CommandResult<Done> {
        if self.tls {
            return Err(Refusal::bad("TLS is already active"));
        }
        Ok(Done::new("Begin TLS negotiation now"))
    }

    fn require_privacy(&self) -> CommandResult<()> {
        if self.tls || self.ctx.config.allow_plaintext_auth {
            Ok(())
        } else {
            Err(Refusal::no(
                Code::PrivacyRequired,
                "Authentication requires TLS: use STARTTLS or port 993",
            ))
        }
    }

    /// LOGIN (RFC 9051 6.2.3).
    pub(crate) async fn handle_login(
        &mut self,
        username: &[u8],
        password: &[u8],
    ) -> CommandResult<Done> {
        self.require_privacy()?;
        let username = String::from_utf8_lossy(username).into_owned();
        self.authenticate_user(&username, password.to_vec(), "LOGIN")
            .await
    }

    /// AUTHENTICATE (RFC 9051 6.2.2): PLAIN, with or without an initial response. Returns
    /// `None` when a continuation was sent and the response line is awaited.
    pub(crate) async fn handle_authenticate(
        &mut self,
        tag: &Tag,
        mechanism: &str,
        initial_response: Option<&[u8]>,
        out: &mut Output<'_>,
    ) -> CommandResult<Option<Done>> {
        self.require_privacy()?;
        if mechanism != "PLAIN" {
            return Err(Refusal::No(
                None,
                format!("Unsupported authentication mechanism {mechanism}"),
            ));
        }
        match initial_response {
            Some(response) => self.authenticate_plain(response).await.map(Some),
            None => {
                out.continuation("");
                self.pending = Some(Pending::Authenticate(tag.clone()));
                Ok(None)
            }
        }
    }

    /// The client's response to the AUTHENTICATE continuation.
    pub(crate) async fn authenticate_response(&mut self, line: &[u8]) -> CommandResult<Done> {
        if line == b"*" {
            return Err(Refusal::bad("Authentication cancelled"));
        }
        self.authenticate_plain(line).await
    }

    async fn authenticate_plain(&mut self, response: &[u8]) -> CommandResult<Done> {
        let credentials = decode_plain(response).map_err(|e| match e {
            SaslError::Base64 => Refusal::bad("Invalid base64 in SASL response"),
            SaslError::Malformed => Refusal::bad("Malformed SASL PLAIN response"),
        })?;
        if credentials
            .authzid
            .as_ref()
            .is_some_and(|authzid| authzid != &credentials.authcid)
        {
            tracing::info!(target: AUDIT, peer = %self.conn.peer, user = %printable(&credentials.authcid), mechanism = "PLAIN", result = "refused", "authorization identity differs");
            return Err(Refusal::no(
                Code::AuthorizationFailed,
                "Cannot act as another user",
            ));
        }
        self.authenticate_user(
            &credentials.authcid,
            credentials.password.expose().clone(),
            "PLAIN",
        )
        .await
    }

    /// Checks credentials with one argon2id verification, known user or not.
    async fn authenticate_user(
        &mut self,
        username: &str,
        password: Vec<u8>,
        mechanism: &str,
    ) -> CommandResult<Done> {
        let name = AccountName::new(username).ok();
        let account = match &name {
            Some(name) => self.ctx.store.account(name).await?,
            None => None,
        };
        let verifier = self.ctx.verifier.clone();
        let stored = account.as_ref().map(|a| a.password_hash.clone());
        let verified = tokio::task::spawn_blocking(move || {
            verifier.verify_or_dummy(&password, stored.as_deref())
        })
        .await
        .unwrap_or(false);
        let peer = self.conn.peer;
        match account {
            Some(account) if verified => {
                tracing::info!(target: AUDIT, %peer, user = %account.name, mechanism, result = "success", "login");
                self.user = Some(User {
                    id: account.id,
                    name: account.name,
                });
                Ok(Done::with_code(
                    Code::Capability(self.capability_list()),
                    "Logged in",
                ))
            }
            _ => {
                tracing::info!(target: AUDIT, %peer, user = %printable(username), mechanism, result = "failure", "login");
                Err(Refusal::no(
                    Code::AuthenticationFailed,
                    "Authentication failed",
                ))
            }
        }
    }
}

/// A client-supplied name made safe for a log line.
fn printable(text: &str) -> String {
    text.chars()
        .take(256)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
