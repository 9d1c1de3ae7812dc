-- Sub-workflows: a `workflow` step's child execution, and the sweeper's two searches. The
-- statuses are spelled out so the partial indexes of migration 0020 apply.


-- name: parent
-- The department and nesting depth of the execution :execution_id starting a child.
SELECT department_id, depth FROM executions WHERE id = :execution_id::uuid;


-- name: child_workflow
-- The workflow :name at version :version (NULL: its current version).
SELECT w.id AS workflow_id, w.name, v.id AS version_id, v.version, w.department_id,
       w.is_active
  FROM workflows w
  JOIN workflow_versions v
    ON v.workflow_id = w.id
   AND ((:version::int IS NULL AND v.id = w.current_version_id) OR v.version = :version::int)
 WHERE w.name = :name::varchar;


-- name: ended_children
-- Parent steps waiting for a child (execution_steps_sub_workflow_waits) whose child ended
-- (only :child_id's when given), with the child's outputs (its :outputs_action step's output)
-- and error.
SELECT c.id AS child_id, c.status, c.error::text AS error,
       (SELECT o.output::text FROM execution_steps o
         WHERE o.execution_id = c.id AND o.action = :outputs_action::varchar
           AND o.status = 'COMPLETED') AS outputs,
       p.execution_id AS parent_execution_id, p.step_key AS parent_step_key
  FROM execution_steps p
  JOIN executions c ON c.parent_step_id = p.id
 WHERE p.status = 'WAITING' AND p.wait_reason = 'sub_workflow'
   AND c.status IN ('COMPLETED', 'FAILED', 'CANCELED')
   AND (:child_id::uuid IS NULL OR c.id = :child_id::uuid)
 LIMIT :limit::int;


-- name: orphans
-- Active children (executions_active_children) whose parent step was canceled (its execution
-- canceled or timed out). A child retried by an operator after its failure failed the parent
-- step is not one: the parent, retried next, takes its outputs.
SELECT c.id
  FROM executions c
  JOIN execution_steps p ON p.id = c.parent_step_id
 WHERE c.parent_execution_id IS NOT NULL
   AND c.status IN ('PENDING', 'RUNNING', 'WAITING', 'NEEDS_ATTENTION')
   AND p.status = 'CANCELED'
 LIMIT :limit::int;
