-- The engine's statements for a round of group commit: many steps' finishes in one statement.
--
-- A worker running many executions at once sends the finishes that are ready together as one
-- round (govflow/adapters/db/group_commit.py). Each row of the round is one finish of steps.sql
-- (finish_step, finish_step_claim_next, finish_execution or finish_execution_claim_next), with
-- the same guards applied to that row alone: its step's fencing token and status, its
-- execution's status; a row whose guard fails changes nothing and is answered not applied, the
-- others go on. A round never holds two rows of one execution.
--
-- The rows come in as parallel arrays, one element per row (:n numbers them 1..N), and every
-- table is reached from them by its key: execution_steps by id, or by (execution_id, position);
-- executions by id; execution_step_attempts by (execution_step_id, fencing_token). The audit
-- records of all rows come as parallel arrays too, each naming its row (:a_row).


-- name: finish_steps
-- A round of finishes. Per row: the step moves to its status (the attempt row closed with its
-- outcome); the execution moves from its execution_from to its execution_status, or, without
-- one, is locked as an update would lock it; when its next_status is given, the next step
-- (position + 1), if PENDING while the execution is in next_when, is claimed for :worker with a
-- lease of :lease seconds (its attempt row and the claim rule's audit records, next_audit,
-- written with it). Returns one row per input row, in order: applied, the execution's status,
-- and the claimed step's columns.
WITH input AS MATERIALIZED (
    SELECT *
      FROM unnest(:step_id::uuid[], :token::int8[], :execution_id::uuid[],
                  :position::int4[], :execution_from::text[], :execution_status::text[],
                  :execution_error::text[], :status::text[], :output::text[], :error::text[],
                  :outcome::text[], :retry_in::float8[], :wait_reason::text[],
                  :department::uuid[], :next_when::text[], :next_status::text[],
                  :next_audit::text[])
           WITH ORDINALITY
           AS i(step_id, token, execution_id, position, execution_from, execution_status,
                execution_error, status, output, error, outcome, retry_in, wait_reason,
                department, next_when, next_status, next_audit, n)
), done AS (
    UPDATE execution_steps s
       SET status = i.status, output = COALESCE(i.output::jsonb, s.output), error = i.error::jsonb,
           next_attempt_at = CASE WHEN i.status = 'PENDING'
                                  THEN now() + make_interval(secs => i.retry_in) END,
           enqueued_at = NULL, wait_reason = i.wait_reason,
           finished_at = CASE WHEN i.status IN ('COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED')
                              THEN now() END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
      FROM input i
     WHERE s.id = ANY(:step_id::uuid[]) AND s.id = i.step_id
       AND (s.fencing_token = i.token AND s.status = 'RUNNING') IS TRUE
 RETURNING i.n, s.id, i.token, i.execution_id, i.position, i.execution_from, i.execution_status,
           i.execution_error, i.outcome, i.output, i.error, i.department, i.next_when,
           i.next_status, i.next_audit
), attempt AS (
    UPDATE execution_step_attempts a
       SET finished_at = now(), outcome = done.outcome, output = done.output::jsonb,
           error = done.error::jsonb
      FROM done
     WHERE a.execution_step_id = ANY(:step_id::uuid[]) AND a.execution_step_id = done.id
       AND a.fencing_token = done.token
), changed AS (
    UPDATE executions e
       SET status = done.execution_status,
           error = COALESCE(done.execution_error::jsonb, e.error),
           finished_at = CASE WHEN done.execution_status IN ('COMPLETED', 'FAILED') THEN now()
                              ELSE e.finished_at END,
           updated_at = now()
      FROM done
     WHERE e.id = ANY(:execution_id::uuid[]) AND e.id = done.execution_id
       AND done.execution_status IS NOT NULL
       AND (e.status = done.execution_from) IS TRUE
 RETURNING done.n, e.status
), kept AS MATERIALIZED (
    SELECT done.n, e.status
      FROM done
      JOIN executions e ON e.id = done.execution_id
     WHERE e.id = ANY(:execution_id::uuid[]) AND done.execution_status IS NULL AND (e.status = done.execution_from) IS TRUE
       FOR NO KEY UPDATE OF e
), execution AS (
    SELECT n, status FROM changed
    UNION ALL
    SELECT n, status FROM kept
), claimed AS (
    UPDATE execution_steps s
       SET status = done.next_status, attempt = s.attempt + 1, fencing_token = s.fencing_token + 1,
           lease_owner = :worker::varchar,
           lease_expires_at = now() + make_interval(secs => :lease::float8),
           attempt_started = false, next_attempt_at = NULL, enqueued_at = NULL,
           started_at = COALESCE(s.started_at, now()), updated_at = now()
      FROM done
      JOIN execution ON execution.n = done.n
     WHERE done.next_status IS NOT NULL AND execution.status = done.next_when
       AND s.execution_id = ANY(:execution_id::uuid[]) AND s.execution_id = done.execution_id
       AND s.position = done.position + 1
       AND (s.status = 'PENDING') IS TRUE
 RETURNING done.n, s.id AS step_id, s.execution_id, s.position, s.step_key, s.action,
           s.attempt, s.fencing_token, s.idempotency_key, done.department, done.next_audit
), claimed_attempt AS (
    INSERT INTO execution_step_attempts (execution_step_id, attempt, fencing_token, worker)
    SELECT step_id, attempt, fencing_token, :worker::varchar FROM claimed
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, done.department, a.reason, a.metadata
      FROM unnest(:a_row::int8[], :a_action::text[], :a_entity_type::text[],
                  :a_entity_id::text[], :a_reason::text[], :a_metadata::jsonb[])
             AS a(n, action, entity_type, entity_id, reason, metadata)
      JOIN done ON done.n = a.n
    UNION ALL
    SELECT c.action, c.entity_type,
           CASE c.entity_type WHEN 'execution' THEN claimed.execution_id
                              ELSE claimed.step_id END::text,
           claimed.department, c.reason,
           c.data || jsonb_build_object('execution_id', claimed.execution_id,
                                        'step', claimed.step_key, 'attempt', claimed.attempt)
      FROM claimed,
           jsonb_to_recordset(claimed.next_audit::jsonb)
             AS c(action text, entity_type text, reason text, data jsonb)
)
SELECT done.n IS NOT NULL AS applied, execution.status AS execution_status,
       claimed.step_id, claimed.execution_id, claimed.position, claimed.step_key,
       claimed.action, claimed.attempt, claimed.fencing_token, claimed.idempotency_key
  FROM input
  LEFT JOIN done ON done.n = input.n
  LEFT JOIN execution ON execution.n = input.n
  LEFT JOIN claimed ON claimed.n = input.n
 ORDER BY input.n;
