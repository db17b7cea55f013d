-- Dashboard login sessions. The cookie holds a random id; only its SHA-256
-- (hex) is kept here, so a copy of the database does not log anyone in.
-- csrf is the token every form of the session must echo back.
CREATE TABLE sessions (
    id_hash    TEXT   PRIMARY KEY,
    csrf       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
