-- The creation notices of a manual step's task (docs/human-tasks.md, "Notifications").
--
-- human_tasks_unannounced: the scheduler's sweep stores the creation notices of step tasks that
-- nobody acted on yet (version 1) and whose notify channels hear of `created` (the worker's
-- finish statement, which opens them, stores no notice). A task leaves the index with its first
-- decision, so it holds only the tasks opened and not yet taken.

CREATE INDEX human_tasks_unannounced ON human_tasks (created_at)
    WHERE version = 1 AND execution_step_id IS NOT NULL AND notify IS NOT NULL;
