-- The engine's statements for a round of group commit: many steps' claims and finishes in one
-- statement.
--
-- A worker running many executions at once sends the claims and finishes that are ready
-- together as one round (govflow/adapters/db/group_commit.py): claim_steps when the round holds
-- claims only, finish_steps when it holds finishes only, step_round when it holds both. Each
-- claim is claim_step (steps.sql) for its step; each finish row is one finish of steps.sql
-- (finish_step, finish_step_claim_next, finish_execution or finish_execution_claim_next). Each
-- keeps the guards of its own statement, applied to that row alone: a claim, its step's status,
-- due time and row lock (SKIP LOCKED) and its execution's status; a finish, its step's fencing
-- token and status and its execution's status. A row whose guard fails changes nothing and is
-- answered not applied (a claim: not claimed), the others go on. A round never holds two
-- finishes of one execution, nor two claims of one step.
--
-- The finishes come in as parallel arrays, one element per row (:n numbers them 1..N), the
-- claims as the array of their steps, and every table is reached from them by its key:
-- execution_steps by id, or by (execution_id, position); executions by id;
-- execution_step_attempts by (execution_step_id, fencing_token). The audit records of the
-- finishes come as parallel arrays too, each naming its row (:a_row); those of the claims are
-- the claim rules' (:rules). Each statement is written out of the two parts below.


-- part: claims
-- The claims of the steps :claim_id under the claim rules :rules, for :worker with a lease of
-- :lease seconds. A step, if PENDING and due and not locked by another claim, in an execution a
-- rule covers, is claimed (taken), its attempt row and the rule's audit records written with it
-- (the records about the execution once, with the first claimed step of it); two steps of one
-- execution (a graph's branches) are claimed under the rule for the status both found.
rule AS (
    SELECT r.execution_status, r.step_status, r.execution_becomes AS becomes, r.audit,
           COALESCE(r.handlers, false) AS handlers
      FROM jsonb_to_recordset(:rules::jsonb)
           AS r(execution_status text, step_status text, execution_becomes text, audit jsonb,
                handlers boolean)
), target AS MATERIALIZED (
    SELECT s.id, s.execution_id, s.next_attempt_at, x.status AS execution_status,
           rule.step_status, rule.becomes, rule.audit
      FROM execution_steps s
     CROSS JOIN LATERAL (SELECT e.status FROM executions e WHERE e.id = s.execution_id) x
      JOIN rule ON rule.execution_status = x.status
                   AND rule.handlers = (strpos(s.step_key, '.') > 0)
     WHERE s.id = ANY(:claim_id::uuid[])
       AND (s.status = 'PENDING' AND s.next_attempt_at <= now()) IS TRUE
       FOR UPDATE OF s SKIP LOCKED
), taken AS (
    UPDATE execution_steps s
       SET status = target.step_status, attempt = s.attempt + 1,
           fencing_token = s.fencing_token + 1, lease_owner = :worker::varchar,
           lease_expires_at = now() + make_interval(secs => :lease::float8),
           attempt_started = false, next_attempt_at = NULL, enqueued_at = NULL,
           started_at = COALESCE(s.started_at, now()), updated_at = now()
      FROM target
     WHERE s.id = target.id
 RETURNING s.id AS step_id, s.execution_id, s.position, s.step_key, s.action, s.attempt,
           s.fencing_token, s.idempotency_key, target.execution_status,
           extract(epoch FROM now() - target.next_attempt_at) AS lag, s.dependents,
           target.becomes, target.audit
), taken_execution AS MATERIALIZED (
    SELECT e.id, e.workflow_id, e.workflow_version_id, e.department_id, e.inputs, e.vars,
           e.error, e.parent_execution_id
      FROM executions e
     WHERE e.id IN (SELECT execution_id FROM taken)
), started AS (
    UPDATE executions e
       SET status = taken.becomes, started_at = COALESCE(e.started_at, now()),
           updated_at = now()
      FROM taken
     WHERE e.id = taken.execution_id AND taken.becomes IS NOT NULL
       AND (e.status = taken.execution_status) IS TRUE
 RETURNING e.id
), firsts AS (
    SELECT DISTINCT ON (execution_id) step_id
      FROM taken
     ORDER BY execution_id, position
), taken_attempt AS (
    INSERT INTO execution_step_attempts (execution_step_id, attempt, fencing_token, worker)
    SELECT step_id, attempt, fencing_token, :worker::varchar FROM taken
), taken_audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type,
           CASE a.entity_type WHEN 'execution' THEN taken.execution_id
                              ELSE taken.step_id END::text,
           taken_execution.department_id, a.reason,
           a.data || jsonb_build_object('execution_id', taken.execution_id,
                                        'step', taken.step_key, 'attempt', taken.attempt)
      FROM taken
      JOIN taken_execution ON taken_execution.id = taken.execution_id,
           jsonb_to_recordset(taken.audit)
             AS a(action text, entity_type text, reason text, data jsonb)
     WHERE a.entity_type <> 'execution'
        OR (EXISTS (SELECT 1 FROM started WHERE started.id = taken.execution_id)
            AND taken.step_id IN (SELECT step_id FROM firsts))
), taken_row AS (  -- what claim_step returns, per claimed step
    SELECT taken.execution_status::text AS execution_status, taken.step_id, taken.execution_id,
           taken.position, taken.step_key, taken.action, taken.attempt, taken.fencing_token,
           taken.idempotency_key, taken.lag, taken_execution.workflow_version_id,
           taken_execution.department_id, taken_execution.inputs::text AS inputs,
           taken_execution.vars::text AS vars, taken_execution.error::text AS execution_error,
           taken_execution.parent_execution_id,
           (SELECT w.name FROM workflows w WHERE w.id = taken_execution.workflow_id)
             AS workflow_name,
           CASE WHEN taken.dependents IS NULL THEN
           (SELECT jsonb_object_agg(p.step_key, jsonb_build_object('output', p.output,
                                                                   'status', p.status))
              FROM execution_steps p
             WHERE p.execution_id = taken.execution_id
               AND p.position < taken.position)
           ELSE
           (SELECT jsonb_object_agg(p.step_key, jsonb_build_object('output', p.output,
                                                                   'status', p.status))
              FROM execution_steps p
             WHERE p.execution_id = taken.execution_id
               AND (p.position < taken.position
                    OR p.status IN ('COMPLETED', 'SKIPPED', 'FAILED')))
           END::text AS steps
      FROM taken
      JOIN taken_execution ON taken_execution.id = taken.execution_id
)

-- part: finishes
-- The finish rows, for :worker with a lease of :lease seconds. Per row: the step moves to its
-- status (the attempt row closed with its outcome); the execution moves from its execution_from
-- to its execution_status, or, without one, is locked as an update would lock it; when its
-- next_status is given, the next step (position + 1), if PENDING while the execution is in
-- next_when, is claimed for :worker (its attempt row and the claim rule's audit records,
-- next_audit, written with it). A row whose execution is in left_out is not applied (deferred).
input AS MATERIALIZED (
    SELECT i.*, i.execution_id IN (SELECT execution_id FROM left_out) AS deferred
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
     WHERE s.id = ANY(:step_id::uuid[]) AND s.id = i.step_id AND NOT i.deferred
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


-- name: claim_steps
-- A round of claims only. Returns the claimed steps, with what claim_step returns for each.
WITH
-- include: claims
SELECT * FROM taken_row;


-- name: finish_steps
-- A round of finishes only. Returns one row per finish row, in order: applied, the execution's
-- status, and the claimed step's columns.
WITH left_out AS (
    SELECT NULL::uuid AS execution_id WHERE false
),
-- include: finishes
SELECT done.n IS NOT NULL AS applied, execution.status AS execution_status,
       claimed.step_id, claimed.execution_id, claimed.position, claimed.step_key,
       claimed.action, claimed.attempt, claimed.fencing_token, claimed.idempotency_key
  FROM input
  LEFT JOIN done ON done.n = input.n
  LEFT JOIN execution ON execution.n = input.n
  LEFT JOIN claimed ON claimed.n = input.n
 ORDER BY input.n;


-- name: step_round
-- A round of claims and finishes. No row is changed by both: a finish whose execution has a
-- step taken by the claims is not applied and is answered deferred (its caller sends it in the
-- next round). Returns one row per finish (taken false: n, applied, deferred, the execution's
-- status and the step the finish claimed), then one per claimed step (taken true: what
-- claim_steps returns).
WITH
-- include: claims
, left_out AS (
    SELECT execution_id FROM target
),
-- include: finishes
SELECT false AS taken, input.n, done.n IS NOT NULL AS applied, input.deferred,
       execution.status::text AS execution_status,
       claimed.step_id, claimed.execution_id, claimed.position, claimed.step_key,
       claimed.action, claimed.attempt, claimed.fencing_token, claimed.idempotency_key,
       NULL::float8 AS lag, NULL::uuid AS workflow_version_id, NULL::uuid AS department_id,
       NULL::text AS inputs, NULL::text AS vars, NULL::text AS execution_error,
       NULL::uuid AS parent_execution_id, NULL::text AS workflow_name, NULL::text AS steps
  FROM input
  LEFT JOIN done ON done.n = input.n
  LEFT JOIN execution ON execution.n = input.n
  LEFT JOIN claimed ON claimed.n = input.n
UNION ALL
SELECT true, NULL, NULL, NULL, taken_row.* FROM taken_row;
