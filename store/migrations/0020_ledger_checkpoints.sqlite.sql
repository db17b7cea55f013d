-- Where each contract's ledger stood at the start of an open period, kept
-- by status so that it computes from there instead of from the contract's
-- first open period (SPEC §4: before any close, that is its first month).
-- SQLite's form; 0020_ledger_checkpoints.postgres.sql is PostgreSQL's.
--
-- A row's ledger is "LOTS;TERMS": LOTS the lots carried into period
-- ("EARNED:SECONDS" separated by spaces, "" for none) or "-" when nothing
-- came before it (the contract's ledger starts there or later), TERMS the
-- contract's terms they were computed with (a row whose terms are not the
-- contract's is not used; store/checkpoint.go). It stands for the usage
-- of the contract's periods before period and for the state of the
-- closes: the triggers below delete it, in the transaction that changes
-- them, when usage of the contract in an earlier period is written or
-- deleted, when a late adjustment of the contract is recorded or absorbed
-- (also written as usage of its closed period, which deletes it already),
-- and when a period is closed or a close is undone. The rows are stored in
-- key order (WITHOUT ROWID): status reads them in that order, without a
-- lookup per row. A trigger's statements stay on one line: migrations are
-- split at lines that end with a semicolon.
CREATE TABLE ledger_checkpoints (
    contract_id TEXT    NOT NULL,
    period      INTEGER NOT NULL,
    ledger      TEXT    NOT NULL,
    PRIMARY KEY (contract_id, period)
) WITHOUT ROWID;
CREATE TRIGGER ledger_checkpoints_usage_insert AFTER INSERT ON usage
BEGIN DELETE FROM ledger_checkpoints WHERE contract_id = NEW.contract_id AND period > NEW.period; END;
CREATE TRIGGER ledger_checkpoints_usage_update AFTER UPDATE OF contract_id, period, counted, entries ON usage
WHEN OLD.contract_id IS NOT NEW.contract_id OR OLD.period IS NOT NEW.period OR OLD.counted IS NOT NEW.counted OR OLD.entries IS NOT NEW.entries
BEGIN DELETE FROM ledger_checkpoints WHERE contract_id = OLD.contract_id AND period > OLD.period; DELETE FROM ledger_checkpoints WHERE contract_id = NEW.contract_id AND period > NEW.period; END;
CREATE TRIGGER ledger_checkpoints_usage_delete AFTER DELETE ON usage
BEGIN DELETE FROM ledger_checkpoints WHERE contract_id = OLD.contract_id AND period > OLD.period; END;
CREATE TRIGGER ledger_checkpoints_adjustments_insert AFTER INSERT ON adjustments
BEGIN DELETE FROM ledger_checkpoints WHERE contract_id = NEW.contract_id; END;
CREATE TRIGGER ledger_checkpoints_adjustments_update AFTER UPDATE ON adjustments
BEGIN DELETE FROM ledger_checkpoints WHERE contract_id = OLD.contract_id; DELETE FROM ledger_checkpoints WHERE contract_id = NEW.contract_id; END;
CREATE TRIGGER ledger_checkpoints_adjustments_delete AFTER DELETE ON adjustments
BEGIN DELETE FROM ledger_checkpoints WHERE contract_id = OLD.contract_id; END;
CREATE TRIGGER ledger_checkpoints_periods_insert AFTER INSERT ON periods
BEGIN DELETE FROM ledger_checkpoints; END;
CREATE TRIGGER ledger_checkpoints_periods_update AFTER UPDATE ON periods
BEGIN DELETE FROM ledger_checkpoints; END;
CREATE TRIGGER ledger_checkpoints_periods_delete AFTER DELETE ON periods
BEGIN DELETE FROM ledger_checkpoints; END;
