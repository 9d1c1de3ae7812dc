-- Plugin contract v1, long actions and fleet awareness:
--   * execution_steps.progress / progress_at: what the action last reported through
--     ctx.heartbeat(progress) (a text, a number or an object), and when;
--   * execution_steps.resume_token_hash: the SHA-256 (hex) of the resume token of a step
--     suspended on a signal (the token itself is never stored);
--   * execution_steps.handbacks: how many times workers lacking the step's action handed it
--     back; execution_step_attempts.outcome gains HANDED_BACK for those attempts;
--   * workers: each worker process, the plugins (name -> version) and actions it offers, and
--     the heartbeat that says it is alive.
--
-- Existing rows: no progress, no token, no hand-backs; no worker is known until one starts.

ALTER TABLE execution_steps
    ADD COLUMN progress jsonb,
    ADD COLUMN progress_at timestamptz,
    ADD COLUMN resume_token_hash varchar(64),
    ADD COLUMN handbacks integer NOT NULL DEFAULT 0;

ALTER TABLE execution_step_attempts DROP CONSTRAINT execution_step_attempts_outcome_check;
ALTER TABLE execution_step_attempts ADD CONSTRAINT execution_step_attempts_outcome_check
    CHECK (outcome IN (
        'COMPLETED', 'FAILED', 'SKIPPED', 'RETRY', 'SUSPENDED', 'RECOVERED', 'LOST', 'HANDED_BACK'
    ));

CREATE TABLE workers (
    id            varchar(200) PRIMARY KEY,
    hostname      varchar(255) NOT NULL,
    pid           integer NOT NULL,
    plugins       jsonb NOT NULL DEFAULT '{}'::jsonb,
    actions       jsonb NOT NULL DEFAULT '[]'::jsonb,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workers_heartbeat ON workers (heartbeat_at);
