-- Accounts, sessions, audit log, sign-in throttle, couples.
-- Times are microseconds since the Unix epoch (UTC) in both databases.

CREATE TABLE accounts (
    id            UUID PRIMARY KEY,
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('client', 'therapist', 'admin')),
    time_zone     TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    CONSTRAINT accounts_email UNIQUE (email)
);

CREATE TABLE sessions (
    id           UUID PRIMARY KEY,
    account_id   UUID NOT NULL REFERENCES accounts (id),
    token_hash   BYTEA NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('browser', 'api')),
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT,
    user_agent   TEXT,
    revoked_at   BIGINT,
    CONSTRAINT sessions_token_hash UNIQUE (token_hash)
);
CREATE INDEX sessions_by_account ON sessions (account_id, created_at);

CREATE TABLE audit_events (
    id          UUID PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor_id    UUID,
    action      TEXT NOT NULL,
    subject_id  UUID,
    record_kind TEXT NOT NULL,
    record_id   TEXT,
    ip          TEXT
);
CREATE INDEX audit_events_by_subject ON audit_events (subject_id, id);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

CREATE TABLE sign_in_failures (
    throttle_key TEXT NOT NULL,
    at           BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_by_key ON sign_in_failures (throttle_key, at);
CREATE INDEX sign_in_failures_by_time ON sign_in_failures (at);

CREATE TABLE couples (
    id        UUID PRIMARY KEY,
    linked_at BIGINT NOT NULL
);

CREATE TABLE couple_members (
    couple_id  UUID NOT NULL REFERENCES couples (id),
    account_id UUID NOT NULL REFERENCES accounts (id),
    position   INTEGER NOT NULL CHECK (position IN (0, 1)),
    joined_at  BIGINT NOT NULL,
    left_at    BIGINT,
    PRIMARY KEY (couple_id, account_id)
);
CREATE UNIQUE INDEX couples_partner ON couple_members (account_id) WHERE left_at IS NULL;
