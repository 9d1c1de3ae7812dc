-- The vocabularies of the hot tables become domains: executions.status, execution_steps.status,
-- execution_steps.idempotency and execution_step_attempts.outcome hold values of a domain whose
-- CHECK lists the same values as the table CHECKs of 0010 and 0015, which are dropped.
--
-- Why: PostgreSQL 15 reads every CHECK of a table back from its stored form and prepares it in
-- every statement that inserts or updates a row of it, and checks every one of them on every
-- UPDATE, whatever columns it sets; the engine updates these rows several times per execution.
-- A domain's constraint is read once per connection and checked only when a value is assigned
-- to a column of the domain (docs/decisions.md, "The hot tables' vocabularies are domains").
-- The other vocabulary columns (human_tasks, users) keep their table CHECKs.
--
-- tests/integration/test_sql_literals.py reads these domain constraints back, for the columns
-- that use them, as it reads the table CHECKs. Adding a value to one of these vocabularies is a
-- change to govflow/core plus a migration that replaces the domain's constraint:
--   ALTER DOMAIN step_status DROP CONSTRAINT step_status_check;
--   ALTER DOMAIN step_status ADD CONSTRAINT step_status_check CHECK (VALUE IN (...));
--
-- Existing rows: the domains are created without a constraint, so changing the columns' types
-- (the same varchar) rewrites no table and keeps the indexes; the constraints are added last,
-- and adding one reads every column of the domain. NULL passes (an attempt still running has
-- no outcome, a step may name no strategy). The tables are locked against reads and writes
-- until the migration commits; a row outside the vocabulary (only possible where a CHECK was
-- dropped or added NOT VALID by hand) stops the migration naming its table and column, and
-- changes nothing.

CREATE DOMAIN execution_status AS varchar(20);
CREATE DOMAIN step_status AS varchar(20);
CREATE DOMAIN idempotency_strategy AS varchar(20);
CREATE DOMAIN attempt_outcome AS varchar(32);

ALTER TABLE executions
    DROP CONSTRAINT executions_status_check,
    ALTER COLUMN status TYPE execution_status;

ALTER TABLE execution_steps
    DROP CONSTRAINT execution_steps_status_check,
    DROP CONSTRAINT execution_steps_idempotency_check,
    ALTER COLUMN status TYPE step_status,
    ALTER COLUMN idempotency TYPE idempotency_strategy;

ALTER TABLE execution_step_attempts
    DROP CONSTRAINT execution_step_attempts_outcome_check,
    ALTER COLUMN outcome TYPE attempt_outcome;

ALTER DOMAIN execution_status ADD CONSTRAINT execution_status_check CHECK (VALUE IN (
    'PENDING', 'RUNNING', 'WAITING', 'COMPLETED', 'FAILED', 'CANCELED', 'NEEDS_ATTENTION'
));

ALTER DOMAIN step_status ADD CONSTRAINT step_status_check CHECK (VALUE IN (
    'PENDING', 'RUNNING', 'WAITING', 'COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED',
    'NEEDS_ATTENTION'
));

ALTER DOMAIN idempotency_strategy ADD CONSTRAINT idempotency_strategy_check CHECK (VALUE IN (
    'none', 'local', 'remote_lookup', 'remote_key', 'at_most_once'
));

ALTER DOMAIN attempt_outcome ADD CONSTRAINT attempt_outcome_check CHECK (VALUE IN (
    'COMPLETED', 'FAILED', 'SKIPPED', 'RETRY', 'SUSPENDED', 'RECOVERED', 'LOST', 'HANDED_BACK'
));
