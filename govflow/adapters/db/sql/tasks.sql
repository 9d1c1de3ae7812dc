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
       t.created_at, t.updated_at, t.version, t.notify, e.created_by AS started_by
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
       assignee_role = :offer_role::varchar, offer_department_id = :offer_department_id::uuid,
       offer_users = :offer_users::jsonb,
       submission = :submission::jsonb, submitted_by = :submitted_by::uuid,
       submitted_at = :submitted_at::timestamptz, approvals = :approvals::jsonb,
       rejections = :rejections::int, rejection_reason = :rejection_reason::text,
       decision = COALESCE(:decision::varchar, decision), decided_by = :decided_by::uuid,
       decided_at = :decided_at::timestamptz, due_at = :due_at::timestamptz,
       overdue = :overdue::bool, escalated = :escalated::bool, version = :version::int,
       updated_at = now()
 WHERE id = :task_id::uuid AND version = :from_version::int;


-- name: new_task_id
-- A time-ordered id for a task about to be opened (the lifecycle decides on it first).
SELECT govflow_uuid_v7() AS id;


-- name: insert_task
-- A standalone task opened through the API, as create_task decided it (no execution, no step).
INSERT INTO human_tasks (
       id, department_id, title, description, status, assignee_id, assignee_role,
       offer_department_id, offer_users, reviewer_role, reviewer_department_id, reviewer_users,
       approvals_required, starter_cannot_approve, on_reject, escalate_to, form, due_at,
       created_by, version)
VALUES (:task_id::uuid, :department_id::uuid, :title::varchar, :description::text,
        :status::varchar, :assignee_id::uuid, :assignee_role::varchar,
        :offer_department_id::uuid, :offer_users::jsonb, :reviewer_role::varchar,
        :reviewer_department_id::uuid, :reviewer_users::jsonb, :approvals_required::int,
        false, :on_reject::varchar, :escalate_to::jsonb, :form::jsonb, :due_at::timestamptz,
        :created_by::uuid, :version::int);


-- name: edit_task
-- The task's title, description and deadline after an edit, written only while it is still at
-- :from_version (its status is never written here).
UPDATE human_tasks
   SET title = :title::varchar, description = :description::text,
       due_at = :due_at::timestamptz, overdue = :overdue::bool, version = :version::int,
       updated_at = now()
 WHERE id = :task_id::uuid AND version = :from_version::int;
