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


-- name: live_step_tasks
-- The human task of step :step_id that has not ended (a step has at most one), locked, as
-- read_task reads it: the lifecycle decides its cancel with the step (and the notice it owes).
SELECT t.id, t.execution_id, t.execution_step_id, t.department_id, t.title, t.description,
       t.status, t.assignee_id, t.assignee_role, t.offer_department_id, t.offer_users,
       t.reviewer_role, t.reviewer_department_id, t.reviewer_users, t.approvals_required,
       t.starter_cannot_approve, t.on_reject, t.escalate_to, t.form, t.submission,
       t.submitted_by, t.submitted_at, t.approvals, t.rejections, t.rejection_reason,
       t.decision, t.decided_by, t.decided_at, t.due_at, t.overdue, t.escalated, t.created_by,
       t.created_at, t.updated_at, t.version, t.notify, e.created_by AS started_by
  FROM human_tasks t
  LEFT JOIN executions e ON e.id = t.execution_id
 WHERE t.execution_step_id = :step_id::uuid
   AND t.status NOT IN ('CLOSED', 'CANCELED', 'DELETED')
   FOR UPDATE OF t;


-- name: end_step_task
-- A step's task after the lifecycle's decision to cancel it with its step: its status and
-- version, written only while it is still at :from_version.
UPDATE human_tasks
   SET status = :status::varchar, version = :version::int, updated_at = now()
 WHERE id = :task_id::uuid AND version = :from_version::int;


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
