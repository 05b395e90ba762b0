//! Queries for the background job queue and notification preferences,
//! written once for both databases. Expects the helpers defined by
//! `impl_store_traits!` (and `column_err` from `impl_partner_traits!`) in scope.

/// Implements `JobStore` and `PrefsStore` for `$store`.
macro_rules! impl_job_traits {
    ($store:ident) => {
        use rapport_store::{EmailMode, Job, JobStore, NotificationPrefs, PrefsStore};

        const JOB_COLUMNS: &str = "id, kind, payload, run_at, attempts, dedupe_key, last_error";

        fn job_from_row(row: &DbRow) -> StoreResult<Job> {
            let get = column_err;
            Ok(Job {
                id: row.try_get("id").map_err(get)?,
                kind: row.try_get("kind").map_err(get)?,
                payload: row.try_get("payload").map_err(get)?,
                run_at: time(row.try_get("run_at").map_err(get)?)?,
                attempts: row.try_get("attempts").map_err(get)?,
                dedupe_key: row.try_get("dedupe_key").map_err(get)?,
                last_error: row.try_get("last_error").map_err(get)?,
            })
        }

        #[async_trait]
        impl JobStore for $store {
            async fn enqueue_job(&self, job: &Job) -> StoreResult<bool> {
                // The conflict target repeats the partial index's WHERE, so both databases
                // match it to `jobs_dedupe`: a finished job never blocks a new one.
                let done = sqlx::query(
                    "INSERT INTO jobs (id, kind, payload, run_at, attempts, dedupe_key, last_error, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (dedupe_key) WHERE done_at IS NULL DO NOTHING",
                )
                .bind(job.id)
                .bind(&job.kind)
                .bind(&job.payload)
                .bind(micros(job.run_at))
                .bind(job.attempts)
                .bind(job.dedupe_key.as_deref())
                .bind(job.last_error.as_deref())
                // When it was queued, for operators only: nothing reads it back.
                .bind(micros(Utc::now()))
                .execute(&self.pool)
                .await
                .map_err(insert_err("jobs_id"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn claim_due_jobs(
                &self,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: u32,
            ) -> StoreResult<Vec<Job>> {
                // The outer conditions repeat the inner ones: PostgreSQL re-checks them on the
                // locked row after a concurrent claimer commits, so a job is never claimed twice.
                let sql = format!(
                    "UPDATE jobs SET locked_until = $1, attempts = attempts + 1 \
                     WHERE id IN (SELECT id FROM jobs WHERE done_at IS NULL AND run_at <= $2 \
                     AND (locked_until IS NULL OR locked_until <= $2) ORDER BY run_at, id LIMIT $3) \
                     AND done_at IS NULL AND run_at <= $2 AND (locked_until IS NULL OR locked_until <= $2) \
                     RETURNING {JOB_COLUMNS}"
                );
                let rows = sqlx::query(&sql)
                    .bind(micros(lease_until))
                    .bind(micros(now))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                let mut jobs = rows.iter().map(job_from_row).collect::<StoreResult<Vec<_>>>()?;
                // RETURNING promises no order.
                jobs.sort_by(|a, b| (a.run_at, a.id).cmp(&(b.run_at, b.id)));
                Ok(jobs)
            }

            async fn finish_job(&self, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
                // Finishing twice keeps the first time.
                let done =
                    sqlx::query("UPDATE jobs SET done_at = COALESCE(done_at, $1), locked_until = NULL WHERE id = $2")
                        .bind(micros(at))
                        .bind(id)
                        .execute(&self.pool)
                        .await
                        .map_err(db_err)?;
                changed_one(done.rows_affected())
            }

            async fn retry_job(&self, id: Uuid, run_at: DateTime<Utc>, error: &str) -> StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE jobs SET locked_until = NULL, run_at = $1, last_error = $2 \
                     WHERE id = $3 AND done_at IS NULL",
                )
                .bind(micros(run_at))
                .bind(error)
                .bind(id)
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                changed_one(done.rows_affected())
            }

            async fn pending_jobs(&self, kind: &str) -> StoreResult<Vec<Job>> {
                let sql = format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE kind = $1 AND done_at IS NULL ORDER BY created_at, id"
                );
                let rows = sqlx::query(&sql).bind(kind).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(job_from_row).collect()
            }
        }

        #[async_trait]
        impl PrefsStore for $store {
            async fn notification_prefs(&self, account: AccountId) -> StoreResult<NotificationPrefs> {
                let row =
                    sqlx::query("SELECT email_mode, reply_working_days FROM notification_prefs WHERE account_id = $1")
                        .bind(account.as_uuid())
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(db_err)?;
                let Some(row) = row else {
                    return Ok(NotificationPrefs::defaults(account));
                };
                let mode: String = row.try_get("email_mode").map_err(column_err)?;
                let days: i32 = row.try_get("reply_working_days").map_err(column_err)?;
                Ok(NotificationPrefs {
                    account_id: account,
                    email_mode: EmailMode::parse(&mode).ok_or_else(|| corrupt("email mode"))?,
                    reply_working_days: u32::try_from(days).map_err(|_| corrupt("reply working days"))?,
                })
            }

            async fn save_notification_prefs(&self, prefs: &NotificationPrefs) -> StoreResult<()> {
                let days = i32::try_from(prefs.reply_working_days)
                    .map_err(|_| StoreError::Corrupt("reply working days out of range".to_owned()))?;
                sqlx::query(
                    "INSERT INTO notification_prefs (account_id, email_mode, reply_working_days, updated_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (account_id) DO UPDATE SET \
                     email_mode = excluded.email_mode, reply_working_days = excluded.reply_working_days, \
                     updated_at = excluded.updated_at",
                )
                .bind(prefs.account_id.as_uuid())
                .bind(prefs.email_mode.as_str())
                .bind(days)
                // When it last changed, for operators only: nothing reads it back.
                .bind(micros(Utc::now()))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }
        }
    };
}
