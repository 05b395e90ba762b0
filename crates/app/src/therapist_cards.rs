//! What someone looking for care sees of the therapists suggested to them.

use crate::sessions::Authenticated;
use crate::{App, AppError};
use rapport_domain::taxonomy::{Approach, LicenseType, Modality};
use rapport_domain::{AccountId, Action, Jurisdiction, Language};
use rapport_store::{ApplicationStatus, StoreError};

/// A therapist's public profile: nothing a client should not see (no
/// licence numbers, capacity or caseload).
#[derive(Debug, Clone)]
pub struct TherapistCard {
    pub id: AccountId,
    pub professional_name: String,
    pub pronouns: Option<String>,
    pub bio: String,
    /// Verified licences valid today: type and place.
    pub licenses: Vec<(LicenseType, Jurisdiction)>,
    pub approaches: Vec<Approach>,
    pub languages: Vec<Language>,
    pub modalities: Vec<Modality>,
    pub has_photo: bool,
}

impl App {
    /// The public profiles of approved therapists, in the order asked; ids
    /// that are not approved therapists are left out.
    pub async fn therapist_cards(
        &self,
        who: &Authenticated,
        therapists: &[AccountId],
    ) -> Result<Vec<TherapistCard>, AppError> {
        who.authorize(Action::SeekCare)?;
        let today = self.now().date_naive();
        let mut cards = Vec::with_capacity(therapists.len());
        for id in therapists {
            let profile = match self.store.therapist(*id).await {
                Ok(p) if p.status == ApplicationStatus::Approved => p,
                Ok(_) | Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            };
            cards.push(TherapistCard {
                id: profile.account_id,
                professional_name: profile.professional_name,
                pronouns: profile.pronouns.filter(|p| !p.trim().is_empty()),
                bio: profile.bio,
                licenses: profile
                    .licenses
                    .into_iter()
                    .filter(|l| l.verified && l.expires_on >= today)
                    .map(|l| (l.license_type, l.jurisdiction))
                    .collect(),
                approaches: profile.approaches,
                languages: profile.languages,
                modalities: profile.modalities,
                has_photo: profile.has_photo,
            });
        }
        Ok(cards)
    }
}
