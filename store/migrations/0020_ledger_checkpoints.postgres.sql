-- Where each contract's ledger stood at the start of an open period, kept
-- by status so that it computes from there instead of from the contract's
-- first open period (SPEC §4: before any close, that is its first month).
-- PostgreSQL's form; 0020_ledger_checkpoints.sqlite.sql is SQLite's.
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
-- and when a period is closed or a close is undone (or a table is
-- truncated). A function's body stays on one line: migrations are split at
-- lines that end with a semicolon.
CREATE TABLE ledger_checkpoints (
    contract_id TEXT    NOT NULL,
    period      INTEGER NOT NULL,
    ledger      TEXT    NOT NULL,
    PRIMARY KEY (contract_id, period)
);
CREATE FUNCTION ledger_checkpoints_usage() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP IN ('UPDATE', 'DELETE') THEN DELETE FROM ledger_checkpoints WHERE contract_id = OLD.contract_id AND period > OLD.period; END IF; IF TG_OP IN ('INSERT', 'UPDATE') THEN DELETE FROM ledger_checkpoints WHERE contract_id = NEW.contract_id AND period > NEW.period; END IF; RETURN NULL; END $$;
CREATE TRIGGER ledger_checkpoints_usage_write AFTER INSERT OR DELETE ON usage FOR EACH ROW EXECUTE FUNCTION ledger_checkpoints_usage();
CREATE TRIGGER ledger_checkpoints_usage_update AFTER UPDATE OF contract_id, period, counted, entries ON usage FOR EACH ROW WHEN (OLD.contract_id IS DISTINCT FROM NEW.contract_id OR OLD.period IS DISTINCT FROM NEW.period OR OLD.counted IS DISTINCT FROM NEW.counted OR OLD.entries IS DISTINCT FROM NEW.entries) EXECUTE FUNCTION ledger_checkpoints_usage();
CREATE FUNCTION ledger_checkpoints_adjustments() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP IN ('UPDATE', 'DELETE') THEN DELETE FROM ledger_checkpoints WHERE contract_id = OLD.contract_id; END IF; IF TG_OP IN ('INSERT', 'UPDATE') THEN DELETE FROM ledger_checkpoints WHERE contract_id = NEW.contract_id; END IF; RETURN NULL; END $$;
CREATE TRIGGER ledger_checkpoints_adjustments AFTER INSERT OR UPDATE OR DELETE ON adjustments FOR EACH ROW EXECUTE FUNCTION ledger_checkpoints_adjustments();
CREATE FUNCTION ledger_checkpoints_all() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN DELETE FROM ledger_checkpoints; RETURN NULL; END $$;
CREATE TRIGGER ledger_checkpoints_periods AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON periods FOR EACH STATEMENT EXECUTE FUNCTION ledger_checkpoints_all();
CREATE TRIGGER ledger_checkpoints_usage_truncate AFTER TRUNCATE ON usage FOR EACH STATEMENT EXECUTE FUNCTION ledger_checkpoints_all();
CREATE TRIGGER ledger_checkpoints_adjustments_truncate AFTER TRUNCATE ON adjustments FOR EACH STATEMENT EXECUTE FUNCTION ledger_checkpoints_all();
