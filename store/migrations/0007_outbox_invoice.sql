-- A statement email carries the number of the invoice it delivers, so that
-- its sending marks the statement sent without taking its key apart.
ALTER TABLE outbox ADD COLUMN invoice_number TEXT NOT NULL DEFAULT '';
-- statement/<contract>/<YYYY-MM> → <contract>-<YYYY-MM>
UPDATE outbox SET invoice_number = substr(key, 11, length(key) - 18) || '-' || substr(key, length(key) - 6)
	WHERE channel = 'email' AND key LIKE 'statement/%';
