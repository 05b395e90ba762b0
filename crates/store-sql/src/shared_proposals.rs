//! Queries for care proposals between partners, written once for both
//! databases. Expects the helpers defined by `impl_store_traits!` in scope.

/// Implements `CareProposalStore` for `$store`.
macro_rules! impl_proposal_traits {
    ($store:ident) => {
        use rapport_store::{CareProposal, CareProposalState, CareProposalStore};

        const PROPOSAL_COLUMNS: &str = "id, couple_id, care_team_id, therapist_id, proposed_by, proposed_at, reasons, \
             state, answered_by, answered_at";

        fn proposal_from_row(row: &DbRow) -> StoreResult<CareProposal> {
            let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
            let reasons: String = row.try_get("reasons").map_err(get)?;
            let state: String = row.try_get("state").map_err(get)?;
            Ok(CareProposal {
                id: row.try_get("id").map_err(get)?,
                couple_id: CoupleId::from_uuid(row.try_get::<Uuid, _>("couple_id").map_err(get)?),
                care_team_id: row.try_get("care_team_id").map_err(get)?,
                therapist_id: AccountId::from_uuid(row.try_get::<Uuid, _>("therapist_id").map_err(get)?),
                proposed_by: AccountId::from_uuid(row.try_get::<Uuid, _>("proposed_by").map_err(get)?),
                proposed_at: time(row.try_get("proposed_at").map_err(get)?)?,
                reasons: reasons.lines().filter(|r| !r.is_empty()).map(str::to_owned).collect(),
                state: CareProposalState::parse(&state).ok_or_else(|| corrupt("care proposal state"))?,
                answered_by: row.try_get::<Option<Uuid>, _>("answered_by").map_err(get)?.map(AccountId::from_uuid),
                answered_at: opt_time(row.try_get("answered_at").map_err(get)?)?,
            })
        }

        #[async_trait]
        impl CareProposalStore for $store {
            async fn propose_care(&self, p: &CareProposal) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                sqlx::query(
                    "UPDATE care_proposals SET state = 'withdrawn', answered_at = $1 \
                     WHERE couple_id = $2 AND state = 'pending'",
                )
                .bind(micros(p.proposed_at))
                .bind(p.couple_id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                let reasons: Vec<&str> =
                    p.reasons.iter().map(|r| r.trim()).filter(|r| !r.is_empty() && !r.contains('\n')).collect();
                sqlx::query(
                    "INSERT INTO care_proposals (id, couple_id, care_team_id, therapist_id, proposed_by, proposed_at, \
                     reasons, state, answered_by, answered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(p.id)
                .bind(p.couple_id.as_uuid())
                .bind(p.care_team_id)
                .bind(p.therapist_id.as_uuid())
                .bind(p.proposed_by.as_uuid())
                .bind(micros(p.proposed_at))
                .bind(reasons.join("\n"))
                .bind(p.state.as_str())
                .bind(p.answered_by.map(|a| a.as_uuid()))
                .bind(p.answered_at.map(micros))
                .execute(&mut *tx)
                .await
                .map_err(insert_err("care_proposals_one_pending"))?;
                tx.commit().await.map_err(db_err)?;
                Ok(())
            }

            async fn latest_care_proposal(&self, couple: CoupleId) -> StoreResult<Option<CareProposal>> {
                let sql = format!(
                    "SELECT {PROPOSAL_COLUMNS} FROM care_proposals WHERE couple_id = $1 \
                     ORDER BY proposed_at DESC, id DESC LIMIT 1"
                );
                let row = sqlx::query(&sql).bind(couple.as_uuid()).fetch_optional(&self.pool).await.map_err(db_err)?;
                row.as_ref().map(proposal_from_row).transpose()
            }

            async fn answer_care_proposal(
                &self,
                id: Uuid,
                state: CareProposalState,
                by: AccountId,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                if !matches!(state, CareProposalState::Accepted | CareProposalState::Declined) {
                    return Err(corrupt("a proposal is answered by accepting or declining it"));
                }
                let done = sqlx::query(
                    "UPDATE care_proposals SET state = $1, answered_by = $2, answered_at = $3 \
                     WHERE id = $4 AND state = 'pending'",
                )
                .bind(state.as_str())
                .bind(by.as_uuid())
                .bind(micros(at))
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Conflict("care_proposal_closed"));
                }
                Ok(())
            }

            async fn withdraw_care_proposal(&self, couple: CoupleId, at: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE care_proposals SET state = 'withdrawn', answered_at = $1 \
                     WHERE couple_id = $2 AND state = 'pending'",
                )
                .bind(micros(at))
                .bind(couple.as_uuid())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}
