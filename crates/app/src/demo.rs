//! The demo world for `rapport serve --demo`: clearly labelled, never
//! created on a platform that already has real accounts.

use crate::{App, AppError, RequestContext, SignUp};
use rapport_domain::{CoupleId, Email, Role};
use rapport_store::{Couple, StoreError};

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
            let couple = Couple { id: CoupleId::new(), partner_a: ids[5], partner_b: ids[6], linked_at: self.now() };
            self.store.insert_couple(&couple).await?;
        }
        Ok(DEMO_PEOPLE.iter().map(|(email, _, role, _, who)| DemoLogin { email, role: *role, who }).collect())
    }
}
