-- The digest of the rules the entries were matched and counted with: the
-- SHA-256 of the rules table as SyncRules joins it, so that a command
-- whose contracts are unchanged reads one row, not every contract's. It
-- hangs off the matcher's row of rules (contract_id ''): whatever rewrites
-- the rules deletes that row, and the digest with it.
CREATE TABLE rules_digest (
    contract_id TEXT NOT NULL PRIMARY KEY REFERENCES rules (contract_id) ON DELETE CASCADE ON UPDATE CASCADE,
    digest      TEXT NOT NULL
);
