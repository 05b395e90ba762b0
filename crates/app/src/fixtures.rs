//! Rooms for the messaging benchmark: couples in care with a therapist, each
//! with its couple room. Only `rapport bench-messages` uses this, on a
//! database of its own.

use crate::{App, AppError, RequestContext, SignUp};
use rapport_domain::couple::ConfidentialityPolicy;
use rapport_domain::{CoupleId, Role, RoomId};
use rapport_store::{CareTeam, Couple, PolicyConsent};
use uuid::Uuid;

/// A couple room and the emails of its three members (two partners, then the therapist).
#[derive(Debug, Clone)]
pub struct BenchRoom {
    pub room_id: RoomId,
    pub member_emails: [String; 3],
}

impl App {
    /// Creates `rooms` couple rooms of three members, every account with `password`.
    /// Refuses a database that already has accounts.
    pub async fn seed_bench_rooms(&self, rooms: usize, password: &str) -> Result<Vec<BenchRoom>, AppError> {
        if self.store.count_accounts().await? > 0 {
            return Err(AppError::Conflict { field: "bench", message: "The benchmark needs an empty database." });
        }
        let ctx = RequestContext::default();
        let mut out = Vec::with_capacity(rooms);
        for n in 0..rooms {
            let emails = [
                format!("partner-a-{n}@bench.rapport.test"),
                format!("partner-b-{n}@bench.rapport.test"),
                format!("therapist-{n}@bench.rapport.test"),
            ];
            let mut ids = Vec::new();
            for (i, email) in emails.iter().enumerate() {
                let role = if i == 2 { Role::Therapist } else { Role::Client };
                let input = SignUp {
                    email: email.clone(),
                    password: password.to_owned(),
                    display_name: format!("Bench {}", ["A", "B", "T"][i]),
                    time_zone: "Europe/Paris".into(),
                };
                ids.push(self.create_account(input, role, &ctx).await?.id);
            }
            let now = self.now();
            let couple = Couple { id: CoupleId::new(), partner_a: ids[0], partner_b: ids[1], linked_at: now };
            self.store.insert_couple(&couple).await?;
            for p in [ids[0], ids[1]] {
                let consent = PolicyConsent {
                    couple_id: couple.id,
                    account_id: p,
                    policy: ConfidentialityPolicy::NoSecrets,
                    at: now,
                };
                self.store.insert_policy_consent(&consent).await?;
            }
            let team = CareTeam {
                id: Uuid::now_v7(),
                client_id: ids[0],
                couple_id: Some(couple.id),
                therapist_id: ids[2],
                started_at: now,
                ended_at: None,
                end_reason: None,
                sees_history: true,
            };
            self.store.start_care(&team, None).await?;
            self.sync_rooms_for(ids[0]).await?;
            let room = self
                .store
                .room_by_key(&crate::rooms::couple_room_key(couple.id))
                .await?
                .ok_or_else(|| AppError::Internal("the couple room was not created".into()))?;
            out.push(BenchRoom { room_id: room.id, member_emails: emails });
        }
        Ok(out)
    }
}
