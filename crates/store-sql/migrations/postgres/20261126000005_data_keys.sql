-- Data keys for encryption at rest, wrapped by a master key (see docs/security.md).

CREATE TABLE data_keys (
    id            TEXT PRIMARY KEY NOT NULL,
    wrapped       BYTEA NOT NULL,
    master_key_id TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    retired_at    BIGINT
);
