-- In-app notices: short messages to one person (no health data in them).

CREATE TABLE notices (
    id         UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts (id),
    kind       TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at    BIGINT
);
CREATE INDEX notices_by_account ON notices (account_id, read_at, created_at);
