-- Schedule triggers (docs/dsl.md, "Triggers"): the newest slot each workflow's schedule has
-- handled, so that a scheduler started after a stop knows which slots passed meanwhile (its
-- catch-up policy decides what they become). One slot gives at most one execution whatever
-- writes this row: the execution carries the idempotency key 'schedule:<workflow>:<slot>' and
-- the unique index executions_idempotency refuses a second one, in the statement that creates
-- it. The row is only a bookmark: losing an update fires no slot twice.
CREATE TABLE trigger_schedules (
    workflow_id uuid PRIMARY KEY REFERENCES workflows (id) ON DELETE CASCADE,
    last_slot timestamptz NOT NULL,
    last_fired_slot timestamptz,
    last_execution_id uuid REFERENCES executions (id) ON DELETE SET NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
