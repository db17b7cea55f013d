-- How many outbox messages are in each status, kept by triggers in the
-- transaction that changes a message, so that /metrics reads a handful of
-- rows instead of counting the whole outbox (which grows every month for
-- ever). SQLite's form; 0019_outbox_counts.postgres.sql is PostgreSQL's.
-- A trigger's statements stay on one line: migrations are split at lines
-- that end with a semicolon.
CREATE TABLE outbox_counts (
    status TEXT PRIMARY KEY,
    n      BIGINT NOT NULL
);
INSERT INTO outbox_counts (status, n) SELECT status, COUNT(*) FROM outbox GROUP BY status;
CREATE TRIGGER outbox_counts_insert AFTER INSERT ON outbox
BEGIN INSERT INTO outbox_counts (status, n) VALUES (NEW.status, 1) ON CONFLICT (status) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER outbox_counts_update AFTER UPDATE OF status ON outbox WHEN OLD.status IS NOT NEW.status
BEGIN UPDATE outbox_counts SET n = n - 1 WHERE status = OLD.status; INSERT INTO outbox_counts (status, n) VALUES (NEW.status, 1) ON CONFLICT (status) DO UPDATE SET n = n + 1; END;
CREATE TRIGGER outbox_counts_delete AFTER DELETE ON outbox
BEGIN UPDATE outbox_counts SET n = n - 1 WHERE status = OLD.status; END;
