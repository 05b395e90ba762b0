//! Intake (privacy consent first), matching, and choosing a therapist.

use crate::sessions::Authenticated;
use crate::therapists::{languages, windows, WindowInput};
use crate::{App, AppError, RequestContext};
use chrono::NaiveDate;
use rapport_domain::availability::to_utc_week;
use rapport_domain::matching::{
    explain_no_match, find_matches, is_eligible, Candidate, LicenseSummary, Match, MatchDay, NoMatchHint, Seeker,
    SeekerKind,
};
use rapport_domain::taxonomy::{parse_terms, Approach, Concern, Gender, Modality, UnknownTerm};
use rapport_domain::{AccountId, Action, AuditAction, FieldErrors, Jurisdiction, TimeZone};
use rapport_store::{CareProposalState, CareTeam, Intake, StoreError};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The version of the privacy notice people consent to at intake.
pub const PRIVACY_NOTICE_VERSION: &str = "2026-11-25";

/// Answers to the private safety questions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyAnswers {
    /// "Are you thinking about harming yourself, or in danger right now?"
    pub immediate_risk: bool,
    /// For couples: fear of a partner, harm, or control.
    pub relationship_safety: bool,
}

/// What someone fills in at intake.
#[derive(Debug, Clone, Default)]
pub struct IntakeInput {
    /// `individual` or `couple`.
    pub kind: String,
    /// `Some(false)` refuses; `None` over the API means submitting is consent (documented).
    pub privacy_consent: Option<bool>,
    pub jurisdiction: String,
    pub languages: Vec<String>,
    pub concerns: Vec<String>,
    /// In their own words.
    pub note: String,
    /// What they would like to be different.
    pub goals: String,
    pub modalities: Vec<String>,
    pub approaches: Vec<String>,
    pub therapist_gender: Option<String>,
    /// IANA zone of the time windows; defaults to the account's.
    pub time_zone: Option<String>,
    pub time_windows: Vec<WindowInput>,
    pub safety: SafetyAnswers,
}

/// What the person should see next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeOutcome {
    pub kind: SeekerKind,
    /// Show crisis resources now (immediate risk).
    pub show_crisis_resources: bool,
    /// Offer individual support rather than joint couples work (relationship safety).
    pub offer_individual_support: bool,
}

/// A chosen therapist: the care team, and for a couple whether the partner agreed yet.
#[derive(Debug, Clone)]
pub struct ChosenCare {
    pub team: CareTeam,
    /// `Some(Pending)` when the choice waits for the partner's agreement; `None` for individual care.
    pub partner_agreement: Option<CareProposalState>,
}

/// Suggested therapists, or why there are none.
#[derive(Debug, Clone)]
pub struct MatchesOutcome {
    pub matches: Vec<Match>,
    pub hints: Vec<NoMatchHint>,
    /// What choosing would start: couples work (a proposal to the partner) or individual care.
    pub kind: SeekerKind,
}

/// Approved therapists as matching candidates, kept briefly so that a
/// matches page does not reload every profile. Changes made through this
/// instance clear it at once; other instances' changes show within the TTL.
pub(crate) struct CandidateCache {
    loaded_at: std::time::Instant,
    day: NaiveDate,
    candidates: std::sync::Arc<Vec<Candidate>>,
}

/// How many suggestions a person sees at once.
const SHOWN: usize = 3;

const CANDIDATE_TTL: std::time::Duration = std::time::Duration::from_secs(15);

#[derive(Serialize, Deserialize)]
pub(crate) struct SensitiveIntake {
    pub(crate) concerns: Vec<Concern>,
    pub(crate) note: String,
    #[serde(default)]
    pub(crate) goals: String,
    pub(crate) safety: SafetyAnswers,
}

pub(crate) fn sealing_context(account: AccountId) -> String {
    format!("intake:{account}")
}

fn list<T: std::str::FromStr<Err = UnknownTerm> + Ord>(
    errors: &mut FieldErrors,
    field: &str,
    values: &[String],
) -> Vec<T> {
    match parse_terms::<T>(values) {
        Ok(v) => v,
        Err(e) => {
            errors.add(field, e.to_string());
            Vec::new()
        }
    }
}

impl App {
    /// Saves intake answers. The privacy notice must be accepted first.
    pub async fn submit_intake(
        &self,
        who: &Authenticated,
        input: IntakeInput,
        ctx: &RequestContext,
    ) -> Result<IntakeOutcome, AppError> {
        who.authorize(Action::SeekCare)?;
        let me = who.account_id();
        let mut errors = FieldErrors::new();
        if input.privacy_consent == Some(false) {
            errors.add("privacy_consent", "Please read and accept the privacy notice before we ask anything else.");
            return Err(AppError::Invalid(errors));
        }
        let kind = match input.kind.as_str() {
            "individual" => Some(SeekerKind::Individual),
            "couple" => Some(SeekerKind::Couple),
            _ => {
                errors.add("kind", "Please choose individual or couple.");
                None
            }
        };
        let jurisdiction = errors.check("jurisdiction", Jurisdiction::parse(&input.jurisdiction));
        let languages = languages(&mut errors, "languages", &input.languages);
        let concerns: Vec<Concern> = list(&mut errors, "concerns", &input.concerns);
        let modalities: Vec<Modality> = list(&mut errors, "preferences.modalities", &input.modalities);
        let approaches: Vec<Approach> = list(&mut errors, "preferences.approaches", &input.approaches);
        let therapist_gender = match input.therapist_gender.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
            Some(g) => errors.check("preferences.therapist_gender", g.parse::<Gender>()),
            None => None,
        };
        let time_zone = match input.time_zone.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            Some(t) => errors.check("preferences.time_zone", TimeZone::parse(t)),
            None => Some(who.account().time_zone),
        };
        let time_windows = windows(&mut errors, "preferences.time_windows", &input.time_windows);
        let note = input.note.trim().to_owned();
        if note.chars().count() > 4000 {
            errors.add("note", "Please keep this to 4000 characters or fewer.");
        }
        let goals = input.goals.trim().to_owned();
        if goals.chars().count() > 2000 {
            errors.add("goals", "Please keep this to 2000 characters or fewer.");
        }
        let (Some(kind), Some(jurisdiction), Some(time_zone)) = (kind, jurisdiction, time_zone) else {
            return Err(AppError::Invalid(errors));
        };
        errors.into_result()?;

        let now = self.now();
        let couple_id = self.store.couple_of(me).await?.map(|c| c.id);
        let sensitive = SensitiveIntake { concerns, note, goals, safety: input.safety };
        let plaintext = serde_json::to_vec(&sensitive).map_err(|e| AppError::Internal(e.to_string()))?;
        let sealed = self.vault()?.seal(&plaintext, &sealing_context(me))?;
        let created_at = self.store.intake_of(me).await?.map_or(now, |i| i.created_at);
        let intake = Intake {
            account_id: me,
            kind,
            couple_id,
            consented_at: now,
            consent_version: PRIVACY_NOTICE_VERSION.to_owned(),
            jurisdiction,
            languages,
            modalities,
            approaches,
            therapist_gender,
            time_zone,
            time_windows,
            sensitive: sealed,
            created_at,
            updated_at: now,
        };
        self.store.save_intake(&intake).await?;
        self.audit(Some(me), AuditAction::IntakeSubmitted, Some(me), "intake", None, ctx).await?;
        Ok(IntakeOutcome {
            kind,
            show_crisis_resources: input.safety.immediate_risk,
            offer_individual_support: kind == SeekerKind::Couple && input.safety.relationship_safety,
        })
    }

    /// The caller's own intake. Reading one's own answers is not an access by
    /// someone else, so it is not listed in their audit trail.
    pub(crate) async fn read_intake(&self, who: &Authenticated) -> Result<Option<(Intake, SensitiveIntake)>, AppError> {
        let me = who.account_id();
        let Some(intake) = self.store.intake_of(me).await? else { return Ok(None) };
        let plaintext = self.unseal(&intake.sensitive, &sealing_context(me)).await?;
        let sensitive: SensitiveIntake =
            serde_json::from_slice(&plaintext).map_err(|e| AppError::Internal(format!("intake: {e}")))?;
        Ok(Some((intake, sensitive)))
    }

    /// Every approved therapist as a matching candidate, availability in this week.
    pub async fn match_candidates(&self, today: NaiveDate) -> Result<Vec<Candidate>, AppError> {
        let profiles = self.store.approved_therapists().await?;
        let counts = self.store.active_client_counts().await?;
        Ok(profiles
            .into_iter()
            .map(|p| Candidate {
                id: p.account_id,
                active_clients: counts.get(&p.account_id).copied().unwrap_or(0),
                availability_utc: to_utc_week(&p.weekly_availability, p.time_zone, today),
                professional_name: p.professional_name,
                approved: true,
                licenses: p
                    .licenses
                    .into_iter()
                    .map(|l| LicenseSummary {
                        jurisdiction: l.jurisdiction,
                        expires_on: l.expires_on,
                        verified: l.verified,
                    })
                    .collect(),
                specialties: p.specialties,
                approaches: p.approaches,
                languages: p.languages,
                modalities: p.modalities,
                works_with_couples: p.works_with_couples,
                gender: p.gender,
                capacity: p.capacity,
                accepting: p.accepting_new_clients,
                has_photo: p.has_photo,
            })
            .collect())
    }

    /// Forgets cached candidates (after a profile, decision or care change).
    pub(crate) fn forget_candidates(&self) {
        if let Ok(mut cache) = self.candidates.lock() {
            *cache = None;
        }
    }

    async fn cached_candidates(
        &self,
        today: NaiveDate,
        fresh: bool,
    ) -> Result<std::sync::Arc<Vec<Candidate>>, AppError> {
        if !fresh {
            if let Ok(cache) = self.candidates.lock() {
                if let Some(c) = cache.as_ref().filter(|c| c.day == today && c.loaded_at.elapsed() < CANDIDATE_TTL) {
                    return Ok(c.candidates.clone());
                }
            }
        }
        let candidates = std::sync::Arc::new(self.match_candidates(today).await?);
        if let Ok(mut cache) = self.candidates.lock() {
            *cache = Some(CandidateCache {
                loaded_at: std::time::Instant::now(),
                day: today,
                candidates: candidates.clone(),
            });
        }
        Ok(candidates)
    }

    /// Up to three therapists for the caller, best first, with reasons;
    /// or, when none fit, what to change. `None` before intake.
    pub async fn my_matches(
        &self,
        who: &Authenticated,
        ctx: &RequestContext,
    ) -> Result<Option<MatchesOutcome>, AppError> {
        self.my_other_matches(who, ctx, &[]).await
    }

    /// New matches: as [`App::my_matches`], leaving out therapists already shown.
    pub async fn my_other_matches(
        &self,
        who: &Authenticated,
        ctx: &RequestContext,
        already_shown: &[AccountId],
    ) -> Result<Option<MatchesOutcome>, AppError> {
        let Some((seeker, day)) = self.seeker(who, ctx, already_shown).await? else { return Ok(None) };
        let candidates = self.cached_candidates(day.today, false).await?;
        let matches = find_matches(&seeker, &candidates, day, SHOWN);
        let hints = if matches.is_empty() { explain_no_match(&seeker, &candidates, day) } else { Vec::new() };
        Ok(Some(MatchesOutcome { matches, hints, kind: seeker.kind }))
    }

    /// What the caller is looking for, from their intake (and their partner's, for a couple).
    async fn seeker(
        &self,
        who: &Authenticated,
        _ctx: &RequestContext,
        leave_out: &[AccountId],
    ) -> Result<Option<(Seeker, MatchDay)>, AppError> {
        who.authorize(Action::SeekCare)?;
        let me = who.account_id();
        let Some((intake, sensitive)) = self.read_intake(who).await? else { return Ok(None) };
        let today = self.now().date_naive();
        // A safety concern about a partner means individual support, never joint work by default.
        let kind = if sensitive.safety.relationship_safety { SeekerKind::Individual } else { intake.kind };
        let mut jurisdictions = vec![intake.jurisdiction.clone()];
        if kind == SeekerKind::Couple {
            if let Some(couple) = self.store.couple_of(me).await? {
                let partner = if couple.partner_a == me { couple.partner_b } else { couple.partner_a };
                if let Some(p) = self.store.intake_of(partner).await? {
                    if !jurisdictions.contains(&p.jurisdiction) {
                        jurisdictions.push(p.jurisdiction);
                    }
                }
            }
        }
        let current = self.store.active_care_of_client(me).await?.map(|c| c.therapist_id);
        let seeker = Seeker {
            kind,
            jurisdictions,
            languages: intake.languages,
            concerns: sensitive.concerns,
            modalities: intake.modalities,
            approaches: intake.approaches,
            gender: intake.therapist_gender,
            windows_utc: to_utc_week(&intake.time_windows, intake.time_zone, today),
            time_zone: intake.time_zone,
            exclude: current.into_iter().chain(leave_out.iter().copied()).collect(),
        };
        Ok(Some((seeker, MatchDay { today })))
    }

    /// Starts working with one of the caller's current matches, ending any
    /// current care relationship. `sees_history` lets the new therapist see
    /// what was shared with earlier ones.
    ///
    /// For a partner whose intake is for the couple, the choice is a proposal to the
    /// other partner: until they accept, the chooser works with the therapist
    /// one-to-one and the other partner is in none of this care team's rooms.
    /// Proposing the current therapist again after a decline asks the partner again.
    pub async fn choose_therapist(
        &self,
        who: &Authenticated,
        therapist: AccountId,
        sees_history: bool,
        reason: Option<&str>,
        ctx: &RequestContext,
    ) -> Result<ChosenCare, AppError> {
        let me = who.account_id();
        // Any therapist who fits may be chosen (also ones shown as new matches), checked
        // against fresh data at the moment of choosing; capacity is re-checked by the store.
        let (seeker, day) = self.seeker(who, ctx, &[]).await?.ok_or(AppError::Conflict {
            field: "intake",
            message: "Please complete the intake questions first, so we can suggest therapists who fit.",
        })?;
        let couple = match seeker.kind {
            SeekerKind::Couple => self.store.couple_of(me).await?,
            SeekerKind::Individual => None,
        };
        let current = self.store.active_care_of_client(me).await?;
        let candidates = self.cached_candidates(day.today, true).await?;
        // The current therapist is left out of matches, but may be proposed to the partner: for
        // couples work with them (their one-to-one room becomes the private channel), or again
        // after the partner declined.
        let mut again = None;
        let mut allow_current = false;
        if let (Some(c), Some(team)) = (&couple, &current) {
            if team.therapist_id == therapist {
                if team.couple_id != Some(c.id) {
                    allow_current = true;
                } else {
                    match self.store.latest_care_proposal(c.id).await? {
                        Some(p) if p.care_team_id == team.id && p.state == CareProposalState::Pending => {
                            return Ok(ChosenCare { team: team.clone(), partner_agreement: Some(p.state) })
                        }
                        Some(p) if p.care_team_id == team.id && p.state == CareProposalState::Accepted => {}
                        _ => {
                            allow_current = true;
                            again = Some(team.clone());
                        }
                    }
                }
            }
        }
        let mut eligible_seeker = seeker.clone();
        if allow_current {
            eligible_seeker.exclude.retain(|t| *t != therapist);
        }
        let Some(candidate) = candidates.iter().find(|c| c.id == therapist && is_eligible(c, &eligible_seeker, day))
        else {
            return Err(AppError::NotFound);
        };
        let team = match again {
            Some(team) => team,
            None => {
                let team = CareTeam {
                    id: Uuid::now_v7(),
                    client_id: me,
                    couple_id: couple.as_ref().map(|c| c.id),
                    therapist_id: therapist,
                    started_at: self.now(),
                    ended_at: None,
                    end_reason: None,
                    sees_history,
                };
                let reason =
                    reason.map(str::trim).filter(|r| !r.is_empty()).map(|r| r.chars().take(500).collect::<String>());
                match self.store.start_care(&team, reason.as_deref()).await {
                    Ok(()) => {}
                    Err(StoreError::Conflict(_)) => {
                        return Err(AppError::Conflict {
                            field: "therapist_id",
                            message: "That therapist's last place was just taken, or your care team just changed. Please look at your matches again.",
                        })
                    }
                    Err(e) => return Err(e.into()),
                }
                self.forget_candidates();
                self.audit(
                    Some(me),
                    AuditAction::CareTeamStarted,
                    Some(me),
                    "care_team",
                    Some(team.id.to_string()),
                    ctx,
                )
                .await?;
                self.tell_therapist_they_were_chosen(&team, couple.is_some()).await?;
                team
            }
        };
        // Rooms first: a proposal waiting changes none (the chooser's care is one-to-one until agreed).
        self.sync_rooms_for(me).await?;
        if let Some(c) = &couple {
            // Earlier couple care the chooser left ends for the partner's rooms too.
            self.sync_rooms_for(if c.partner_a == me { c.partner_b } else { c.partner_a }).await?;
        }
        let partner_agreement = match &couple {
            Some(c) => {
                // What the partner sees leaves out the chooser's concerns: those are health data.
                let shareable = Seeker { concerns: Vec::new(), exclude: Vec::new(), ..eligible_seeker };
                let reasons = find_matches(&shareable, std::slice::from_ref(candidate), day, 1)
                    .into_iter()
                    .next()
                    .map(|m| m.reasons)
                    .unwrap_or_default();
                self.propose_to_partner(who, c, &team, reasons, ctx).await?;
                Some(CareProposalState::Pending)
            }
            None => None,
        };
        Ok(ChosenCare { team, partner_agreement })
    }

    /// Emails a therapist that someone chose them: no name, no health details, only
    /// that there is a new client, and where to see them.
    async fn tell_therapist_they_were_chosen(&self, team: &CareTeam, couple: bool) -> Result<(), AppError> {
        let account = self.store.account_by_id(team.therapist_id).await?;
        let name = self.store.therapist(team.therapist_id).await?.professional_name;
        let link = format!("{}/home", self.config.public_url.trim_end_matches('/'));
        let who = if couple {
            "A partner in a couple has chosen you for couples work. Their partner is being asked to agree; \
             until then you work with the one who chose you."
        } else {
            "Someone new has chosen to work with you."
        };
        self.send_mail_soon(crate::mail::OutgoingMail {
            to: account.email,
            subject: "A new client chose you on Rapport".to_owned(),
            text: format!(
                "Hello {name},\n\n{who} You'll find them in your client list, with what they chose to share, \
                 once you sign in:\n\n{link}\n\n— Rapport\n"
            ),
        });
        Ok(())
    }

    /// The caller's therapist, if they have one: the care team and the therapist's professional name.
    pub async fn my_therapist(&self, who: &Authenticated) -> Result<Option<(CareTeam, String)>, AppError> {
        let me = who.account_id();
        // A partner in the couple's agreed care has the couple's therapist, whoever proposed them.
        let team = match self.store.active_care_of_client(me).await? {
            Some(team) => Some(team),
            None => match self.store.couple_of(me).await? {
                Some(c) => self.couple_care(&c).await?,
                None => None,
            },
        };
        let Some(team) = team else { return Ok(None) };
        let name = self.store.therapist(team.therapist_id).await?.professional_name;
        Ok(Some((team, name)))
    }

    /// A therapist's current clients: care team and display name.
    pub async fn my_clients(&self, who: &Authenticated) -> Result<Vec<(CareTeam, String)>, AppError> {
        let me = who.account_id();
        let mut out = Vec::new();
        for team in self.store.active_clients_of(me).await? {
            let name = self.store.account_by_id(team.client_id).await?.display_name.to_string();
            out.push((team, name));
        }
        Ok(out)
    }

    /// Whether the caller has done intake.
    pub async fn has_intake(&self, who: &Authenticated) -> Result<bool, AppError> {
        Ok(self.store.intake_of(who.account_id()).await?.is_some())
    }
}
