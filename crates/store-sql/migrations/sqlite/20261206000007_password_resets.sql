-- Password reset links: single use, short-lived; only a hash of the token is stored.

CREATE TABLE password_resets (
    token_hash BLOB PRIMARY KEY NOT NULL,
    account_id BLOB NOT NULL REFERENCES accounts (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX password_resets_by_account ON password_resets (account_id);
