-- Sub-workflows (docs/dsl.md, "Sub-workflows"): a `workflow` step starts a child execution.
-- The child records its parent execution and the parent's step (at most one child per step:
-- a retried or recovered attempt finds the child the first one started) and how deeply it is
-- nested. Existing executions are top-level ones (depth 0, no parent).
--
-- executions_parent_step: one child per parent step, and the parent step's child by its id.
-- executions_active_children: the active children, so the sweeper finds those whose parent
-- ended (to cancel them) in an index as small as that set.
-- execution_steps_sub_workflow_waits: the steps waiting for a child, so the sweeper finds
-- those whose child ended (to resume them) without reading every step.

ALTER TABLE executions
    ADD COLUMN parent_execution_id uuid REFERENCES executions (id) ON DELETE CASCADE,
    ADD COLUMN parent_step_id uuid REFERENCES execution_steps (id) ON DELETE CASCADE,
    ADD COLUMN depth integer NOT NULL DEFAULT 0 CHECK (depth >= 0);

CREATE UNIQUE INDEX executions_parent_step ON executions (parent_step_id)
    WHERE parent_step_id IS NOT NULL;

CREATE INDEX executions_active_children ON executions (parent_execution_id)
    WHERE parent_execution_id IS NOT NULL
      AND status IN ('PENDING', 'RUNNING', 'WAITING', 'NEEDS_ATTENTION');

CREATE INDEX execution_steps_sub_workflow_waits ON execution_steps (id)
    WHERE status = 'WAITING' AND wait_reason = 'sub_workflow';
