-- The group-commit hot path, after measuring it.
--
-- (PostgreSQL also drops the foreign keys on messages' and room events' room
-- and sender here; in SQLite a check is a cheap lookup in the same process, so
-- they stay.)

-- The room index also carries what unread counts and replies awaited filter
-- on, so they are answered from the index without reading message bodies.
DROP INDEX messages_by_room;
CREATE INDEX messages_by_room ON messages (room_id, id, sender_id, created_at, deleted_at);
