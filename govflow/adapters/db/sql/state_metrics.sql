-- The state the scheduler publishes as gauges (govflow/adapters/state_metrics.py), read in one
-- statement every few seconds: each part is served by an index.

-- name: queue_state
-- Runnable steps no worker has claimed yet (PENDING and due, their execution PENDING or
-- RUNNING: what the sweeper would wake), and how long the oldest of them has been due.
SELECT count(*) AS pending,
       coalesce(extract(epoch FROM now() - min(s.next_attempt_at)), 0)::float8 AS oldest_seconds
  FROM execution_steps s
 WHERE s.status = 'PENDING' AND s.next_attempt_at IS NOT NULL AND s.next_attempt_at <= now()
   AND (SELECT e.status IN ('PENDING', 'RUNNING') FROM executions e WHERE e.id = s.execution_id);

-- name: executions_by_status
-- Executions not over yet, and those an operator must look at, by status.
SELECT status, count(*) AS n
  FROM executions
 WHERE status IN ('PENDING', 'RUNNING', 'WAITING', 'NEEDS_ATTENTION')
 GROUP BY status;

-- name: open_tasks
-- Human tasks still to be decided (the lifecycle's active statuses).
SELECT count(*) AS n
  FROM human_tasks
 WHERE status IN ('OPEN', 'ASSIGNED', 'IN_PROGRESS', 'SUBMITTED', 'REJECTED');
