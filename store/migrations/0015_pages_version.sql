-- The dashboard's history lists are read a page at a time, newest first,
-- from where the previous page ended: each page is a seek in an index in
-- the list's own order, whatever the number of months behind it.
-- Statements: newest month first, contracts in order within a month.
CREATE INDEX statements_newest ON statements (period DESC, contract_id);
-- The months that still have drafts (their "Approve all" buttons), without
-- reading every statement ever made.
CREATE INDEX statements_drafts ON statements (period) WHERE status = 'draft';
-- Outbox messages that need an operator (failed, unknown) come first,
-- newest first within their status.
CREATE INDEX outbox_status_id ON outbox (status, id);

-- One number that every write transaction raises (see store.DataVersion):
-- a page rendered at version N is still right while the number is N, in
-- this process or any other writing the same database.
CREATE TABLE data_version (
    version BIGINT NOT NULL
);
INSERT INTO data_version (version) VALUES (0);
