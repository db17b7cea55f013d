-- The client's decisions taken on the portal (SPEC §12): approve up to
-- seconds of overage this month (kind 'overage'), ask for a retainer of
-- seconds a month (kind 'change', with a message), pause non-urgent work
-- (kind 'pause', message optional). day is the day it was recorded in the
-- agency timezone (days since 1970-01-01, as entries.day), recorded_at its
-- Unix time. nonce is the form's own, used once: a replayed form finds it
-- taken and records nothing.
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY,
    contract_id TEXT    NOT NULL,
    period      INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    seconds     BIGINT  NOT NULL DEFAULT 0,
    message     TEXT    NOT NULL DEFAULT '',
    day         INTEGER NOT NULL,
    recorded_at BIGINT  NOT NULL,
    nonce       TEXT    NOT NULL UNIQUE
);
-- A contract's decisions of a period (portal, statement, alerts), and every
-- contract's of a period (dashboard), in the order they were taken.
CREATE INDEX decisions_period ON decisions (period, contract_id, id);

-- Keys made once per database, which every replica reads: 'portal' signs
-- the portal's form tokens and the check-in emails' links. value is hex.
CREATE TABLE secrets (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
