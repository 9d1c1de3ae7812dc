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
       approvals_required, starter_cannot_approve, on_reject, escalate_to, notify, form,
       due_at, created_by, version)
VALUES (:task_id::uuid, :department_id::uuid, :title::varchar, :description::text,
        :status::varchar, :assignee_id::uuid, :assignee_role::varchar,
        :offer_department_id::uuid, :offer_users::jsonb, :reviewer_role::varchar,
        :reviewer_department_id::uuid, :reviewer_users::jsonb, :approvals_required::int,
        false, :on_reject::varchar, :escalate_to::jsonb, :notify::jsonb, :form::jsonb,
        :due_at::timestamptz, :created_by::uuid, :version::int);


-- name: edit_task
-- The task's title, description and deadline after an edit, written only while it is still at
-- :from_version (its status is never written here).
UPDATE human_tasks
   SET title = :title::varchar, description = :description::text,
       due_at = :due_at::timestamptz, overdue = :overdue::bool, version = :version::int,
       updated_at = now()
 WHERE id = :task_id::uuid AND version = :from_version::int;


-- name: list_tasks
-- A page of GET /tasks, newest first, with the number of tasks in all (soft-deleted ones are
-- never listed). Every filter is off when its parameter is NULL (or empty, or false):
-- :scope the caller's department (tasks of no department are everyone's), :statuses any of
-- them, :overdue still to be decided (:active) and past the deadline or not, :mine assigned to
-- :caller, :eligible what :caller may act on next: an open task offered to it by name or to a
-- role and/or department it matches, or a submitted one it may review (an ADMIN any that asks
-- for a review; not its own submission, not one it approved, not as the execution's starter
-- under starter_cannot_approve). The caller's id in JSON: :caller_json (["id"]) and
-- :approved_json ([{"by": "id"}]).
SELECT t.id, t.execution_id, t.execution_step_id, t.department_id, t.title, t.description,
       t.status, t.assignee_id, t.assignee_role, t.offer_department_id, t.offer_users,
       t.reviewer_role, t.reviewer_department_id, t.reviewer_users, t.approvals_required,
       t.starter_cannot_approve, t.on_reject, t.escalate_to, t.form, t.submission,
       t.submitted_by, t.submitted_at, t.approvals, t.rejections, t.rejection_reason,
       t.decision, t.decided_by, t.decided_at, t.due_at, t.overdue, t.escalated, t.created_by,
       t.created_at, t.updated_at, t.version, t.notify, e.created_by AS started_by,
       count(*) OVER () AS total
  FROM human_tasks t
  LEFT JOIN executions e ON e.id = t.execution_id
 WHERE t.status <> :deleted::varchar
   AND (:scope::uuid IS NULL OR t.department_id = :scope::uuid OR t.department_id IS NULL)
   AND (cardinality(:statuses::varchar[]) = 0 OR t.status = ANY (:statuses::varchar[]))
   AND (:execution_id::uuid IS NULL OR t.execution_id = :execution_id::uuid)
   AND (:workflow_id::uuid IS NULL OR e.workflow_id = :workflow_id::uuid)
   AND (:department_id::uuid IS NULL OR t.department_id = :department_id::uuid)
   AND (:overdue::bool IS NULL
        OR COALESCE(t.status = ANY (:active::varchar[]) AND t.due_at <= now(), false)
           = :overdue::bool)
   AND (NOT :mine::bool OR t.assignee_id = :caller::uuid)
   AND (NOT :eligible::bool
        OR (t.status = :open::varchar
            AND (t.offer_users @> :caller_json::jsonb
                 OR ((t.assignee_role IS NOT NULL OR t.offer_department_id IS NOT NULL)
                     AND (t.assignee_role IS NULL OR t.assignee_role = :role::varchar)
                     AND (t.offer_department_id IS NULL
                          OR t.offer_department_id = :caller_department::uuid))))
        OR (t.status = :submitted::varchar
            AND ((:is_admin::bool
                  AND (t.reviewer_role IS NOT NULL OR t.reviewer_department_id IS NOT NULL
                       OR t.reviewer_users <> '[]'::jsonb))
                 OR t.reviewer_users @> :caller_json::jsonb
                 OR ((t.reviewer_role IS NOT NULL OR t.reviewer_department_id IS NOT NULL)
                     AND (t.reviewer_role IS NULL OR t.reviewer_role = :role::varchar)
                     AND (t.reviewer_department_id IS NULL
                          OR t.reviewer_department_id = :caller_department::uuid)))
            AND t.submitted_by IS DISTINCT FROM :caller::uuid
            AND NOT t.approvals @> :approved_json::jsonb
            AND NOT (t.starter_cannot_approve AND COALESCE(e.created_by = :caller::uuid, false))))
 ORDER BY t.created_at DESC, t.id DESC
 LIMIT :limit::int OFFSET :offset::int;
