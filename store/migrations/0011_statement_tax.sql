-- The tax of each closed period (SPEC §14), frozen with its figures: the
-- rate in ten-thousandths of a percent (20% is 200000) and the tax in minor
-- units, so that a later change of a contract's tax_rate never changes a
-- closed period's invoice. Rows closed before invoices were taxed keep 0.
ALTER TABLE closes ADD COLUMN tax_rate BIGINT NOT NULL DEFAULT 0;
ALTER TABLE closes ADD COLUMN tax BIGINT NOT NULL DEFAULT 0;
-- statements.total stays the total before tax (total_invoiced); the client
-- owes total + tax.
ALTER TABLE statements ADD COLUMN tax_rate BIGINT NOT NULL DEFAULT 0;
ALTER TABLE statements ADD COLUMN tax BIGINT NOT NULL DEFAULT 0;
