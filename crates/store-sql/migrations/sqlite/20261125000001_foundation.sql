-- Accounts, sessions, audit log, sign-in throttle, couples.
-- Times are microseconds since the Unix epoch (UTC) in both databases.

CREATE TABLE accounts (
    id            BLOB PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('client', 'therapist', 'admin')),
    time_zone     TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    CONSTRAINT accounts_email UNIQUE (email)
);

CREATE TABLE sessions (
    id           BLOB PRIMARY KEY NOT NULL,
    account_id   BLOB NOT NULL REFERENCES accounts (id),
    token_hash   BLOB NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('browser', 'api')),
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    revoked_at   INTEGER,
    CONSTRAINT sessions_token_hash UNIQUE (token_hash)
);
CREATE INDEX sessions_by_account ON sessions (account_id, created_at);

CREATE TABLE audit_events (
    id          BLOB PRIMARY KEY NOT NULL,
    at          INTEGER NOT NULL,
    actor_id    BLOB,
    action      TEXT NOT NULL,
    subject_id  BLOB,
    record_kind TEXT NOT NULL,
    record_id   TEXT,
    ip          TEXT
);
CREATE INDEX audit_events_by_subject ON audit_events (subject_id, id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TABLE sign_in_failures (
    throttle_key TEXT NOT NULL,
    at           INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_by_key ON sign_in_failures (throttle_key, at);
CREATE INDEX sign_in_failures_by_time ON sign_in_failures (at);

CREATE TABLE couples (
    id        BLOB PRIMARY KEY NOT NULL,
    linked_at INTEGER NOT NULL
);

CREATE TABLE couple_members (
    couple_id  BLOB NOT NULL REFERENCES couples (id),
    account_id BLOB NOT NULL REFERENCES accounts (id),
    position   INTEGER NOT NULL CHECK (position IN (0, 1)),
    joined_at  INTEGER NOT NULL,
    left_at    INTEGER,
    PRIMARY KEY (couple_id, account_id)
);
CREATE UNIQUE INDEX couples_partner ON couple_members (account_id) WHERE left_at IS NULL;
