-- Password reset links: single use, short-lived; only a hash of the token is stored.

CREATE TABLE password_resets (
    token_hash BYTEA PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX password_resets_by_account ON password_resets (account_id);
