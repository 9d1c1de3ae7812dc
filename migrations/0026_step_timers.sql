-- Durable timers (docs/dsl.md, "wait"): a `wait` step waits in PostgreSQL, holding no worker.
-- execution_steps.wake_at is the due time of a step suspended on a timer (set, with its fencing
-- token checked, just before the finish moves it to WAITING; kept once it resumed, as the time
-- it waited for). NULL for every other step: existing rows are not rewritten.
--
-- execution_steps_timers: the steps waiting on a timer, by due time, so the sweeper finds
-- those due in an index as small as that set.

ALTER TABLE execution_steps ADD COLUMN wake_at timestamptz;

CREATE INDEX execution_steps_timers ON execution_steps (wake_at)
    WHERE status = 'WAITING' AND wait_reason = 'timer';
