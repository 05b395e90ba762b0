-- Partner invitations and confidentiality consents; message rooms, members,
-- messages (with earlier versions, tombstones and attachments), stars, the
-- durable room event log; background jobs and notification preferences.

CREATE TABLE couple_invitations (
    id              UUID PRIMARY KEY,
    inviter_id      UUID NOT NULL REFERENCES accounts (id),
    email           TEXT NOT NULL,
    token_hash      BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    accepted_at     BIGINT,
    accepted_by     UUID REFERENCES accounts (id),
    revoked_at      BIGINT,
    proposed_policy TEXT CHECK (proposed_policy IN ('no_secrets', 'limited_secrets')),
    CONSTRAINT couple_invitations_token_hash UNIQUE (token_hash)
);
CREATE INDEX couple_invitations_by_inviter ON couple_invitations (inviter_id, created_at);

-- Every consent is kept; `seq` orders consents given in the same microsecond.
CREATE TABLE couple_policy_consents (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    couple_id  UUID NOT NULL REFERENCES couples (id),
    account_id UUID NOT NULL REFERENCES accounts (id),
    policy     TEXT NOT NULL CHECK (policy IN ('no_secrets', 'limited_secrets')),
    at         BIGINT NOT NULL
);
CREATE INDEX couple_policy_consents_by_couple ON couple_policy_consents (couple_id, at);

CREATE TABLE rooms (
    id         UUID PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('individual', 'couple', 'private_channel')),
    room_key   TEXT NOT NULL,
    couple_id  UUID REFERENCES couples (id),
    created_at BIGINT NOT NULL,
    CONSTRAINT rooms_key UNIQUE (room_key)
);

-- One row per stay in a room: leaving ends the row, rejoining starts a new one.
CREATE TABLE room_members (
    room_id      UUID NOT NULL REFERENCES rooms (id),
    account_id   UUID NOT NULL REFERENCES accounts (id),
    joined_at    BIGINT NOT NULL,
    left_at      BIGINT,
    visible_from BIGINT,
    last_read    UUID
);
CREATE UNIQUE INDEX room_members_current ON room_members (room_id, account_id) WHERE left_at IS NULL;
CREATE INDEX room_members_by_account ON room_members (account_id) WHERE left_at IS NULL;

-- Ids are UUIDv7, so (room_id, id) pages a room in time order.
CREATE TABLE messages (
    id          UUID PRIMARY KEY,
    room_id     UUID NOT NULL REFERENCES rooms (id),
    sender_id   UUID NOT NULL REFERENCES accounts (id),
    created_at  BIGINT NOT NULL,
    body_key_id TEXT NOT NULL,
    body        BYTEA NOT NULL,
    version     INTEGER NOT NULL CHECK (version >= 1),
    edited_at   BIGINT,
    deleted_at  BIGINT
);
CREATE INDEX messages_by_room ON messages (room_id, id);

CREATE TABLE message_attachments (
    message_id   UUID PRIMARY KEY REFERENCES messages (id),
    kind         TEXT NOT NULL CHECK (kind IN ('audio', 'video', 'image', 'pdf')),
    content_type TEXT NOT NULL,
    file_name    TEXT NOT NULL,
    size         BIGINT NOT NULL CHECK (size >= 0),
    key_id       TEXT NOT NULL,
    bytes        BYTEA NOT NULL
);

CREATE TABLE message_versions (
    message_id  UUID NOT NULL REFERENCES messages (id),
    version     INTEGER NOT NULL,
    key_id      TEXT NOT NULL,
    body        BYTEA NOT NULL,
    replaced_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, version)
);

CREATE TABLE message_stars (
    account_id UUID NOT NULL REFERENCES accounts (id),
    message_id UUID NOT NULL REFERENCES messages (id),
    starred_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, message_id)
);

-- Event ids come from this one row, locked first in every transaction that
-- appends events: it serialises those transactions, so ids increase in commit
-- order, across every instance sharing the database.
CREATE TABLE room_event_counter (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    last_id BIGINT NOT NULL
);
INSERT INTO room_event_counter (id, last_id) VALUES (1, 0);

CREATE TABLE room_events (
    id         BIGINT PRIMARY KEY,
    room_id    UUID NOT NULL REFERENCES rooms (id),
    kind       TEXT NOT NULL,
    actor_id   UUID NOT NULL,
    message_id UUID,
    payload    TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX room_events_by_room ON room_events (room_id, id);

CREATE TABLE jobs (
    id           UUID PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    run_at       BIGINT NOT NULL,
    attempts     INTEGER NOT NULL CHECK (attempts >= 0),
    dedupe_key   TEXT,
    locked_until BIGINT,
    done_at      BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL
);
CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe_key) WHERE done_at IS NULL;
CREATE INDEX jobs_due ON jobs (run_at) WHERE done_at IS NULL;
CREATE INDEX jobs_pending_by_kind ON jobs (kind, created_at) WHERE done_at IS NULL;

CREATE TABLE notification_prefs (
    account_id         UUID PRIMARY KEY REFERENCES accounts (id),
    email_mode         TEXT NOT NULL CHECK (email_mode IN ('immediately', 'digest', 'off')),
    reply_working_days INTEGER NOT NULL CHECK (reply_working_days >= 0),
    updated_at         BIGINT NOT NULL
);
