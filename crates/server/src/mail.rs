//! Email transports: SMTP (through lettre) when configured, otherwise the
//! outbox folder in the data directory.

use crate::config::SmtpUrl;
use anyhow::Context as _;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rapport_app::mail::{MailError, MailTransport, OutboxFolder, OutgoingMail};
use std::path::Path;
use std::sync::Arc;

/// SMTP delivery.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    describe: String,
}

impl Smtp {
    /// A transport for `smtp://…` (STARTTLS unless `?tls=none`) or `smtps://…` (TLS).
    pub fn from_url(url: &SmtpUrl) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url(url.expose()))
            .context("RAPPORT_SMTP_URL is not a valid SMTP URL")?
            .timeout(Some(std::time::Duration::from_secs(20)))
            .build();
        Ok(Self { transport, describe: format!("{url:?}") })
    }
}

#[async_trait::async_trait]
impl MailTransport for Smtp {
    async fn send(&self, from: &str, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = Message::builder()
            .from(from.parse().map_err(|e| MailError(format!("the sender address is not valid: {e}")))?)
            .to(mail.to.as_str().parse().map_err(|e| MailError(format!("the recipient is not valid: {e}")))?)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone())
            .map_err(|e| MailError(e.to_string()))?;
        self.transport.send(message).await.map(|_| ()).map_err(|e| MailError(e.to_string()))
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }
}

/// The URL in lettre's terms. Rapport documents `smtp://` as STARTTLS (required) unless
/// `?tls=none`, while lettre reads an `smtp://` URL without `tls` as plain text and refuses
/// `tls=none`: so add `tls=required` when no `tls` is given, and drop `tls=none`.
fn lettre_url(url: &str) -> String {
    if !url.starts_with("smtp://") {
        return url.to_owned();
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    if params.iter().any(|p| p.eq_ignore_ascii_case("tls=none")) {
        params.retain(|p| !p.to_ascii_lowercase().starts_with("tls="));
    } else if !params.iter().any(|p| p.to_ascii_lowercase().starts_with("tls=")) {
        params.push("tls=required");
    }
    if params.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", params.join("&"))
    }
}

/// SMTP when a URL is given, otherwise `outbox/` in the data directory.
pub fn transport(smtp: Option<&SmtpUrl>, data_dir: &Path) -> anyhow::Result<Arc<dyn MailTransport>> {
    Ok(match smtp {
        Some(url) => Arc::new(Smtp::from_url(url)?),
        None => {
            let dir = data_dir.join("outbox");
            Arc::new(
                OutboxFolder::new(dir.clone())
                    .with_context(|| format!("could not create the email outbox {}", dir.display()))?,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::lettre_url;

    #[test]
    fn smtp_urls_mean_what_the_documentation_says() {
        assert_eq!(lettre_url("smtp://127.0.0.1:2525?tls=none"), "smtp://127.0.0.1:2525");
        assert_eq!(lettre_url("smtp://u:p@mail.example.com:587"), "smtp://u:p@mail.example.com:587?tls=required");
        assert_eq!(
            lettre_url("smtp://mail.example.com?tls=opportunistic"),
            "smtp://mail.example.com?tls=opportunistic"
        );
        assert_eq!(lettre_url("smtps://mail.example.com"), "smtps://mail.example.com");
    }
}
