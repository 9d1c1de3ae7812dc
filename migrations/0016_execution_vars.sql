-- Workflow variables (docs/dsl.md, "vars"): executions.vars holds the workflow's `vars:` as
-- evaluated from the inputs when the execution started; every step's templates read them from
-- the claim, with the inputs. Existing executions have none.

ALTER TABLE executions ADD COLUMN vars jsonb NOT NULL DEFAULT '{}'::jsonb;
