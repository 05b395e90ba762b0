//! Queries for partner invitations, couple links and confidentiality consents,
//! written once for both databases. Expects the helpers defined by
//! `impl_store_traits!` in scope.

/// Implements `PartnerStore` for `$store`.
macro_rules! impl_partner_traits {
    ($store:ident) => {
        use rapport_domain::couple::ConfidentialityPolicy;
        use rapport_domain::InvitationId;
        use rapport_store::{Invitation, PartnerStore, PolicyConsent};

        /// A column that does not decode means the stored data is not what we wrote.
        fn column_err(e: sqlx::Error) -> StoreError {
            StoreError::Corrupt(e.to_string())
        }

        fn policy(s: &str) -> StoreResult<ConfidentialityPolicy> {
            s.parse().map_err(|_| corrupt("confidentiality policy"))
        }

        const INVITATION_COLUMNS: &str = "id, inviter_id, email, token_hash, created_at, expires_at, accepted_at, \
             accepted_by, revoked_at, proposed_policy";

        fn invitation_from_row(row: &DbRow) -> StoreResult<Invitation> {
            let get = column_err;
            Ok(Invitation {
                id: InvitationId::from_uuid(row.try_get::<Uuid, _>("id").map_err(get)?),
                inviter_id: AccountId::from_uuid(row.try_get::<Uuid, _>("inviter_id").map_err(get)?),
                email: Email::from_trusted(row.try_get("email").map_err(get)?),
                token_hash: row.try_get("token_hash").map_err(get)?,
                created_at: time(row.try_get("created_at").map_err(get)?)?,
                expires_at: time(row.try_get("expires_at").map_err(get)?)?,
                accepted_at: opt_time(row.try_get("accepted_at").map_err(get)?)?,
                accepted_by: row.try_get::<Option<Uuid>, _>("accepted_by").map_err(get)?.map(AccountId::from_uuid),
                revoked_at: opt_time(row.try_get("revoked_at").map_err(get)?)?,
                proposed_policy: row
                    .try_get::<Option<String>, _>("proposed_policy")
                    .map_err(get)?
                    .map(|p| policy(&p))
                    .transpose()?,
            })
        }

        fn consent_from_row(row: &DbRow) -> StoreResult<PolicyConsent> {
            let get = column_err;
            Ok(PolicyConsent {
                couple_id: CoupleId::from_uuid(row.try_get::<Uuid, _>("couple_id").map_err(get)?),
                account_id: AccountId::from_uuid(row.try_get::<Uuid, _>("account_id").map_err(get)?),
                policy: policy(&row.try_get::<String, _>("policy").map_err(get)?)?,
                at: time(row.try_get("at").map_err(get)?)?,
            })
        }

        async fn insert_consent_row(conn: &mut DbConn, c: &PolicyConsent) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO couple_policy_consents (couple_id, account_id, policy, at) VALUES ($1, $2, $3, $4)",
            )
            .bind(c.couple_id.as_uuid())
            .bind(c.account_id.as_uuid())
            .bind(c.policy.as_str())
            .bind(micros(c.at))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            Ok(())
        }

        #[async_trait]
        impl PartnerStore for $store {
            async fn insert_invitation(&self, i: &Invitation) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO couple_invitations (id, inviter_id, email, token_hash, created_at, expires_at, \
                     accepted_at, accepted_by, revoked_at, proposed_policy) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(i.id.as_uuid())
                .bind(i.inviter_id.as_uuid())
                .bind(i.email.as_str())
                .bind(&i.token_hash)
                .bind(micros(i.created_at))
                .bind(micros(i.expires_at))
                .bind(i.accepted_at.map(micros))
                .bind(i.accepted_by.map(|a| a.as_uuid()))
                .bind(i.revoked_at.map(micros))
                .bind(i.proposed_policy.map(|p| p.as_str()))
                .execute(&self.pool)
                .await
                .map_err(insert_err("couple_invitations_token_hash"))?;
                Ok(())
            }

            async fn invitation_by_token_hash(&self, token_hash: &[u8]) -> StoreResult<Invitation> {
                let sql = format!("SELECT {INVITATION_COLUMNS} FROM couple_invitations WHERE token_hash = $1");
                let row = sqlx::query(&sql).bind(token_hash).fetch_one(&self.pool).await.map_err(db_err)?;
                invitation_from_row(&row)
            }

            async fn invitation(&self, id: InvitationId) -> StoreResult<Invitation> {
                let sql = format!("SELECT {INVITATION_COLUMNS} FROM couple_invitations WHERE id = $1");
                let row = sqlx::query(&sql).bind(id.as_uuid()).fetch_one(&self.pool).await.map_err(db_err)?;
                invitation_from_row(&row)
            }

            async fn invitations_from(&self, inviter: AccountId) -> StoreResult<Vec<Invitation>> {
                let sql = format!(
                    "SELECT {INVITATION_COLUMNS} FROM couple_invitations WHERE inviter_id = $1 \
                     ORDER BY created_at DESC, id DESC"
                );
                let rows = sqlx::query(&sql).bind(inviter.as_uuid()).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(invitation_from_row).collect()
            }

            async fn revoke_invitation(
                &self,
                inviter: AccountId,
                id: InvitationId,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE couple_invitations SET revoked_at = $1 WHERE id = $2 AND inviter_id = $3 \
                     AND accepted_at IS NULL AND revoked_at IS NULL",
                )
                .bind(micros(at))
                .bind(id.as_uuid())
                .bind(inviter.as_uuid())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                changed_one(done.rows_affected())
            }

            async fn accept_invitation(
                &self,
                id: InvitationId,
                couple: &Couple,
                consent: &PolicyConsent,
            ) -> StoreResult<()> {
                // Dropping the transaction on any error rolls everything back.
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let done = sqlx::query(
                    "UPDATE couple_invitations SET accepted_at = $1, accepted_by = $2 \
                     WHERE id = $3 AND accepted_at IS NULL AND revoked_at IS NULL",
                )
                .bind(micros(couple.linked_at))
                .bind(couple.partner_b.as_uuid())
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Conflict("invitation_closed"));
                }
                insert_couple_rows(&mut tx, couple).await?;
                insert_consent_row(&mut tx, consent).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(())
            }

            async fn insert_policy_consent(&self, consent: &PolicyConsent) -> StoreResult<()> {
                let mut conn = self.pool.acquire().await.map_err(db_err)?;
                insert_consent_row(&mut conn, consent).await
            }

            async fn policy_consents(&self, couple: CoupleId) -> StoreResult<Vec<PolicyConsent>> {
                let rows = sqlx::query(
                    "SELECT couple_id, account_id, policy, at FROM couple_policy_consents WHERE couple_id = $1 \
                     ORDER BY at, seq",
                )
                .bind(couple.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(consent_from_row).collect()
            }

            async fn unlink_couple(&self, couple: CoupleId, account: AccountId, at: DateTime<Utc>) -> StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE couple_members SET left_at = $1 WHERE couple_id = $2 AND left_at IS NULL \
                     AND EXISTS (SELECT 1 FROM couple_members me WHERE me.couple_id = $2 \
                     AND me.account_id = $3 AND me.left_at IS NULL)",
                )
                .bind(micros(at))
                .bind(couple.as_uuid())
                .bind(account.as_uuid())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                changed_one(done.rows_affected())
            }

            async fn couple(&self, id: CoupleId) -> StoreResult<Couple> {
                let rows = sqlx::query(
                    "SELECT c.id, c.linked_at, m.account_id FROM couples c \
                     JOIN couple_members m ON m.couple_id = c.id WHERE c.id = $1 ORDER BY m.position",
                )
                .bind(id.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                let get = column_err;
                match rows.as_slice() {
                    [] => Err(StoreError::NotFound),
                    [a, b] => Ok(Couple {
                        id: CoupleId::from_uuid(a.try_get::<Uuid, _>("id").map_err(get)?),
                        partner_a: AccountId::from_uuid(a.try_get::<Uuid, _>("account_id").map_err(get)?),
                        partner_b: AccountId::from_uuid(b.try_get::<Uuid, _>("account_id").map_err(get)?),
                        linked_at: time(a.try_get("linked_at").map_err(get)?)?,
                    }),
                    _ => Err(corrupt("a couple without exactly two partners")),
                }
            }
        }
    };
}
