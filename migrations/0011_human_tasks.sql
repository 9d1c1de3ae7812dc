-- Human tasks carry the whole lifecycle of govflow/core/tasks (docs/human-tasks.md): who the task
-- is offered to and who reviews it (role, department and/or listed users), its policy (how many
-- approvals, the starter's exclusion, what a rejection does, who gets it after its deadline), the
-- approvals of the current submission, the rejections counted, the deadline flags, and who
-- opened it. A standalone task (opened through the API, outside any workflow) has no execution
-- or step. Whoever started a step's execution is executions.created_by, read with the task.
--
-- The status CHECK follows HumanTaskStatus: CLOSED (decided and ended) and DELETED (soft delete)
-- join, EXPIRED goes (a missed deadline marks the task overdue; it goes on). No row was ever
-- EXPIRED: nothing wrote it.
--
-- Existing rows: every added column has a default or is NULL, which is what an OPEN task opened
-- by its step before this migration means (offered to its assignee_role, reviewed by its
-- reviewer_role, one approval, rework on reject).

ALTER TABLE human_tasks
    ALTER COLUMN execution_id DROP NOT NULL,
    ALTER COLUMN execution_step_id DROP NOT NULL,
    ADD COLUMN created_by              uuid REFERENCES users (id),
    ADD COLUMN offer_department_id     uuid REFERENCES departments (id),
    ADD COLUMN offer_users             jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN reviewer_department_id  uuid REFERENCES departments (id),
    ADD COLUMN reviewer_users          jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN approvals_required      integer NOT NULL DEFAULT 1,
    ADD COLUMN approvals               jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN starter_cannot_approve  boolean NOT NULL DEFAULT false,
    ADD COLUMN on_reject               varchar(8) NOT NULL DEFAULT 'rework',
    ADD COLUMN escalate_to             jsonb,
    ADD COLUMN rejections              integer NOT NULL DEFAULT 0,
    ADD COLUMN overdue                 boolean NOT NULL DEFAULT false,
    ADD COLUMN escalated               boolean NOT NULL DEFAULT false;

ALTER TABLE human_tasks
    ADD CONSTRAINT human_tasks_approvals_required_check CHECK (approvals_required >= 1),
    ADD CONSTRAINT human_tasks_rejections_check CHECK (rejections >= 0),
    ADD CONSTRAINT human_tasks_on_reject_check CHECK (on_reject IN ('rework', 'fail')),
    ADD CONSTRAINT human_tasks_step_pair_check
        CHECK ((execution_id IS NULL) = (execution_step_id IS NULL));

ALTER TABLE human_tasks DROP CONSTRAINT human_tasks_status_check;
ALTER TABLE human_tasks ADD CONSTRAINT human_tasks_status_check CHECK (status IN (
    'OPEN', 'ASSIGNED', 'IN_PROGRESS', 'SUBMITTED', 'APPROVED', 'REJECTED', 'CLOSED', 'CANCELED',
    'DELETED'
));

CREATE INDEX human_tasks_execution ON human_tasks (execution_id);
