//! Where people are and what they speak: ISO 3166 jurisdictions and
//! ISO 639-1 languages.

use serde::Serialize;
use std::fmt;

/// The text is not an ISO 3166 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a jurisdiction code. Use a region code such as US-CA or a country code such as GB.")]
pub struct InvalidJurisdiction(pub String);

/// Where a licence is valid or a person lives: an ISO 3166-2 subdivision
/// (`US-CA`) or an ISO 3166-1 alpha-2 country (`GB`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Jurisdiction(String);

impl Jurisdiction {
    /// Validates a code against the ISO lists, ignoring letter case.
    pub fn parse(input: &str) -> Result<Self, InvalidJurisdiction> {
        let code = input.trim().to_ascii_uppercase();
        let known = if code.contains('-') {
            rust_iso3166::iso3166_2::from_code(&code).is_some()
        } else {
            code.len() == 2 && rust_iso3166::from_alpha2(&code).is_some()
        };
        if known {
            Ok(Self(code))
        } else {
            Err(InvalidJurisdiction(input.trim().to_owned()))
        }
    }

    /// The code, e.g. `US-CA`.
    pub fn code(&self) -> &str {
        &self.0
    }

    /// The country part, e.g. `US`.
    pub fn country(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }

    /// True for a whole country.
    pub fn is_country(&self) -> bool {
        !self.0.contains('-')
    }

    /// A name for people: "California", "United Kingdom of Great Britain and Northern Ireland".
    pub fn name(&self) -> String {
        if self.is_country() {
            rust_iso3166::from_alpha2(&self.0).map(|c| c.name.to_string()).unwrap_or_else(|| self.0.clone())
        } else {
            rust_iso3166::iso3166_2::from_code(&self.0).map(|s| s.name.to_string()).unwrap_or_else(|| self.0.clone())
        }
    }

    /// Whether a licence here lets a therapist treat someone in `place`:
    /// the same region, or a country-wide licence in the same country.
    pub fn covers(&self, place: &Jurisdiction) -> bool {
        self == place || (self.is_country() && self.country() == place.country())
    }
}

impl fmt::Display for Jurisdiction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The text is not an ISO 639-1 language code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a language code. Use a two-letter code such as en, es or fr.")]
pub struct InvalidLanguage(pub String);

/// A spoken language, as an ISO 639-1 code (`en`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Language(String);

impl Language {
    /// Validates a two-letter code, ignoring letter case.
    pub fn parse(input: &str) -> Result<Self, InvalidLanguage> {
        let code = input.trim().to_ascii_lowercase();
        match isolang::Language::from_639_1(&code) {
            Some(_) => Ok(Self(code)),
            None => Err(InvalidLanguage(input.trim().to_owned())),
        }
    }

    /// The code.
    pub fn code(&self) -> &str {
        &self.0
    }

    /// The English name, e.g. "Spanish".
    pub fn name(&self) -> &'static str {
        isolang::Language::from_639_1(&self.0).map(|l| l.to_name()).unwrap_or("an unlisted language")
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jurisdictions_are_iso_codes() {
        assert_eq!(Jurisdiction::parse("us-ca").unwrap().code(), "US-CA");
        assert_eq!(Jurisdiction::parse("US-CA").unwrap().name(), "California");
        assert!(Jurisdiction::parse("GB").unwrap().is_country());
        for bad in ["", "XX", "US-ZZ", "California", "U", "US-", "<b>"] {
            assert!(Jurisdiction::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn country_licences_cover_their_regions_only() {
        let ca = Jurisdiction::parse("US-CA").unwrap();
        let ny = Jurisdiction::parse("US-NY").unwrap();
        let gb = Jurisdiction::parse("GB").unwrap();
        let eng = Jurisdiction::parse("GB-ENG").unwrap();
        assert!(ca.covers(&ca));
        assert!(!ca.covers(&ny));
        assert!(gb.covers(&eng));
        assert!(gb.covers(&gb));
        assert!(!eng.covers(&gb));
        assert!(!gb.covers(&ca));
    }

    #[test]
    fn languages_are_iso_639_1() {
        assert_eq!(Language::parse("ES").unwrap().code(), "es");
        assert_eq!(Language::parse("es").unwrap().name(), "Spanish");
        assert!(Language::parse("xx").is_err());
        assert!(Language::parse("eng").is_err());
    }
}
