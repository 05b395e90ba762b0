//! A person's own intake answers, to fill the form again when they change them.

use crate::intake::{SafetyAnswers, SensitiveIntake, PRIVACY_NOTICE_VERSION};
use crate::sessions::Authenticated;
use crate::{App, AppError};
use rapport_domain::availability::WeeklyWindow;
use rapport_domain::matching::SeekerKind;
use rapport_domain::taxonomy::{Approach, Concern, Gender, Modality};
use rapport_domain::{Action, Jurisdiction, Language, TimeZone};
use rapport_store::Intake;

/// Everything the caller answered at intake, the sealed answers opened.
#[derive(Debug, Clone)]
pub struct IntakeAnswers {
    pub kind: SeekerKind,
    pub jurisdiction: Jurisdiction,
    pub languages: Vec<Language>,
    pub concerns: Vec<Concern>,
    pub note: String,
    pub goals: String,
    pub modalities: Vec<Modality>,
    pub approaches: Vec<Approach>,
    pub therapist_gender: Option<Gender>,
    /// The zone the time windows are in.
    pub time_zone: TimeZone,
    pub time_windows: Vec<WeeklyWindow>,
    pub safety: SafetyAnswers,
    /// Whether they accepted the privacy notice as it reads today, so it
    /// need not be shown again before the questions.
    pub consented_to_current_notice: bool,
}

impl App {
    /// The caller's own intake answers, or `None` before intake. Reading
    /// one's own answers is not an access by someone else, so it is not in
    /// the audit trail.
    pub async fn my_intake_answers(&self, who: &Authenticated) -> Result<Option<IntakeAnswers>, AppError> {
        who.authorize(Action::SeekCare)?;
        let Some((intake, sensitive)) = self.read_intake(who).await? else { return Ok(None) };
        Ok(Some(IntakeAnswers::from_stored(intake, sensitive)))
    }
}

impl IntakeAnswers {
    /// The answers of a stored intake, its sealed part opened.
    pub(crate) fn from_stored(intake: Intake, sensitive: SensitiveIntake) -> Self {
        IntakeAnswers {
            kind: intake.kind,
            jurisdiction: intake.jurisdiction,
            languages: intake.languages,
            concerns: sensitive.concerns,
            note: sensitive.note,
            goals: sensitive.goals,
            modalities: intake.modalities,
            approaches: intake.approaches,
            therapist_gender: intake.therapist_gender,
            time_zone: intake.time_zone,
            time_windows: intake.time_windows,
            safety: sensitive.safety,
            consented_to_current_notice: intake.consent_version == PRIVACY_NOTICE_VERSION,
        }
    }
}
