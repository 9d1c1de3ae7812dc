-- Workflow timeouts (docs/dsl.md, "timeout"): executions.deadline_at is when an execution of a
-- workflow with a `timeout:` has run too long (its start plus the timeout, set when it is
-- created); the sweeper fails the active ones past it. executions_past_deadline holds only
-- active executions that have a deadline, so it stays as small as that set.
-- Existing executions: no deadline.

ALTER TABLE executions ADD COLUMN deadline_at timestamptz;

CREATE INDEX executions_past_deadline ON executions (deadline_at)
    WHERE deadline_at IS NOT NULL
      AND status IN ('PENDING', 'RUNNING', 'WAITING', 'NEEDS_ATTENTION');
