-- A claim on an outbox message names its owner (the process holding it:
-- machine, process id and start time, and a random part) and expires:
-- the owner renews claim_expires_at (wall clock, Unix seconds) while it
-- works. handed_over_at is set just before the message starts its
-- irrevocable step (SMTP: the message's turn on the connection; Slack: the
-- POST); a claim whose owner died goes back to pending without it, and
-- becomes unknown with it (SPEC §8).
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN claim_expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN handed_over_at BIGINT;
-- Claims left by a version that did not record the hand-over may have gone
-- out: they keep the old rule and become unknown.
UPDATE outbox SET handed_over_at = created_at WHERE status = 'sending';
