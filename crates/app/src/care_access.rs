//! A therapist's access to one client, resolved once into a value that the
//! care use cases take: "the client's current therapist" is decided here only.

use crate::intake::{sealing_context, SensitiveIntake};
use crate::sessions::Authenticated;
use crate::IntakeAnswers;
use crate::{App, AppError, RequestContext};
use chrono::{DateTime, Utc};
use rapport_domain::{AccountId, AuditAction, Role};
use rapport_store::CareTeam;

/// Proof that the caller is the current therapist of `client`. Only
/// [`App::care_access`] makes one.
#[derive(Debug, Clone)]
pub struct CareAccess {
    therapist: AccountId,
    client: AccountId,
    team: CareTeam,
}

impl CareAccess {
    /// The client this access is to.
    pub fn client(&self) -> AccountId {
        self.client
    }
    /// The care team through which the therapist has access.
    pub fn team(&self) -> &CareTeam {
        &self.team
    }
}

/// What a client shared at intake, as their therapist sees it.
#[derive(Debug, Clone)]
pub struct SharedIntake {
    pub client_id: AccountId,
    pub client_name: String,
    /// Their answers, including their own private safety answers (only ever shown to their therapist).
    pub answers: IntakeAnswers,
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl App {
    /// The caller's access to `client` as their current therapist: an active care
    /// team of the caller's that is the client's own, or their couple's once both
    /// partners agreed to it. Anyone else learns nothing: `NotFound`.
    #[tracing::instrument(skip_all)]
    pub async fn care_access(&self, who: &Authenticated, client: AccountId) -> Result<CareAccess, AppError> {
        if who.actor().role != Role::Therapist {
            return Err(AppError::NotFound);
        }
        let me = who.account_id();
        let couple = self.store.couple_of(client).await?;
        let mut found = None;
        for team in self.store.active_clients_of(me).await? {
            if team.client_id == client {
                found = Some(team);
                break;
            }
            // A partner is in the couple's care only once they agreed to its therapist.
            if let Some(c) = couple.as_ref().filter(|c| team.couple_id == Some(c.id)) {
                if self.couple_care(c).await?.is_some_and(|agreed| agreed.id == team.id) {
                    found = Some(team);
                    break;
                }
            }
        }
        let team = found.ok_or(AppError::NotFound)?;
        Ok(CareAccess { therapist: me, client, team })
    }

    /// Every person in the caller's care: each care team's client and, for a
    /// couple, both partners. Names as the clients gave them.
    #[tracing::instrument(skip_all)]
    pub async fn my_caseload(&self, who: &Authenticated) -> Result<Vec<(CareTeam, AccountId, String)>, AppError> {
        if who.actor().role != Role::Therapist {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for team in self.store.active_clients_of(who.account_id()).await? {
            let mut people = vec![team.client_id];
            if let Some(couple) = team.couple_id {
                let couple = self.store.couple(couple).await?;
                // The other partner is in this care once they agreed to it (and while still linked).
                if self.couple_care(&couple).await?.is_some_and(|agreed| agreed.id == team.id) {
                    for partner in [couple.partner_a, couple.partner_b].into_iter().filter(|p| *p != team.client_id) {
                        if self.store.couple_of(partner).await?.is_some_and(|c| c.id == couple.id) {
                            people.push(partner);
                        }
                    }
                }
            }
            for person in people {
                let name = self.store.account_by_id(person).await?.display_name.to_string();
                out.push((team.clone(), person, name));
            }
        }
        Ok(out)
    }

    /// The client's name, as they gave it.
    pub async fn client_name(&self, access: &CareAccess) -> Result<String, AppError> {
        Ok(self.store.account_by_id(access.client).await?.display_name.to_string())
    }

    /// The intake a client shared with their therapist. The read is audit-logged
    /// for the client to see (at most once an hour per therapist).
    #[tracing::instrument(skip_all)]
    pub async fn client_intake(
        &self,
        access: &CareAccess,
        ctx: &RequestContext,
    ) -> Result<Option<SharedIntake>, AppError> {
        let client = access.client;
        let Some(intake) = self.store.intake_of(client).await? else { return Ok(None) };
        let plaintext = self.unseal(&intake.sensitive, &sealing_context(client)).await?;
        let sensitive: SensitiveIntake =
            serde_json::from_slice(&plaintext).map_err(|e| AppError::Internal(format!("intake: {e}")))?;
        self.audit_read(access.therapist, AuditAction::IntakeRead, client, "intake", None, ctx).await?;
        let client_name = self.store.account_by_id(client).await?.display_name.to_string();
        let (submitted_at, updated_at) = (intake.created_at, intake.updated_at);
        Ok(Some(SharedIntake {
            client_id: client,
            client_name,
            answers: IntakeAnswers::from_stored(intake, sensitive),
            submitted_at,
            updated_at,
        }))
    }
}
