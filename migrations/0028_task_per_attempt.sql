-- A step's human task per attempt of the step (docs/human-tasks.md, "A step's task on retry"):
-- a manual step run again (an operator's retry after a rejection under on_reject: fail, a graph
-- step reopened by a retry) opens a new task, and the ended one stays for the record. The step
-- keeps at most one task that has not ended: the unique key on execution_step_id becomes a
-- unique index over the tasks not ended (CLOSED, CANCELED or DELETED end a task), which the
-- finish statements' ON CONFLICT names, so a step that still has a live task opens no second.
ALTER TABLE human_tasks DROP CONSTRAINT human_tasks_execution_step_id_key;
CREATE UNIQUE INDEX human_tasks_step_live ON human_tasks (execution_step_id)
    WHERE status NOT IN ('CLOSED', 'CANCELED', 'DELETED');
CREATE INDEX human_tasks_step ON human_tasks (execution_step_id);
