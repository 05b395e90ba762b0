//! Queries for rooms, members, messages and the room event log, written once
//! for both databases. Expects the helpers defined by `impl_store_traits!`
//! (and `column_err` from `impl_partner_traits!`) in scope.
//!
//! Every transaction that appends events takes its event ids by bumping the
//! one-row `room_event_counter`, and holds that row's lock (PostgreSQL) or the
//! write lock (SQLite) until it commits. So no two of them hand out ids at the
//! same time, and event ids increase in commit order, across instances too: a
//! reader following the log never sees an id before a smaller one.

/// Implements `RoomStore` for `$store`.
macro_rules! impl_room_traits {
    ($store:ident) => {
        use rapport_domain::room::AttachmentKind;
        use rapport_domain::{MessageId, RoomId};
        use rapport_store::{
            AttachmentMeta, MessageVersion, NewRoomEvent, Room, RoomEvent, RoomMember, RoomStore, RoomWrite,
            StoredMessage,
        };

        type RoomDb = <DbRow as sqlx::Row>::Database;
        type RoomQuery<'q> = sqlx::query::Query<'q, RoomDb, <RoomDb as sqlx::Database>::Arguments<'q>>;

        /// Most bind parameters in one statement (SQLite allows 32,766, PostgreSQL 65,535).
        const MAX_BIND_PARAMS: usize = 1000;

        /// Placeholders for `count` values: `$1, $2, …` after `first - 1` others, except on
        /// SQLite, which finds each `$n` by a linear search of the statement's parameter names
        /// (binding n of them costs n²) but binds anonymous `?` by position.
        fn push_params(sql: &mut String, first: usize, count: usize) {
            let numbered = $store::BACKEND != "sqlite";
            for n in first..first + count {
                if n > first {
                    sql.push_str(", ");
                }
                if numbered {
                    sql.push('$');
                    sql.push_str(&n.to_string());
                } else {
                    sql.push('?');
                }
            }
        }

        /// `($1, $2), ($3, $4)` (or `(?, ?), (?, ?)`) for `rows` rows of `columns` values.
        fn placeholders(rows: usize, columns: usize) -> String {
            let mut sql = String::with_capacity(rows * columns * 6);
            for r in 0..rows {
                sql.push_str(if r == 0 { "(" } else { ", (" });
                push_params(&mut sql, r * columns + 1, columns);
                sql.push(')');
            }
            sql
        }

        /// Inserts `rows` with multi-row `INSERT … VALUES` statements of at most
        /// [`MAX_BIND_PARAMS`] values each; `bind` binds one row's `columns` values in order.
        /// Full-size and small statements (quiet times) stay prepared; any other remainder
        /// is prepared for this use only, so batches of every size do not crowd the cache.
        async fn insert_many<T>(
            conn: &mut DbConn,
            head: &str,
            columns: usize,
            rows: &[T],
            bind: for<'q> fn(RoomQuery<'q>, &'q T) -> RoomQuery<'q>,
            rule: &'static str,
        ) -> StoreResult<()> {
            let max_rows = (MAX_BIND_PARAMS / columns).max(1);
            for chunk in rows.chunks(max_rows) {
                let sql = format!("{head} VALUES {}", placeholders(chunk.len(), columns));
                let mut query = sqlx::query::<RoomDb>(&sql).persistent(chunk.len() == max_rows || chunk.len() <= 8);
                for row in chunk {
                    query = bind(query, row);
                }
                query.execute(&mut *conn).await.map_err(insert_err(rule))?;
            }
            Ok(())
        }

        /// Reserves `n` event ids (taking the event lock); returns the first.
        async fn take_event_ids(conn: &mut DbConn, n: usize) -> StoreResult<i64> {
            let n = i64::try_from(n).map_err(|_| corrupt("too many events in one transaction"))?;
            let last: i64 =
                sqlx::query_scalar("UPDATE room_event_counter SET last_id = last_id + $1 WHERE id = 1 RETURNING last_id")
                    .bind(n)
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db_err)?;
            Ok(last - n + 1)
        }

        fn bind_message<'q>(q: RoomQuery<'q>, m: &'q &StoredMessage) -> RoomQuery<'q> {
            q.bind(m.id.as_uuid())
                .bind(m.room_id.as_uuid())
                .bind(m.sender_id.as_uuid())
                .bind(micros(m.created_at))
                .bind(m.body.key_id.as_str())
                .bind(m.body.bytes.as_slice())
                .bind(m.version)
                .bind(m.edited_at.map(micros))
                .bind(m.deleted_at.map(micros))
        }

        /// A message's attachment to store: its id, description, size and sealed bytes.
        type AttachmentRow<'a> = (MessageId, &'a AttachmentMeta, i64, &'a Sealed);

        fn bind_attachment<'q>(q: RoomQuery<'q>, a: &'q AttachmentRow<'_>) -> RoomQuery<'q> {
            q.bind(a.0.as_uuid())
                .bind(a.1.kind.as_str())
                .bind(a.1.content_type.as_str())
                .bind(a.1.file_name.as_str())
                .bind(a.2)
                .bind(a.3.key_id.as_str())
                .bind(a.3.bytes.as_slice())
        }

        fn bind_event<'q>(q: RoomQuery<'q>, e: &'q (i64, &NewRoomEvent)) -> RoomQuery<'q> {
            q.bind(e.0)
                .bind(e.1.room_id.as_uuid())
                .bind(e.1.kind.as_str())
                .bind(e.1.actor_id.as_uuid())
                .bind(e.1.message_id.map(|m| m.as_uuid()))
                .bind(e.1.payload.as_str())
                .bind(micros(e.1.created_at))
        }

        fn bind_audit<'q>(q: RoomQuery<'q>, e: &'q &AuditEvent) -> RoomQuery<'q> {
            q.bind(e.id.as_uuid())
                .bind(micros(e.at))
                .bind(e.actor_id.map(|a| a.as_uuid()))
                .bind(e.action.as_str())
                .bind(e.subject_id.map(|a| a.as_uuid()))
                .bind(e.record_kind.as_str())
                .bind(e.record_id.as_deref())
                .bind(e.ip.as_deref())
        }

        const INSERT_MESSAGES: &str = "INSERT INTO messages (id, room_id, sender_id, created_at, body_key_id, body, \
             version, edited_at, deleted_at)";
        const INSERT_ATTACHMENTS: &str =
            "INSERT INTO message_attachments (message_id, kind, content_type, file_name, size, key_id, bytes)";
        const INSERT_EVENTS: &str =
            "INSERT INTO room_events (id, room_id, kind, actor_id, message_id, payload, created_at)";
        const INSERT_AUDITS: &str =
            "INSERT INTO audit_events (id, at, actor_id, action, subject_id, record_kind, record_id, ip)";

        /// Appends events (ids from `take_event_ids`) and their audit entries.
        async fn insert_events_and_audits(
            conn: &mut DbConn,
            events: &[(i64, &NewRoomEvent)],
            audits: &[&AuditEvent],
        ) -> StoreResult<()> {
            insert_many(conn, INSERT_EVENTS, 7, events, bind_event, "room_events_id").await?;
            insert_many(conn, INSERT_AUDITS, 8, audits, bind_audit, "audit_events_id").await
        }

        /// Appends `INSERT … VALUES` statements for `rows` (at most [`MAX_BIND_PARAMS`]
        /// values each) to `sql`, binding each row in order with `bind`.
        fn push_inserts<'q, T>(
            sql: &mut String,
            mut query_binds: Vec<Box<dyn FnOnce(RoomQuery<'q>) -> RoomQuery<'q> + Send + 'q>>,
            head: &str,
            columns: usize,
            rows: &'q [T],
            bind: for<'a> fn(RoomQuery<'a>, &'a T) -> RoomQuery<'a>,
        ) -> Vec<Box<dyn FnOnce(RoomQuery<'q>) -> RoomQuery<'q> + Send + 'q>>
        where
            T: Sync,
        {
            for chunk in rows.chunks((MAX_BIND_PARAMS / columns).max(1)) {
                sql.push_str(head);
                sql.push_str(" VALUES ");
                sql.push_str(&placeholders(chunk.len(), columns));
                sql.push_str(";\n");
                for row in chunk {
                    query_binds.push(Box::new(move |q| bind(q, row)));
                }
            }
            query_binds
        }

        /// SQLite's group commit as one statement list, sent to the connection's thread once:
        /// each separate statement would cost a hand-over to that thread and back, and the
        /// writer waits for every one of them. Event ids are taken from the counter inside
        /// the same transaction, so they still increase in commit order.
        async fn commit_in_one_round_trip(
            writer: &sqlx::Pool<RoomDb>,
            messages: &[&StoredMessage],
            attachments: &[AttachmentRow<'_>],
            audits: &[&AuditEvent],
            writes: &[RoomWrite],
        ) -> StoreResult<Vec<i64>> {
            let n = writes.len();
            let mut sql = String::with_capacity(n * 200);
            sql.push_str("BEGIN IMMEDIATE;\n");
            let binds = push_inserts(&mut sql, Vec::new(), INSERT_MESSAGES, 9, messages, bind_message);
            let binds = push_inserts(&mut sql, binds, INSERT_ATTACHMENTS, 7, attachments, bind_attachment);
            let mut binds = push_inserts(&mut sql, binds, INSERT_AUDITS, 8, audits, bind_audit);
            sql.push_str(&format!(
                "UPDATE room_event_counter SET last_id = last_id + {n} WHERE id = 1 RETURNING last_id;\n"
            ));
            let per_statement = (MAX_BIND_PARAMS / 6).max(1);
            for (start, chunk) in (0..n).step_by(per_statement).zip(writes.chunks(per_statement)) {
                sql.push_str(INSERT_EVENTS);
                sql.push_str(" VALUES ");
                for (i, write) in chunk.iter().enumerate() {
                    // The k-th event of the batch gets the counter's new value minus (n - 1 - k).
                    let back = n - 1 - (start + i);
                    sql.push_str(if i == 0 { "(" } else { ", (" });
                    sql.push_str(&format!("(SELECT last_id FROM room_event_counter WHERE id = 1) - {back}, "));
                    push_params(&mut sql, 1, 6);
                    sql.push(')');
                    binds.push(Box::new(move |q| bind_event_fields(q, &write.event)));
                }
                sql.push_str(";\n");
            }
            sql.push_str("COMMIT;");
            let mut query = sqlx::query::<RoomDb>(&sql).persistent(n <= 8);
            for bind in binds {
                query = bind(query);
            }
            let mut conn = writer.acquire().await.map_err(db_err)?;
            match query.fetch_all(&mut *conn).await {
                Ok(rows) => {
                    let last: i64 = rows
                        .first()
                        .ok_or_else(|| corrupt("the event counter returned nothing"))?
                        .try_get(0)
                        .map_err(column_err)?;
                    let first = last - i64::try_from(n).map_err(|_| corrupt("too many events"))? + 1;
                    Ok((first..=last).collect())
                }
                Err(e) => {
                    // A statement failed part-way: nothing of this batch may stay.
                    let _ = sqlx::query::<RoomDb>("ROLLBACK").execute(&mut *conn).await;
                    Err(insert_err("room_write")(e))
                }
            }
        }

        fn bind_event_fields<'q>(q: RoomQuery<'q>, e: &'q NewRoomEvent) -> RoomQuery<'q> {
            q.bind(e.room_id.as_uuid())
                .bind(e.kind.as_str())
                .bind(e.actor_id.as_uuid())
                .bind(e.message_id.map(|m| m.as_uuid()))
                .bind(e.payload.as_str())
                .bind(micros(e.created_at))
        }

        fn room_from_row(row: &DbRow) -> StoreResult<Room> {
            let get = column_err;
            Ok(Room {
                id: RoomId::from_uuid(row.try_get::<Uuid, _>("id").map_err(get)?),
                kind: row.try_get::<String, _>("kind").map_err(get)?.parse().map_err(|_| corrupt("room kind"))?,
                key: row.try_get("room_key").map_err(get)?,
                couple_id: row.try_get::<Option<Uuid>, _>("couple_id").map_err(get)?.map(CoupleId::from_uuid),
                created_at: time(row.try_get("created_at").map_err(get)?)?,
            })
        }

        fn member_from_row(row: &DbRow) -> StoreResult<RoomMember> {
            let get = column_err;
            Ok(RoomMember {
                room_id: RoomId::from_uuid(row.try_get::<Uuid, _>("room_id").map_err(get)?),
                account_id: AccountId::from_uuid(row.try_get::<Uuid, _>("account_id").map_err(get)?),
                joined_at: time(row.try_get("joined_at").map_err(get)?)?,
                left_at: opt_time(row.try_get("left_at").map_err(get)?)?,
                visible_from: opt_time(row.try_get("visible_from").map_err(get)?)?,
                last_read: row.try_get::<Option<Uuid>, _>("last_read").map_err(get)?.map(MessageId::from_uuid),
            })
        }

        fn message_from_row(row: &DbRow) -> StoreResult<StoredMessage> {
            let get = column_err;
            let deleted_at = opt_time(row.try_get("deleted_at").map_err(get)?)?;
            let kind: Option<String> = row.try_get("attachment_kind").map_err(get)?;
            let attachment = match kind {
                Some(kind) if deleted_at.is_none() => Some(AttachmentMeta {
                    kind: AttachmentKind::parse(&kind).ok_or_else(|| corrupt("attachment kind"))?,
                    content_type: row.try_get("attachment_type").map_err(get)?,
                    file_name: row.try_get("attachment_name").map_err(get)?,
                    size: u64::try_from(row.try_get::<i64, _>("attachment_size").map_err(get)?)
                        .map_err(|_| corrupt("attachment size"))?,
                }),
                _ => None,
            };
            Ok(StoredMessage {
                id: MessageId::from_uuid(row.try_get::<Uuid, _>("id").map_err(get)?),
                room_id: RoomId::from_uuid(row.try_get::<Uuid, _>("room_id").map_err(get)?),
                sender_id: AccountId::from_uuid(row.try_get::<Uuid, _>("sender_id").map_err(get)?),
                created_at: time(row.try_get("created_at").map_err(get)?)?,
                body: Sealed {
                    key_id: row.try_get("body_key_id").map_err(get)?,
                    bytes: row.try_get("body").map_err(get)?,
                },
                version: row.try_get("version").map_err(get)?,
                edited_at: opt_time(row.try_get("edited_at").map_err(get)?)?,
                deleted_at,
                attachment,
            })
        }

        fn event_from_row(row: &DbRow) -> StoreResult<RoomEvent> {
            let get = column_err;
            Ok(RoomEvent {
                id: row.try_get("id").map_err(get)?,
                room_id: RoomId::from_uuid(row.try_get::<Uuid, _>("room_id").map_err(get)?),
                kind: row.try_get("kind").map_err(get)?,
                actor_id: AccountId::from_uuid(row.try_get::<Uuid, _>("actor_id").map_err(get)?),
                message_id: row.try_get::<Option<Uuid>, _>("message_id").map_err(get)?.map(MessageId::from_uuid),
                payload: row.try_get("payload").map_err(get)?,
                created_at: time(row.try_get("created_at").map_err(get)?)?,
            })
        }

        const ROOM_COLUMNS: &str = "r.id, r.kind, r.room_key, r.couple_id, r.created_at";
        const MEMBER_COLUMNS: &str = "room_id, account_id, joined_at, left_at, visible_from, last_read";
        const MESSAGE_SELECT: &str = "SELECT m.id, m.room_id, m.sender_id, m.created_at, m.body_key_id, m.body, \
             m.version, m.edited_at, m.deleted_at, a.kind AS attachment_kind, a.content_type AS attachment_type, \
             a.file_name AS attachment_name, a.size AS attachment_size \
             FROM messages m LEFT JOIN message_attachments a ON a.message_id = m.id";
        const EVENT_COLUMNS: &str = "e.id, e.room_id, e.kind, e.actor_id, e.message_id, e.payload, e.created_at";
        /// The messages in a room member's unread count (joined as `m` to their membership `rm`);
        /// `nil` is the parameter bound to the nil UUID, which sorts before every message, so
        /// "after the read marker" stays a range on the index even with no marker yet.
        fn unread_for_member(nil: &str) -> String {
            format!(
                "m.room_id = rm.room_id AND m.id > COALESCE(rm.last_read, {nil}) \
                 AND m.sender_id <> rm.account_id AND m.deleted_at IS NULL \
                 AND (rm.visible_from IS NULL OR m.created_at >= rm.visible_from)"
            )
        }

        /// Lower bound for `created_at` when everything is visible.
        fn visible_bound(visible_from: Option<DateTime<Utc>>) -> i64 {
            visible_from.map(micros).unwrap_or(i64::MIN)
        }

        #[async_trait]
        impl RoomStore for $store {
            async fn ensure_room(&self, room: &Room) -> StoreResult<Room> {
                sqlx::query(
                    "INSERT INTO rooms (id, kind, room_key, couple_id, created_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (room_key) DO NOTHING",
                )
                .bind(room.id.as_uuid())
                .bind(room.kind.as_str())
                .bind(&room.key)
                .bind(room.couple_id.map(|c| c.as_uuid()))
                .bind(micros(room.created_at))
                .execute(&self.pool)
                .await
                .map_err(insert_err("rooms_id"))?;
                self.room_by_key(&room.key).await?.ok_or(StoreError::NotFound)
            }

            async fn room(&self, id: RoomId) -> StoreResult<Room> {
                let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms r WHERE r.id = $1");
                let row = sqlx::query(&sql).bind(id.as_uuid()).fetch_one(&self.pool).await.map_err(db_err)?;
                room_from_row(&row)
            }

            async fn room_by_key(&self, key: &str) -> StoreResult<Option<Room>> {
                let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms r WHERE r.room_key = $1");
                let row = sqlx::query(&sql).bind(key).fetch_optional(&self.pool).await.map_err(db_err)?;
                row.as_ref().map(room_from_row).transpose()
            }

            async fn repurpose_room(
                &self,
                id: RoomId,
                kind: rapport_domain::room::RoomKind,
                key: &str,
                couple_id: Option<CoupleId>,
            ) -> StoreResult<()> {
                let done = sqlx::query("UPDATE rooms SET kind = $1, room_key = $2, couple_id = $3 WHERE id = $4")
                    .bind(kind.as_str())
                    .bind(key)
                    .bind(couple_id.map(|c| c.as_uuid()))
                    .bind(id.as_uuid())
                    .execute(&self.pool)
                    .await
                    .map_err(insert_err("rooms_key"))?;
                changed_one(done.rows_affected())
            }

            async fn add_room_member(
                &self,
                room: RoomId,
                account: AccountId,
                at: DateTime<Utc>,
                visible_from: Option<DateTime<Utc>>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(
                    "INSERT INTO room_members (room_id, account_id, joined_at, visible_from) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (room_id, account_id) WHERE left_at IS NULL DO NOTHING",
                )
                .bind(room.as_uuid())
                .bind(account.as_uuid())
                .bind(micros(at))
                .bind(visible_from.map(micros))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() == 1)
            }

            async fn remove_room_member(&self, room: RoomId, account: AccountId, at: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE room_members SET left_at = $1 WHERE room_id = $2 AND account_id = $3 AND left_at IS NULL",
                )
                .bind(micros(at))
                .bind(room.as_uuid())
                .bind(account.as_uuid())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn room_members(&self, room: RoomId) -> StoreResult<Vec<RoomMember>> {
                let sql = format!(
                    "SELECT {MEMBER_COLUMNS} FROM room_members WHERE room_id = $1 AND left_at IS NULL \
                     ORDER BY joined_at, account_id"
                );
                let rows = sqlx::query(&sql).bind(room.as_uuid()).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(member_from_row).collect()
            }

            async fn membership(&self, room: RoomId, account: AccountId) -> StoreResult<Option<RoomMember>> {
                let sql = format!(
                    "SELECT {MEMBER_COLUMNS} FROM room_members WHERE room_id = $1 AND account_id = $2 \
                     AND left_at IS NULL"
                );
                let row = sqlx::query(&sql)
                    .bind(room.as_uuid())
                    .bind(account.as_uuid())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                row.as_ref().map(member_from_row).transpose()
            }

            async fn rooms_of(&self, account: AccountId) -> StoreResult<Vec<Room>> {
                let sql = format!(
                    "SELECT {ROOM_COLUMNS} FROM rooms r JOIN room_members rm ON rm.room_id = r.id \
                     WHERE rm.account_id = $1 AND rm.left_at IS NULL ORDER BY r.created_at, r.id"
                );
                let rows = sqlx::query(&sql).bind(account.as_uuid()).fetch_all(&self.pool).await.map_err(db_err)?;
                rows.iter().map(room_from_row).collect()
            }

            async fn members_of_rooms_of(&self, account: AccountId) -> StoreResult<Vec<RoomMember>> {
                let rows = sqlx::query(
                    "SELECT o.room_id, o.account_id, o.joined_at, o.left_at, o.visible_from, o.last_read \
                     FROM room_members rm JOIN room_members o ON o.room_id = rm.room_id AND o.left_at IS NULL \
                     WHERE rm.account_id = $1 AND rm.left_at IS NULL ORDER BY o.room_id, o.joined_at, o.account_id",
                )
                .bind(account.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter().map(member_from_row).collect()
            }

            async fn latest_messages(
                &self,
                account: AccountId,
            ) -> StoreResult<std::collections::HashMap<RoomId, StoredMessage>> {
                // One indexed look-up per room (`messages_by_room` holds `created_at`), from the
                // account's memberships: the newest message they may see there.
                let sql = format!(
                    "{MESSAGE_SELECT} JOIN room_members rm ON rm.room_id = m.room_id \
                     WHERE rm.account_id = $1 AND rm.left_at IS NULL AND m.id = (SELECT l.id FROM messages l \
                     WHERE l.room_id = rm.room_id AND l.created_at >= COALESCE(rm.visible_from, $2) \
                     ORDER BY l.id DESC LIMIT 1)"
                );
                let rows = sqlx::query(&sql)
                    .bind(account.as_uuid())
                    .bind(visible_bound(None))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(|row| message_from_row(row).map(|m| (m.room_id, m))).collect()
            }

            async fn commit_room_writes(&self, writes: &[RoomWrite]) -> StoreResult<Vec<i64>> {
                if writes.is_empty() {
                    return Ok(Vec::new());
                }
                let mut messages = Vec::new();
                let mut attachments: Vec<AttachmentRow<'_>> = Vec::new();
                for new in writes.iter().filter_map(|w| w.message.as_ref()) {
                    let m = &new.message;
                    messages.push(m);
                    match (&m.attachment, &new.attachment_bytes) {
                        (Some(meta), Some(bytes)) => {
                            let size = i64::try_from(meta.size).map_err(|_| corrupt("attachment size"))?;
                            attachments.push((m.id, meta, size, bytes));
                        }
                        (None, None) => {}
                        _ => return Err(corrupt("an attachment needs both its description and its bytes")),
                    }
                }
                let audits: Vec<&AuditEvent> = writes.iter().filter_map(|w| w.audit.as_ref()).collect();

                if $store::BACKEND == "sqlite" {
                    return commit_in_one_round_trip(self.group_commit_pool(), &messages, &attachments, &audits, writes).await;
                }
                let mut tx = self.group_commit_pool().begin().await.map_err(db_err)?;
                insert_many(&mut tx, INSERT_MESSAGES, 9, &messages, bind_message, "messages_id").await?;
                insert_many(&mut tx, INSERT_ATTACHMENTS, 7, &attachments, bind_attachment, "message_attachments_id")
                    .await?;
                insert_many(&mut tx, INSERT_AUDITS, 8, &audits, bind_audit, "audit_events_id").await?;
                // The event ids last: the counter's lock is then held only for the events and
                // the commit, so instances sharing PostgreSQL insert their messages side by side.
                let first = take_event_ids(&mut tx, writes.len()).await?;
                let events: Vec<(i64, &NewRoomEvent)> =
                    writes.iter().zip(first..).map(|(w, id)| (id, &w.event)).collect();
                insert_many(&mut tx, INSERT_EVENTS, 7, &events, bind_event, "room_events_id").await?;
                tx.commit().await.map_err(db_err)?;
                Ok(events.iter().map(|(id, _)| *id).collect())
            }

            fn room_writes_need_sync(&self) -> bool {
                self.commits_need_sync()
            }

            async fn sync_room_writes(&self) -> StoreResult<()> {
                self.sync_commits().await
            }

            async fn message(&self, id: MessageId) -> StoreResult<StoredMessage> {
                let sql = format!("{MESSAGE_SELECT} WHERE m.id = $1");
                let row = sqlx::query(&sql).bind(id.as_uuid()).fetch_one(&self.pool).await.map_err(db_err)?;
                message_from_row(&row)
            }

            async fn messages_page(
                &self,
                room: RoomId,
                visible_from: Option<DateTime<Utc>>,
                after: Option<MessageId>,
                limit: u32,
            ) -> StoreResult<Vec<StoredMessage>> {
                let rows = match after {
                    Some(after) => {
                        let sql = format!(
                            "{MESSAGE_SELECT} WHERE m.room_id = $1 AND m.created_at >= $2 AND m.id > $3 \
                             ORDER BY m.id LIMIT $4"
                        );
                        sqlx::query(&sql)
                            .bind(room.as_uuid())
                            .bind(visible_bound(visible_from))
                            .bind(after.as_uuid())
                            .bind(i64::from(limit))
                            .fetch_all(&self.pool)
                            .await
                    }
                    None => {
                        let sql = format!(
                            "{MESSAGE_SELECT} WHERE m.room_id = $1 AND m.created_at >= $2 ORDER BY m.id DESC LIMIT $3"
                        );
                        sqlx::query(&sql)
                            .bind(room.as_uuid())
                            .bind(visible_bound(visible_from))
                            .bind(i64::from(limit))
                            .fetch_all(&self.pool)
                            .await
                    }
                }
                .map_err(db_err)?;
                let mut page = rows.iter().map(message_from_row).collect::<StoreResult<Vec<_>>>()?;
                if after.is_none() {
                    page.reverse();
                }
                Ok(page)
            }

            async fn messages_before(
                &self,
                room: RoomId,
                visible_from: Option<DateTime<Utc>>,
                before: MessageId,
                limit: u32,
            ) -> StoreResult<Vec<StoredMessage>> {
                let sql = format!(
                    "{MESSAGE_SELECT} WHERE m.room_id = $1 AND m.created_at >= $2 AND m.id < $3 \
                     ORDER BY m.id DESC LIMIT $4"
                );
                let rows = sqlx::query(&sql)
                    .bind(room.as_uuid())
                    .bind(visible_bound(visible_from))
                    .bind(before.as_uuid())
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                let mut page = rows.iter().map(message_from_row).collect::<StoreResult<Vec<_>>>()?;
                page.reverse();
                Ok(page)
            }

            async fn attachment_bytes(&self, message: MessageId) -> StoreResult<Sealed> {
                let row = sqlx::query("SELECT key_id, bytes FROM message_attachments WHERE message_id = $1")
                    .bind(message.as_uuid())
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(Sealed {
                    key_id: row.try_get("key_id").map_err(column_err)?,
                    bytes: row.try_get("bytes").map_err(column_err)?,
                })
            }

            async fn correct_message(
                &self,
                id: MessageId,
                expected_version: i32,
                body: &Sealed,
                at: DateTime<Utc>,
                event: &NewRoomEvent,
                audit: &AuditEvent,
            ) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                // First, so SQLite takes its write lock before reading anything.
                let event_id = take_event_ids(&mut tx, 1).await?;
                let kept = sqlx::query(
                    "INSERT INTO message_versions (message_id, version, key_id, body, replaced_at) \
                     SELECT id, version, body_key_id, body, $1 FROM messages \
                     WHERE id = $2 AND version = $3 AND deleted_at IS NULL",
                )
                .bind(micros(at))
                .bind(id.as_uuid())
                .bind(expected_version)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                changed_one(kept.rows_affected())?;
                sqlx::query(
                    "UPDATE messages SET body_key_id = $1, body = $2, version = version + 1, edited_at = $3 \
                     WHERE id = $4",
                )
                .bind(body.key_id.as_str())
                .bind(body.bytes.as_slice())
                .bind(micros(at))
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                insert_events_and_audits(&mut tx, &[(event_id, event)], &[audit]).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(event_id)
            }

            async fn delete_message(
                &self,
                id: MessageId,
                at: DateTime<Utc>,
                empty_body: &Sealed,
                event: &NewRoomEvent,
                audit: &AuditEvent,
            ) -> StoreResult<i64> {
                let mut tx = self.pool.begin().await.map_err(db_err)?;
                let event_id = take_event_ids(&mut tx, 1).await?;
                // The last text is kept with the earlier versions, for the record.
                let kept = sqlx::query(
                    "INSERT INTO message_versions (message_id, version, key_id, body, replaced_at) \
                     SELECT id, version, body_key_id, body, $1 FROM messages WHERE id = $2 AND deleted_at IS NULL",
                )
                .bind(micros(at))
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                changed_one(kept.rows_affected())?;
                sqlx::query("UPDATE messages SET body_key_id = $1, body = $2, deleted_at = $3 WHERE id = $4")
                    .bind(empty_body.key_id.as_str())
                    .bind(empty_body.bytes.as_slice())
                    .bind(micros(at))
                    .bind(id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                sqlx::query("DELETE FROM message_attachments WHERE message_id = $1")
                    .bind(id.as_uuid())
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                insert_events_and_audits(&mut tx, &[(event_id, event)], &[audit]).await?;
                tx.commit().await.map_err(db_err)?;
                Ok(event_id)
            }

            async fn message_versions(&self, id: MessageId) -> StoreResult<Vec<MessageVersion>> {
                let rows = sqlx::query(
                    "SELECT message_id, version, key_id, body, replaced_at FROM message_versions \
                     WHERE message_id = $1 ORDER BY version",
                )
                .bind(id.as_uuid())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        Ok(MessageVersion {
                            message_id: MessageId::from_uuid(row.try_get::<Uuid, _>("message_id").map_err(column_err)?),
                            version: row.try_get("version").map_err(column_err)?,
                            body: Sealed {
                                key_id: row.try_get("key_id").map_err(column_err)?,
                                bytes: row.try_get("body").map_err(column_err)?,
                            },
                            replaced_at: time(row.try_get("replaced_at").map_err(column_err)?)?,
                        })
                    })
                    .collect()
            }

            async fn mark_read(&self, room: RoomId, account: AccountId, message: MessageId) -> StoreResult<bool> {
                let done = sqlx::query(
                    "UPDATE room_members SET last_read = $3 WHERE room_id = $1 AND account_id = $2 \
                     AND left_at IS NULL AND (last_read IS NULL OR last_read < $3) \
                     AND EXISTS (SELECT 1 FROM messages m WHERE m.id = $3 AND m.room_id = $1)",
                )
                .bind(room.as_uuid())
                .bind(account.as_uuid())
                .bind(message.as_uuid())
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(done.rows_affected() > 0)
            }

            async fn unread_counts(&self, account: AccountId) -> StoreResult<std::collections::HashMap<RoomId, u32>> {
                let sql = format!(
                    "SELECT rm.room_id, COUNT(m.id) AS unread FROM room_members rm \
                     LEFT JOIN messages m ON {} \
                     WHERE rm.account_id = $1 AND rm.left_at IS NULL GROUP BY rm.room_id",
                    unread_for_member("$2")
                );
                let rows = sqlx::query(&sql)
                    .bind(account.as_uuid())
                    .bind(Uuid::nil())
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        let room = RoomId::from_uuid(row.try_get::<Uuid, _>("room_id").map_err(column_err)?);
                        let n: i64 = row.try_get("unread").map_err(column_err)?;
                        Ok((room, u32::try_from(n).unwrap_or(u32::MAX)))
                    })
                    .collect()
            }

            async fn first_unread(&self, room: RoomId, account: AccountId) -> StoreResult<Option<MessageId>> {
                let sql = format!(
                    "SELECT m.id FROM room_members rm JOIN messages m ON {} \
                     WHERE rm.room_id = $1 AND rm.account_id = $2 AND rm.left_at IS NULL ORDER BY m.id LIMIT 1",
                    unread_for_member("$3")
                );
                let id: Option<Uuid> = sqlx::query_scalar(&sql)
                    .bind(room.as_uuid())
                    .bind(account.as_uuid())
                    .bind(Uuid::nil())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(id.map(MessageId::from_uuid))
            }

            async fn star_message(&self, account: AccountId, message: MessageId, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO message_stars (account_id, message_id, starred_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (account_id, message_id) DO NOTHING",
                )
                .bind(account.as_uuid())
                .bind(message.as_uuid())
                .bind(micros(at))
                .execute(&self.pool)
                .await
                .map_err(db_err)?;
                Ok(())
            }

            async fn unstar_message(&self, account: AccountId, message: MessageId) -> StoreResult<()> {
                sqlx::query("DELETE FROM message_stars WHERE account_id = $1 AND message_id = $2")
                    .bind(account.as_uuid())
                    .bind(message.as_uuid())
                    .execute(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(())
            }

            async fn starred_among(&self, account: AccountId, messages: &[MessageId]) -> StoreResult<Vec<MessageId>> {
                let mut starred = std::collections::HashSet::new();
                for chunk in messages.chunks(MAX_BIND_PARAMS - 1) {
                    let mut sql = "SELECT message_id FROM message_stars WHERE account_id = ".to_owned();
                    push_params(&mut sql, 1, 1);
                    sql.push_str(" AND message_id IN (");
                    push_params(&mut sql, 2, chunk.len());
                    sql.push(')');
                    let mut query = sqlx::query_scalar::<RoomDb, Uuid>(&sql).bind(account.as_uuid());
                    for m in chunk {
                        query = query.bind(m.as_uuid());
                    }
                    starred.extend(query.fetch_all(&self.pool).await.map_err(db_err)?);
                }
                Ok(messages.iter().copied().filter(|m| starred.contains(&m.as_uuid())).collect())
            }

            async fn events_after(&self, account: AccountId, after: i64, limit: u32) -> StoreResult<Vec<RoomEvent>> {
                let sql = format!(
                    "SELECT {EVENT_COLUMNS} FROM room_events e JOIN room_members rm ON rm.room_id = e.room_id \
                     WHERE rm.account_id = $1 AND rm.left_at IS NULL AND e.id > $2 ORDER BY e.id LIMIT $3"
                );
                let rows = sqlx::query(&sql)
                    .bind(account.as_uuid())
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(db_err)?;
                rows.iter().map(event_from_row).collect()
            }

            async fn latest_event_id(&self) -> StoreResult<i64> {
                let last: Option<i64> = sqlx::query_scalar("SELECT last_id FROM room_event_counter WHERE id = 1")
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db_err)?;
                Ok(last.unwrap_or(0))
            }

            async fn awaiting_reply(
                &self,
                therapist: AccountId,
            ) -> StoreResult<std::collections::HashMap<RoomId, DateTime<Utc>>> {
                // The nil UUID sorts before every message: "the therapist never wrote here".
                let rows = sqlx::query(
                    "SELECT rm.room_id, MIN(m.created_at) AS waiting_since FROM room_members rm \
                     JOIN messages m ON m.room_id = rm.room_id AND m.sender_id <> rm.account_id \
                     AND m.deleted_at IS NULL AND m.id > COALESCE((SELECT t.id FROM messages t \
                     WHERE t.room_id = rm.room_id AND t.sender_id = rm.account_id ORDER BY t.id DESC LIMIT 1), $2) \
                     WHERE rm.account_id = $1 AND rm.left_at IS NULL GROUP BY rm.room_id",
                )
                .bind(therapist.as_uuid())
                .bind(Uuid::nil())
                .fetch_all(&self.pool)
                .await
                .map_err(db_err)?;
                rows.iter()
                    .map(|row| {
                        let room = RoomId::from_uuid(row.try_get::<Uuid, _>("room_id").map_err(column_err)?);
                        Ok((room, time(row.try_get("waiting_since").map_err(column_err)?)?))
                    })
                    .collect()
            }
        }
    };
}
