//! Email addresses, normalised so that one person has one account.

use serde::Serialize;
use std::fmt;

/// Why an email address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing was entered.
    #[error("Please enter your email address.")]
    Empty,
    /// Longer than any deliverable address.
    #[error("That email address is too long.")]
    TooLong,
    /// Not shaped like name@example.org.
    #[error("That doesn't look like an email address. It should look like name@example.org.")]
    Invalid,
}

/// A syntactically valid email address, trimmed and lower-cased.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Validates and normalises an address typed by a person.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let normalised = trimmed.to_lowercase();
        let (local, domain) = normalised.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| tld.chars().all(char::is_alphabetic) || tld.starts_with("xn--"));
        if local_ok && domain_ok {
            Ok(Self(normalised))
        } else {
            Err(EmailError::Invalid)
        }
    }

    /// Wraps an address read back from storage, where it was stored normalised.
    pub fn from_trusted(stored: String) -> Self {
        Self(stored)
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // An email address is personal data: keep it out of debug logs.
        f.write_str("Email(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_spaces() {
        let e = Email::parse("  Alex.Rivera@Example.ORG ").unwrap();
        assert_eq!(e.as_str(), "alex.rivera@example.org");
        assert_eq!(e, Email::parse("alex.rivera@example.org").unwrap());
    }

    #[test]
    fn accepts_plus_addressing_and_international_names() {
        assert!(Email::parse("sam+rapport@example.co.uk").is_ok());
        assert!(Email::parse("zoë@exämple.de").is_ok());
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "   ",
            "no-at-sign",
            "@example.org",
            "a@",
            "a@localhost",
            "a@@example.org",
            "a b@example.org",
            "a@exa mple.org",
            ".a@example.org",
            "a..b@example.org",
            "a@-example.org",
            "a@example.123",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn sql_and_html_in_an_address_are_refused() {
        assert_eq!(Email::parse("x'; DROP TABLE accounts;--@example.org"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("<script>alert(1)</script>@example.org"), Err(EmailError::Invalid));
        assert_eq!(Email::parse("a@example.org<script>"), Err(EmailError::Invalid));
    }

    #[test]
    fn refuses_overlong_addresses() {
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    #[test]
    fn debug_does_not_reveal_the_address() {
        let e = Email::parse("private@example.org").unwrap();
        assert!(!format!("{e:?}").contains("private"));
    }
}
