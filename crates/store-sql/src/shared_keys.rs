//! Wrapped data keys, written once for both databases.

/// Implements `DataKeyStore` for `$store`. Expects `impl_store_traits!` in scope.
macro_rules! impl_key_traits {
    ($store:ident) => {
        fn data_key_from_row(row: &DbRow) -> StoreResult<rapport_store::DataKey> {
            let get = |e: sqlx::Error| StoreError::Corrupt(e.to_string());
            Ok(rapport_store::DataKey {
                id: row.try_get("id").map_err(get)?,
                wrapped: row.try_get("wrapped").map_err(get)?,
                master_key_id: row.try_get("master_key_id").map_err(get)?,
                created_at: time(row.try_get("created_at").map_err(get)?)?,
                retired_at: opt_time(row.try_get("retired_at").map_err(get)?)?,
            })
        }

        #[async_trait]
        impl rapport_store::DataKeyStore for $store {
            async fn data_keys(&self) -> StoreResult<Vec<rapport_store::DataKey>> {
                let rows = sqlx::query(
                    "SELECT id, wrapped, master_key_id, created_at, retired_at FROM data_keys ORDER BY created_at, id",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(data_key_from_row).collect()
            }

            async fn insert_data_key(&self, k: &rapport_store::DataKey) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO data_keys (id, wrapped, master_key_id, created_at, retired_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&k.id)
                .bind(&k.wrapped)
                .bind(&k.master_key_id)
                .bind(micros(k.created_at))
                .bind(k.retired_at.map(micros))
                .execute(&self.pool)
                .await
                .map_err(insert_err("data_keys_id"))?;
                Ok(())
            }

            async fn rewrap_data_keys(
                &self,
                rewrapped: &[rapport_store::DataKey],
                new_active: Option<&rapport_store::DataKey>,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                for k in rewrapped {
                    let done = sqlx::query("UPDATE data_keys SET wrapped = $1, master_key_id = $2 WHERE id = $3")
                        .bind(&k.wrapped)
                        .bind(&k.master_key_id)
                        .bind(&k.id)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    changed_one(done.rows_affected())?;
                }
                if let Some(k) = new_active {
                    sqlx::query("UPDATE data_keys SET retired_at = $1 WHERE retired_at IS NULL")
                        .bind(micros(at))
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                    sqlx::query(
                        "INSERT INTO data_keys (id, wrapped, master_key_id, created_at, retired_at) VALUES ($1, $2, $3, $4, NULL)",
                    )
                    .bind(&k.id)
                    .bind(&k.wrapped)
                    .bind(&k.master_key_id)
                    .bind(micros(k.created_at))
                    .execute(&mut *tx)
                    .await
                    .map_err(insert_err("data_keys_id"))?;
                }
                tx.commit().await.map_err(db_err)?;
                Ok(())
            }
        }
    };
}
