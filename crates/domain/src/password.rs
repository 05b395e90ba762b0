//! The password policy: long enough, not too long, and not a common password.
//! No composition rules (NIST SP 800-63B §5.1.1.2).

use std::collections::HashSet;
use std::fmt;
use std::sync::OnceLock;

/// Fewest characters a password may have.
pub const MIN_CHARS: usize = 12;
/// Most characters a password may have.
pub const MAX_CHARS: usize = 256;

/// The 10,000 most common passwords, most common first. Taken from the
/// frequency list shipped by the `zxcvbn` crate (MIT licence); see docs/security.md.
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().filter(|l| !l.is_empty()).collect())
}

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer than [`MIN_CHARS`] characters.
    #[error("Please use at least 12 characters. A few words in a row works well.")]
    TooShort,
    /// More than [`MAX_CHARS`] characters.
    #[error("Please use at most 256 characters.")]
    TooLong,
    /// Among the most common passwords.
    #[error("That password is one of the most common ones, so it is easy to guess. Please choose another.")]
    Common,
}

/// A password that meets the policy. Its `Debug` never shows it.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    /// Checks a password chosen by a person. Spaces are allowed and kept.
    pub fn parse(input: &str) -> Result<Self, PasswordError> {
        let chars = input.chars().count();
        if chars < MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        if is_common(input) {
            return Err(PasswordError::Common);
        }
        Ok(Self(input.to_owned()))
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(redacted)")
    }
}

/// True when the password is on the common list, ignoring letter case.
pub fn is_common(password: &str) -> bool {
    common_passwords().contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_ten_thousand_passwords() {
        assert_eq!(common_passwords().len(), 10_000);
        assert!(is_common("password"));
    }

    #[test]
    fn length_limits_count_characters_not_bytes() {
        assert_eq!(NewPassword::parse("short pass").unwrap_err(), PasswordError::TooShort);
        assert!(NewPassword::parse("ääääääääääää").is_ok());
        assert!(NewPassword::parse(&"x".repeat(256)).is_ok());
        assert_eq!(NewPassword::parse(&"x".repeat(257)).unwrap_err(), PasswordError::TooLong);
    }

    #[test]
    fn spaces_are_allowed_and_no_composition_rules() {
        assert!(NewPassword::parse("quiet river morning walk").is_ok());
        assert!(NewPassword::parse("alllowercaseletters").is_ok());
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        assert_eq!(NewPassword::parse("qwerty123456").unwrap_err(), PasswordError::Common);
        assert_eq!(NewPassword::parse("QWERTY123456").unwrap_err(), PasswordError::Common);
        assert_eq!(NewPassword::parse("1qaz2wsx3edc").unwrap_err(), PasswordError::Common);
    }

    #[test]
    fn debug_hides_the_password() {
        let p = NewPassword::parse("a very secret phrase").unwrap();
        assert!(!format!("{p:?}").contains("secret"));
    }
}
