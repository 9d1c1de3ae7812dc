-- Every row the hot path writes maintains each index of its table (an execution writes 13 audit
-- rows and about 10 step row versions): keep the indexes queries use, in their cheapest form.

-- Runnable steps are only ever looked up with a due time (the sweeper's `next_attempt_at <=
-- now()`, the API's `next_attempt_at IS NOT NULL`): the later steps of a new execution, which have
-- none yet, need no entry.
DROP INDEX execution_steps_runnable;
CREATE INDEX execution_steps_runnable ON execution_steps (next_attempt_at)
    WHERE status = 'PENDING' AND next_attempt_at IS NOT NULL;

-- Audit rows are appended in time order: a BRIN index serves time-range filters for a fraction
-- of a B-tree's upkeep (the list's ORDER BY ... LIMIT counts every matching row anyway).
DROP INDEX audit_logs_occurred;
CREATE INDEX audit_logs_occurred ON audit_logs USING brin (occurred_at);
