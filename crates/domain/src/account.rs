//! What an account is made of: a role, a display name, a time zone.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a person does on the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Someone seeking help, alone or as part of a couple.
    Client,
    /// A licensed therapist.
    Therapist,
    /// Someone who runs the platform.
    Admin,
}

impl Role {
    /// Every role, in display order.
    pub const ALL: [Role; 3] = [Role::Client, Role::Therapist, Role::Admin];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Therapist => "therapist",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not a role name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unknown role. Use one of: client, therapist, admin.")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or(UnknownRole)
    }
}

/// Why a display name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    /// Nothing but spaces.
    #[error("Please tell us what to call you.")]
    Empty,
    /// Over 80 characters.
    #[error("Please keep your name to 80 characters or fewer.")]
    TooLong,
    /// Control characters, which would garble the page.
    #[error("Your name contains characters we can't show.")]
    Unprintable,
}

/// The name shown to others: 1–80 printable characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DisplayName(String);

impl DisplayName {
    /// Most characters a display name may have.
    pub const MAX_CHARS: usize = 80;

    /// Validates a name typed by a person.
    pub fn parse(input: &str) -> Result<Self, DisplayNameError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(DisplayNameError::Empty);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(DisplayNameError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(DisplayNameError::Unprintable);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// Wraps a name read back from storage.
    pub fn from_trusted(stored: String) -> Self {
        Self(stored)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The text is not an IANA time zone name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Please choose a time zone from the list, such as Europe/London or America/New_York.")]
pub struct UnknownTimeZone;

/// An IANA time zone, used to show every time in the viewer's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    /// Parses an IANA name such as `Europe/Paris`.
    pub fn parse(input: &str) -> Result<Self, UnknownTimeZone> {
        input.trim().parse::<chrono_tz::Tz>().map(Self).map_err(|_| UnknownTimeZone)
    }

    /// Coordinated Universal Time, the default until a person picks their zone.
    pub fn utc() -> Self {
        Self(chrono_tz::UTC)
    }

    /// The IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The zone, for conversions.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.0
    }

    /// Every zone name the database knows, aliases included; people choose
    /// from [`crate::time_zones::zone_choices`].
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
    }

    /// The zone's name at an instant, in one style everywhere: the tz
    /// database's abbreviation when it has one ("PST", "BST", "CET"), else
    /// the offset ("UTC+04:00") rather than a bare "+04".
    pub fn abbreviation(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        let abbreviation = at.with_timezone(&self.0).format("%Z").to_string();
        if abbreviation.chars().all(|c| c.is_ascii_alphabetic()) {
            abbreviation
        } else {
            crate::time_zones::utc_offset(*self, at)
        }
    }

    /// Shows an instant as a reader in this zone would read it: "1 Jul 2026, 12:00 EDT".
    pub fn format(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        format!("{} {}", at.with_timezone(&self.0).format("%-d %b %Y, %H:%M"), self.abbreviation(at))
    }
}

impl Serialize for TimeZone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn display_names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Sam  ").unwrap().as_str(), "Sam");
        assert_eq!(DisplayName::parse("   ").unwrap_err(), DisplayNameError::Empty);
        assert_eq!(DisplayName::parse(&"a".repeat(81)).unwrap_err(), DisplayNameError::TooLong);
        assert_eq!(DisplayName::parse("a\u{0007}b").unwrap_err(), DisplayNameError::Unprintable);
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(TimeZone::parse("Europe/Paris").unwrap().name(), "Europe/Paris");
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::all_names().any(|n| n == "America/Los_Angeles"));
    }

    #[test]
    fn formatting_follows_daylight_saving() {
        let tz = TimeZone::parse("America/New_York").unwrap();
        let summer = chrono::Utc.with_ymd_and_hms(2026, 7, 1, 16, 0, 0).unwrap();
        let winter = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 16, 0, 0).unwrap();
        assert_eq!(tz.format(summer), "1 Jul 2026, 12:00 EDT");
        assert_eq!(tz.format(winter), "1 Dec 2026, 11:00 EST");
        let london = TimeZone::parse("Europe/London").unwrap();
        assert_eq!(london.format(summer), "1 Jul 2026, 17:00 BST");
        assert_eq!(london.format(winter), "1 Dec 2026, 16:00 GMT");
        let la = TimeZone::parse("America/Los_Angeles").unwrap();
        assert_eq!(la.format(winter), "1 Dec 2026, 08:00 PST");
        // Zones without a common abbreviation show their offset, never a bare "+04".
        let dubai = TimeZone::parse("Asia/Dubai").unwrap();
        assert_eq!(dubai.format(winter), "1 Dec 2026, 20:00 UTC+04:00");
        assert_eq!(TimeZone::utc().format(winter), "1 Dec 2026, 16:00 UTC");
    }
}
