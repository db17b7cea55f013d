-- How many outbox messages are in each status, kept by triggers in the
-- transaction that changes a message, so that /metrics reads a handful of
-- rows instead of counting the whole outbox (which grows every month for
-- ever). PostgreSQL's form; 0019_outbox_counts.sqlite.sql is SQLite's.
-- Every write transaction holds the store's write lock, so the counts'
-- rows add no contention. The function's body stays on one line:
-- migrations are split at lines that end with a semicolon.
CREATE TABLE outbox_counts (
    status TEXT PRIMARY KEY,
    n      BIGINT NOT NULL
);
INSERT INTO outbox_counts (status, n) SELECT status, COUNT(*) FROM outbox GROUP BY status;
CREATE FUNCTION outbox_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF TG_OP IN ('UPDATE', 'DELETE') THEN UPDATE outbox_counts SET n = n - 1 WHERE status = OLD.status; END IF; IF TG_OP IN ('INSERT', 'UPDATE') THEN INSERT INTO outbox_counts (status, n) VALUES (NEW.status, 1) ON CONFLICT (status) DO UPDATE SET n = outbox_counts.n + 1; END IF; RETURN NULL; END $$;
CREATE TRIGGER outbox_counts_insert AFTER INSERT OR DELETE ON outbox FOR EACH ROW EXECUTE FUNCTION outbox_count();
CREATE TRIGGER outbox_counts_update AFTER UPDATE OF status ON outbox FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION outbox_count();
