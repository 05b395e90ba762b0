-- In-app notices: short messages to one person (no health data in them).

CREATE TABLE notices (
    id         BLOB PRIMARY KEY NOT NULL,
    account_id BLOB NOT NULL REFERENCES accounts (id),
    kind       TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
);
CREATE INDEX notices_by_account ON notices (account_id, read_at, created_at);
