-- Operator actions on an execution (cancel, retry, resolve a step): the execution and its steps
-- are locked (SELECT ... FOR UPDATE) in one transaction, the pure engine decides, and the
-- decision is carried out by the statements below in the same transaction. Each re-checks the
-- status the decision was made on; one that finds another status fails the whole transaction.
-- A row is reached by its key; a status guard is written `(...) IS TRUE` so that no plan reads
-- it from the status index instead (see sql/steps.sql).


-- name: lock_execution
-- The execution :execution_id (in :department only, when it is not NULL), locked.
SELECT id, status, department_id
  FROM executions
 WHERE id = :execution_id::uuid
   AND (:department::uuid IS NULL OR department_id = :department::uuid)
   FOR UPDATE;


-- name: lock_steps
-- The execution's steps in order, locked.
SELECT id, position, step_key, status, attempt, attempt_started, idempotency, continue_on_error,
       dependents, needs_left
  FROM execution_steps
 WHERE execution_id = :execution_id::uuid
 ORDER BY position
   FOR UPDATE;


-- name: change_step
-- Step :step_id moves from :from_status to :status; :output and :error are recorded when given; a fresh
-- attempt budget when :reset_attempts; claimable (and marked woken) now when :runnable_now; the
-- needs it still waits for set to :needs_left when given (a step of a graph). Its fencing token
-- moves on and its lease ends, so a worker still holding it is refused.
UPDATE execution_steps
   SET status = :status::varchar, output = COALESCE(:output::jsonb, output),
       needs_left = COALESCE(:needs_left::int4, needs_left),
       attempt = CASE WHEN :reset_attempts::bool THEN 0 ELSE attempt END,
       next_attempt_at = CASE WHEN :runnable_now::bool THEN now() ELSE next_attempt_at END,
       enqueued_at = CASE WHEN :runnable_now::bool THEN now() ELSE enqueued_at END,
       finished_at = CASE WHEN :status::varchar IN ('COMPLETED', 'SKIPPED', 'CANCELED') THEN now()
                          WHEN :status::varchar = 'PENDING' THEN NULL
                          ELSE finished_at END,
       fencing_token = fencing_token + 1, lease_owner = NULL, lease_expires_at = NULL,
       error = CASE WHEN :status::varchar = 'PENDING' THEN NULL
                    ELSE COALESCE(:error::jsonb, error) END,
       updated_at = now()
 WHERE id = :step_id::uuid AND (status = :from_status::varchar) IS TRUE;


-- name: cancel_human_task
-- The step's human task, if it has not ended, is canceled; returns it (and the status it had)
-- for its HUMAN_TASK_CANCELED audit record.
UPDATE human_tasks t
   SET status = 'CANCELED', updated_at = now(), version = t.version + 1
  FROM human_tasks before
 WHERE t.execution_step_id = :step_id::uuid AND before.id = t.id
   AND t.status NOT IN ('CLOSED', 'CANCELED', 'DELETED')
RETURNING t.id, t.department_id, before.status AS previous;


-- name: change_execution
-- The execution moves from :from_status to :status (finished when it ends; its error cleared
-- when it runs again, :error recorded when given); a graph's runnable_steps set to
-- :runnable_steps when given (counted from the locked steps).
UPDATE executions
   SET status = :status::varchar,
       runnable_steps = COALESCE(:runnable_steps::int4, runnable_steps),
       finished_at = CASE WHEN :status::varchar IN ('COMPLETED', 'FAILED', 'CANCELED')
                          THEN now() END,
       error = CASE WHEN :status::varchar = 'RUNNING' THEN NULL
                    ELSE COALESCE(:error::jsonb, error) END,
       updated_at = now()
 WHERE id = :execution_id::uuid AND (status = :from_status::varchar) IS TRUE;


-- name: past_deadline
-- Up to :limit active executions whose workflow timeout has passed (deadline_at, set at their
-- creation), oldest deadline first, with the timeout that set it; on the partial index
-- executions_past_deadline. The sweeper fails each one with the execution locked.
SELECT id, deadline_at - created_at AS timeout
  FROM executions
 WHERE deadline_at IS NOT NULL AND deadline_at <= now()
   AND status IN ('PENDING', 'RUNNING', 'WAITING', 'NEEDS_ATTENTION')
 ORDER BY deadline_at
 LIMIT :limit::int4;
