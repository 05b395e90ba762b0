//! In-app notices, and the daily licence checks that send them: therapists
//! are warned 30 days before a licence expires; when it expires, their
//! clients in that place are told they need a new match.

use crate::sessions::Authenticated;
use crate::{App, AppError};
use chrono::Duration;
use rapport_domain::AccountId;
use rapport_store::{Notice, StoreError};
use uuid::Uuid;

/// How long before expiry a therapist is warned.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// What one run of the licence checks did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LicenseCheckReport {
    pub therapists_warned: u32,
    pub clients_told: u32,
}

impl App {
    pub(crate) async fn notify(&self, account: AccountId, kind: &str, message: String) -> Result<(), AppError> {
        let notice = Notice {
            id: Uuid::now_v7(),
            account_id: account,
            kind: kind.to_owned(),
            message,
            created_at: self.now(),
            read_at: None,
        };
        Ok(self.store.insert_notice(&notice).await?)
    }

    /// The caller's unread notices, newest first.
    pub async fn my_notices(&self, who: &Authenticated) -> Result<Vec<Notice>, AppError> {
        let me = who.account_id();
        Ok(self.store.unread_notices(me).await?)
    }

    /// Dismisses one of the caller's notices.
    pub async fn dismiss_notice(&self, who: &Authenticated, id: Uuid) -> Result<(), AppError> {
        let me = who.account_id();
        Ok(self.store.mark_notice_read(me, id, self.now()).await?)
    }

    /// Warns about licences expiring soon and moves clients on from expired
    /// ones. Safe to run on every instance: each warning is claimed once.
    pub async fn run_license_checks(&self) -> Result<LicenseCheckReport, AppError> {
        let today = self.now().date_naive();
        let mut report = LicenseCheckReport::default();
        for therapist in self.store.approved_therapists().await? {
            for license in &therapist.licenses {
                let warn_from = license.expires_on - Duration::days(EXPIRY_WARNING_DAYS);
                if license.expiry_warned_at.is_none()
                    && today >= warn_from
                    && today <= license.expires_on
                    && claimed(self.store.mark_license_warned(license.id, self.now()).await)?
                {
                    {
                        let message = format!(
                            "Your {} licence in {} expires on {}. Please renew it and update your licence on your profile, so clients there can keep working with you.",
                            license.license_type.label(),
                            license.jurisdiction.name(),
                            license.expires_on.format("%-d %B %Y"),
                        );
                        self.notify(therapist.account_id, "license_expiring", message).await?;
                        report.therapists_warned += 1;
                    }
                }
                if license.expiry_handled_at.is_none() && today > license.expires_on {
                    if !claimed(self.store.mark_license_expiry_handled(license.id, self.now()).await)? {
                        continue;
                    }
                    let still_covered = |place: &rapport_domain::Jurisdiction| {
                        therapist
                            .licenses
                            .iter()
                            .any(|l| l.verified && l.expires_on >= today && l.jurisdiction.covers(place))
                    };
                    for team in self.store.active_clients_of(therapist.account_id).await? {
                        let Some(intake) = self.store.intake_of(team.client_id).await? else { continue };
                        if license.jurisdiction.covers(&intake.jurisdiction) && !still_covered(&intake.jurisdiction) {
                            let message = format!(
                                "{}'s licence for {} has ended, so they can't keep working with you there for now. Please choose a new therapist: your matches are ready whenever you are.",
                                therapist.professional_name,
                                intake.jurisdiction.name(),
                            );
                            self.notify(team.client_id, "needs_new_match", message).await?;
                            report.clients_told += 1;
                        }
                    }
                }
            }
        }
        Ok(report)
    }
}

/// `Ok(true)` when this call made the claim, `Ok(false)` when another did.
fn claimed(result: Result<(), StoreError>) -> Result<bool, AppError> {
    match result {
        Ok(()) => Ok(true),
        Err(StoreError::NotFound) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
