-- foreach: the results of a step's items (migration 0024). Each write is guarded as the
-- engine's statements are (steps.sql): the step's current fencing token while it is RUNNING,
-- reached by its key.


-- name: item_results
-- The items of step :step_id whose result is kept, with their outputs.
SELECT i.item_index, i.output::text AS output
  FROM execution_step_items i
 WHERE i.execution_step_id = :step_id::uuid;


-- name: keep_item_result
-- Item :item_index of step :step_id ended with :output: keep it, if the step is still RUNNING
-- under :token (a recovery or a cancel moved the token on: nothing is kept). Whether it is kept
-- under :token (true too when a first try of this statement kept it before its reply was lost).
WITH kept AS (
    INSERT INTO execution_step_items (execution_step_id, item_index, fencing_token, output)
    SELECT s.id, :item_index::int4, :token::int8, :output::jsonb
      FROM execution_steps s
     WHERE s.id = :step_id::uuid
       AND (s.fencing_token = :token::int8 AND s.status = 'RUNNING') IS TRUE
        ON CONFLICT (execution_step_id, item_index) DO NOTHING
    RETURNING id
)
SELECT EXISTS (SELECT 1 FROM kept)
       OR EXISTS (SELECT 1 FROM execution_step_items i
                   WHERE i.execution_step_id = :step_id::uuid
                     AND i.item_index = :item_index::int4 AND i.fencing_token = :token::int8)
       AS kept;
