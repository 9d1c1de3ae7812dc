-- Long actions: heartbeats with progress, and steps suspended on a signal.
-- Every write is guarded as the engine's statements are (steps.sql): the step's current fencing
-- token while it is RUNNING, reached by its key.


-- name: heartbeat
-- ctx.heartbeat(progress): renew the lease of a step still held with :token for :lease seconds
-- and record :progress (JSON) with the time it was reported.
UPDATE execution_steps
   SET lease_expires_at = now() + make_interval(secs => :lease::float8),
       progress = :progress::jsonb, progress_at = now()
 WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE;


-- name: open_wait
-- The action raised Suspend for a signal: keep the hash of its resume token with the step
-- (the finish that follows moves it to WAITING).
UPDATE execution_steps SET resume_token_hash = :token_hash::varchar
 WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE;


-- name: step_wait
-- What step :step_key of the locked execution :execution_id stores of its wait.
SELECT s.wait_reason, s.resume_token_hash, s.wake_at
  FROM execution_steps s
 WHERE s.execution_id = :execution_id::uuid AND s.step_key = :step_key::varchar;
