//! The fixed vocabularies of therapist profiles and intake: specialties,
//! approaches, modalities, concerns and licence types. Identifiers are
//! snake_case ASCII and never change once published; labels are ours.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An identifier was not in the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not one of: {allowed}")]
pub struct UnknownTerm {
    /// What was given.
    pub value: String,
    /// The accepted identifiers, comma-separated.
    pub allowed: String,
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = ($id:literal, $label:literal)),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every term, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable identifier.
            pub fn id(self) -> &'static str {
                match self { $($name::$variant => $id),+ }
            }

            /// Plain words for people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// Every identifier, for documentation and error messages.
            pub fn ids() -> Vec<&'static str> {
                Self::ALL.iter().map(|t| t.id()).collect()
            }
        }

        impl FromStr for $name {
            type Err = UnknownTerm;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|t| t.id() == s).ok_or_else(|| UnknownTerm {
                    value: s.to_owned(),
                    allowed: Self::ids().join(", "),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.id())
            }
        }
    };
}

vocabulary!(
    /// What a therapist specialises in.
    Specialty {
        /// Couples therapy.
        Couples = ("couples", "couples therapy"),
        /// Emotional distance and intimacy.
        EmotionalDistance = ("emotional_distance", "emotional distance and intimacy"),
        /// Communication.
        Communication = ("communication", "communication"),
        /// Conflict.
        Conflict = ("conflict", "conflict"),
        /// Trust and infidelity.
        TrustInfidelity = ("trust_infidelity", "trust and infidelity"),
        /// Life transitions.
        LifeTransitions = ("life_transitions", "life transitions"),
        /// Family and parenting stress.
        FamilyParenting = ("family_parenting", "family and parenting stress"),
        /// Anxiety.
        Anxiety = ("anxiety", "anxiety"),
        /// Depression.
        Depression = ("depression", "depression"),
        /// Grief.
        Grief = ("grief", "grief"),
    }
);

vocabulary!(
    /// A therapeutic approach.
    Approach {
        /// Emotionally Focused Therapy.
        EmotionallyFocused = ("emotionally_focused", "Emotionally Focused Therapy"),
        /// The Gottman Method.
        GottmanMethod = ("gottman_method", "the Gottman Method"),
        /// Integrative Behavioral Couple Therapy.
        IntegrativeBehavioral = ("integrative_behavioral", "Integrative Behavioral Couple Therapy"),
        /// Cognitive Behavioral Therapy.
        Cbt = ("cbt", "Cognitive Behavioral Therapy"),
        /// Acceptance and Commitment Therapy.
        AcceptanceCommitment = ("acceptance_commitment", "Acceptance and Commitment Therapy"),
        /// Psychodynamic therapy.
        Psychodynamic = ("psychodynamic", "psychodynamic therapy"),
        /// Narrative therapy.
        Narrative = ("narrative", "narrative therapy"),
        /// Solution-focused therapy.
        SolutionFocused = ("solution_focused", "solution-focused therapy"),
    }
);

vocabulary!(
    /// How therapy happens.
    Modality {
        /// Messages in a private room, any time.
        Messaging = ("messaging", "messaging"),
        /// Live video sessions.
        Video = ("video", "video"),
        /// Live audio sessions.
        Audio = ("audio", "audio"),
        /// Live text chat sessions.
        Chat = ("chat", "live chat"),
    }
);

vocabulary!(
    /// A kind of professional licence.
    LicenseType {
        /// Licensed Marriage and Family Therapist.
        Lmft = ("lmft", "LMFT"),
        /// Licensed Clinical Social Worker.
        Lcsw = ("lcsw", "LCSW"),
        /// Licensed Professional Counselor.
        Lpc = ("lpc", "LPC"),
        /// Licensed Mental Health Counselor.
        Lmhc = ("lmhc", "LMHC"),
        /// Doctor of Psychology.
        Psyd = ("psyd", "PsyD"),
        /// Doctor of Philosophy (psychology).
        Phd = ("phd", "PhD"),
        /// Licensed Psychologist.
        Lp = ("lp", "LP"),
    }
);

vocabulary!(
    /// A therapist's gender, as they describe it, for clients who have a preference.
    Gender {
        /// Woman.
        Woman = ("woman", "woman"),
        /// Man.
        Man = ("man", "man"),
        /// Non-binary.
        NonBinary = ("non_binary", "non-binary"),
    }
);

vocabulary!(
    /// What brings someone to Rapport, in their words. Each maps to the
    /// specialties that help with it.
    Concern {
        /// Talking less.
        LessCommunication = ("less_communication", "We talk less than we used to"),
        /// Less affection.
        LessAffection = ("less_affection", "There's less affection or touch"),
        /// The same fight again and again.
        SameFight = ("same_fight", "The same argument keeps coming back"),
        /// Resentment.
        Resentment = ("resentment", "Resentment has built up"),
        /// A big life change.
        LifeChange = ("life_change", "A big change in life: a move, a baby, a new job, a loss"),
        /// Different needs.
        DifferentNeeds = ("different_needs", "We need different things"),
        /// Hard to open up.
        HardToOpenUp = ("hard_to_open_up", "It's hard to open up"),
        /// Lonely together.
        LonelyTogether = ("lonely_together", "Feeling lonely, even together"),
        /// One reaches, one retreats.
        PursueWithdraw = ("pursue_withdraw", "One of us reaches out and the other pulls away"),
        /// Trust was broken.
        TrustBroken = ("trust_broken", "Trust has been broken"),
        /// Family or parenting stress.
        ParentingStress = ("parenting_stress", "Stress from family or parenting"),
        /// Anxious.
        FeelingAnxious = ("feeling_anxious", "Feeling anxious or on edge"),
        /// Low.
        FeelingLow = ("feeling_low", "Feeling low or hopeless"),
        /// Grief.
        Grieving = ("grieving", "Grieving a loss"),
    }
);

impl LicenseType {
    /// The licence in words: "Licensed Marriage and Family Therapist".
    pub fn words(self) -> &'static str {
        match self {
            LicenseType::Lmft => "Licensed Marriage and Family Therapist",
            LicenseType::Lcsw => "Licensed Clinical Social Worker",
            LicenseType::Lpc => "Licensed Professional Counselor",
            LicenseType::Lmhc => "Licensed Mental Health Counselor",
            LicenseType::Psyd => "Doctor of Psychology",
            LicenseType::Phd => "Doctor of Philosophy in psychology",
            LicenseType::Lp => "Licensed Psychologist",
        }
    }
}

impl Specialty {
    /// A few words for a match reason ("Works with emotional distance and communication").
    pub fn short(self) -> &'static str {
        match self {
            Specialty::Couples => "couples",
            Specialty::EmotionalDistance => "emotional distance",
            Specialty::Communication => "communication",
            Specialty::Conflict => "conflict",
            Specialty::TrustInfidelity => "rebuilding trust",
            Specialty::LifeTransitions => "life transitions",
            Specialty::FamilyParenting => "parenting stress",
            Specialty::Anxiety => "anxiety",
            Specialty::Depression => "depression",
            Specialty::Grief => "grief",
        }
    }
}

impl Concern {
    /// The specialties that help most with this concern.
    pub fn specialties(self) -> &'static [Specialty] {
        use Specialty::*;
        match self {
            Concern::LessCommunication => &[Communication, EmotionalDistance],
            Concern::LessAffection => &[EmotionalDistance, Couples],
            Concern::SameFight => &[Conflict, Communication],
            Concern::Resentment => &[Conflict, EmotionalDistance],
            Concern::LifeChange => &[LifeTransitions],
            Concern::DifferentNeeds => &[Couples, Communication],
            Concern::HardToOpenUp => &[EmotionalDistance],
            Concern::LonelyTogether => &[EmotionalDistance, Depression],
            Concern::PursueWithdraw => &[EmotionalDistance, Couples],
            Concern::TrustBroken => &[TrustInfidelity],
            Concern::ParentingStress => &[FamilyParenting],
            Concern::FeelingAnxious => &[Anxiety],
            Concern::FeelingLow => &[Depression],
            Concern::Grieving => &[Grief],
        }
    }
}

/// Parses a list of identifiers, naming each unknown one.
pub fn parse_terms<T: FromStr<Err = UnknownTerm> + Ord>(values: &[String]) -> Result<Vec<T>, UnknownTerm> {
    let mut terms = values.iter().map(|v| v.parse()).collect::<Result<Vec<T>, _>>()?;
    terms.sort();
    terms.dedup();
    Ok(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_identifiers_exist_and_are_snake_case_ascii() {
        for id in ["couples", "emotional_distance", "communication"] {
            assert!(id.parse::<Specialty>().is_ok());
        }
        for id in ["less_communication", "less_affection"] {
            assert!(id.parse::<Concern>().is_ok());
        }
        let all: Vec<&str> = Specialty::ids()
            .into_iter()
            .chain(Approach::ids())
            .chain(Modality::ids())
            .chain(Concern::ids())
            .chain(LicenseType::ids())
            .collect();
        for id in all {
            assert!(id.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()), "{id}");
        }
    }

    #[test]
    fn the_taxonomy_covers_the_required_specialties() {
        assert_eq!(Specialty::ALL.len(), 10);
    }

    #[test]
    fn every_concern_maps_to_a_specialty() {
        for c in Concern::ALL {
            assert!(!c.specialties().is_empty(), "{c:?}");
        }
    }

    #[test]
    fn unknown_terms_are_named() {
        let err = parse_terms::<Modality>(&["video".into(), "carrier_pigeon".into()]).unwrap_err();
        assert_eq!(err.value, "carrier_pigeon");
        assert!(err.allowed.contains("messaging"));
    }

    #[test]
    fn serde_uses_the_identifiers() {
        assert_eq!(serde_json::to_string(&Specialty::EmotionalDistance).unwrap(), "\"emotional_distance\"");
    }
}
