//! Commands valid in any state (RFC 9051 6.1): CAPABILITY, ID (RFC 2971), and ENABLE
//! (RFC 5161, valid once authenticated; here because it only toggles session options).
//! NOOP/CHECK and LOGOUT are answered by the dispatcher itself.

use bytes::Bytes;
use portcullis_proto::encode::Data;

use crate::error::CommandResult;
use crate::output::Output;
use crate::quirks::{self, QuirkSet};
use crate::session::{Done, Session};

/// ID fields we keep from the client (for logs and the client quirks it switches on).
const MAX_ID_VALUE: usize = 128;

impl Session {
    /// CAPABILITY (RFC 9051 6.1.1).
    pub(crate) fn handle_capability(&self, out: &mut Output<'_>) -> CommandResult<Done> {
        out.data(&Data::Capability(&self.capability_list()), self.charset());
        Ok(Done::new("CAPABILITY completed"))
    }

    /// ID (RFC 2971): logs what the client says about itself, switches on the client quirks
    /// configured for its `name` and `version` (`quirks.rs`; none by default), and names the
    /// server. A later ID replaces what an earlier one switched on.
    pub(crate) fn handle_id(
        &mut self,
        parameters: Option<&[(Bytes, Option<Bytes>)]>,
        out: &mut Output<'_>,
    ) -> CommandResult<Done> {
        if let Some(parameters) = parameters {
            let described: Vec<String> = parameters
                .iter()
                .map(|(key, value)| {
                    let value = value
                        .as_deref()
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default();
                    let value: String = value
                        .chars()
                        .filter(|c| !c.is_control())
                        .take(MAX_ID_VALUE)
                        .collect();
                    format!(
                        "{}={value}",
                        String::from_utf8_lossy(key)
                            .chars()
                            .filter(|c| !c.is_control())
                            .take(32)
                            .collect::<String>()
                    )
                })
                .collect();
            tracing::info!(client = %described.join(", "), "client ID");
        }
        let (client_name, client_version) =
            parameters.map(quirks::id_name_version).unwrap_or_default();
        self.client_quirks = client_name.map_or(QuirkSet::EMPTY, |name| {
            self.ctx
                .config
                .quirks
                .for_client(&name, client_version.as_deref())
        });
        if !self.client_quirks.is_empty() {
            let names = self.client_quirks.names(quirks::KNOWN).join(", ");
            tracing::info!(quirks = %names, "client quirks switched on by ID");
        }
        let version = env!("CARGO_PKG_VERSION");
        let ours = [
            ("name", self.ctx.config.server_name.as_str()),
            ("version", version),
        ];
        out.data(&Data::Id(Some(&ours)), self.charset());
        Ok(Done::new("ID completed"))
    }

    /// ENABLE (RFC 5161): IMAP4rev2 (RFC 9051), CONDSTORE and QRESYNC (RFC 7162 3.1, 3.2.3).
    /// Unknown capabilities are ignored, as the RFC requires. ENABLED lists the requested
    /// capabilities that were not enabled before the command: "ENABLE QRESYNC" answers
    /// "ENABLED QRESYNC" and also enables CONDSTORE: RFC 7162 3.2.3 makes "ENABLE QRESYNC" a
    /// CONDSTORE enabling command, equivalent to "ENABLE QRESYNC CONDSTORE".
    pub(crate) fn handle_enable(
        &mut self,
        capabilities: &[String],
        out: &mut Output<'_>,
    ) -> CommandResult<Done> {
        let before = (self.rev2, self.condstore, self.qresync, self.utf8);
        let mut enabled: Vec<String> = Vec::new();
        for capability in capabilities {
            let newly = match capability.as_str() {
                "IMAP4REV2" => {
                    self.rev2 = true;
                    !before.0
                }
                "CONDSTORE" => {
                    self.condstore = true;
                    !before.1
                }
                "QRESYNC" => {
                    self.qresync = true;
                    self.condstore = true;
                    !before.2
                }
                // RFC 6855 3: mailbox names and quoted strings in UTF-8 from now on.
                "UTF8=ACCEPT" => {
                    self.utf8 = true;
                    !before.3
                }
                _ => false,
            };
            let name = capability_name(capability);
            if newly && !enabled.contains(&name) {
                enabled.push(name);
            }
        }
        out.data(&Data::Enabled(&enabled), self.charset());
        Ok(Done::new("ENABLE completed"))
    }
}

fn capability_name(upper: &str) -> String {
    match upper {
        "IMAP4REV2" => "IMAP4rev2".to_owned(),
        other => other.to_owned(),
    }
}
