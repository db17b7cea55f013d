-- The client portal's link of each contract: one at a time, stored as the
-- SHA-256 (hex) of its token. The token itself is shown once, by
-- `retainer portal link`, and is never stored; rotating replaces the row.
CREATE TABLE portal_tokens (
    contract_id TEXT   PRIMARY KEY,
    token_hash  TEXT   NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);
