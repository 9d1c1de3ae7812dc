-- Every status, outcome, role and strategy column accepts only the members of its enum in
-- govflow/core (statuses.py, roles.py, idempotency.py). The values are spelled out here once
-- more; tests/integration/test_sql_literals.py reads these constraints back from a migrated
-- database and fails when they and the enums differ, so adding a status is a change to
-- govflow/core plus a migration like this one. users.role keeps its CHECK from 0001.
--
-- audit_logs.action stays open on purpose: third-party plugins record events of their own and
-- manual entries are named MANUAL_<NAME>. human_tasks.decision and execution_steps.wait_reason
-- are open too: nothing writes a decision yet, and a plugin names what its step waits for.
--
-- Existing rows: NULL passes every constraint (an attempt still running has no outcome, a task
-- may name no role), and every value GovFlow has ever written is a member. Adding a constraint
-- reads its table under a lock that holds off writers until the migration commits (well under a
-- second per million rows); a row outside the vocabulary stops the migration with the
-- constraint's name and changes nothing.

ALTER TABLE executions ADD CONSTRAINT executions_status_check CHECK (status IN (
    'PENDING', 'RUNNING', 'WAITING', 'COMPLETED', 'FAILED', 'CANCELED', 'NEEDS_ATTENTION'
));

ALTER TABLE execution_steps ADD CONSTRAINT execution_steps_status_check CHECK (status IN (
    'PENDING', 'RUNNING', 'WAITING', 'COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED',
    'NEEDS_ATTENTION'
));

ALTER TABLE execution_steps ADD CONSTRAINT execution_steps_idempotency_check CHECK (idempotency IN (
    'none', 'local', 'remote_lookup', 'remote_key', 'at_most_once'
));

ALTER TABLE execution_step_attempts ADD CONSTRAINT execution_step_attempts_outcome_check
    CHECK (outcome IN (
        'COMPLETED', 'FAILED', 'SKIPPED', 'RETRY', 'SUSPENDED', 'RECOVERED', 'LOST'
    ));

ALTER TABLE human_tasks ADD CONSTRAINT human_tasks_status_check CHECK (status IN (
    'OPEN', 'ASSIGNED', 'IN_PROGRESS', 'SUBMITTED', 'APPROVED', 'REJECTED', 'CANCELED', 'EXPIRED'
));

ALTER TABLE human_tasks ADD CONSTRAINT human_tasks_assignee_role_check
    CHECK (assignee_role IN ('ADMIN', 'MANAGER', 'OPERATOR'));

ALTER TABLE human_tasks ADD CONSTRAINT human_tasks_reviewer_role_check
    CHECK (reviewer_role IN ('ADMIN', 'MANAGER', 'OPERATOR'));
