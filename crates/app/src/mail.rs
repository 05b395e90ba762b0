//! Sending email. With SMTP configured, mail goes to the SMTP server; without,
//! each email is written as a file to an outbox folder in the data directory,
//! where an operator (or a test) can read it. Emails never carry message
//! content, answers or notes: only that there is something to look at.

use async_trait::async_trait;
use rapport_domain::Email;
use std::path::PathBuf;

/// One plain-text email.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: Email,
    pub subject: String,
    pub text: String,
}

impl std::fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Links in emails carry tokens: keep them out of logs.
        f.debug_struct("OutgoingMail").field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// Why an email could not be handed on.
#[derive(Debug, thiserror::Error)]
#[error("could not send email: {0}")]
pub struct MailError(pub String);

/// Somewhere emails go.
#[async_trait]
pub trait MailTransport: Send + Sync {
    async fn send(&self, from: &str, mail: &OutgoingMail) -> Result<(), MailError>;
    /// Where mail goes, for the start-up log (never a password).
    fn describe(&self) -> String;
}

/// Writes each email as an RFC 5322 `.eml` file in a folder.
pub struct OutboxFolder {
    dir: PathBuf,
}

impl OutboxFolder {
    /// An outbox in `dir`, created (owner-only) if missing.
    pub fn new(dir: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self { dir })
    }
}

/// Renders an email as RFC 5322 text (UTF-8, 8bit).
pub fn render_eml(from: &str, mail: &OutgoingMail, date: chrono::DateTime<chrono::Utc>) -> String {
    let subject: String = mail.subject.chars().filter(|c| !c.is_control()).collect();
    format!(
        "From: {from}\r\nTo: {}\r\nSubject: {subject}\r\nDate: {}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{}",
        mail.to,
        date.to_rfc2822(),
        mail.text.replace("\r\n", "\n").replace('\n', "\r\n")
    )
}

#[async_trait]
impl MailTransport for OutboxFolder {
    async fn send(&self, from: &str, mail: &OutgoingMail) -> Result<(), MailError> {
        let now = chrono::Utc::now();
        let name = format!("{}-{}.eml", now.format("%Y%m%dT%H%M%S%.6fZ"), uuid::Uuid::now_v7());
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let text = render_eml(from, mail, now);
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            use std::io::Write as _;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, dir.join(name))
        })
        .await
        .map_err(|e| MailError(e.to_string()))?
        .map_err(|e| MailError(e.to_string()))
    }

    fn describe(&self) -> String {
        format!("outbox folder {}", self.dir.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_outbox_keeps_each_email_as_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = OutboxFolder::new(dir.path().join("outbox")).unwrap();
        let mail = OutgoingMail {
            to: Email::parse("sam@example.com").unwrap(),
            subject: "New message\r\nBcc: evil@example.com".into(),
            text: "Hello\nthere".into(),
        };
        outbox.send("Rapport <no-reply@rapport.local>", &mail).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("outbox")).unwrap().collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(text.contains("To: sam@example.com\r\n"));
        assert!(text.contains("Subject: New messageBcc: evil@example.com\r\n"), "no header injection");
        assert!(text.ends_with("Hello\r\nthere"));
    }
}
