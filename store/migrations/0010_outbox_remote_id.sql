-- The id a transport gave a message it delivered: Slack's ts for a bot-token
-- post. A long digest's later parts are posted in the thread of its first
-- (SPEC §15), so the first part's ts is kept here after its post.
ALTER TABLE outbox ADD COLUMN remote_id TEXT NOT NULL DEFAULT '';
