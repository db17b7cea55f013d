-- The burn history reads, for every contract at once, the frozen
-- contracted and used hours, fees and currency of a window of closed
-- periods. With only (period, contract_id) in the index each of those rows
-- was then read from the table, where one month's rows lie apart when the
-- months were closed together: the read grew with the history closed at
-- once. This index holds what the history reads and starts as
-- closes_period did, so it serves every read by period that one served.
DROP INDEX closes_period;
CREATE INDEX closes_period ON closes (period, contract_id, contracted, used, retainer_fee, total_invoiced, currency);
