-- Task deadlines and the notification outbox, for govflow/usecases/task_deadlines.py and
-- govflow/usecases/task_notifications.py. The deadline itself is decided in
-- govflow/core/tasks/deadlines.py and written through tasks.sql's write_task (only over the
-- version it was decided on), so two sweepers never mark a task twice.


-- name: due_tasks
-- Up to :limit tasks whose deadline passed that are still to be marked overdue or escalated,
-- oldest deadline first (the predicate is human_tasks_due's, so the index answers it).
SELECT id
  FROM human_tasks
 WHERE due_at <= now()
   AND due_at IS NOT NULL
   AND status IN ('OPEN', 'ASSIGNED', 'IN_PROGRESS', 'SUBMITTED', 'REJECTED')
   AND (NOT overdue OR (jsonb_typeof(escalate_to) = 'object' AND NOT escalated))
 ORDER BY due_at
 LIMIT :limit::int;


-- name: unannounced_step_tasks
-- Up to :limit tasks opened by a manual step in the last day, not decided on since (version 1),
-- with a notify channel that hears of its creation (on: [created, ...]) and no creation notice
-- stored yet, oldest first: the sweep stores their creation notices (a step's task is opened by
-- the worker's finish statement, which stores no notice).
SELECT t.id
  FROM human_tasks t
 WHERE t.execution_step_id IS NOT NULL
   AND t.version = 1
   AND t.created_at > now() - interval '1 day'
   AND t.notify @> '[{"on": ["created"]}]'::jsonb
   AND NOT EXISTS (SELECT 1 FROM task_notifications n WHERE n.task_id = t.id AND n.why = 'created')
 ORDER BY t.created_at
 LIMIT :limit::int;


-- name: overdue_open
-- How many tasks are overdue and still to be decided.
SELECT count(*)
  FROM human_tasks
 WHERE overdue AND status IN ('OPEN', 'ASSIGNED', 'IN_PROGRESS', 'SUBMITTED', 'REJECTED');


-- name: enqueue_notice
-- One notice of a decision, written with it; a notice already stored (same key) is kept.
INSERT INTO task_notifications (key, task_id, why, recipients, channel, message)
VALUES (:key::varchar, :task_id::uuid, :why::varchar, :recipients::jsonb, :channel::jsonb,
        :message::text)
ON CONFLICT (key) DO NOTHING;


-- name: take_notices
-- Up to :limit notices due, held for :lease_seconds by this sender (others skip them); with
-- whether each was already in flight (its previous sender died), and the task's ids.
WITH due AS (
    SELECT id, in_flight
      FROM task_notifications
     WHERE next_attempt_at <= now() AND sent_at IS NULL AND given_up_at IS NULL
     ORDER BY next_attempt_at
     LIMIT :limit::int
       FOR UPDATE SKIP LOCKED
)
UPDATE task_notifications n
   SET in_flight = true, attempts = n.attempts + 1,
       next_attempt_at = now() + make_interval(secs => :lease_seconds::float8)
  FROM due, human_tasks t
 WHERE n.id = due.id AND t.id = n.task_id
RETURNING n.id, n.key, n.task_id, n.why, n.recipients, n.channel, n.message, n.attempts,
          due.in_flight AS was_in_flight, t.execution_id, t.execution_step_id;


-- name: notice_sent
-- Notice :id was delivered.
UPDATE task_notifications
   SET in_flight = false, sent_at = now(), last_error = NULL
 WHERE id = :id::bigint;


-- name: notice_retry
-- Notice :id could not be delivered now: tried again after :delay_seconds.
UPDATE task_notifications
   SET in_flight = false, last_error = :error::text,
       next_attempt_at = now() + make_interval(secs => :delay_seconds::float8)
 WHERE id = :id::bigint;


-- name: notice_given_up
-- Notice :id is not sent (again): a refusal no retry fixes, or an outcome unknown.
UPDATE task_notifications
   SET in_flight = false, last_error = :error::text, given_up_at = now()
 WHERE id = :id::bigint;


-- name: party_emails
-- The addresses of the active users in a party: the listed ones, and those with its role
-- and/or in its department (at most :limit).
SELECT email
  FROM users
 WHERE is_active
   AND (id = ANY (:users::uuid[])
        OR ((:role::varchar IS NOT NULL OR :department_id::uuid IS NOT NULL)
            AND (:role::varchar IS NULL OR role = :role::varchar)
            AND (:department_id::uuid IS NULL OR department_id = :department_id::uuid)))
 ORDER BY email
 LIMIT :limit::int;
