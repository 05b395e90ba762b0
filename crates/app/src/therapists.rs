//! Therapist applications, admin verification, and profiles.

use crate::mail::OutgoingMail;
use crate::sessions::Authenticated;
use crate::{App, AppError, RequestContext};
use chrono::NaiveDate;
use rapport_domain::availability::WeeklyWindow;
use rapport_domain::taxonomy::{parse_terms, Approach, Gender, LicenseType, Modality, Specialty};
use rapport_domain::{AccountId, Action, AuditAction, FieldErrors, Jurisdiction, Language, TimeZone};
use rapport_store::{ApplicationStatus, License, StoreError, TherapistProfile, VerificationDecision};
use uuid::Uuid;

/// A licence as typed in an application.
#[derive(Debug, Clone, Default)]
pub struct LicenseInput {
    pub license_type: String,
    pub number: String,
    pub jurisdiction: String,
    /// `YYYY-MM-DD`.
    pub expires_on: String,
}

/// A weekly window as typed (`mon`, `17:00`, `21:00`).
#[derive(Debug, Clone, Default)]
pub struct WindowInput {
    pub weekday: String,
    pub start: String,
    pub end: String,
}

/// Everything a therapist submits.
#[derive(Debug, Clone, Default)]
pub struct TherapistApplication {
    pub professional_name: String,
    pub pronouns: Option<String>,
    pub gender: Option<String>,
    pub bio: String,
    pub licenses: Vec<LicenseInput>,
    pub specialties: Vec<String>,
    pub approaches: Vec<String>,
    pub languages: Vec<String>,
    pub modalities: Vec<String>,
    pub works_with_couples: bool,
    pub time_zone: String,
    pub weekly_availability: Vec<WindowInput>,
    pub capacity: i64,
    pub accepting_new_clients: bool,
}

/// Most licences, windows and characters an application may hold.
const MAX_LICENSES: usize = 20;
const MAX_WINDOWS: usize = 50;
const MAX_BIO_CHARS: usize = 4000;

fn terms<T: std::str::FromStr<Err = rapport_domain::taxonomy::UnknownTerm> + Ord>(
    errors: &mut FieldErrors,
    field: &str,
    values: &[String],
    required: bool,
) -> Vec<T> {
    match parse_terms::<T>(values) {
        Ok(v) if v.is_empty() && required => {
            errors.add(field, "Please choose at least one.");
            v
        }
        Ok(v) => v,
        Err(e) => {
            errors.add(field, e.to_string());
            Vec::new()
        }
    }
}

/// Validates a list of weekly windows, reporting `field[i]` errors.
pub(crate) fn windows(errors: &mut FieldErrors, field: &str, input: &[WindowInput]) -> Vec<WeeklyWindow> {
    if input.len() > MAX_WINDOWS {
        errors.add(field, "That's more time windows than we can take; please combine some.");
        return Vec::new();
    }
    input
        .iter()
        .enumerate()
        .filter_map(|(i, w)| errors.check(&format!("{field}[{i}]"), WeeklyWindow::parse(&w.weekday, &w.start, &w.end)))
        .collect()
}

/// Validates a list of language codes.
pub(crate) fn languages(errors: &mut FieldErrors, field: &str, input: &[String]) -> Vec<Language> {
    let mut out = Vec::new();
    for (i, code) in input.iter().enumerate() {
        if let Some(l) = errors.check(&format!("{field}[{i}]"), Language::parse(code)) {
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }
    if input.is_empty() {
        errors.add(field, "Please give at least one language.");
    }
    out
}

fn text(errors: &mut FieldErrors, field: &str, value: &str, max: usize, required: bool) -> String {
    let v = value.trim();
    if required && v.is_empty() {
        errors.add(field, "This is required.");
    } else if v.chars().count() > max {
        errors.add(field, format!("Please keep this to {max} characters or fewer."));
    } else if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        errors.add(field, "This contains characters we can't show.");
    }
    v.to_owned()
}

impl App {
    /// Submits (or updates) the caller's application to practise on Rapport.
    /// A change to licences sends an approved therapist back to verification.
    pub async fn apply_as_therapist(
        &self,
        who: &Authenticated,
        input: TherapistApplication,
        ctx: &RequestContext,
    ) -> Result<TherapistProfile, AppError> {
        let me = who.account_id();
        let today = self.now().date_naive();
        let mut errors = FieldErrors::new();
        let professional_name = text(&mut errors, "professional_name", &input.professional_name, 120, true);
        let bio = text(&mut errors, "bio", &input.bio, MAX_BIO_CHARS, false);
        let pronouns =
            input.pronouns.as_deref().map(|p| text(&mut errors, "pronouns", p, 40, false)).filter(|p| !p.is_empty());
        let gender = match input.gender.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
            Some(g) => errors.check("gender", g.parse::<Gender>()),
            None => None,
        };
        if input.licenses.is_empty() {
            errors.add("licenses", "Please add at least one licence.");
        }
        if input.licenses.len() > MAX_LICENSES {
            errors.add("licenses", "That's more licences than we can take.");
        }
        let existing = match self.store.therapist(me).await {
            Ok(p) => Some(p),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        let mut licenses = Vec::new();
        for (i, l) in input.licenses.iter().take(MAX_LICENSES).enumerate() {
            let f = |name: &str| format!("licenses[{i}].{name}");
            let license_type =
                errors.check(&f("type"), l.license_type.trim().to_ascii_lowercase().parse::<LicenseType>());
            let number = text(&mut errors, &f("number"), &l.number, 60, true);
            let jurisdiction = errors.check(&f("jurisdiction"), Jurisdiction::parse(&l.jurisdiction));
            let expires_on = match NaiveDate::parse_from_str(l.expires_on.trim(), "%Y-%m-%d") {
                Ok(d) if d < today => {
                    errors.add(&f("expires_on"), "This licence has expired. Please add a current licence.");
                    None
                }
                Ok(d) => Some(d),
                Err(_) => {
                    errors.add(&f("expires_on"), "Please give the expiry date as YYYY-MM-DD.");
                    None
                }
            };
            if let (Some(license_type), Some(jurisdiction), Some(expires_on)) = (license_type, jurisdiction, expires_on)
            {
                // Keep a licence's identity (and verification) when it did not change.
                let same = existing.as_ref().and_then(|p| {
                    p.licenses.iter().find(|o| {
                        o.license_type == license_type
                            && o.number == number
                            && o.jurisdiction == jurisdiction
                            && o.expires_on == expires_on
                    })
                });
                licenses.push(match same {
                    Some(o) => o.clone(),
                    None => License {
                        id: Uuid::now_v7(),
                        license_type,
                        number,
                        jurisdiction,
                        expires_on,
                        verified: false,
                        expiry_warned_at: None,
                        expiry_handled_at: None,
                    },
                });
            }
        }
        let specialties: Vec<Specialty> = terms(&mut errors, "specialties", &input.specialties, true);
        let approaches: Vec<Approach> = terms(&mut errors, "approaches", &input.approaches, false);
        let modalities: Vec<Modality> = terms(&mut errors, "modalities", &input.modalities, true);
        let languages = languages(&mut errors, "languages", &input.languages);
        let time_zone = errors.check("time_zone", TimeZone::parse(&input.time_zone));
        let weekly_availability = windows(&mut errors, "weekly_availability", &input.weekly_availability);
        if !(1..=500).contains(&input.capacity) {
            errors.add("capacity", "Please give how many clients you can see, from 1 to 500.");
        }
        let Some(time_zone) = time_zone else { return Err(AppError::Invalid(errors)) };
        errors.into_result()?;

        let now = self.now();
        let licenses_changed = existing.as_ref().is_none_or(|p| p.licenses != licenses);
        let status = match &existing {
            Some(p) if p.status == ApplicationStatus::Approved && !licenses_changed => ApplicationStatus::Approved,
            _ => ApplicationStatus::Pending,
        };
        let profile = TherapistProfile {
            account_id: me,
            status,
            professional_name,
            pronouns,
            gender,
            bio,
            licenses,
            specialties,
            approaches,
            languages,
            modalities,
            works_with_couples: input.works_with_couples,
            time_zone,
            weekly_availability,
            capacity: input.capacity as u32,
            accepting_new_clients: input.accepting_new_clients,
            has_photo: existing.as_ref().is_some_and(|p| p.has_photo),
            submitted_at: if status == ApplicationStatus::Pending {
                now
            } else {
                existing.as_ref().map_or(now, |p| p.submitted_at)
            },
            updated_at: now,
        };
        self.store.save_application(&profile).await?;
        self.forget_candidates();
        self.audit(Some(me), AuditAction::TherapistApplicationSubmitted, Some(me), "therapist_profile", None, ctx)
            .await?;
        Ok(profile)
    }

    /// The caller's own therapist profile, if they applied.
    pub async fn my_therapist_profile(&self, who: &Authenticated) -> Result<Option<TherapistProfile>, AppError> {
        let me = who.account_id();
        match self.store.therapist(me).await {
            Ok(p) => Ok(Some(p)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Applications waiting for (or past) verification. Admins only.
    pub async fn therapist_applications(
        &self,
        who: &Authenticated,
        status: ApplicationStatus,
    ) -> Result<Vec<TherapistProfile>, AppError> {
        who.authorize(Action::AdministerPlatform)?;
        Ok(self.store.applications(status).await?)
    }

    /// Approves or rejects a pending application, recording the licence check.
    pub async fn decide_therapist_application(
        &self,
        who: &Authenticated,
        therapist: AccountId,
        approve: bool,
        checked: &str,
        notes: &str,
        ctx: &RequestContext,
    ) -> Result<TherapistProfile, AppError> {
        who.authorize(Action::AdministerPlatform)?;
        let mut errors = FieldErrors::new();
        let field = if approve { "notes" } else { "reason" };
        let notes = text(&mut errors, field, notes, 2000, !approve);
        let checked = text(&mut errors, "checked", checked, 2000, false);
        errors.into_result()?;
        let profile = self.store.therapist(therapist).await?;
        if profile.status != ApplicationStatus::Pending {
            return Err(AppError::Conflict { field: "status", message: "This application has already been decided." });
        }
        let checked = if checked.is_empty() {
            let list: Vec<String> = profile
                .licenses
                .iter()
                .map(|l| {
                    format!("{} {} in {} until {}", l.license_type.label(), l.number, l.jurisdiction, l.expires_on)
                })
                .collect();
            format!("Licences reviewed: {}", list.join("; "))
        } else {
            checked
        };
        let decision = VerificationDecision {
            id: Uuid::now_v7(),
            therapist_id: therapist,
            admin_id: who.account_id(),
            decided_at: self.now(),
            approved: approve,
            checked,
            notes,
        };
        match self.store.decide_application(&decision).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(AppError::Conflict {
                    field: "status",
                    message: "This application has already been decided.",
                })
            }
            Err(e) => return Err(e.into()),
        }
        self.forget_candidates();
        let action = if approve { AuditAction::TherapistApproved } else { AuditAction::TherapistRejected };
        self.audit(
            Some(who.account_id()),
            action,
            Some(therapist),
            "therapist_profile",
            Some(decision.id.to_string()),
            ctx,
        )
        .await?;
        let profile = self.store.therapist(therapist).await?;
        self.tell_applicant(&profile, approve).await?;
        Ok(profile)
    }

    /// Emails an applicant the decision on their application (never the notes).
    async fn tell_applicant(&self, profile: &TherapistProfile, approved: bool) -> Result<(), AppError> {
        let account = self.store.account_by_id(profile.account_id).await?;
        let link = format!("{}/therapist/apply", self.config.public_url.trim_end_matches('/'));
        let (subject, body) = if approved {
            (
                "You're verified on Rapport",
                format!(
                    "We checked your licences, and your profile is now live: people looking for a therapist \
                     who fits what you offer can find and choose you.\n\nYour profile and availability: {link}\n"
                ),
            )
        } else {
            (
                "About your application to Rapport",
                format!(
                    "Thank you for applying. We couldn't approve your application yet. You'll find the reason, \
                     and can update your application, here:\n\n{link}\n"
                ),
            )
        };
        self.send_mail_soon(OutgoingMail {
            to: account.email,
            subject: subject.to_owned(),
            text: format!("Hello {},\n\n{body}\n— Rapport\n", profile.professional_name),
        });
        Ok(())
    }

    /// The verification decisions on an application. Admins, and the therapist themselves.
    pub async fn verification_history(
        &self,
        who: &Authenticated,
        therapist: AccountId,
    ) -> Result<Vec<VerificationDecision>, AppError> {
        if who.account_id() != therapist {
            who.authorize(Action::AdministerPlatform)?;
        }
        Ok(self.store.decisions_for(therapist).await?)
    }

    /// One application, whatever its status, for an admin to review.
    pub async fn therapist_application(
        &self,
        who: &Authenticated,
        therapist: AccountId,
    ) -> Result<TherapistProfile, AppError> {
        who.authorize(Action::AdministerPlatform)?;
        Ok(self.store.therapist(therapist).await?)
    }
}

/// Largest profile photo accepted.
pub const MAX_PHOTO_BYTES: usize = 2 * 1024 * 1024;

/// The image type, judged from the bytes themselves (never from the name or header).
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

impl App {
    /// Sets the caller's profile photo (PNG, JPEG or WebP, up to 2 MiB).
    pub async fn set_my_photo(&self, who: &Authenticated, bytes: &[u8]) -> Result<(), AppError> {
        let me = who.account_id();
        if bytes.len() > MAX_PHOTO_BYTES {
            return Err(FieldErrors::single("photo", "Please use a photo smaller than 2 MB.").into());
        }
        let Some(kind) = sniff_image(bytes) else {
            return Err(FieldErrors::single("photo", "Please upload a PNG, JPEG or WebP image.").into());
        };
        match self.store.set_photo(me, kind, bytes).await {
            Ok(()) => Ok(()),
            Err(StoreError::NotFound) => {
                Err(FieldErrors::single("photo", "Please submit your application before adding a photo.").into())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A therapist's photo: for anyone signed in when the therapist is
    /// approved; otherwise only for them and admins.
    pub async fn therapist_photo(
        &self,
        who: &Authenticated,
        therapist: AccountId,
    ) -> Result<(String, Vec<u8>), AppError> {
        let profile = self.store.therapist(therapist).await?;
        let own = who.account_id() == therapist;
        let admin = rapport_domain::access::decide(who.actor(), Action::AdministerPlatform).is_allowed();
        if profile.status != ApplicationStatus::Approved && !own && !admin {
            return Err(AppError::NotFound);
        }
        self.store.photo(therapist).await?.ok_or(AppError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::sniff_image;

    #[test]
    fn photos_are_judged_by_their_bytes() {
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff_image(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff_image(b"%PDF-1.7"), None);
    }
}
