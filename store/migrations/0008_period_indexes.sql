-- Reads by period: status of every contract in a closed period (closes,
-- lots, statements), the computation of the open periods from the last
-- close (its lots out), the statements of a period. The primary keys start
-- with contract_id, so without these each such read scanned the whole
-- history, growing with every month closed.
CREATE INDEX closes_period ON closes (period, contract_id);
-- Covering, in the order both readers want: by contract, then earned.
CREATE INDEX lots_period ON lots (period, contract_id, earned, direction, seconds);
CREATE INDEX statements_period ON statements (period, contract_id);
-- The pending late adjustments (summed by status, absorbed by a close):
-- only these are in the index, however many were absorbed before.
CREATE INDEX adjustments_unabsorbed ON adjustments (contract_id, seconds) WHERE absorbed_in IS NULL;
-- The entries that match no contract, which status sums by client: only
-- they are in the index, so that a few of them cost a few rows, not a scan
-- of the month's entries (every `retainer log` shows its contract's status).
CREATE INDEX entries_unmatched ON entries (day) WHERE contract_id = '';
