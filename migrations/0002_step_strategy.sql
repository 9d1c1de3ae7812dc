-- What a step's attempt was started with: the strategy that applies after a crash and the
-- rendered parameters a recovery hands to the plugin's lookup.
ALTER TABLE execution_steps ADD COLUMN idempotency varchar(20);
ALTER TABLE execution_steps ADD COLUMN params jsonb;
ALTER TABLE execution_steps ADD COLUMN wait_reason varchar(64);
