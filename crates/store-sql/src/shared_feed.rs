//! The event log read as a feed between instances (see `EventFeed`): the
//! range query is shared; announcing and listening are backend-specific.

/// Adds `events_in_range` to `$store`. Expects `impl_room_traits!` in scope.
macro_rules! impl_event_range {
    ($store:ident) => {
        impl $store {
            /// Events with `after < id <= upto`, in id order.
            async fn events_in_range(&self, after: i64, upto: i64) -> StoreResult<Vec<rapport_store::RoomEvent>> {
                let sql =
                    format!("SELECT {EVENT_COLUMNS} FROM room_events e WHERE e.id > $1 AND e.id <= $2 ORDER BY e.id");
                let rows = sqlx::query(&sql).bind(after).bind(upto).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(event_from_row).collect()
            }
        }
    };
}
