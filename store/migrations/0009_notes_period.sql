-- The notes of a period, which status (and the digest, the dashboard) read
-- for every contract at once: the primary key starts with contract_id, so
-- without this each such read scanned every note ever written, growing
-- with every month closed.
CREATE INDEX notes_period ON notes (period, contract_id);
