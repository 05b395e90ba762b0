//! Where people are and what they speak: ISO 3166 jurisdictions and
//! ISO 639-1 languages.

use serde::Serialize;
use std::fmt;
use std::sync::OnceLock;

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

    /// A short name for people: "California", "United Kingdom".
    pub fn name(&self) -> String {
        if self.is_country() {
            country_name(&self.0).map(str::to_owned).unwrap_or_else(|| self.0.clone())
        } else {
            rust_iso3166::iso3166_2::from_code(&self.0).map(|s| s.name.to_string()).unwrap_or_else(|| self.0.clone())
        }
    }

    /// The name that says where on the map: "California, United States", "Ireland".
    pub fn full_name(&self) -> String {
        match (self.is_country(), country_name(self.country())) {
            (false, Some(country)) => format!("{}, {country}", self.name()),
            _ => self.name(),
        }
    }

    /// Reads a place as people give it: its name from [`place_choices`]
    /// ("California, United States", "Ontario", "United Kingdom"), ignoring
    /// letter case and accents, or its code (`US-CA`, `GB`).
    pub fn resolve(input: &str) -> Result<Self, InvalidJurisdiction> {
        if let Ok(j) = Self::parse(input) {
            return Ok(j);
        }
        let wanted = fold(input);
        let choices = place_choices();
        let by = |name: fn(&PlaceChoice) -> String| {
            let mut found = choices.iter().filter(|c| fold(&name(c)) == wanted);
            match (found.next(), found.next()) {
                (Some(one), None) => Some(one.code),
                _ => None,
            }
        };
        by(|c| c.name.clone())
            .or_else(|| by(|c| Jurisdiction(c.code.to_owned()).name()))
            .or_else(|| by(|c| official_name(c.code)))
            .map(|code| Self(code.to_owned()))
            .ok_or_else(|| InvalidJurisdiction(input.trim().to_owned()))
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

/// A place to choose by name; the code stays under the hood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceChoice {
    /// The ISO code, e.g. `US-CA`.
    pub code: &'static str,
    /// What people read and type, e.g. "California, United States".
    pub name: String,
}

/// Countries where therapists are licensed region by region (state,
/// province or territory), so people there choose their region.
pub const REGIONALLY_LICENSED: &[&str] = &["US", "CA", "AU"];

/// Shorter, everyday names where the ISO list's formal ones read oddly.
const EVERYDAY_COUNTRY_NAMES: &[(&str, &str)] = &[
    ("BN", "Brunei"),
    ("BO", "Bolivia"),
    ("CD", "Congo (Democratic Republic)"),
    ("FK", "Falkland Islands"),
    ("FM", "Micronesia"),
    ("GB", "United Kingdom"),
    ("IR", "Iran"),
    ("KP", "North Korea"),
    ("KR", "South Korea"),
    ("LA", "Laos"),
    ("MD", "Moldova"),
    ("NL", "Netherlands"),
    ("PS", "Palestine"),
    ("RU", "Russia"),
    ("SY", "Syria"),
    ("TW", "Taiwan"),
    ("TZ", "Tanzania"),
    ("US", "United States"),
    ("VA", "Vatican City"),
    ("VE", "Venezuela"),
    ("VG", "British Virgin Islands"),
    ("VI", "U.S. Virgin Islands"),
    ("VN", "Vietnam"),
];

fn country_name(alpha2: &str) -> Option<&'static str> {
    EVERYDAY_COUNTRY_NAMES
        .iter()
        .find(|(code, _)| *code == alpha2)
        .map(|(_, name)| *name)
        .or_else(|| rust_iso3166::from_alpha2(alpha2).map(|c| c.name))
}

/// The ISO list's own name, so "United Kingdom of Great Britain and Northern Ireland" is understood too.
fn official_name(code: &str) -> String {
    if code.contains('-') {
        rust_iso3166::iso3166_2::from_code(code).map(|s| s.name.to_owned()).unwrap_or_default()
    } else {
        rust_iso3166::from_alpha2(code).map(|c| c.name.to_owned()).unwrap_or_default()
    }
}

/// Lower case, single spaces, common accents dropped: how names are compared and sorted.
fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars().flat_map(char::to_lowercase) {
        let plain = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ý' | 'ÿ' => 'y',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if !(plain == ' ' && out.ends_with(' ')) {
            out.push(plain);
        }
    }
    out
}

/// Every country, and every state, province and territory of the
/// countries in [`REGIONALLY_LICENSED`], sorted by name.
pub fn place_choices() -> &'static [PlaceChoice] {
    static CHOICES: OnceLock<Vec<PlaceChoice>> = OnceLock::new();
    CHOICES.get_or_init(|| {
        let mut out = Vec::new();
        for country in rust_iso3166::ALL {
            out.push(PlaceChoice { code: country.alpha2, name: Jurisdiction(country.alpha2.to_owned()).full_name() });
            if !REGIONALLY_LICENSED.contains(&country.alpha2) {
                continue;
            }
            // US outlying areas are countries of their own in ISO 3166-1 and are listed as such.
            let regions = country
                .subdivisions()
                .unwrap_or_default()
                .iter()
                .filter(|s| country.alpha2 != "US" || matches!(s.subdivision_type, "State" | "District"));
            for region in regions {
                out.push(PlaceChoice { code: region.code, name: Jurisdiction(region.code.to_owned()).full_name() });
            }
        }
        out.sort_by_cached_key(|c| fold(&c.name));
        out
    })
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
        language_name(&self.0)
    }

    /// Reads a language as people give it: its English name ("Spanish",
    /// "Greek"), its own name ("Español", "Deutsch"), or its code (`es`),
    /// ignoring letter case and accents.
    pub fn resolve(input: &str) -> Result<Self, InvalidLanguage> {
        if let Ok(l) = Self::parse(input) {
            return Ok(l);
        }
        let wanted = fold(input);
        if wanted.is_empty() {
            return Err(InvalidLanguage(String::new()));
        }
        let by_name = language_choices().iter().find(|c| fold(c.name) == wanted).map(|c| c.code);
        let by_iso_name = || {
            isolang::languages()
                .filter_map(|l| Some((l.to_639_1()?, l)))
                .find(|(_, l)| fold(l.to_name()) == wanted || l.to_autonym().is_some_and(|a| fold(a) == wanted))
                .map(|(code, _)| code)
        };
        by_name
            .or_else(by_iso_name)
            .map(|code| Self(code.to_owned()))
            .ok_or_else(|| InvalidLanguage(input.trim().to_owned()))
    }
}

/// A language to choose by name; the code stays under the hood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LanguageChoice {
    /// The ISO 639-1 code, e.g. `es`.
    pub code: &'static str,
    /// Its English name, e.g. "Spanish".
    pub name: &'static str,
}

/// Languages many people speak, offered as ticks before the full list.
pub const COMMON_LANGUAGES: &[&str] =
    &["en", "es", "fr", "de", "pt", "it", "zh", "ar", "hi", "ru", "vi", "tl", "ko", "pl"];

/// Everyday names where the ISO list adds qualifiers ("Modern Greek (1453-)").
const EVERYDAY_LANGUAGE_NAMES: &[(&str, &str)] = &[
    ("el", "Greek"),
    ("ms", "Malay"),
    ("sw", "Swahili"),
    ("pa", "Punjabi"),
    ("ps", "Pashto"),
    ("km", "Khmer"),
    ("ky", "Kyrgyz"),
    ("nb", "Norwegian Bokmål"),
    ("nn", "Norwegian Nynorsk"),
    ("ca", "Catalan"),
    ("ne", "Nepali"),
    ("fa", "Persian (Farsi)"),
    ("tl", "Tagalog (Filipino)"),
    ("zh", "Chinese"),
    ("ht", "Haitian Creole"),
    ("gd", "Scottish Gaelic"),
    ("dv", "Dhivehi"),
    ("to", "Tongan"),
    ("oc", "Occitan"),
    ("lb", "Luxembourgish"),
    ("li", "Limburgish"),
    ("ii", "Sichuan Yi"),
    ("nv", "Navajo"),
    ("ug", "Uyghur"),
    ("za", "Zhuang"),
    ("kl", "Greenlandic"),
    ("ia", "Interlingua"),
    ("ie", "Interlingue"),
    ("ki", "Kikuyu"),
    ("rw", "Kinyarwanda"),
    ("ny", "Chichewa"),
    ("os", "Ossetian"),
    ("si", "Sinhala"),
    ("sl", "Slovenian"),
    ("es", "Spanish"),
];

fn language_name(code: &str) -> &'static str {
    EVERYDAY_LANGUAGE_NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
        .or_else(|| isolang::Language::from_639_1(code).map(|l| l.to_name()))
        .unwrap_or("an unlisted language")
}

/// Every ISO 639-1 language, by its English name, sorted.
pub fn language_choices() -> &'static [LanguageChoice] {
    static CHOICES: OnceLock<Vec<LanguageChoice>> = OnceLock::new();
    CHOICES.get_or_init(|| {
        let mut out: Vec<LanguageChoice> = isolang::languages()
            .filter_map(|l| l.to_639_1())
            .map(|code| LanguageChoice { code, name: language_name(code) })
            .collect();
        out.sort_by_cached_key(|c| fold(c.name));
        out.dedup_by_key(|c| c.code);
        out
    })
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

    #[test]
    fn places_are_chosen_by_name_and_stored_as_codes() {
        for (name, code) in [
            ("California, United States", "US-CA"),
            ("california, united states", "US-CA"),
            ("Ontario, Canada", "CA-ON"),
            ("Ontario", "CA-ON"),
            ("New South Wales, Australia", "AU-NSW"),
            ("United Kingdom", "GB"),
            ("United Kingdom of Great Britain and Northern Ireland", "GB"),
            ("Ireland", "IE"),
            ("  Cote d'Ivoire ", "CI"),
            ("Georgia", "GE"),
            ("Georgia, United States", "US-GA"),
            ("District of Columbia, United States", "US-DC"),
            ("us-ny", "US-NY"),
            ("GB", "GB"),
        ] {
            assert_eq!(Jurisdiction::resolve(name).map(|j| j.code().to_owned()), Ok(code.to_owned()), "{name}");
        }
        for bad in ["", "Atlantis", "California, Canada", "<b>"] {
            assert!(Jurisdiction::resolve(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_place_list_has_every_country_and_the_regions_that_license() {
        let choices = place_choices();
        let named = |name: &str| choices.iter().find(|c| c.name == name).map(|c| c.code);
        assert_eq!(named("California, United States"), Some("US-CA"));
        assert_eq!(named("Ontario, Canada"), Some("CA-ON"));
        assert_eq!(named("Yukon, Canada"), Some("CA-YT"));
        assert_eq!(named("Victoria, Australia"), Some("AU-VIC"));
        assert_eq!(named("United Kingdom"), Some("GB"));
        assert_eq!(named("Ireland"), Some("IE"));
        assert_eq!(named("United States"), Some("US"));
        assert_eq!(choices.iter().filter(|c| c.code.starts_with("US-")).count(), 51, "50 states and DC");
        assert_eq!(choices.iter().filter(|c| c.code.starts_with("CA-")).count(), 13);
        assert_eq!(choices.iter().filter(|c| c.code.starts_with("AU-")).count(), 8);
        assert_eq!(choices.iter().filter(|c| !c.code.contains('-')).count(), rust_iso3166::ALL.len());
        assert!(!choices.iter().any(|c| c.code.starts_with("GB-")), "UK licences are country-wide");
        // Names are unique, so a name always leads back to one code, and the list reads in order.
        for pair in choices.windows(2) {
            assert!(fold(&pair[0].name) < fold(&pair[1].name), "{:?} {:?}", pair[0], pair[1]);
        }
        for c in choices {
            assert_eq!(Jurisdiction::resolve(&c.name).unwrap().code(), c.code, "{}", c.name);
        }
    }

    #[test]
    fn places_have_short_and_full_names() {
        assert_eq!(Jurisdiction::parse("GB").unwrap().name(), "United Kingdom");
        assert_eq!(Jurisdiction::parse("US-NY").unwrap().full_name(), "New York, United States");
        assert_eq!(Jurisdiction::parse("IE").unwrap().full_name(), "Ireland");
    }

    #[test]
    fn languages_are_chosen_by_name_and_stored_as_codes() {
        for (name, code) in [
            ("English", "en"),
            ("spanish", "es"),
            ("Español", "es"),
            ("Deutsch", "de"),
            ("Greek", "el"),
            ("Tagalog (Filipino)", "tl"),
            ("Persian (Farsi)", "fa"),
            ("Mandarin", ""),
            ("FR", "fr"),
        ] {
            let got = Language::resolve(name).map(|l| l.code().to_owned()).unwrap_or_default();
            assert_eq!(got, code, "{name}");
        }
        assert!(Language::resolve("").is_err());
        assert!(Language::resolve("Klingon").is_err());
    }

    #[test]
    fn the_language_list_is_every_two_letter_language_by_name() {
        let choices = language_choices();
        assert!(choices.len() > 180, "{}", choices.len());
        assert!(choices.iter().any(|c| c.code == "en" && c.name == "English"));
        assert!(choices.iter().all(|c| !c.name.contains("(1453-)") && !c.name.contains("macrolanguage")));
        for pair in choices.windows(2) {
            assert!(fold(pair[0].name) < fold(pair[1].name), "{:?} {:?}", pair[0], pair[1]);
        }
        for c in choices {
            assert_eq!(Language::resolve(c.name).unwrap().code(), c.code, "{}", c.name);
        }
        for code in COMMON_LANGUAGES {
            assert!(choices.iter().any(|c| c.code == *code), "{code}");
        }
    }
}
