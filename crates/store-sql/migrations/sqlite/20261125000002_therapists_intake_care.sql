-- Therapist applications and licences, verification decisions, intakes, care teams.
-- Lists are comma-separated identifiers; dates are YYYY-MM-DD; flags are 0/1.

CREATE TABLE therapist_profiles (
    account_id            BLOB PRIMARY KEY NOT NULL REFERENCES accounts (id),
    status                TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    professional_name     TEXT NOT NULL,
    pronouns              TEXT,
    gender                TEXT,
    bio                   TEXT NOT NULL,
    specialties           TEXT NOT NULL,
    approaches            TEXT NOT NULL,
    languages             TEXT NOT NULL,
    modalities            TEXT NOT NULL,
    works_with_couples    INTEGER NOT NULL,
    time_zone             TEXT NOT NULL,
    weekly_availability   TEXT NOT NULL,
    capacity              INTEGER NOT NULL,
    accepting_new_clients INTEGER NOT NULL,
    photo_type            TEXT,
    photo                 BLOB,
    submitted_at          INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
);
CREATE INDEX therapist_profiles_by_status ON therapist_profiles (status, submitted_at);

CREATE TABLE therapist_licenses (
    id                BLOB PRIMARY KEY NOT NULL,
    therapist_id      BLOB NOT NULL REFERENCES therapist_profiles (account_id),
    position          INTEGER NOT NULL,
    license_type      TEXT NOT NULL,
    number            TEXT NOT NULL,
    jurisdiction      TEXT NOT NULL,
    expires_on        TEXT NOT NULL,
    verified          INTEGER NOT NULL,
    expiry_warned_at  INTEGER,
    expiry_handled_at INTEGER
);
CREATE INDEX therapist_licenses_by_therapist ON therapist_licenses (therapist_id, position);

CREATE TABLE verification_decisions (
    id           BLOB PRIMARY KEY NOT NULL,
    therapist_id BLOB NOT NULL REFERENCES accounts (id),
    admin_id     BLOB NOT NULL REFERENCES accounts (id),
    decided_at   INTEGER NOT NULL,
    approved     INTEGER NOT NULL,
    checked      TEXT NOT NULL,
    notes        TEXT NOT NULL
);
CREATE INDEX verification_decisions_by_therapist ON verification_decisions (therapist_id, decided_at);

CREATE TABLE intakes (
    account_id       BLOB PRIMARY KEY NOT NULL REFERENCES accounts (id),
    kind             TEXT NOT NULL CHECK (kind IN ('individual', 'couple')),
    couple_id        BLOB,
    consented_at     INTEGER NOT NULL,
    consent_version  TEXT NOT NULL,
    jurisdiction     TEXT NOT NULL,
    languages        TEXT NOT NULL,
    modalities       TEXT NOT NULL,
    approaches       TEXT NOT NULL,
    therapist_gender TEXT,
    time_zone        TEXT NOT NULL,
    time_windows     TEXT NOT NULL,
    sensitive_key    TEXT NOT NULL,
    sensitive        BLOB NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);

CREATE TABLE care_teams (
    id           BLOB PRIMARY KEY NOT NULL,
    client_id    BLOB NOT NULL REFERENCES accounts (id),
    couple_id    BLOB,
    therapist_id BLOB NOT NULL REFERENCES accounts (id),
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    end_reason   TEXT,
    sees_history INTEGER NOT NULL
);
CREATE UNIQUE INDEX care_teams_one_active ON care_teams (client_id) WHERE ended_at IS NULL;
CREATE INDEX care_teams_by_therapist ON care_teams (therapist_id, ended_at);
