-- usage_daily keyed by its primary key alone (WITHOUT ROWID): one b-tree
-- instead of a table and its key's index, so an import that adds a row per
-- (contract, day) writes it once. PostgreSQL has no rowid to drop.
CREATE TABLE usage_daily_keyed (
    contract_id TEXT    NOT NULL,
    day         INTEGER NOT NULL,
    counted     BIGINT  NOT NULL,
    entries     BIGINT  NOT NULL,
    PRIMARY KEY (contract_id, day)
) WITHOUT ROWID;
INSERT INTO usage_daily_keyed (contract_id, day, counted, entries) SELECT contract_id, day, counted, entries FROM usage_daily;
DROP TABLE usage_daily;
ALTER TABLE usage_daily_keyed RENAME TO usage_daily;
