-- Task deadlines and notifications (docs/human-tasks.md, "Deadlines" and "Notifications").
--
-- human_tasks_due: the sweeper's query for tasks whose deadline passed and that are still to be
-- marked overdue or escalated (active, not yet marked, or marked but with an escalate_to not yet
-- carried out). Once both are done a task leaves the index, so it stays as small as the backlog.
-- human_tasks_overdue: the open overdue tasks, counted for the govflow_human_tasks_overdue gauge.
--
-- task_notifications: the outbox of human-task notifications. A decision that notifies writes
-- its rows in its own transaction (one per notice and channel, keyed by task, event, version and
-- position: written once); the sweeper sends them through the notification plugin's channels.
-- in_flight is set while a sender holds the row (until next_attempt_at): a row found in flight
-- again was taken by a sender that died, which an email (at most once) is not re-sent after.

CREATE INDEX human_tasks_due ON human_tasks (due_at)
    WHERE due_at IS NOT NULL
      AND status IN ('OPEN', 'ASSIGNED', 'IN_PROGRESS', 'SUBMITTED', 'REJECTED')
      AND (NOT overdue OR (jsonb_typeof(escalate_to) = 'object' AND NOT escalated));

CREATE INDEX human_tasks_overdue ON human_tasks (department_id)
    WHERE overdue AND status IN ('OPEN', 'ASSIGNED', 'IN_PROGRESS', 'SUBMITTED', 'REJECTED');

CREATE TABLE task_notifications (
    id               bigserial PRIMARY KEY,
    key              varchar(200) NOT NULL UNIQUE,
    task_id          uuid NOT NULL REFERENCES human_tasks (id) ON DELETE CASCADE,
    why              varchar(32) NOT NULL,
    recipients       jsonb NOT NULL,
    channel          jsonb NOT NULL,
    message          text NOT NULL,
    attempts         integer NOT NULL DEFAULT 0,
    in_flight        boolean NOT NULL DEFAULT false,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    sent_at          timestamptz,
    given_up_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX task_notifications_due ON task_notifications (next_attempt_at)
    WHERE sent_at IS NULL AND given_up_at IS NULL;
CREATE INDEX task_notifications_task ON task_notifications (task_id);
