//! Not-authenticated state (RFC 9051 6.2): STARTTLS, LOGIN, AUTHENTICATE PLAIN (RFC 4616)
//! with SASL-IR (RFC 4959).
//!
//! Responses: `NO [PRIVACYREQUIRED]` before TLS, `NO [AUTHENTICATIONFAILED]` for bad
//! credentials, `NO [AUTHORIZATIONFAILED]` for a foreign authzid, `NO [LIMIT]` when the
//! account already has `max_connections_per_user_ip` sessions from the address (never
//! AUTHENTICATIONFAILED: clients would ask for a new password), `NO [UNAVAILABLE]` and
//! `* BYE` from a banned address, `BAD` for malformed SASL or a cancelled exchange.
//!
//! Every attempt goes through the guard (`portcullis_auth::Guard`) by client address:
//!
//! ```text
//! banned? ──yes──► NO [UNAVAILABLE], BYE (the password is not checked)
//!   │ no
//! sleep(delay from earlier failures of the address and of the name)
//!   │
//! one argon2id verification, known user or not (verify_or_dummy)
//!   ├ right ──► login_succeeded: OK, or NO [LIMIT]
//!   └ wrong or unknown ──► login_failed: NO [AUTHENTICATIONFAILED]; if that started a
//!                          ban: persist it, then NO and BYE
//! ```
//!
//! The delay is decided before the check, from counts alone, so an unknown user and a wrong
//! password wait the same, and a correct password from a throttled address waits too (an
//! attacker cannot learn the outcome sooner by giving up early). Every decision is one line
//! on the `audit` target.

use portcullis_auth::{BANNED_TEXT, SaslError, Secret, decode_plain};
use portcullis_proto::Tag;
use portcullis_proto::encode::Code;
use portcullis_store::AccountName;
use std::sync::Arc;

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
        if self.tls || self.ctx.config.allow_plaintext_auth || self.conn.plaintext_auth_allowed {
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
            let peer = self.conn.peer;
            tracing::info!(target: AUDIT, event = "auth", result = "refused", ip = %peer.ip(), port = peer.port(), user = %printable(&credentials.authcid), mechanism = "PLAIN", reason = "authorization identity differs");
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

    /// Checks credentials with one argon2id verification, known user or not, after the
    /// guard's delay.
    async fn authenticate_user(
        &mut self,
        username: &str,
        password: Vec<u8>,
        mechanism: &str,
    ) -> CommandResult<Done> {
        let guard = Arc::clone(&self.ctx.guard);
        let peer = self.conn.peer;
        let (ip, port) = (peer.ip(), peer.port());
        let given = printable(username);
        if guard.banned(ip).is_some() {
            tracing::info!(target: AUDIT, event = "auth", result = "banned", %ip, port, user = %given, mechanism, "login from a banned address");
            return Err(self.end_banned());
        }
        let delay = guard.login_delay(ip, username);
        if !delay.is_zero() {
            let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
            tracing::info!(target: AUDIT, event = "throttle", %ip, port, user = %given, mechanism, delay_ms, "login delayed");
            tokio::time::sleep(delay).await;
        }
        let name = AccountName::new(username).ok();
        let account = match &name {
            Some(name) => self.ctx.store.account(name).await?,
            None => None,
        };
        let stored = account.as_ref().map(|a| a.password_hash.clone());
        let cache_user = account.as_ref().map_or(username, |a| a.name.as_str());
        let verified = self
            .ctx
            .verifier
            .check(cache_user, Secret::new(password), stored)
            .await;
        match account {
            Some(account) if verified => {
                let ticket = match guard.login_succeeded(ip, account.name.as_str()) {
                    Ok(ticket) => ticket,
                    Err(limit) => {
                        tracing::info!(target: AUDIT, event = "limit", limit = limit.setting(), value = limit.value(), %ip, port, user = %given, mechanism, "login refused: too many sessions");
                        return Err(Refusal::no(
                            Code::Limit,
                            "Too many sessions of this account from your address",
                        ));
                    }
                };
                tracing::info!(target: AUDIT, event = "auth", result = "success", %ip, port, user = %given, mechanism, "login");
                self.login = Some(ticket);
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
                let outcome = guard.login_failed(ip, username);
                tracing::info!(target: AUDIT, event = "auth", result = "failure", %ip, port, user = %given, mechanism, "login");
                for ban in &outcome.bans {
                    tracing::warn!(target: AUDIT, event = "ban", scope = ban.key.scope(), target = %ban.key.subject(), duration_secs = ban.duration.as_secs(), repeat = ban.repeat, %ip, port, user = %given, "banned after repeated login failures");
                }
                if !outcome.bans.is_empty() {
                    // A ban is durable before it is announced: a restart must not lift it.
                    if let Err(error) = guard.persist(self.ctx.store.as_ref()).await {
                        tracing::error!(%error, "cannot store the ban");
                    }
                    self.farewell = Some((Code::Unavailable, BANNED_TEXT));
                    self.closing = true;
                }
                Err(Refusal::no(
                    Code::AuthenticationFailed,
                    "Authentication failed",
                ))
            }
        }
    }

    /// The answer to a login from a banned address: NO now, BYE after it.
    fn end_banned(&mut self) -> Refusal {
        self.farewell = Some((Code::Unavailable, BANNED_TEXT));
        self.closing = true;
        Refusal::no(Code::Unavailable, BANNED_TEXT)
    }
}

/// A client-supplied name made safe for a log line.
pub(crate) fn printable(text: &str) -> String {
    text.chars()
        .take(256)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
