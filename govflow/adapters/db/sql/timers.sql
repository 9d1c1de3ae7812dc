-- Durable timers: a `wait` step's due time, and the sweeper's search for the timers due. The
-- statuses and the wait reason are spelled out so the partial index of migration 0026 applies.


-- name: open_timer
-- The action raised Suspend for a timer: keep its due time with the step (the finish that
-- follows moves it to WAITING). Guarded as the engine's statements are: the step's current
-- fencing token while it is RUNNING.
UPDATE execution_steps SET wake_at = :due_at::timestamptz
 WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE;


-- name: due_timers
-- Steps waiting on a timer (execution_steps_timers) due at :now, the earliest first.
SELECT s.execution_id, s.step_key, s.wake_at
  FROM execution_steps s
 WHERE s.status = 'WAITING' AND s.wait_reason = 'timer' AND s.wake_at <= :now::timestamptz
 ORDER BY s.wake_at
 LIMIT :limit::int;
