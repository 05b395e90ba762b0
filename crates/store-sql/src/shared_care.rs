//! Queries for therapists, intakes and care teams, written once for both
//! databases. Expects the helpers defined by `impl_store_traits!` in scope.

/// Implements `TherapistStore`, `IntakeStore` and `CareTeamStore` for `$store`.
macro_rules! impl_care_traits {
    ($store:ident) => {
        use chrono::NaiveDate;
        use rapport_domain::availability::{weekday_id, WeeklyWindow};
        use rapport_domain::matching::SeekerKind;
        use rapport_domain::{Jurisdiction, Language};
        use rapport_store::{
            ApplicationStatus, CareTeam, CareTeamStore, Intake, IntakeStore, License, Notice, NoticeStore, Sealed, TherapistProfile,
            TherapistStore, VerificationDecision,
        };
        use std::collections::HashMap;

        fn list<T: std::fmt::Display>(items: &[T]) -> String {
            items.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(",")
        }

        fn parse_list<T: std::str::FromStr>(s: &str, what: &str) -> StoreResult<Vec<T>> {
            s.split(',').filter(|x| !x.is_empty()).map(|x| x.parse().map_err(|_| corrupt(what))).collect()
        }

        fn languages(s: &str) -> StoreResult<Vec<Language>> {
            s.split(',').filter(|x| !x.is_empty()).map(|x| Language::parse(x).map_err(|_| corrupt("language"))).collect()
        }

        fn windows(items: &[WeeklyWindow]) -> String {
            items
                .iter()
                .map(|w| format!("{} {} {}", weekday_id(w.weekday), w.start_text(), w.end_text()))
                .collect::<Vec<_>>()
                .join(",")
        }

        fn parse_windows(s: &str) -> StoreResult<Vec<WeeklyWindow>> {
            s.split(',')
                .filter(|x| !x.is_empty())
                .map(|x| {
                    let mut parts = x.split(' ');
                    let (d, a, b) = (parts.next(), parts.next(), parts.next());
                    match (d, a, b) {
                        (Some(d), Some(a), Some(b)) => WeeklyWindow::parse(d, a, b).map_err(|_| corrupt("window")),
                        _ => Err(corrupt("window")),
                    }
                })
                .collect()
        }

        fn flag(v: bool) -> i32 {
            i32::from(v)
        }

        fn date(s: &str) -> StoreResult<NaiveDate> {
            NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| corrupt("date"))
        }

        fn kind_str(k: SeekerKind) -> &'static str {
            match k {
                SeekerKind::Individual => "individual",
                SeekerKind::Couple => "couple",
            }
        }

        const PROFILE_COLUMNS: &str = "account_id, status, professional_name, pronouns, gender, bio, specialties, \
             approaches, languages, modalities, works_with_couples, time_zone, weekly_availability, capacity, \
             accepting_new_clients, photo_type IS NOT NULL AS has_photo, submitted_at, updated_at";

        fn profile_from_row(row: &DbRow, licenses: Vec<License>) -> StoreResult<TherapistProfile> {
            let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
            let text = |name: &str| row.try_get::<String, _>(name).map_err(get);
            Ok(TherapistProfile {
                account_id: AccountId::from_uuid(row.try_get::<Uuid, _>("account_id").map_err(get)?),
                status: ApplicationStatus::parse(&text("status")?).ok_or_else(|| corrupt("status"))?,
                professional_name: text("professional_name")?,
                pronouns: row.try_get("pronouns").map_err(get)?,
                gender: row
                    .try_get::<Option<String>, _>("gender")
                    .map_err(get)?
                    .map(|g| g.parse().map_err(|_| corrupt("gender")))
                    .transpose()?,
                bio: text("bio")?,
                licenses,
                specialties: parse_list(&text("specialties")?, "specialty")?,
                approaches: parse_list(&text("approaches")?, "approach")?,
                languages: languages(&text("languages")?)?,
                modalities: parse_list(&text("modalities")?, "modality")?,
                works_with_couples: row.try_get::<i32, _>("works_with_couples").map_err(get)? != 0,
                time_zone: TimeZone::parse(&text("time_zone")?).map_err(|_| corrupt("time zone"))?,
                weekly_availability: parse_windows(&text("weekly_availability")?)?,
                capacity: row.try_get::<i32, _>("capacity").map_err(get)?.max(0) as u32,
                accepting_new_clients: row.try_get::<i32, _>("accepting_new_clients").map_err(get)? != 0,
                has_photo: row.try_get::<bool, _>("has_photo").map_err(get)?,
                submitted_at: time(row.try_get("submitted_at").map_err(get)?)?,
                updated_at: time(row.try_get("updated_at").map_err(get)?)?,
            })
        }

        fn license_from_row(row: &DbRow) -> StoreResult<(AccountId, License)> {
            let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
            let text = |name: &str| row.try_get::<String, _>(name).map_err(get);
            Ok((
                AccountId::from_uuid(row.try_get::<Uuid, _>("therapist_id").map_err(get)?),
                License {
                    id: row.try_get("id").map_err(get)?,
                    license_type: text("license_type")?.parse().map_err(|_| corrupt("licence type"))?,
                    number: text("number")?,
                    jurisdiction: Jurisdiction::parse(&text("jurisdiction")?).map_err(|_| corrupt("jurisdiction"))?,
                    expires_on: date(&text("expires_on")?)?,
                    verified: row.try_get::<i32, _>("verified").map_err(get)? != 0,
                    expiry_warned_at: opt_time(row.try_get("expiry_warned_at").map_err(get)?)?,
                    expiry_handled_at: opt_time(row.try_get("expiry_handled_at").map_err(get)?)?,
                },
            ))
        }

        const LICENSE_COLUMNS: &str = "id, therapist_id, license_type, number, jurisdiction, expires_on, verified, \
             expiry_warned_at, expiry_handled_at";

        impl $store {
            /// Sets a licence's claim column once; `NotFound` when already set (or no such licence).
            async fn claim_license(&self, license: Uuid, at: DateTime<Utc>, column: &'static str) -> StoreResult<()> {
                let sql = format!("UPDATE therapist_licenses SET {column} = $1 WHERE id = $2 AND {column} IS NULL");
                let done = sqlx::query(&sql).bind(micros(at)).bind(license).execute(&self.pool).await.map_err(db_err)?;
                changed_one(done.rows_affected())
            }

            /// Loads profiles matching `filter` (a WHERE clause with `$1` bound to `arg`) with their licences.
            async fn load_profiles(&self, filter: &str, arg: String) -> StoreResult<Vec<TherapistProfile>> {
                let sql = format!("SELECT {PROFILE_COLUMNS} FROM therapist_profiles WHERE {filter} ORDER BY submitted_at");
                let rows = sqlx::query(&sql).bind(arg.clone()).fetch_all(&self.pool).await.map_err(db_err)?;
                let lsql = format!(
                    "SELECT {LICENSE_COLUMNS} FROM therapist_licenses WHERE therapist_id IN \
                     (SELECT account_id FROM therapist_profiles WHERE {filter}) ORDER BY therapist_id, position"
                );
                let lrows = sqlx::query(&lsql).bind(arg).fetch_all(&self.pool).await.map_err(db_err)?;
                let mut by_therapist: HashMap<AccountId, Vec<License>> = HashMap::new();
                for r in &lrows {
                    let (t, l) = license_from_row(r)?;
                    by_therapist.entry(t).or_default().push(l);
                }
                rows.iter()
                    .map(|r| {
                        let id = AccountId::from_uuid(r.try_get::<Uuid, _>("account_id").map_err(|e| corrupt(&e.to_string()))?);
                        profile_from_row(r, by_therapist.remove(&id).unwrap_or_default())
                    })
                    .collect()
            }
        }

        #[async_trait]
        impl TherapistStore for $store {
            async fn save_application(&self, p: &TherapistProfile) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                sqlx::query(
                    "INSERT INTO therapist_profiles (account_id, status, professional_name, pronouns, gender, bio, \
                     specialties, approaches, languages, modalities, works_with_couples, time_zone, weekly_availability, \
                     capacity, accepting_new_clients, submitted_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
                     ON CONFLICT (account_id) DO UPDATE SET status = $2, professional_name = $3, pronouns = $4, \
                     gender = $5, bio = $6, specialties = $7, approaches = $8, languages = $9, modalities = $10, \
                     works_with_couples = $11, time_zone = $12, weekly_availability = $13, capacity = $14, \
                     accepting_new_clients = $15, submitted_at = $16, updated_at = $17",
                )
                .bind(p.account_id.as_uuid())
                .bind(p.status.as_str())
                .bind(&p.professional_name)
                .bind(p.pronouns.as_deref())
                .bind(p.gender.map(|g| g.id()))
                .bind(&p.bio)
                .bind(list(&p.specialties))
                .bind(list(&p.approaches))
                .bind(list(&p.languages))
                .bind(list(&p.modalities))
                .bind(flag(p.works_with_couples))
                .bind(p.time_zone.name())
                .bind(windows(&p.weekly_availability))
                .bind(p.capacity.min(i32::MAX as u32) as i32)
                .bind(flag(p.accepting_new_clients))
                .bind(micros(p.submitted_at))
                .bind(micros(p.updated_at))
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                sqlx::query("DELETE FROM therapist_licenses WHERE therapist_id = $1")
                    .bind(p.account_id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                for (position, l) in p.licenses.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO therapist_licenses (id, therapist_id, position, license_type, number, jurisdiction, \
                         expires_on, verified, expiry_warned_at, expiry_handled_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(l.id)
                    .bind(p.account_id.as_uuid())
                    .bind(position as i32)
                    .bind(l.license_type.id())
                    .bind(&l.number)
                    .bind(l.jurisdiction.code())
                    .bind(l.expires_on.format("%Y-%m-%d").to_string())
                    .bind(flag(l.verified))
                    .bind(l.expiry_warned_at.map(micros))
                    .bind(l.expiry_handled_at.map(micros))
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)?;
                Ok(())
            }

            async fn therapist(&self, id: AccountId) -> StoreResult<TherapistProfile> {
                let sql = format!("SELECT {PROFILE_COLUMNS} FROM therapist_profiles WHERE account_id = $1");
                let row = sqlx::query(&sql).bind(id.as_uuid()).fetch_one(&self.pool).await.map_err(db_err)?;
                let lsql = format!("SELECT {LICENSE_COLUMNS} FROM therapist_licenses WHERE therapist_id = $1 ORDER BY position");
                let lrows = sqlx::query(&lsql).bind(id.as_uuid()).fetch_all(&self.pool).await.map_err(db_err)?;
                let licenses = lrows.iter().map(|r| license_from_row(r).map(|(_, l)| l)).collect::<StoreResult<Vec<_>>>()?;
                profile_from_row(&row, licenses)
            }

            async fn applications(&self, status: ApplicationStatus) -> StoreResult<Vec<TherapistProfile>> {
                self.load_profiles("status = $1", status.as_str().to_owned()).await
            }

            async fn approved_therapists(&self) -> StoreResult<Vec<TherapistProfile>> {
                self.load_profiles("status = $1", ApplicationStatus::Approved.as_str().to_owned()).await
            }

            async fn decide_application(&self, d: &VerificationDecision) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                // The application first: no application (or no such account) is `NotFound`,
                // not a foreign-key failure on the decision below.
                let status = if d.approved { ApplicationStatus::Approved } else { ApplicationStatus::Rejected };
                // Only a pending application can be decided, so two admins deciding at once
                // cannot both succeed.
                let done = sqlx::query(
                    "UPDATE therapist_profiles SET status = $1, updated_at = $2 WHERE account_id = $3 AND status = 'pending'",
                )
                .bind(status.as_str())
                .bind(micros(d.decided_at))
                .bind(d.therapist_id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if done.rows_affected() == 0 {
                    let exists = sqlx::query("SELECT 1 FROM therapist_profiles WHERE account_id = $1")
                        .bind(d.therapist_id.as_uuid())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    return Err(if exists.is_some() {
                        StoreError::Conflict("therapist_application_decided")
                    } else {
                        StoreError::NotFound
                    });
                }
                sqlx::query(
                    "INSERT INTO verification_decisions (id, therapist_id, admin_id, decided_at, approved, checked, notes) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(d.id)
                .bind(d.therapist_id.as_uuid())
                .bind(d.admin_id.as_uuid())
                .bind(micros(d.decided_at))
                .bind(flag(d.approved))
                .bind(&d.checked)
                .bind(&d.notes)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                if d.approved {
                    sqlx::query("UPDATE therapist_licenses SET verified = 1 WHERE therapist_id = $1")
                        .bind(d.therapist_id.as_uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    sqlx::query("UPDATE accounts SET role = 'therapist', updated_at = $1 WHERE id = $2 AND role = 'client'")
                        .bind(micros(d.decided_at))
                        .bind(d.therapist_id.as_uuid())
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                tx.commit().await.map_err(db_err)?;
                Ok(())
            }

            async fn decisions_for(&self, therapist: AccountId) -> StoreResult<Vec<VerificationDecision>> {
                let rows = sqlx::query(
                    "SELECT id, therapist_id, admin_id, decided_at, approved, checked, notes FROM verification_decisions \
                     WHERE therapist_id = $1 ORDER BY decided_at",
                )
                .bind(therapist.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                rows.iter()
                    .map(|r| {
                        Ok(VerificationDecision {
                            id: r.try_get("id").map_err(get)?,
                            therapist_id: AccountId::from_uuid(r.try_get::<Uuid, _>("therapist_id").map_err(get)?),
                            admin_id: AccountId::from_uuid(r.try_get::<Uuid, _>("admin_id").map_err(get)?),
                            decided_at: time(r.try_get("decided_at").map_err(get)?)?,
                            approved: r.try_get::<i32, _>("approved").map_err(get)? != 0,
                            checked: r.try_get("checked").map_err(get)?,
                            notes: r.try_get("notes").map_err(get)?,
                        })
                    })
                    .collect()
            }

            async fn set_photo(&self, therapist: AccountId, content_type: &str, bytes: &[u8]) -> StoreResult<()> {
                let done = sqlx::query("UPDATE therapist_profiles SET photo_type = $1, photo = $2 WHERE account_id = $3")
                    .bind(content_type)
                    .bind(bytes)
                    .bind(therapist.as_uuid())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                changed_one(done.rows_affected())
            }

            async fn photo(&self, therapist: AccountId) -> StoreResult<Option<(String, Vec<u8>)>> {
                let row = sqlx::query("SELECT photo_type, photo FROM therapist_profiles WHERE account_id = $1")
                    .bind(therapist.as_uuid())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let Some(row) = row else { return Ok(None) };
                let kind: Option<String> = row.try_get("photo_type").map_err(get)?;
                let bytes: Option<Vec<u8>> = row.try_get("photo").map_err(get)?;
                Ok(kind.zip(bytes))
            }

            async fn mark_license_warned(&self, license: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
                self.claim_license(license, at, "expiry_warned_at").await
            }

            async fn mark_license_expiry_handled(&self, license: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
                self.claim_license(license, at, "expiry_handled_at").await
            }
        }

        #[async_trait]
        impl IntakeStore for $store {
            async fn save_intake(&self, i: &Intake) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO intakes (account_id, kind, couple_id, consented_at, consent_version, jurisdiction, \
                     languages, modalities, approaches, therapist_gender, time_zone, time_windows, sensitive_key, \
                     sensitive, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                     ON CONFLICT (account_id) DO UPDATE SET kind = $2, couple_id = $3, consented_at = $4, \
                     consent_version = $5, jurisdiction = $6, languages = $7, modalities = $8, approaches = $9, \
                     therapist_gender = $10, time_zone = $11, time_windows = $12, sensitive_key = $13, sensitive = $14, \
                     updated_at = $16",
                )
                .bind(i.account_id.as_uuid())
                .bind(kind_str(i.kind))
                .bind(i.couple_id.map(|c| c.as_uuid()))
                .bind(micros(i.consented_at))
                .bind(&i.consent_version)
                .bind(i.jurisdiction.code())
                .bind(list(&i.languages))
                .bind(list(&i.modalities))
                .bind(list(&i.approaches))
                .bind(i.therapist_gender.map(|g| g.id()))
                .bind(i.time_zone.name())
                .bind(windows(&i.time_windows))
                .bind(&i.sensitive.key_id)
                .bind(&i.sensitive.bytes)
                .bind(micros(i.created_at))
                .bind(micros(i.updated_at))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn intake_of(&self, account: AccountId) -> StoreResult<Option<Intake>> {
                let row = sqlx::query(
                    "SELECT account_id, kind, couple_id, consented_at, consent_version, jurisdiction, languages, \
                     modalities, approaches, therapist_gender, time_zone, time_windows, sensitive_key, sensitive, \
                     created_at, updated_at FROM intakes WHERE account_id = $1",
                )
                .bind(account.as_uuid())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
                let Some(row) = row else { return Ok(None) };
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                let text = |name: &str| row.try_get::<String, _>(name).map_err(get);
                Ok(Some(Intake {
                    account_id: account,
                    kind: match text("kind")?.as_str() {
                        "couple" => SeekerKind::Couple,
                        _ => SeekerKind::Individual,
                    },
                    couple_id: row.try_get::<Option<Uuid>, _>("couple_id").map_err(get)?.map(CoupleId::from_uuid),
                    consented_at: time(row.try_get("consented_at").map_err(get)?)?,
                    consent_version: text("consent_version")?,
                    jurisdiction: Jurisdiction::parse(&text("jurisdiction")?).map_err(|_| corrupt("jurisdiction"))?,
                    languages: languages(&text("languages")?)?,
                    modalities: parse_list(&text("modalities")?, "modality")?,
                    approaches: parse_list(&text("approaches")?, "approach")?,
                    therapist_gender: row
                        .try_get::<Option<String>, _>("therapist_gender")
                        .map_err(get)?
                        .map(|g| g.parse().map_err(|_| corrupt("gender")))
                        .transpose()?,
                    time_zone: TimeZone::parse(&text("time_zone")?).map_err(|_| corrupt("time zone"))?,
                    time_windows: parse_windows(&text("time_windows")?)?,
                    sensitive: Sealed { key_id: text("sensitive_key")?, bytes: row.try_get("sensitive").map_err(get)? },
                    created_at: time(row.try_get("created_at").map_err(get)?)?,
                    updated_at: time(row.try_get("updated_at").map_err(get)?)?,
                }))
            }
        }

        fn care_from_row(row: &DbRow) -> StoreResult<CareTeam> {
            let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
            Ok(CareTeam {
                id: row.try_get("id").map_err(get)?,
                client_id: AccountId::from_uuid(row.try_get::<Uuid, _>("client_id").map_err(get)?),
                couple_id: row.try_get::<Option<Uuid>, _>("couple_id").map_err(get)?.map(CoupleId::from_uuid),
                therapist_id: AccountId::from_uuid(row.try_get::<Uuid, _>("therapist_id").map_err(get)?),
                started_at: time(row.try_get("started_at").map_err(get)?)?,
                ended_at: opt_time(row.try_get("ended_at").map_err(get)?)?,
                end_reason: row.try_get("end_reason").map_err(get)?,
                sees_history: row.try_get::<i32, _>("sees_history").map_err(get)? != 0,
            })
        }

        const CARE_COLUMNS: &str = "id, client_id, couple_id, therapist_id, started_at, ended_at, end_reason, sees_history";

        #[async_trait]
        impl CareTeamStore for $store {
            async fn start_care(&self, t: &CareTeam, previous_end_reason: Option<&str>) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                // Take the therapist's profile row first (a row lock on PostgreSQL, the write
                // lock on SQLite), so concurrent starts with one therapist count one at a time.
                sqlx::query("UPDATE therapist_profiles SET capacity = capacity WHERE account_id = $1")
                    .bind(t.therapist_id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                // A proposal waiting on a partner is withdrawn with the care team it was for.
                sqlx::query(
                    "UPDATE care_proposals SET state = 'withdrawn', answered_at = $1 WHERE state = 'pending' \
                     AND care_team_id IN (SELECT id FROM care_teams WHERE client_id = $2 AND ended_at IS NULL)",
                )
                .bind(micros(t.started_at))
                .bind(t.client_id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                sqlx::query("UPDATE care_teams SET ended_at = $1, end_reason = $2 WHERE client_id = $3 AND ended_at IS NULL")
                    .bind(micros(t.started_at))
                    .bind(previous_end_reason.unwrap_or("switched therapist"))
                    .bind(t.client_id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                let full = sqlx::query(
                    "SELECT account_id FROM therapist_profiles WHERE account_id = $1 AND capacity <= \
                     (SELECT COUNT(*) FROM care_teams WHERE therapist_id = $1 AND ended_at IS NULL)",
                )
                .bind(t.therapist_id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
                if full.is_some() {
                    return Err(StoreError::Conflict("care_teams_capacity"));
                }
                sqlx::query(
                    "INSERT INTO care_teams (id, client_id, couple_id, therapist_id, started_at, ended_at, end_reason, \
                     sees_history) VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6)",
                )
                .bind(t.id)
                .bind(t.client_id.as_uuid())
                .bind(t.couple_id.map(|c| c.as_uuid()))
                .bind(t.therapist_id.as_uuid())
                .bind(micros(t.started_at))
                .bind(flag(t.sees_history))
                .execute(&mut *tx)
                .await
                .map_err(insert_err("care_teams_one_active"))?;
                tx.commit().await.map_err(db_err)?;
                Ok(())
            }

            async fn active_care_of_client(&self, client: AccountId) -> StoreResult<Option<CareTeam>> {
                let sql = format!("SELECT {CARE_COLUMNS} FROM care_teams WHERE client_id = $1 AND ended_at IS NULL");
                let row = sqlx::query(&sql).bind(client.as_uuid()).fetch_optional(&self.pool).await.map_err(db_err)?;
                row.as_ref().map(care_from_row).transpose()
            }

            async fn active_clients_of(&self, therapist: AccountId) -> StoreResult<Vec<CareTeam>> {
                let sql = format!(
                    "SELECT {CARE_COLUMNS} FROM care_teams WHERE therapist_id = $1 AND ended_at IS NULL ORDER BY started_at"
                );
                let rows = sqlx::query(&sql).bind(therapist.as_uuid()).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(care_from_row).collect()
            }

            async fn active_client_counts(&self) -> StoreResult<HashMap<AccountId, u32>> {
                let rows = sqlx::query("SELECT therapist_id, COUNT(*) AS n FROM care_teams WHERE ended_at IS NULL GROUP BY therapist_id")
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
                rows.iter()
                    .map(|r| {
                        Ok((
                            AccountId::from_uuid(r.try_get::<Uuid, _>("therapist_id").map_err(get)?),
                            r.try_get::<i64, _>("n").map_err(get)?.max(0) as u32,
                        ))
                    })
                    .collect()
            }

            async fn end_care(&self, team: Uuid, at: DateTime<Utc>, reason: &str) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let done = sqlx::query("UPDATE care_teams SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL")
                    .bind(micros(at))
                    .bind(reason)
                    .bind(team)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                changed_one(done.rows_affected())?;
                sqlx::query("UPDATE care_proposals SET state = 'withdrawn', answered_at = $1 WHERE state = 'pending' AND care_team_id = $2")
                    .bind(micros(at))
                    .bind(team)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                tx.commit().await.map_err(db_err)?;
                Ok(())
            }
        }

        fn notice_from_row(row: &DbRow) -> StoreResult<Notice> {
            let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
            Ok(Notice {
                id: row.try_get("id").map_err(get)?,
                account_id: AccountId::from_uuid(row.try_get::<Uuid, _>("account_id").map_err(get)?),
                kind: row.try_get("kind").map_err(get)?,
                message: row.try_get("message").map_err(get)?,
                created_at: time(row.try_get("created_at").map_err(get)?)?,
                read_at: opt_time(row.try_get("read_at").map_err(get)?)?,
            })
        }

        #[async_trait]
        impl NoticeStore for $store {
            async fn insert_notice(&self, n: &Notice) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO notices (id, account_id, kind, message, created_at, read_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(n.id)
                .bind(n.account_id.as_uuid())
                .bind(&n.kind)
                .bind(&n.message)
                .bind(micros(n.created_at))
                .bind(n.read_at.map(micros))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn unread_notices(&self, account: AccountId) -> StoreResult<Vec<Notice>> {
                let rows = sqlx::query(
                    "SELECT id, account_id, kind, message, created_at, read_at FROM notices \
                     WHERE account_id = $1 AND read_at IS NULL ORDER BY created_at DESC",
                )
                .bind(account.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(notice_from_row).collect()
            }

            async fn mark_notice_read(&self, account: AccountId, id: Uuid, at: DateTime<Utc>) -> StoreResult<()> {
                let done = sqlx::query(
                    "UPDATE notices SET read_at = $1 WHERE id = $2 AND account_id = $3 AND read_at IS NULL",
                )
                .bind(micros(at))
                .bind(id)
                .bind(account.as_uuid())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                changed_one(done.rows_affected())
            }
        }
    };
}
