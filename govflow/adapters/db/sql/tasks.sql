-- Human tasks decided by govflow/usecases/tasks.py: the task read for a decision, and the
-- decision written only over the version it was decided on, so of concurrent decisions on one
-- task exactly one applies (the others find another version and change nothing).


-- name: read_task
-- Task :task_id as the lifecycle decides on it, with who started its execution.
SELECT t.id, t.execution_id, t.execution_step_id, t.department_id, t.title, t.description,
       t.status, t.assignee_id, t.assignee_role, t.offer_department_id, t.offer_users,
       t.reviewer_role, t.reviewer_department_id, t.reviewer_users, t.approvals_required,
       t.starter_cannot_approve, t.on_reject, t.escalate_to, t.form, t.submission,
       t.submitted_by, t.submitted_at, t.approvals, t.rejections, t.rejection_reason,
       t.decision, t.decided_by, t.decided_at, t.due_at, t.overdue, t.escalated, t.created_by,
       t.created_at, t.updated_at, t.version, e.created_by AS started_by
  FROM human_tasks t
  LEFT JOIN executions e ON e.id = t.execution_id
 WHERE t.id = :task_id::uuid;


-- name: task_records
-- The audit records about task :task_id, oldest first.
SELECT action, actor_id, actor_email, occurred_at, reason, metadata
  FROM audit_logs
 WHERE entity_type = :entity_type::varchar AND entity_id = :task_id::varchar
 ORDER BY id;


-- name: write_task
-- The task after a decision, written only while it is still at :from_version.
UPDATE human_tasks
   SET status = :status::varchar, assignee_id = :assignee_id::uuid,
       submission = :submission::jsonb, submitted_by = :submitted_by::uuid,
       submitted_at = :submitted_at::timestamptz, approvals = :approvals::jsonb,
       rejections = :rejections::int, rejection_reason = :rejection_reason::text,
       decision = COALESCE(:decision::varchar, decision), decided_by = :decided_by::uuid,
       decided_at = :decided_at::timestamptz, due_at = :due_at::timestamptz,
       overdue = :overdue::bool, escalated = :escalated::bool, version = :version::int,
       updated_at = now()
 WHERE id = :task_id::uuid AND version = :from_version::int;
