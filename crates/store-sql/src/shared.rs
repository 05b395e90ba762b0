//! The queries, written once for both databases. SQL here is the portable
//! subset both understand: `$n` placeholders, `ON CONFLICT`, partial indexes,
//! times as integer microseconds.

/// Implements every storage trait for `$store`, whose `pool` is a `Pool<$db>`.
macro_rules! impl_store_traits {
    ($store:ident, $db:ty) => {
        use async_trait::async_trait;
        use chrono::{DateTime, Utc};
        use rapport_domain::{AccountId, AuditEventId, CoupleId, DisplayName, Email, SessionId, TimeZone};
        use rapport_store::{
            Account, AccountStore, AuditEvent, AuditStore, Couple, CoupleStore, PasswordReset, PasswordResetStore,
            Session, SessionKind, SessionStore, SignInThrottleStore, StoreError, StoreResult,
        };
        use sqlx::Row as _;
        use uuid::Uuid;

        type DbRow = <$db as sqlx::Database>::Row;
        /// One connection, e.g. `&mut *tx` inside a transaction.
        type DbConn = <$db as sqlx::Database>::Connection;

        fn micros(at: DateTime<Utc>) -> i64 {
            at.timestamp_micros()
        }

        fn time(v: i64) -> StoreResult<DateTime<Utc>> {
            DateTime::from_timestamp_micros(v).ok_or_else(|| StoreError::Corrupt(format!("timestamp {v} out of range")))
        }

        fn opt_time(v: Option<i64>) -> StoreResult<Option<DateTime<Utc>>> {
            v.map(time).transpose()
        }

        fn db_err(e: sqlx::Error) -> StoreError {
            match e {
                sqlx::Error::RowNotFound => StoreError::NotFound,
                other => StoreError::Unavailable(Box::new(other)),
            }
        }

        /// Maps a unique-constraint failure to `Conflict(rule)`.
        fn insert_err(rule: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
            move |e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Conflict(rule),
                _ => db_err(e),
            }
        }

        /// An update that names one record: none changed means it does not exist (for this caller).
        fn changed_one(rows: u64) -> StoreResult<()> {
            if rows == 0 {
                Err(StoreError::NotFound)
            } else {
                Ok(())
            }
        }

        fn corrupt(what: &str) -> StoreError {
            StoreError::Corrupt(what.to_owned())
        }

        fn account_from_row(row: &DbRow) -> StoreResult<Account> {
            let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
            Ok(Account {
                id: AccountId::from_uuid(row.try_get::<Uuid, _>("id").map_err(get)?),
                email: Email::from_trusted(row.try_get("email").map_err(get)?),
                display_name: DisplayName::from_trusted(row.try_get("display_name").map_err(get)?),
                role: row.try_get::<String, _>("role").map_err(get)?.parse().map_err(|_| corrupt("account role"))?,
                time_zone: TimeZone::parse(&row.try_get::<String, _>("time_zone").map_err(get)?)
                    .map_err(|_| corrupt("account time zone"))?,
                password_hash: row.try_get("password_hash").map_err(get)?,
                created_at: time(row.try_get("created_at").map_err(get)?)?,
                updated_at: time(row.try_get("updated_at").map_err(get)?)?,
            })
        }

        fn session_from_row(row: &DbRow) -> StoreResult<Session> {
            let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
            Ok(Session {
                id: SessionId::from_uuid(row.try_get::<Uuid, _>("id").map_err(get)?),
                account_id: AccountId::from_uuid(row.try_get::<Uuid, _>("account_id").map_err(get)?),
                token_hash: row.try_get("token_hash").map_err(get)?,
                kind: SessionKind::parse(&row.try_get::<String, _>("kind").map_err(get)?)
                    .ok_or_else(|| corrupt("session kind"))?,
                created_at: time(row.try_get("created_at").map_err(get)?)?,
                last_seen_at: time(row.try_get("last_seen_at").map_err(get)?)?,
                expires_at: time(row.try_get("expires_at").map_err(get)?)?,
                ip: row.try_get("ip").map_err(get)?,
                user_agent: row.try_get("user_agent").map_err(get)?,
                revoked_at: opt_time(row.try_get("revoked_at").map_err(get)?)?,
            })
        }

        fn audit_from_row(row: &DbRow) -> StoreResult<AuditEvent> {
            let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
            Ok(AuditEvent {
                id: AuditEventId::from_uuid(row.try_get::<Uuid, _>("id").map_err(get)?),
                at: time(row.try_get("at").map_err(get)?)?,
                actor_id: row.try_get::<Option<Uuid>, _>("actor_id").map_err(get)?.map(AccountId::from_uuid),
                action: row
                    .try_get::<String, _>("action")
                    .map_err(get)?
                    .parse()
                    .map_err(|_| corrupt("audit action"))?,
                subject_id: row.try_get::<Option<Uuid>, _>("subject_id").map_err(get)?.map(AccountId::from_uuid),
                record_kind: row.try_get("record_kind").map_err(get)?,
                record_id: row.try_get("record_id").map_err(get)?,
                ip: row.try_get("ip").map_err(get)?,
            })
        }

        const ACCOUNT_COLUMNS: &str = "id, email, display_name, role, time_zone, password_hash, created_at, updated_at";
        const SESSION_COLUMNS: &str = "id, account_id, token_hash, kind, created_at, last_seen_at, \
             expires_at, ip, user_agent, revoked_at";

        #[async_trait]
        impl AccountStore for $store {
            async fn insert_account(&self, a: &Account) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO accounts (id, email, display_name, role, time_zone, password_hash, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(a.id.as_uuid())
                .bind(a.email.as_str())
                .bind(a.display_name.as_str())
                .bind(a.role.as_str())
                .bind(a.time_zone.name())
                .bind(&a.password_hash)
                .bind(micros(a.created_at))
                .bind(micros(a.updated_at))
                .execute(&self.pool)
                .await
                .map_err(insert_err("accounts_email"))?;
                Ok(())
            }

            async fn account_by_id(&self, id: AccountId) -> StoreResult<Account> {
                let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1");
                let row = sqlx::query(&sql).bind(id.as_uuid()).fetch_one(&self.pool).await.map_err(db_err)?;
                account_from_row(&row)
            }

            async fn account_by_email(&self, email: &Email) -> StoreResult<Account> {
                let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1");
                let row = sqlx::query(&sql).bind(email.as_str()).fetch_one(&self.pool).await.map_err(db_err)?;
                account_from_row(&row)
            }

            async fn update_profile(
                &self,
                id: AccountId,
                display_name: &DisplayName,
                time_zone: TimeZone,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                let done =
                    sqlx::query("UPDATE accounts SET display_name = $1, time_zone = $2, updated_at = $3 WHERE id = $4")
                        .bind(display_name.as_str())
                        .bind(time_zone.name())
                        .bind(micros(at))
                        .bind(id.as_uuid())
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                changed_one(done.rows_affected())
            }

            async fn update_password_hash(&self, id: AccountId, hash: &str, at: DateTime<Utc>) -> StoreResult<()> {
                let done = sqlx::query("UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3")
                    .bind(hash)
                    .bind(micros(at))
                    .bind(id.as_uuid())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                changed_one(done.rows_affected())
            }

            async fn count_accounts(&self) -> StoreResult<u64> {
                let n: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(&self.pool).await.map_err(db_err)?;
                Ok(n as u64)
            }
        }

        #[async_trait]
        impl SessionStore for $store {
            async fn insert_session(&self, s: &Session) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO sessions (id, account_id, token_hash, kind, created_at, last_seen_at, \
                     expires_at, ip, user_agent, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(s.id.as_uuid())
                .bind(s.account_id.as_uuid())
                .bind(&s.token_hash)
                .bind(s.kind.as_str())
                .bind(micros(s.created_at))
                .bind(micros(s.last_seen_at))
                .bind(micros(s.expires_at))
                .bind(s.ip.as_deref())
                .bind(s.user_agent.as_deref())
                .bind(s.revoked_at.map(micros))
                .execute(&self.pool)
                .await
                .map_err(insert_err("sessions_token_hash"))?;
                Ok(())
            }

            async fn session_by_token_hash(&self, token_hash: &[u8]) -> StoreResult<Session> {
                let sql =
                    format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1 AND revoked_at IS NULL");
                let row = sqlx::query(&sql).bind(token_hash).fetch_one(&self.pool).await.map_err(db_err)?;
                session_from_row(&row)
            }

            async fn touch_session(&self, id: SessionId, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1")
                    .bind(micros(at))
                    .bind(id.as_uuid())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn revoke_session(&self, account: AccountId, id: SessionId, at: DateTime<Utc>) -> StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND account_id = $3 AND revoked_at IS NULL",
                )
                .bind(micros(at))
                .bind(id.as_uuid())
                .bind(account.as_uuid())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                changed_one(done.rows_affected())
            }

            async fn revoke_other_sessions(
                &self,
                account: AccountId,
                keep: Option<SessionId>,
                at: DateTime<Utc>,
            ) -> StoreResult<u64> {
                // A nil UUID never names a session, so "keep nothing" needs no second query.
                let keep = keep.map(|k| k.as_uuid()).unwrap_or(Uuid::nil());
                let done = sqlx::query(
                    "UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND id <> $3 AND revoked_at IS NULL",
                )
                .bind(micros(at))
                .bind(account.as_uuid())
                .bind(keep)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected())
            }

            async fn sessions_ended_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<SessionId>> {
                let ids: Vec<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM sessions WHERE revoked_at IS NOT NULL AND revoked_at > $1 ORDER BY revoked_at",
                )
                .bind(micros(since))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(ids.into_iter().map(SessionId::from_uuid).collect())
            }

            async fn open_sessions(&self, account: AccountId, now: DateTime<Utc>) -> StoreResult<Vec<Session>> {
                let sql = format!(
                    "SELECT {SESSION_COLUMNS} FROM sessions WHERE account_id = $1 AND revoked_at IS NULL \
                     AND expires_at > $2 ORDER BY created_at DESC, id DESC"
                );
                let rows = sqlx::query(&sql)
                    .bind(account.as_uuid())
                    .bind(micros(now))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(session_from_row).collect()
            }
        }

        #[async_trait]
        impl AuditStore for $store {
            async fn append_audit(&self, e: &AuditEvent) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO audit_events (id, at, actor_id, action, subject_id, record_kind, record_id, ip) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(e.id.as_uuid())
                .bind(micros(e.at))
                .bind(e.actor_id.map(|a| a.as_uuid()))
                .bind(e.action.as_str())
                .bind(e.subject_id.map(|a| a.as_uuid()))
                .bind(&e.record_kind)
                .bind(e.record_id.as_deref())
                .bind(e.ip.as_deref())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn audit_for_subject(
                &self,
                subject: AccountId,
                before: Option<AuditEventId>,
                limit: u32,
            ) -> StoreResult<Vec<AuditEvent>> {
                // UUIDv7 ids sort by time, so the id is the cursor. The max UUID stands for "no cursor".
                let before = before.map(|b| b.as_uuid()).unwrap_or(Uuid::max());
                let rows = sqlx::query(
                    "SELECT id, at, actor_id, action, subject_id, record_kind, record_id, ip FROM audit_events \
                     WHERE subject_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                )
                .bind(subject.as_uuid())
                .bind(before)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(audit_from_row).collect()
            }
        }

        #[async_trait]
        impl SignInThrottleStore for $store {
            async fn record_sign_in_failure(&self, key: &str, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query("INSERT INTO sign_in_failures (throttle_key, at) VALUES ($1, $2)")
                    .bind(key)
                    .bind(micros(at))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn sign_in_failures_since(
                &self,
                key: &str,
                since: DateTime<Utc>,
            ) -> StoreResult<(u64, Option<DateTime<Utc>>)> {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM sign_in_failures WHERE throttle_key = $1 AND at > $2",
                )
                .bind(key)
                .bind(micros(since))
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                let n: i64 = row.try_get("n").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let oldest: Option<i64> = row.try_get("oldest").map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((n as u64, opt_time(oldest)?))
            }

            async fn clear_sign_in_failures(&self, key: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM sign_in_failures WHERE throttle_key = $1")
                    .bind(key)
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn prune_sign_in_failures(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                let done = sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
                    .bind(micros(before))
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(done.rows_affected())
            }
        }

        /// Links a couple inside the caller's transaction; `Conflict("couples_partner")`
        /// if either partner is already in a couple.
        #[async_trait]
        impl PasswordResetStore for $store {
            async fn insert_password_reset(&self, r: &PasswordReset) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO password_resets (token_hash, account_id, created_at, expires_at, used_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&r.token_hash)
                .bind(r.account_id.as_uuid())
                .bind(micros(r.created_at))
                .bind(micros(r.expires_at))
                .bind(r.used_at.map(micros))
                .execute(&self.pool)
                .await
                .map_err(insert_err("password_resets_token_hash"))?;
                Ok(())
            }

            async fn usable_password_reset(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<AccountId> {
                let id: Uuid = sqlx::query_scalar(
                    "SELECT account_id FROM password_resets \
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                )
                .bind(token_hash)
                .bind(micros(now))
                .fetch_one(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(AccountId::from_uuid(id))
            }

            async fn complete_password_reset(
                &self,
                token_hash: &[u8],
                password_hash: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<AccountId> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let id: Uuid = sqlx::query_scalar(
                    "UPDATE password_resets SET used_at = $1 \
                     WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING account_id",
                )
                .bind(micros(now))
                .bind(token_hash)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
                sqlx::query("UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3")
                    .bind(password_hash)
                    .bind(micros(now))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query("UPDATE sessions SET revoked_at = $1 WHERE account_id = $2 AND revoked_at IS NULL")
                    .bind(micros(now))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query("UPDATE password_resets SET used_at = $1 WHERE account_id = $2 AND used_at IS NULL")
                    .bind(micros(now))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(AccountId::from_uuid(id))
            }
        }

        async fn insert_couple_rows(conn: &mut DbConn, c: &Couple) -> StoreResult<()> {
            sqlx::query("INSERT INTO couples (id, linked_at) VALUES ($1, $2)")
                .bind(c.id.as_uuid())
                .bind(micros(c.linked_at))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            for (position, partner) in [(0_i32, c.partner_a), (1_i32, c.partner_b)] {
                sqlx::query(
                    "INSERT INTO couple_members (couple_id, account_id, position, joined_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(c.id.as_uuid())
                .bind(partner.as_uuid())
                .bind(position)
                .bind(micros(c.linked_at))
                .execute(&mut *conn)
                .await
                .map_err(insert_err("couples_partner"))?;
            }
            Ok(())
        }

        #[async_trait]
        impl CoupleStore for $store {
            async fn insert_couple(&self, c: &Couple) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                insert_couple_rows(&mut tx, c).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(())
            }

            async fn couple_of(&self, account: AccountId) -> StoreResult<Option<Couple>> {
                let rows = sqlx::query(
                    "SELECT c.id, c.linked_at, m.account_id, m.position FROM couples c \
                     JOIN couple_members m ON m.couple_id = c.id \
                     WHERE m.left_at IS NULL AND c.id = (SELECT couple_id FROM couple_members \
                     WHERE account_id = $1 AND left_at IS NULL) ORDER BY m.position",
                )
                .bind(account.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                match rows.as_slice() {
                    [] => Ok(None),
                    [a, b] => Ok(Some(Couple {
                        id: CoupleId::from_uuid(a.try_get::<Uuid, _>("id").map_err(get)?),
                        partner_a: AccountId::from_uuid(a.try_get::<Uuid, _>("account_id").map_err(get)?),
                        partner_b: AccountId::from_uuid(b.try_get::<Uuid, _>("account_id").map_err(get)?),
                        linked_at: time(a.try_get("linked_at").map_err(get)?)?,
                    })),
                    _ => Err(corrupt("a couple without exactly two partners")),
                }
            }
        }

        #[async_trait]
        impl rapport_store::Store for $store {
            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(db_err)?;
                Ok(())
            }

            fn backend(&self) -> &'static str {
                Self::BACKEND
            }

            async fn close(&self) {
                self.group_commit_pool().close().await;
                self.pool.close().await;
            }
        }
    };
}
