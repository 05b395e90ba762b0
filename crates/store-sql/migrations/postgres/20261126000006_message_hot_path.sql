-- The group-commit hot path, after measuring it.
--
-- Messages and room events lose the foreign keys on their room and sender: in
-- PostgreSQL each is a trigger and a shared lock on the room's and the sender's
-- row for every row inserted (about 30% of the insert cost, measured), and
-- instances committing to the same rooms would contend on those locks.
-- Messages are only written by current members of an existing room, and rooms
-- and accounts are never deleted. (SQLite keeps them: there a check is a cheap
-- lookup in the same process, with one writer at a time.)
ALTER TABLE messages DROP CONSTRAINT messages_room_id_fkey;
ALTER TABLE messages DROP CONSTRAINT messages_sender_id_fkey;
ALTER TABLE room_events DROP CONSTRAINT room_events_room_id_fkey;

-- The room index also carries what unread counts and replies awaited filter
-- on, so they are answered from the index without reading message bodies.
DROP INDEX messages_by_room;
CREATE INDEX messages_by_room ON messages (room_id, id) INCLUDE (sender_id, created_at, deleted_at);
