-- Starting executions in rounds: the starts of one process that arrive together are created by
-- one statement (govflow/adapters/db/start_rounds.py).
--
-- The execution ids come from the application (time-ordered, like the column's default), so a
-- start whose answer was lost with its connection can be looked for by its id. The rows come as
-- parallel arrays: one element per execution, and one per step naming its execution's id. A
-- row whose idempotency key its caller already used inserts nothing (no steps, no audit) and
-- is not returned; the others are inserted in the order of their keys, so two rounds of two
-- processes meet their keys in the same order. The only table read is workflows, by its key (the
-- check of :only_current); the inserts reach the tables through their unique indexes and
-- foreign keys only, whatever a generic plan made on empty tables decides
-- (tests/integration/engine/test_start_explain.py).


-- name: create_executions
-- Create the executions :id (their steps and their creation's audit records :action); returns
-- the id of each one created and the ids of its steps runnable at once, in position order. An
-- execution marked :only_current is created only while its version is its workflow's current
-- one and the workflow is active, in its department; otherwise nothing of it is written and it
-- is returned with pinned false (its caller read the workflow from a cache that is now stale).
WITH input AS MATERIALIZED (
    SELECT *
      FROM unnest(:id::uuid[], :workflow_id::uuid[], :version_id::uuid[],
                  :department_id::uuid[], :inputs::jsonb[], :idempotency_key::text[],
                  :created_by::uuid[], :vars::jsonb[], :timeout_seconds::float8[],
                  :parent_execution_id::uuid[], :parent_step_id::uuid[], :depth::int[],
                  :runnable_steps::int[], :actor_email::text[], :request_id::text[],
                  :trace_context::jsonb[], :only_current::bool[])
           AS n(id, workflow_id, version_id, department_id, inputs, idempotency_key,
                created_by, vars, timeout_seconds, parent_execution_id, parent_step_id, depth,
                runnable_steps, actor_email, request_id, trace_context, only_current)
), pinned AS MATERIALIZED (
    SELECT n.*,
           NOT n.only_current
           OR (SELECT w.current_version_id = n.version_id AND w.is_active
                      AND w.department_id IS NOT DISTINCT FROM n.department_id
                 FROM workflows w
                WHERE w.id = n.workflow_id) IS TRUE AS pinned
      FROM input n
), new AS MATERIALIZED (
    SELECT * FROM pinned WHERE pinned
), execution AS (
    INSERT INTO executions (id, workflow_id, workflow_version_id, department_id, inputs,
                            idempotency_key, created_by, vars, deadline_at,
                            parent_execution_id, parent_step_id, depth, runnable_steps)
    SELECT id, workflow_id, version_id, department_id, inputs, idempotency_key, created_by,
           vars, now() + make_interval(secs => timeout_seconds), parent_execution_id,
           parent_step_id, depth, runnable_steps
      FROM new
     ORDER BY idempotency_key, created_by, id
    ON CONFLICT (idempotency_key, created_by) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id
), steps AS (
    INSERT INTO execution_steps (execution_id, position, step_key, action, max_attempts,
                                 idempotency_key, next_attempt_at, enqueued_at, continue_on_error,
                                 needs_left, dependents)
    SELECT s.execution_id, s.position, s.step_key, s.action, s.max_attempts,
           s.execution_id::text || ':' || s.step_key,
           CASE WHEN s.root THEN now() END,
           CASE WHEN s.root THEN now() END,
           s.continue_on_error, s.needs_left,
           string_to_array(s.dependents, ',')::int4[]
      FROM unnest(:step_execution_id::uuid[], :step_position::int[], :step_key::text[],
                  :step_action::text[], :step_max_attempts::int[],
                  :step_continue_on_error::bool[], :step_needs_left::int[], :step_root::bool[],
                  :step_dependents::text[])
             AS s(execution_id, position, step_key, action, max_attempts, continue_on_error,
                  needs_left, root, dependents)
      JOIN execution ON execution.id = s.execution_id
    RETURNING id, execution_id, position, next_attempt_at
), audit AS (
    INSERT INTO audit_logs (action, actor_id, actor_email, entity_type, entity_id,
                            department_id, request_id, metadata)
    SELECT :action::varchar, new.created_by, new.actor_email, 'execution', new.id::text,
           new.department_id, new.request_id,
           jsonb_build_object('workflow_id', new.workflow_id,
                              'workflow_version_id', new.version_id)
             || coalesce(new.trace_context, '{}'::jsonb)
      FROM new
      JOIN execution ON execution.id = new.id
)
SELECT execution.id, true AS pinned,
       coalesce(array_agg(steps.id ORDER BY steps.position)
                  FILTER (WHERE steps.next_attempt_at IS NOT NULL), '{}') AS runnable_step_ids
  FROM execution
  LEFT JOIN steps ON steps.execution_id = execution.id
 GROUP BY execution.id
UNION ALL
SELECT id, false, '{}' FROM pinned WHERE NOT pinned;


-- name: created_execution
-- The execution :execution_id, if it was created, with its steps at :positions (those runnable
-- as it was created), in position order: the answer of a start whose statement committed but
-- whose answer was lost with its connection.
SELECT e.id,
       ARRAY(SELECT s.id FROM execution_steps s
              WHERE s.execution_id = e.id AND s.position = ANY(:positions::int[])
              ORDER BY s.position) AS runnable_step_ids
  FROM executions e
 WHERE e.id = :execution_id::uuid;
