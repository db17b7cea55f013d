-- Time entries as imported or logged. day is days since 1970-01-01 in the
-- agency timezone's calendar.
CREATE TABLE entries (
    id              INTEGER PRIMARY KEY,
    source          TEXT    NOT NULL,
    external_id     TEXT,
    day             INTEGER NOT NULL,
    seconds         BIGINT  NOT NULL,
    billable        INTEGER NOT NULL,
    client          TEXT    NOT NULL,
    project         TEXT    NOT NULL DEFAULT '',
    project_code    TEXT    NOT NULL DEFAULT '',
    task            TEXT    NOT NULL DEFAULT '',
    notes           TEXT    NOT NULL DEFAULT '',
    user_name       TEXT    NOT NULL DEFAULT '',
    pinned_contract TEXT    NOT NULL DEFAULT '',
    contract_id     TEXT    NOT NULL DEFAULT '',
    counted         BIGINT  NOT NULL,
    fingerprint     BIGINT  NOT NULL DEFAULT 0,
    import_batch    INTEGER,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX entries_source_external ON entries (source, external_id) WHERE external_id IS NOT NULL;
-- Re-imports of ID-less exports replace a source's rows per client and date range.
CREATE INDEX entries_day ON entries (day);

-- One row per import run: the batch its entries carry.
CREATE TABLE imports (
    id          INTEGER PRIMARY KEY,
    source      TEXT    NOT NULL,
    started_at  BIGINT  NOT NULL,
    finished_at BIGINT
);

-- Where each tracker API sync got to (an opaque cursor, e.g. updated_since).
CREATE TABLE sync_cursors (
    source     TEXT   PRIMARY KEY,
    cursor     TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Counted seconds per (contract, period): what status reads instead of the
-- entries. contract_id '' holds the unmatched entries.
CREATE TABLE usage (
    contract_id TEXT    NOT NULL,
    period      INTEGER NOT NULL,
    counted     BIGINT  NOT NULL,
    seconds     BIGINT  NOT NULL,
    entries     BIGINT  NOT NULL,
    PRIMARY KEY (contract_id, period)
);
CREATE INDEX usage_period ON usage (period, contract_id, counted, entries);

-- Counted seconds per (contract, day), for the weekly burndown.
CREATE TABLE usage_daily (
    contract_id TEXT    NOT NULL,
    day         INTEGER NOT NULL,
    counted     BIGINT  NOT NULL,
    entries     BIGINT  NOT NULL,
    PRIMARY KEY (contract_id, day)
);

-- Fingerprints of the contract rules the entries were matched and counted
-- with; a change re-matches or re-counts. contract_id '' is the matcher.
CREATE TABLE rules (
    contract_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL
);

-- Closed periods. Periods close in order, for every contract at once.
CREATE TABLE periods (
    period    INTEGER PRIMARY KEY,
    closed_at BIGINT  NOT NULL
);

-- The frozen burn tracker row of each contract listed in a closed period.
CREATE TABLE closes (
    contract_id     TEXT    NOT NULL,
    period          INTEGER NOT NULL,
    unit            TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    contracted      BIGINT  NOT NULL,
    banked          BIGINT  NOT NULL,
    available       BIGINT  NOT NULL,
    used            BIGINT  NOT NULL,
    late_adjustment BIGINT  NOT NULL,
    remaining       BIGINT  NOT NULL,
    overage         BIGINT  NOT NULL,
    overage_rate    BIGINT  NOT NULL,
    overage_fee     BIGINT  NOT NULL,
    retainer_fee    BIGINT  NOT NULL,
    total_invoiced  BIGINT  NOT NULL,
    earned          BIGINT  NOT NULL,
    forfeited       BIGINT  NOT NULL,
    expired         BIGINT  NOT NULL,
    rollover_out    BIGINT  NOT NULL,
    burndown        TEXT    NOT NULL,
    PRIMARY KEY (contract_id, period)
);

-- Rollover lots banked into (direction 'in') and carried out of ('out') each
-- closed period.
CREATE TABLE lots (
    contract_id TEXT    NOT NULL,
    period      INTEGER NOT NULL,
    direction   TEXT    NOT NULL,
    earned      INTEGER NOT NULL,
    seconds     BIGINT  NOT NULL,
    PRIMARY KEY (contract_id, period, direction, earned)
);

-- Changes to entries dated in closed periods, counted in the first open
-- period (absorbed_in, once that period closes).
CREATE TABLE adjustments (
    id           INTEGER PRIMARY KEY,
    contract_id  TEXT    NOT NULL,
    entry_period INTEGER NOT NULL,
    seconds      BIGINT  NOT NULL,
    recorded_at  BIGINT  NOT NULL,
    absorbed_in  INTEGER
);
CREATE INDEX adjustments_pending ON adjustments (contract_id, absorbed_in);

-- One statement (and invoice) per contract and closed period.
CREATE TABLE statements (
    invoice_number TEXT    PRIMARY KEY,
    contract_id    TEXT    NOT NULL,
    period         INTEGER NOT NULL,
    currency       TEXT    NOT NULL,
    total          BIGINT  NOT NULL,
    issued_on      INTEGER NOT NULL,
    due_on         INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    sent_at        BIGINT,
    paid_on        INTEGER,
    created_at     BIGINT  NOT NULL,
    UNIQUE (contract_id, period)
);

-- Free text attached to (contract, period).
CREATE TABLE notes (
    contract_id TEXT    NOT NULL,
    period      INTEGER NOT NULL,
    text        TEXT    NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (contract_id, period)
);

-- Every email and Slack message, written in the same transaction as the
-- change that caused it; at most one per (key, channel). Its content is
-- rendered when it is delivered, from the frozen state it refers to.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    key             TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    recipients      TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    transport       TEXT    NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    next_attempt_at BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    sent_at         BIGINT,
    UNIQUE (key, channel)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
