//! The demo world for `rapport serve --demo`: clearly labelled, never
//! created on a platform that already has real accounts.

use crate::{App, AppError, RequestContext, SignUp};
use rapport_domain::availability::WeeklyWindow;
use rapport_domain::taxonomy::{Approach, Gender, LicenseType, Modality, Specialty};
use rapport_domain::{AccountId, CoupleId, Email, Jurisdiction, Language, Role, TimeZone};
use rapport_store::{ApplicationStatus, License, TherapistProfile, VerificationDecision};
use rapport_store::{Couple, StoreError};
use uuid::Uuid;

/// Every demo account signs in with this password.
pub const DEMO_PASSWORD: &str = "rapport demo only";

/// One printed demo login.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub email: &'static str,
    pub role: Role,
    pub who: &'static str,
}

const DEMO_PEOPLE: &[(&str, &str, Role, &str, &str)] = &[
    ("admin@demo.rapport.test", "Demo Admin", Role::Admin, "Europe/London", "platform administrator"),
    (
        "dr.amara.okafor@demo.rapport.test",
        "Dr. Amara Okafor (demo)",
        Role::Therapist,
        "America/Los_Angeles",
        "therapist, couples and emotional distance",
    ),
    (
        "dr.lucas.moreau@demo.rapport.test",
        "Dr. Lucas Moreau (demo)",
        Role::Therapist,
        "America/New_York",
        "therapist, communication and conflict",
    ),
    (
        "dr.sofia.lind@demo.rapport.test",
        "Dr. Sofia Lind (demo)",
        Role::Therapist,
        "Europe/Stockholm",
        "therapist, life transitions",
    ),
    ("jordan@demo.rapport.test", "Jordan (demo)", Role::Client, "America/Chicago", "individual client"),
    ("riley@demo.rapport.test", "Riley (demo)", Role::Client, "America/Denver", "partner in the demo couple"),
    ("sam@demo.rapport.test", "Sam (demo)", Role::Client, "America/Denver", "partner in the demo couple"),
];

impl App {
    /// Creates the demo world if it is not there yet and returns its logins.
    /// Refuses on a platform with accounts that are not demo accounts.
    pub async fn seed_demo(&self) -> Result<Vec<DemoLogin>, AppError> {
        let ctx = RequestContext::default();
        let admin_email = Email::parse(DEMO_PEOPLE[0].0).map_err(|e| AppError::Internal(e.to_string()))?;
        let already_seeded = match self.store.account_by_email(&admin_email).await {
            Ok(_) => true,
            Err(StoreError::NotFound) => false,
            Err(e) => return Err(e.into()),
        };
        if !already_seeded {
            if self.store.count_accounts().await? > 0 {
                return Err(AppError::Conflict {
                    field: "demo",
                    message: "This database already has real accounts, so demo data was not added.",
                });
            }
            let mut ids = Vec::new();
            for (email, name, role, tz, _) in DEMO_PEOPLE {
                let account = self
                    .create_account(
                        SignUp {
                            email: (*email).to_owned(),
                            password: DEMO_PASSWORD.to_owned(),
                            display_name: (*name).to_owned(),
                            time_zone: (*tz).to_owned(),
                        },
                        *role,
                        &ctx,
                    )
                    .await?;
                ids.push(account.id);
            }
            self.seed_demo_therapists(ids[0], &ids[1..4]).await?;
            let couple = Couple { id: CoupleId::new(), partner_a: ids[5], partner_b: ids[6], linked_at: self.now() };
            self.store.insert_couple(&couple).await?;
            self.seed_demo_care(&ids, &couple).await?;
        }
        Ok(DEMO_PEOPLE.iter().map(|(email, _, role, _, who)| DemoLogin { email, role: *role, who }).collect())
    }
}

impl App {
    /// Demo care: Jordan works with the second therapist; Riley and Sam, who agreed
    /// the limited-secrets policy, work with the first as a couple; a few messages.
    async fn seed_demo_care(&self, ids: &[AccountId], couple: &Couple) -> Result<(), AppError> {
        use rapport_domain::couple::ConfidentialityPolicy;
        use rapport_domain::room::MessageBody;
        use rapport_store::{CareProposal, CareProposalState, CareTeam, PolicyConsent};
        let now = self.now();
        for partner in [couple.partner_a, couple.partner_b] {
            let consent = PolicyConsent {
                couple_id: couple.id,
                account_id: partner,
                policy: ConfidentialityPolicy::LimitedSecrets,
                at: now,
            };
            self.store.insert_policy_consent(&consent).await?;
        }
        let teams = [(ids[4], None, ids[2]), (couple.partner_a, Some(couple.id), ids[1])];
        for (client, couple_id, therapist) in teams {
            let team = CareTeam {
                id: Uuid::now_v7(),
                client_id: client,
                couple_id,
                therapist_id: therapist,
                started_at: now,
                ended_at: None,
                end_reason: None,
                sees_history: true,
            };
            self.store.start_care(&team, None).await?;
            if let Some(couple_id) = couple_id {
                // Riley proposed the couple's therapist and Sam agreed, as every couple does.
                let proposal = CareProposal {
                    id: Uuid::now_v7(),
                    couple_id,
                    care_team_id: team.id,
                    therapist_id: therapist,
                    proposed_by: client,
                    proposed_at: now,
                    reasons: vec![
                        "Specialises in couples therapy".to_owned(),
                        "Uses Emotionally Focused Therapy and the Gottman Method".to_owned(),
                    ],
                    state: CareProposalState::Pending,
                    answered_by: None,
                    answered_at: None,
                };
                self.store.propose_care(&proposal).await?;
                self.store
                    .answer_care_proposal(proposal.id, CareProposalState::Accepted, couple.partner_b, now)
                    .await?;
                self.sync_rooms_for(couple.partner_b).await?;
            }
            self.sync_rooms_for(client).await?;
        }
        let ctx = RequestContext::default();
        let say = [
            (crate::rooms::couple_room_key(couple.id), ids[1], "Welcome, both of you. This room is for the three of us. Write whenever something comes up between sessions, and I will reply within a working day."),
            (crate::rooms::couple_room_key(couple.id), couple.partner_b, "Thank you. We had a calmer week, and we tried the evening walk you suggested."),
            (crate::rooms::individual_room_key(ids[4]), ids[2], "Hello Jordan, I'm glad you reached out. How has this week been?"),
        ];
        for (key, sender, text) in say {
            let Some(room) = self.store.room_by_key(&key).await? else { continue };
            let name = self.sender_name(sender).await?;
            let body = MessageBody::parse(text).map_err(|e| AppError::Internal(e.to_string()))?;
            self.post_as(sender, name, room.id, body, None, &ctx).await?;
        }
        Ok(())
    }
}

/// Profiles for the demo therapists: (name, licences, specialties, approaches, languages, gender, zone, windows).
type DemoProfile = (
    &'static str,
    &'static [(LicenseType, &'static str, &'static str)],
    &'static [Specialty],
    &'static [Approach],
    &'static [&'static str],
    Gender,
    &'static [(&'static str, &'static str, &'static str)],
);

const DEMO_PROFILES: [DemoProfile; 3] = [
    (
        "I help couples who feel they've drifted into living side by side find their way back to each other, gently and at your pace.",
        &[(LicenseType::Lmft, "LMFT 104233", "US-CA"), (LicenseType::Lmft, "LMFT 9921", "US-NV")],
        &[Specialty::Couples, Specialty::EmotionalDistance, Specialty::Communication, Specialty::TrustInfidelity],
        &[Approach::EmotionallyFocused, Approach::GottmanMethod],
        &["en", "es"],
        Gender::Woman,
        &[("mon", "17:00", "21:00"), ("wed", "17:00", "21:00"), ("sat", "09:00", "13:00")],
    ),
    (
        "Arguments that go round in circles usually hide something that matters to both of you. Together we find it and practise new ways to talk.",
        &[(LicenseType::Lcsw, "LCSW 88120", "US-NY"), (LicenseType::Lcsw, "LCSW 5520", "US-NJ")],
        &[Specialty::Couples, Specialty::Conflict, Specialty::Communication, Specialty::Anxiety],
        &[Approach::GottmanMethod, Approach::Cbt],
        &["en", "fr"],
        Gender::Man,
        &[("tue", "08:00", "12:00"), ("thu", "18:00", "21:00")],
    ),
    (
        "Big changes (a baby, a move, a loss) can pull partners apart. I help individuals and couples make sense of what changed and reconnect.",
        &[(LicenseType::Psyd, "PSY 3391", "SE"), (LicenseType::Psyd, "PSY 7710", "GB")],
        &[Specialty::LifeTransitions, Specialty::Grief, Specialty::EmotionalDistance, Specialty::Depression],
        &[Approach::AcceptanceCommitment, Approach::Narrative],
        &["en", "sv"],
        Gender::Woman,
        &[("mon", "09:00", "15:00"), ("fri", "09:00", "15:00")],
    ),
];

impl App {
    /// Approved profiles for the demo therapists, verified by the demo admin.
    async fn seed_demo_therapists(&self, admin: AccountId, therapists: &[AccountId]) -> Result<(), AppError> {
        let now = self.now();
        let expires = now.date_naive() + chrono::Duration::days(400);
        for ((id, (_, name, _, tz, _)), (bio, licenses, specialties, approaches, languages, gender, windows)) in
            therapists.iter().zip(&DEMO_PEOPLE[1..4]).zip(DEMO_PROFILES)
        {
            let invalid = |e: String| AppError::Internal(format!("demo data: {e}"));
            let profile = TherapistProfile {
                account_id: *id,
                status: ApplicationStatus::Pending,
                professional_name: name.trim_end_matches(" (demo)").to_owned() + " (demo)",
                pronouns: None,
                gender: Some(gender),
                bio: bio.to_owned(),
                licenses: licenses
                    .iter()
                    .map(|(kind, number, place)| {
                        Ok(License {
                            id: Uuid::now_v7(),
                            license_type: *kind,
                            number: (*number).to_owned(),
                            jurisdiction: Jurisdiction::parse(place).map_err(|e| invalid(e.to_string()))?,
                            expires_on: expires,
                            verified: false,
                            expiry_warned_at: None,
                            expiry_handled_at: None,
                        })
                    })
                    .collect::<Result<_, AppError>>()?,
                specialties: specialties.to_vec(),
                approaches: approaches.to_vec(),
                languages: languages
                    .iter()
                    .map(|l| Language::parse(l).map_err(|e| invalid(e.to_string())))
                    .collect::<Result<_, _>>()?,
                modalities: vec![Modality::Messaging, Modality::Video, Modality::Audio, Modality::Chat],
                works_with_couples: true,
                time_zone: TimeZone::parse(tz).map_err(|e| invalid(e.to_string()))?,
                weekly_availability: windows
                    .iter()
                    .map(|(d, a, b)| WeeklyWindow::parse(d, a, b).map_err(|e| invalid(e.to_string())))
                    .collect::<Result<_, _>>()?,
                capacity: 25,
                accepting_new_clients: true,
                has_photo: false,
                submitted_at: now,
                updated_at: now,
            };
            self.store.save_application(&profile).await?;
            self.store
                .decide_application(&VerificationDecision {
                    id: Uuid::now_v7(),
                    therapist_id: *id,
                    admin_id: admin,
                    decided_at: now,
                    approved: true,
                    checked: "Demo data: no real licence was checked.".to_owned(),
                    notes: "Demo therapist".to_owned(),
                })
                .await?;
        }
        Ok(())
    }
}
