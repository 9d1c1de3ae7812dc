-- The notification channels a human task's definition names (the manual step's `notify:`, see
-- docs/dsl.md): a list of the notification action's inputs without the message, e.g.
-- [{"channel": "email", "to": ["ops@example.org"]}, {"channel": "webhook", "url": "https://..."}].
-- Each notice about the task (offered, assigned, overdue, escalated...) is sent on each of them.
-- NULL (every existing task, and a task that names none) sends nothing.

ALTER TABLE human_tasks ADD COLUMN notify jsonb;
