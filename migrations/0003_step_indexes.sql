-- Every step update that cannot be HOT rewrites each index of execution_steps: keep only the
-- ones a query uses. Step keys are unique per workflow version already (validated at load), and
-- nothing looks a step up by (execution_id, step_key) without the position.
ALTER TABLE execution_steps DROP CONSTRAINT execution_steps_execution_id_step_key_key;
