-- The engine's statements: claiming, finishing and recovering execution steps.
--
-- Each query is one statement: one implicit transaction, one round trip. Each carries out a
-- decision of the pure engine (govflow/core/engine.py) that the caller passes in as parameters
-- (new statuses, audit records) and re-checks the guards that decision was made under, so a
-- race can only make it do less:
--   * a claim takes only a PENDING, due step of an execution in a status the claim rules cover;
--   * a finish applies only with the step's current fencing token while it is RUNNING (every
--     other writer - a claim, a recovery, an operator - moves the token on);
--   * an execution changes only from the status the decision was made on, and a next step is
--     claimed or released only while the execution is in the status the claim rule is for.
-- Every table is reached by an index equality on a parameter (or on a value computed from one):
-- a generic plan made while the tables were nearly empty must not scan them once they have
-- grown (tests/integration/engine/test_explain.py keeps these on index scans). A statement
-- about one row reaches it by its key, and its guards (a status, a token, a due time) are
-- written `(...) IS TRUE`: the same test, but one no index can answer. On nearly empty tables
-- the status index of executions, or the partial index of due or leased steps, costs the
-- planner no more than the key, and a generic plan that picked one would read every running
-- execution or every due step on each call once the tables have grown.
--
-- Audit records come in as parallel arrays (action, entity type, entity id, reason, metadata).
-- A claim's records (the audit of a claim rule, :next_audit) come as JSON and name no entity:
-- the claim fills in the execution or the claimed step, and adds execution_id, step and attempt
-- to their metadata.


-- name: claim_step
-- Claim step :step_id for :worker with a lease of :lease seconds, carrying out the claim rules
-- :rules (the engine's ClaimOrder rules as JSON): the rule whose execution_status is the
-- execution's status applies; the step moves to its step_status, the execution to its
-- execution_becomes (NULL: unchanged), and its audit records are written (those about the
-- execution only with its change). A rule with handlers claims failure handlers only (a key
-- with a '.'), the others the other steps only. Returns the claimed step, the execution status
-- found, and what its templates see (inputs, variables, the earlier steps' results, the
-- execution's error).
WITH rule AS (
    SELECT r.execution_status, r.step_status, r.execution_becomes AS becomes, r.audit,
           COALESCE(r.handlers, false) AS handlers
      FROM jsonb_to_recordset(:rules::jsonb)
           AS r(execution_status text, step_status text, execution_becomes text, audit jsonb,
                handlers boolean)
), target AS (
    SELECT s.id, s.next_attempt_at, x.status AS execution_status, rule.step_status, rule.becomes,
           rule.audit
      FROM execution_steps s
     CROSS JOIN LATERAL (SELECT e.status FROM executions e WHERE e.id = s.execution_id) x
      JOIN rule ON rule.execution_status = x.status
                   AND rule.handlers = (strpos(s.step_key, '.') > 0)
     WHERE s.id = :step_id::uuid AND (s.status = 'PENDING' AND s.next_attempt_at <= now()) IS TRUE
       FOR UPDATE OF s SKIP LOCKED
), claimed AS (
    UPDATE execution_steps s
       SET status = target.step_status, attempt = s.attempt + 1,
           fencing_token = s.fencing_token + 1, lease_owner = :worker::varchar,
           lease_expires_at = now() + make_interval(secs => :lease::float8),
           attempt_started = false, next_attempt_at = NULL, enqueued_at = NULL,
           started_at = COALESCE(s.started_at, now()), updated_at = now()
      FROM target
     WHERE s.id = :step_id::uuid AND s.id = target.id
 RETURNING s.id AS step_id, s.execution_id, s.position, s.step_key, s.action, s.attempt,
           s.fencing_token, s.idempotency_key, target.execution_status,
           extract(epoch FROM now() - target.next_attempt_at) AS lag, s.dependents
), execution AS MATERIALIZED (
    SELECT e.workflow_id, e.workflow_version_id, e.department_id, e.inputs, e.vars, e.error,
           e.parent_execution_id
      FROM executions e
     WHERE e.id = (SELECT execution_id FROM claimed)
), started AS (
    UPDATE executions e
       SET status = target.becomes, started_at = COALESCE(e.started_at, now()),
           updated_at = now()
      FROM target
     WHERE e.id = (SELECT execution_id FROM claimed) AND e.status = target.execution_status
       AND target.becomes IS NOT NULL
 RETURNING e.id
), attempt AS (
    INSERT INTO execution_step_attempts (execution_step_id, attempt, fencing_token, worker)
    SELECT step_id, attempt, fencing_token, :worker::varchar FROM claimed
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type,
           CASE a.entity_type WHEN 'execution' THEN claimed.execution_id
                              ELSE claimed.step_id END::text,
           execution.department_id, a.reason,
           a.data || jsonb_build_object('execution_id', claimed.execution_id,
                                        'step', claimed.step_key, 'attempt', claimed.attempt)
      FROM claimed, execution, target,
           jsonb_to_recordset(target.audit)
             AS a(action text, entity_type text, reason text, data jsonb)
     WHERE a.entity_type <> 'execution' OR EXISTS (SELECT 1 FROM started)
)
SELECT claimed.*, execution.workflow_version_id, execution.department_id,
       execution.inputs::text AS inputs, execution.vars::text AS vars,
       execution.error::text AS execution_error, execution.parent_execution_id,
       (SELECT w.name FROM workflows w WHERE w.id = execution.workflow_id) AS workflow_name,
       -- A list's step reads the steps before it; a graph's step (its dependents kept) the
       -- settled ones too, since it may need a step written after it.
       CASE WHEN claimed.dependents IS NULL THEN
       (SELECT jsonb_object_agg(p.step_key, jsonb_build_object('output', p.output,
                                                               'status', p.status))
          FROM execution_steps p
         WHERE p.execution_id = claimed.execution_id
           AND p.position < claimed.position)
       ELSE
       (SELECT jsonb_object_agg(p.step_key, jsonb_build_object('output', p.output,
                                                               'status', p.status))
          FROM execution_steps p
         WHERE p.execution_id = claimed.execution_id
           AND (p.position < claimed.position
                OR p.status IN ('COMPLETED', 'SKIPPED', 'FAILED')))
       END::text AS steps
  FROM claimed, execution;


-- name: claimed_by
-- After a claim met a lost connection: step :step_id as the claim returns it, if :worker holds
-- it (RUNNING under its lease, the action not started, the attempt row of the current token
-- its own and open). Read only then, never on the hot path.
SELECT s.id AS step_id, s.execution_id, s.position, s.step_key, s.action, s.attempt,
       s.fencing_token, s.idempotency_key, 0.0::float8 AS lag,
       e.status AS execution_status,
       e.workflow_version_id, e.department_id, e.inputs::text AS inputs, e.vars::text AS vars,
       e.error::text AS execution_error, e.parent_execution_id,
       (SELECT w.name FROM workflows w WHERE w.id = e.workflow_id) AS workflow_name,
       CASE WHEN s.dependents IS NULL THEN
       (SELECT jsonb_object_agg(p.step_key, jsonb_build_object('output', p.output,
                                                               'status', p.status))
          FROM execution_steps p
         WHERE p.execution_id = s.execution_id AND p.position < s.position)
       ELSE
       (SELECT jsonb_object_agg(p.step_key, jsonb_build_object('output', p.output,
                                                               'status', p.status))
          FROM execution_steps p
         WHERE p.execution_id = s.execution_id
           AND (p.position < s.position
                OR p.status IN ('COMPLETED', 'SKIPPED', 'FAILED')))
       END::text AS steps
  FROM execution_steps s
  JOIN executions e ON e.id = s.execution_id
 WHERE s.id = :step_id::uuid
   AND (s.status = 'RUNNING' AND s.lease_owner = :worker::varchar AND NOT s.attempt_started) IS TRUE
   AND EXISTS (SELECT 1 FROM execution_step_attempts a
                WHERE a.execution_step_id = s.id AND a.fencing_token = s.fencing_token
                  AND a.worker = :worker::varchar AND a.finished_at IS NULL);


-- name: mark_attempt_started
-- The plugin is about to be called: record it, with the strategy and the rendered parameters.
UPDATE execution_steps
   SET attempt_started = true, idempotency = :idempotency::varchar, params = :params::jsonb,
       updated_at = now()
 WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE;


-- name: extend_lease
-- Renew the lease of a step still held with :token.
UPDATE execution_steps SET lease_expires_at = now() + make_interval(secs => :lease::float8)
 WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE;


-- name: finish_step
-- An attempt ends and the execution's status stays: the step moves to :status, the attempt
-- row is closed with :outcome, the audit records are written. The execution row is locked as
-- an update would lock it (a cancel holding it is waited for and then re-checked) without
-- writing a new row version.
WITH done AS (
    UPDATE execution_steps
       SET status = :status::varchar, output = COALESCE(:output::jsonb, output), error = :error::jsonb,
           next_attempt_at = CASE WHEN :status::varchar = 'PENDING'
                                  THEN now() + make_interval(secs => :retry_in::float8) END,
           enqueued_at = NULL, wait_reason = :wait_reason::varchar,
           finished_at = CASE WHEN :status::varchar IN ('COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED')
                              THEN now() END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE
 RETURNING execution_id, position, id
), attempt AS (
    UPDATE execution_step_attempts
       SET finished_at = now(), outcome = :outcome::varchar, output = :output::jsonb, error = :error::jsonb
     WHERE execution_step_id = :step_id::uuid AND fencing_token = :token::int8
       AND EXISTS (SELECT 1 FROM done)
), execution AS MATERIALIZED (
    SELECT e.id, e.status
      FROM executions e
     WHERE e.id = :execution_id::uuid AND (e.status = :execution_from::varchar) IS TRUE
       AND EXISTS (SELECT 1 FROM done)
       FOR NO KEY UPDATE OF e
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, :department::uuid, a.reason, a.metadata
      FROM done,
           unnest(:a_action::text[], :a_entity_type::text[], :a_entity_id::text[],
                  :a_reason::text[], :a_metadata::jsonb[])
             AS a(action, entity_type, entity_id, reason, metadata)
)
SELECT done.id IS NOT NULL AS applied, execution.status AS execution_status
  FROM (VALUES (1)) AS one
  LEFT JOIN done ON true
  LEFT JOIN execution ON true;


-- name: finish_step_claim_next
-- finish_step, and the worker goes on: the next step (:position + 1), if PENDING and the
-- execution is in :next_when, is claimed for :worker with a lease of :lease seconds and moves to
-- :next_status; its attempt row and the claim's audit records (:next_audit) are written with it.
WITH done AS (
    UPDATE execution_steps
       SET status = :status::varchar, output = COALESCE(:output::jsonb, output), error = :error::jsonb,
           next_attempt_at = CASE WHEN :status::varchar = 'PENDING'
                                  THEN now() + make_interval(secs => :retry_in::float8) END,
           enqueued_at = NULL, wait_reason = :wait_reason::varchar,
           finished_at = CASE WHEN :status::varchar IN ('COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED')
                              THEN now() END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE
 RETURNING execution_id, position, id
), attempt AS (
    UPDATE execution_step_attempts
       SET finished_at = now(), outcome = :outcome::varchar, output = :output::jsonb, error = :error::jsonb
     WHERE execution_step_id = :step_id::uuid AND fencing_token = :token::int8
       AND EXISTS (SELECT 1 FROM done)
), execution AS MATERIALIZED (
    SELECT e.id, e.status
      FROM executions e
     WHERE e.id = :execution_id::uuid AND (e.status = :execution_from::varchar) IS TRUE
       AND EXISTS (SELECT 1 FROM done)
       FOR NO KEY UPDATE OF e
), claimed AS (
    UPDATE execution_steps s
       SET status = :next_status::varchar, attempt = s.attempt + 1, fencing_token = s.fencing_token + 1,
           lease_owner = :worker::varchar, lease_expires_at = now() + make_interval(secs => :lease::float8),
           attempt_started = false, next_attempt_at = NULL, enqueued_at = NULL,
           started_at = COALESCE(s.started_at, now()), updated_at = now()
      FROM done, execution
     WHERE execution.status = :next_when::varchar AND s.execution_id = :execution_id::uuid
       AND s.position = :position::int4 + 1 AND (s.status = 'PENDING') IS TRUE
 RETURNING s.id AS step_id, s.execution_id, s.position, s.step_key, s.action, s.attempt,
           s.fencing_token, s.idempotency_key
), claimed_attempt AS (
    INSERT INTO execution_step_attempts (execution_step_id, attempt, fencing_token, worker)
    SELECT step_id, attempt, fencing_token, :worker::varchar FROM claimed
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, :department::uuid, a.reason, a.metadata
      FROM done,
           unnest(:a_action::text[], :a_entity_type::text[], :a_entity_id::text[],
                  :a_reason::text[], :a_metadata::jsonb[])
             AS a(action, entity_type, entity_id, reason, metadata)
    UNION ALL
    SELECT c.action, c.entity_type,
           CASE c.entity_type WHEN 'execution' THEN claimed.execution_id
                              ELSE claimed.step_id END::text,
           :department::uuid, c.reason,
           c.data || jsonb_build_object('execution_id', claimed.execution_id,
                                        'step', claimed.step_key, 'attempt', claimed.attempt)
      FROM claimed,
           jsonb_to_recordset(:next_audit::jsonb)
             AS c(action text, entity_type text, reason text, data jsonb)
)
SELECT done.id IS NOT NULL AS applied, execution.status AS execution_status, claimed.*
  FROM (VALUES (1)) AS one
  LEFT JOIN done ON true
  LEFT JOIN execution ON true
  LEFT JOIN claimed ON true;


-- name: finish_step_release_next
-- finish_step, and the next step (:position + 1), if PENDING and the execution is in
-- :next_when, is made claimable by any worker now; its id is returned for the wake-up.
WITH done AS (
    UPDATE execution_steps
       SET status = :status::varchar, output = COALESCE(:output::jsonb, output), error = :error::jsonb,
           next_attempt_at = CASE WHEN :status::varchar = 'PENDING'
                                  THEN now() + make_interval(secs => :retry_in::float8) END,
           enqueued_at = NULL, wait_reason = :wait_reason::varchar,
           finished_at = CASE WHEN :status::varchar IN ('COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED')
                              THEN now() END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE
 RETURNING execution_id, position, id
), attempt AS (
    UPDATE execution_step_attempts
       SET finished_at = now(), outcome = :outcome::varchar, output = :output::jsonb, error = :error::jsonb
     WHERE execution_step_id = :step_id::uuid AND fencing_token = :token::int8
       AND EXISTS (SELECT 1 FROM done)
), execution AS MATERIALIZED (
    SELECT e.id, e.status
      FROM executions e
     WHERE e.id = :execution_id::uuid AND (e.status = :execution_from::varchar) IS TRUE
       AND EXISTS (SELECT 1 FROM done)
       FOR NO KEY UPDATE OF e
), released AS (
    UPDATE execution_steps s
       SET next_attempt_at = now(), enqueued_at = now(), updated_at = now()
      FROM done, execution
     WHERE execution.status = :next_when::varchar AND s.execution_id = :execution_id::uuid
       AND s.position = :position::int4 + 1 AND (s.status = 'PENDING') IS TRUE
 RETURNING s.id
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, :department::uuid, a.reason, a.metadata
      FROM done,
           unnest(:a_action::text[], :a_entity_type::text[], :a_entity_id::text[],
                  :a_reason::text[], :a_metadata::jsonb[])
             AS a(action, entity_type, entity_id, reason, metadata)
)
SELECT done.id IS NOT NULL AS applied, execution.status AS execution_status,
       released.id AS released_id
  FROM (VALUES (1)) AS one
  LEFT JOIN done ON true
  LEFT JOIN execution ON true
  LEFT JOIN released ON true;


-- name: finish_execution
-- An attempt ends and the execution's status changes with it: as finish_step, and the
-- execution moves from :execution_from to :execution_status (with :execution_error when one is
-- given; finished when COMPLETED or FAILED).
WITH done AS (
    UPDATE execution_steps
       SET status = :status::varchar, output = COALESCE(:output::jsonb, output), error = :error::jsonb,
           next_attempt_at = CASE WHEN :status::varchar = 'PENDING'
                                  THEN now() + make_interval(secs => :retry_in::float8) END,
           enqueued_at = NULL, wait_reason = :wait_reason::varchar,
           finished_at = CASE WHEN :status::varchar IN ('COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED')
                              THEN now() END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE
 RETURNING execution_id, position, id
), attempt AS (
    UPDATE execution_step_attempts
       SET finished_at = now(), outcome = :outcome::varchar, output = :output::jsonb, error = :error::jsonb
     WHERE execution_step_id = :step_id::uuid AND fencing_token = :token::int8
       AND EXISTS (SELECT 1 FROM done)
), execution AS (
    UPDATE executions e
       SET status = :execution_status::varchar, error = COALESCE(:execution_error::jsonb, e.error),
           finished_at = CASE WHEN :execution_status::varchar IN ('COMPLETED', 'FAILED') THEN now()
                              ELSE e.finished_at END,
           updated_at = now()
     WHERE e.id = :execution_id::uuid AND (e.status = :execution_from::varchar) IS TRUE
       AND EXISTS (SELECT 1 FROM done)
 RETURNING e.id, e.status
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, :department::uuid, a.reason, a.metadata
      FROM done,
           unnest(:a_action::text[], :a_entity_type::text[], :a_entity_id::text[],
                  :a_reason::text[], :a_metadata::jsonb[])
             AS a(action, entity_type, entity_id, reason, metadata)
)
SELECT done.id IS NOT NULL AS applied, execution.status AS execution_status
  FROM (VALUES (1)) AS one
  LEFT JOIN done ON true
  LEFT JOIN execution ON true;


-- name: finish_execution_start_handlers
-- The execution fails and its failure handlers start: as finish_execution, and the first
-- handler (at :handlers_from), if PENDING and the execution is now FAILED, is made claimable
-- by any worker now; its id is returned for the wake-up.
WITH done AS (
    UPDATE execution_steps
       SET status = :status::varchar, output = COALESCE(:output::jsonb, output), error = :error::jsonb,
           next_attempt_at = CASE WHEN :status::varchar = 'PENDING'
                                  THEN now() + make_interval(secs => :retry_in::float8) END,
           enqueued_at = NULL, wait_reason = :wait_reason::varchar,
           finished_at = CASE WHEN :status::varchar IN ('COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED')
                              THEN now() END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE
 RETURNING execution_id, position, id
), attempt AS (
    UPDATE execution_step_attempts
       SET finished_at = now(), outcome = :outcome::varchar, output = :output::jsonb, error = :error::jsonb
     WHERE execution_step_id = :step_id::uuid AND fencing_token = :token::int8
       AND EXISTS (SELECT 1 FROM done)
), execution AS (
    UPDATE executions e
       SET status = :execution_status::varchar, error = COALESCE(:execution_error::jsonb, e.error),
           finished_at = CASE WHEN :execution_status::varchar IN ('COMPLETED', 'FAILED') THEN now()
                              ELSE e.finished_at END,
           updated_at = now()
     WHERE e.id = :execution_id::uuid AND (e.status = :execution_from::varchar) IS TRUE
       AND EXISTS (SELECT 1 FROM done)
 RETURNING e.id, e.status
), released AS (
    UPDATE execution_steps s
       SET next_attempt_at = now(), enqueued_at = now(), updated_at = now()
      FROM execution
     WHERE execution.status = 'FAILED' AND s.execution_id = :execution_id::uuid
       AND s.position = :handlers_from::int4 AND (s.status = 'PENDING') IS TRUE
 RETURNING s.id
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, :department::uuid, a.reason, a.metadata
      FROM done,
           unnest(:a_action::text[], :a_entity_type::text[], :a_entity_id::text[],
                  :a_reason::text[], :a_metadata::jsonb[])
             AS a(action, entity_type, entity_id, reason, metadata)
)
SELECT done.id IS NOT NULL AS applied, execution.status AS execution_status,
       released.id AS released_id
  FROM (VALUES (1)) AS one
  LEFT JOIN done ON true
  LEFT JOIN execution ON true
  LEFT JOIN released ON true;


-- name: finish_execution_claim_next
-- finish_execution, and the worker goes on with the next step as in finish_step_claim_next
-- (e.g. a step that ends a wait resumes the execution and the next step runs).
WITH done AS (
    UPDATE execution_steps
       SET status = :status::varchar, output = COALESCE(:output::jsonb, output), error = :error::jsonb,
           next_attempt_at = CASE WHEN :status::varchar = 'PENDING'
                                  THEN now() + make_interval(secs => :retry_in::float8) END,
           enqueued_at = NULL, wait_reason = :wait_reason::varchar,
           finished_at = CASE WHEN :status::varchar IN ('COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED')
                              THEN now() END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE
 RETURNING execution_id, position, id
), attempt AS (
    UPDATE execution_step_attempts
       SET finished_at = now(), outcome = :outcome::varchar, output = :output::jsonb, error = :error::jsonb
     WHERE execution_step_id = :step_id::uuid AND fencing_token = :token::int8
       AND EXISTS (SELECT 1 FROM done)
), execution AS (
    UPDATE executions e
       SET status = :execution_status::varchar, error = COALESCE(:execution_error::jsonb, e.error),
           finished_at = CASE WHEN :execution_status::varchar IN ('COMPLETED', 'FAILED') THEN now()
                              ELSE e.finished_at END,
           updated_at = now()
     WHERE e.id = :execution_id::uuid AND (e.status = :execution_from::varchar) IS TRUE
       AND EXISTS (SELECT 1 FROM done)
 RETURNING e.id, e.status
), claimed AS (
    UPDATE execution_steps s
       SET status = :next_status::varchar, attempt = s.attempt + 1, fencing_token = s.fencing_token + 1,
           lease_owner = :worker::varchar, lease_expires_at = now() + make_interval(secs => :lease::float8),
           attempt_started = false, next_attempt_at = NULL, enqueued_at = NULL,
           started_at = COALESCE(s.started_at, now()), updated_at = now()
      FROM done, execution
     WHERE execution.status = :next_when::varchar AND s.execution_id = :execution_id::uuid
       AND s.position = :position::int4 + 1 AND (s.status = 'PENDING') IS TRUE
 RETURNING s.id AS step_id, s.execution_id, s.position, s.step_key, s.action, s.attempt,
           s.fencing_token, s.idempotency_key
), claimed_attempt AS (
    INSERT INTO execution_step_attempts (execution_step_id, attempt, fencing_token, worker)
    SELECT step_id, attempt, fencing_token, :worker::varchar FROM claimed
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, :department::uuid, a.reason, a.metadata
      FROM done,
           unnest(:a_action::text[], :a_entity_type::text[], :a_entity_id::text[],
                  :a_reason::text[], :a_metadata::jsonb[])
             AS a(action, entity_type, entity_id, reason, metadata)
    UNION ALL
    SELECT c.action, c.entity_type,
           CASE c.entity_type WHEN 'execution' THEN claimed.execution_id
                              ELSE claimed.step_id END::text,
           :department::uuid, c.reason,
           c.data || jsonb_build_object('execution_id', claimed.execution_id,
                                        'step', claimed.step_key, 'attempt', claimed.attempt)
      FROM claimed,
           jsonb_to_recordset(:next_audit::jsonb)
             AS c(action text, entity_type text, reason text, data jsonb)
)
SELECT done.id IS NOT NULL AS applied, execution.status AS execution_status, claimed.*
  FROM (VALUES (1)) AS one
  LEFT JOIN done ON true
  LEFT JOIN execution ON true
  LEFT JOIN claimed ON true;


-- name: finish_execution_release_next
-- finish_execution, and the next step is released to any worker as in finish_step_release_next.
WITH done AS (
    UPDATE execution_steps
       SET status = :status::varchar, output = COALESCE(:output::jsonb, output), error = :error::jsonb,
           next_attempt_at = CASE WHEN :status::varchar = 'PENDING'
                                  THEN now() + make_interval(secs => :retry_in::float8) END,
           enqueued_at = NULL, wait_reason = :wait_reason::varchar,
           finished_at = CASE WHEN :status::varchar IN ('COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED')
                              THEN now() END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE
 RETURNING execution_id, position, id
), attempt AS (
    UPDATE execution_step_attempts
       SET finished_at = now(), outcome = :outcome::varchar, output = :output::jsonb, error = :error::jsonb
     WHERE execution_step_id = :step_id::uuid AND fencing_token = :token::int8
       AND EXISTS (SELECT 1 FROM done)
), execution AS (
    UPDATE executions e
       SET status = :execution_status::varchar, error = COALESCE(:execution_error::jsonb, e.error),
           finished_at = CASE WHEN :execution_status::varchar IN ('COMPLETED', 'FAILED') THEN now()
                              ELSE e.finished_at END,
           updated_at = now()
     WHERE e.id = :execution_id::uuid AND (e.status = :execution_from::varchar) IS TRUE
       AND EXISTS (SELECT 1 FROM done)
 RETURNING e.id, e.status
), released AS (
    UPDATE execution_steps s
       SET next_attempt_at = now(), enqueued_at = now(), updated_at = now()
      FROM done, execution
     WHERE execution.status = :next_when::varchar AND s.execution_id = :execution_id::uuid
       AND s.position = :position::int4 + 1 AND (s.status = 'PENDING') IS TRUE
 RETURNING s.id
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, :department::uuid, a.reason, a.metadata
      FROM done,
           unnest(:a_action::text[], :a_entity_type::text[], :a_entity_id::text[],
                  :a_reason::text[], :a_metadata::jsonb[])
             AS a(action, entity_type, entity_id, reason, metadata)
)
SELECT done.id IS NOT NULL AS applied, execution.status AS execution_status,
       released.id AS released_id
  FROM (VALUES (1)) AS one
  LEFT JOIN done ON true
  LEFT JOIN execution ON true
  LEFT JOIN released ON true;


-- name: finish_suspended
-- The action waits on a person: as finish_execution, and a human task is opened for the step
-- from :task (translate.human_task_row: title, description, who it is offered to and who reviews
-- it as role, department id and user ids, the review policy, escalate_to, notify, form and
-- due_in_seconds).
WITH done AS (
    UPDATE execution_steps
       SET status = :status::varchar, output = COALESCE(:output::jsonb, output), error = :error::jsonb,
           next_attempt_at = NULL, enqueued_at = NULL, wait_reason = :wait_reason::varchar,
           finished_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE
 RETURNING execution_id, position, id
), attempt AS (
    UPDATE execution_step_attempts
       SET finished_at = now(), outcome = :outcome::varchar, output = :output::jsonb, error = :error::jsonb
     WHERE execution_step_id = :step_id::uuid AND fencing_token = :token::int8
       AND EXISTS (SELECT 1 FROM done)
), execution AS (
    UPDATE executions e
       SET status = :execution_status::varchar, updated_at = now()
     WHERE e.id = :execution_id::uuid AND (e.status = :execution_from::varchar) IS TRUE
       AND EXISTS (SELECT 1 FROM done)
 RETURNING e.id, e.status
), task AS (
    INSERT INTO human_tasks (execution_id, execution_step_id, department_id, title,
                             description, assignee_role, offer_department_id, offer_users,
                             reviewer_role, reviewer_department_id, reviewer_users,
                             approvals_required, starter_cannot_approve, on_reject, escalate_to,
                             notify, form, due_at)
    SELECT done.execution_id, done.id, :department::uuid,
           COALESCE(t.task ->> 'title', 'Task'),
           COALESCE(t.task ->> 'description', ''),
           t.task ->> 'assignee_role', (t.task ->> 'offer_department_id')::uuid,
           COALESCE(t.task -> 'offer_users', '[]'::jsonb),
           t.task ->> 'reviewer_role', (t.task ->> 'reviewer_department_id')::uuid,
           COALESCE(t.task -> 'reviewer_users', '[]'::jsonb),
           COALESCE((t.task ->> 'approvals_required')::int4, 1),
           COALESCE((t.task ->> 'starter_cannot_approve')::bool, false),
           t.task ->> 'on_reject',
           NULLIF(t.task -> 'escalate_to', 'null'::jsonb),
           NULLIF(t.task -> 'notify', 'null'::jsonb),
           COALESCE(t.task -> 'form', '{}'::jsonb),
           now() + make_interval(secs => (t.task ->> 'due_in_seconds')::float8)
      FROM done JOIN execution ON execution.id = done.execution_id,
           (SELECT :task::jsonb AS task) AS t
    ON CONFLICT (execution_step_id) WHERE status NOT IN ('CLOSED', 'CANCELED', 'DELETED')
       DO NOTHING
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, :department::uuid, a.reason, a.metadata
      FROM done,
           unnest(:a_action::text[], :a_entity_type::text[], :a_entity_id::text[],
                  :a_reason::text[], :a_metadata::jsonb[])
             AS a(action, entity_type, entity_id, reason, metadata)
)
SELECT done.id IS NOT NULL AS applied, execution.status AS execution_status
  FROM (VALUES (1)) AS one
  LEFT JOIN done ON true
  LEFT JOIN execution ON true;


-- name: finish_outcome
-- After a finish met a lost connection: whether the finish with :token applied (the attempt row
-- of that token was closed - only a finish closes it - or the step left RUNNING still carrying
-- that token: every other writer moves the token on), the execution's status, and the next step
-- as it is now. Read only then, never on the hot path.
SELECT (EXISTS (SELECT 1 FROM execution_step_attempts a
                 WHERE a.execution_step_id = :step_id::uuid AND a.fencing_token = :token::int8
                   AND a.finished_at IS NOT NULL)
        OR EXISTS (SELECT 1 FROM execution_steps s
                    WHERE s.id = :step_id::uuid AND s.fencing_token = :token::int8
                      AND s.status <> 'RUNNING'))
         AS applied,
       (SELECT e.status FROM executions e WHERE e.id = :execution_id::uuid) AS execution_status,
       n.id AS step_id, n.execution_id, n.position, n.step_key, n.action, n.attempt,
       n.fencing_token, n.idempotency_key, n.status AS next_status, n.lease_owner AS next_owner
  FROM (VALUES (1)) AS one
  LEFT JOIN execution_steps n ON n.execution_id = :execution_id::uuid
                             AND n.position = :position::int4 + 1;


-- name: take_expired
-- The recovery takes over up to :limit steps whose lease expired, oldest first (only those of
-- :department's executions when it is not NULL): a new fencing token, :worker's lease of :lease
-- seconds. The step's status is left to the engine's decision (finish_* carries it out).
WITH expired AS (
    SELECT s.id FROM execution_steps s
     WHERE s.status = 'RUNNING' AND s.lease_expires_at < now()
       AND (:department::uuid IS NULL
            OR (SELECT x.department_id FROM executions x WHERE x.id = s.execution_id)
               = :department::uuid)
     ORDER BY s.lease_expires_at
     LIMIT :limit::int4
       FOR UPDATE OF s SKIP LOCKED
), taken AS (
    UPDATE execution_steps s
       SET fencing_token = s.fencing_token + 1, lease_owner = :worker::varchar,
           lease_expires_at = now() + make_interval(secs => :lease::float8), updated_at = now()
      FROM expired
     WHERE s.id = expired.id
 RETURNING s.id AS step_id, s.execution_id, s.position, s.step_key, s.action, s.attempt,
           s.fencing_token, s.idempotency_key, s.attempt_started, s.idempotency,
           s.params::text AS params
)
SELECT taken.*, e.workflow_version_id, e.department_id, e.status AS execution_status
  FROM taken
 CROSS JOIN LATERAL (SELECT x.workflow_version_id, x.department_id, x.status
                       FROM executions x WHERE x.id = taken.execution_id OFFSET 0) e;


-- name: due_unclaimed
-- Up to :limit runnable steps (PENDING, due, their execution PENDING or RUNNING, or FAILED for a
-- failure handler) whose wake-up
-- was not sent or not taken within :resend_after seconds (only those of :department's
-- executions when it is not NULL): marked woken now, their ids returned to be woken again.
UPDATE execution_steps s SET enqueued_at = now()
 WHERE s.id IN (
    SELECT p.id FROM execution_steps p
     WHERE p.status = 'PENDING' AND p.next_attempt_at <= now()
       AND (p.enqueued_at IS NULL
            OR p.enqueued_at < now() - make_interval(secs => :resend_after::float8))
       AND (SELECT (e.status IN ('PENDING', 'RUNNING')
                    OR (e.status = 'FAILED' AND strpos(p.step_key, '.') > 0))
                   AND (:department::uuid IS NULL OR e.department_id = :department::uuid)
              FROM executions e WHERE e.id = p.execution_id)
     ORDER BY p.next_attempt_at
     LIMIT :limit::int4
       FOR UPDATE OF p SKIP LOCKED)
RETURNING s.id;


-- name: finish_step_release_dependents
-- finish_step for a step of a graph (a workflow whose steps say needs:): the step is settled,
-- and each step that needs it (:dependents, by position) is counted down under its row lock;
-- one whose last need this was (needs_left 1 -> 0, graph.join_released) is made due now, while
-- the execution has not ended, and its id is returned for the wake-up. Two needs settling at
-- once both update the dependent's row: the second waits for the first and counts down the row
-- it left (read committed re-reads a locked row), so exactly one of them releases the join.
-- The execution's runnable_steps counts the settled step out and the released ones in, on the
-- row it locked (the latest version, whoever wrote it last), and its status follows: the rule of
-- :branch_rules (the engine's decide_branches) for the status found, whether a step is runnable
-- or running, and whether one waits (none runnable: the open steps wait, since a step whose
-- needs all settled is runnable) is carried out with its audit records; no rule, no change.
WITH done AS (
    UPDATE execution_steps
       SET status = :status::varchar, output = COALESCE(:output::jsonb, output), error = :error::jsonb,
           next_attempt_at = CASE WHEN :status::varchar = 'PENDING'
                                  THEN now() + make_interval(secs => :retry_in::float8) END,
           enqueued_at = NULL, wait_reason = :wait_reason::varchar,
           finished_at = CASE WHEN :status::varchar IN ('COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED')
                              THEN now() END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE
 RETURNING execution_id, position, id, step_key
), attempt AS (
    UPDATE execution_step_attempts
       SET finished_at = now(), outcome = :outcome::varchar, output = :output::jsonb, error = :error::jsonb
     WHERE execution_step_id = :step_id::uuid AND fencing_token = :token::int8
       AND EXISTS (SELECT 1 FROM done)
), execution AS MATERIALIZED (
    SELECT e.id, e.status, e.runnable_steps
      FROM executions e
     WHERE e.id = :execution_id::uuid AND EXISTS (SELECT 1 FROM done)
       FOR NO KEY UPDATE OF e
), counted AS (
    UPDATE execution_steps s
       SET needs_left = s.needs_left - 1,
           next_attempt_at = CASE WHEN s.needs_left = 1 THEN now() ELSE s.next_attempt_at END,
           enqueued_at = CASE WHEN s.needs_left = 1 THEN now() ELSE s.enqueued_at END,
           updated_at = now()
      FROM execution
     WHERE execution.status IN ('PENDING', 'RUNNING', 'WAITING', 'NEEDS_ATTENTION')
       AND s.execution_id = :execution_id::uuid AND s.position = ANY (:dependents::int4[])
       AND (s.status = 'PENDING' AND s.needs_left > 0) IS TRUE
 RETURNING s.id, s.needs_left
), counted_in AS MATERIALIZED (
    SELECT GREATEST(execution.runnable_steps - 1 + (SELECT count(*) FROM counted c WHERE c.needs_left = 0)::int4, 0)::int4 AS runnable_steps,
           execution.status
      FROM execution
     WHERE execution.runnable_steps IS NOT NULL
       AND execution.status IN ('PENDING', 'RUNNING', 'WAITING', 'NEEDS_ATTENTION')
), branch AS MATERIALIZED (
    SELECT r.execution_becomes AS becomes, r.audit
      FROM counted_in,
           jsonb_to_recordset(:branch_rules::jsonb)
             AS r(execution_status text, runnable boolean, waiting boolean,
                  execution_becomes text, audit jsonb)
     WHERE r.execution_status = counted_in.status AND r.runnable = (counted_in.runnable_steps > 0)
       AND r.waiting = (counted_in.runnable_steps = 0)
), followed AS (
    UPDATE executions e
       SET runnable_steps = counted_in.runnable_steps,
           status = COALESCE((SELECT b.becomes FROM branch b), e.status), updated_at = now()
      FROM counted_in
     WHERE e.id = :execution_id::uuid
 RETURNING e.status, EXISTS (SELECT 1 FROM branch) AS changed
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, :department::uuid, a.reason, a.metadata
      FROM done,
           unnest(:a_action::text[], :a_entity_type::text[], :a_entity_id::text[],
                  :a_reason::text[], :a_metadata::jsonb[])
             AS a(action, entity_type, entity_id, reason, metadata)
    UNION ALL
    SELECT b.action, b.entity_type, :execution_id::text, :department::uuid, b.reason,
           b.data || jsonb_build_object('execution_id', :execution_id::uuid, 'step', done.step_key)
      FROM done, branch,
           jsonb_to_recordset(branch.audit) AS b(action text, entity_type text, reason text, data jsonb)
)
SELECT done.id IS NOT NULL AS applied,
       COALESCE((SELECT f.status FROM followed f WHERE f.changed),
                (SELECT x.status FROM execution x WHERE x.status = :execution_from::varchar))
         AS execution_status,
       ARRAY(SELECT c.id FROM counted c WHERE c.needs_left = 0) AS released_ids
  FROM (VALUES (1)) AS one
  LEFT JOIN done ON true;


-- name: finish_suspended_branch
-- A step of a graph waits (its human task, when :task is given, is opened as in
-- finish_suspended; a signal or a child execution otherwise): the step is recorded WAITING, and
-- the execution counts it out of its runnable_steps and follows them as in
-- finish_step_release_dependents (it waits once none is runnable or running).
WITH done AS (
    UPDATE execution_steps
       SET status = :status::varchar, output = COALESCE(:output::jsonb, output), error = :error::jsonb,
           next_attempt_at = NULL, enqueued_at = NULL, wait_reason = :wait_reason::varchar,
           finished_at = NULL, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE
 RETURNING execution_id, position, id, step_key
), attempt AS (
    UPDATE execution_step_attempts
       SET finished_at = now(), outcome = :outcome::varchar, output = :output::jsonb, error = :error::jsonb
     WHERE execution_step_id = :step_id::uuid AND fencing_token = :token::int8
       AND EXISTS (SELECT 1 FROM done)
), execution AS MATERIALIZED (
    SELECT e.id, e.status, e.runnable_steps
      FROM executions e
     WHERE e.id = :execution_id::uuid AND EXISTS (SELECT 1 FROM done)
       FOR NO KEY UPDATE OF e
), task AS (
    INSERT INTO human_tasks (execution_id, execution_step_id, department_id, title,
                             description, assignee_role, offer_department_id, offer_users,
                             reviewer_role, reviewer_department_id, reviewer_users,
                             approvals_required, starter_cannot_approve, on_reject, escalate_to,
                             notify, form, due_at)
    SELECT done.execution_id, done.id, :department::uuid,
           COALESCE(t.task ->> 'title', 'Task'),
           COALESCE(t.task ->> 'description', ''),
           t.task ->> 'assignee_role', (t.task ->> 'offer_department_id')::uuid,
           COALESCE(t.task -> 'offer_users', '[]'::jsonb),
           t.task ->> 'reviewer_role', (t.task ->> 'reviewer_department_id')::uuid,
           COALESCE(t.task -> 'reviewer_users', '[]'::jsonb),
           COALESCE((t.task ->> 'approvals_required')::int4, 1),
           COALESCE((t.task ->> 'starter_cannot_approve')::bool, false),
           t.task ->> 'on_reject',
           NULLIF(t.task -> 'escalate_to', 'null'::jsonb),
           NULLIF(t.task -> 'notify', 'null'::jsonb),
           COALESCE(t.task -> 'form', '{}'::jsonb),
           now() + make_interval(secs => (t.task ->> 'due_in_seconds')::float8)
      FROM done JOIN execution ON execution.id = done.execution_id,
           (SELECT :task::jsonb AS task) AS t
     WHERE t.task IS NOT NULL
    ON CONFLICT (execution_step_id) WHERE status NOT IN ('CLOSED', 'CANCELED', 'DELETED')
       DO NOTHING
), counted_in AS MATERIALIZED (
    SELECT GREATEST(execution.runnable_steps - 1 + 0, 0)::int4 AS runnable_steps,
           execution.status
      FROM execution
     WHERE execution.runnable_steps IS NOT NULL
       AND execution.status IN ('PENDING', 'RUNNING', 'WAITING', 'NEEDS_ATTENTION')
), branch AS MATERIALIZED (
    SELECT r.execution_becomes AS becomes, r.audit
      FROM counted_in,
           jsonb_to_recordset(:branch_rules::jsonb)
             AS r(execution_status text, runnable boolean, waiting boolean,
                  execution_becomes text, audit jsonb)
     WHERE r.execution_status = counted_in.status AND r.runnable = (counted_in.runnable_steps > 0)
       AND r.waiting = true
), followed AS (
    UPDATE executions e
       SET runnable_steps = counted_in.runnable_steps,
           status = COALESCE((SELECT b.becomes FROM branch b), e.status), updated_at = now()
      FROM counted_in
     WHERE e.id = :execution_id::uuid
 RETURNING e.status, EXISTS (SELECT 1 FROM branch) AS changed
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, :department::uuid, a.reason, a.metadata
      FROM done,
           unnest(:a_action::text[], :a_entity_type::text[], :a_entity_id::text[],
                  :a_reason::text[], :a_metadata::jsonb[])
             AS a(action, entity_type, entity_id, reason, metadata)
    UNION ALL
    SELECT b.action, b.entity_type, :execution_id::text, :department::uuid, b.reason,
           b.data || jsonb_build_object('execution_id', :execution_id::uuid, 'step', done.step_key)
      FROM done, branch,
           jsonb_to_recordset(branch.audit) AS b(action text, entity_type text, reason text, data jsonb)
)
SELECT done.id IS NOT NULL AS applied,
       COALESCE((SELECT f.status FROM followed f WHERE f.changed),
                (SELECT x.status FROM execution x WHERE x.status = :execution_from::varchar))
         AS execution_status
  FROM (VALUES (1)) AS one
  LEFT JOIN done ON true;


-- name: finish_execution_cancel_branches
-- finish_execution for a step of a graph that fails its execution: the execution moves from
-- :execution_from to :execution_status with :execution_error, and every other step of it in
-- one of :cancel_from is canceled as an operator's cancel cancels it (a new fencing token, the
-- lease ended, a waiting step's human task canceled), audited STEP_CANCELED with
-- :cancel_reason (only the graph's steps: those that keep dependents). A step whose own finish
-- holds its row is passed over (SKIP LOCKED, no deadlock with it): that finish finds the
-- execution ended and releases nothing. The first failure handler (at :handlers_from, when not
-- NULL) is made claimable as in finish_execution_start_handlers.
WITH done AS (
    UPDATE execution_steps
       SET status = :status::varchar, output = COALESCE(:output::jsonb, output), error = :error::jsonb,
           next_attempt_at = CASE WHEN :status::varchar = 'PENDING'
                                  THEN now() + make_interval(secs => :retry_in::float8) END,
           enqueued_at = NULL, wait_reason = :wait_reason::varchar,
           finished_at = CASE WHEN :status::varchar IN ('COMPLETED', 'FAILED', 'SKIPPED', 'CANCELED')
                              THEN now() END,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE
 RETURNING execution_id, position, id
), attempt AS (
    UPDATE execution_step_attempts
       SET finished_at = now(), outcome = :outcome::varchar, output = :output::jsonb, error = :error::jsonb
     WHERE execution_step_id = :step_id::uuid AND fencing_token = :token::int8
       AND EXISTS (SELECT 1 FROM done)
), execution AS (
    UPDATE executions e
       SET status = :execution_status::varchar, error = COALESCE(:execution_error::jsonb, e.error),
           finished_at = CASE WHEN :execution_status::varchar IN ('COMPLETED', 'FAILED') THEN now()
                              ELSE e.finished_at END,
           updated_at = now()
     WHERE e.id = :execution_id::uuid AND (e.status = :execution_from::varchar) IS TRUE
       AND EXISTS (SELECT 1 FROM done)
 RETURNING e.id, e.status
), others AS (
    SELECT s.id, s.status, s.step_key
      FROM execution_steps s
     WHERE s.execution_id = (SELECT id FROM execution) AND s.id <> :step_id::uuid
       AND (s.status = ANY (:cancel_from::text[]) AND s.dependents IS NOT NULL) IS TRUE
       FOR UPDATE OF s SKIP LOCKED
), canceled AS (
    UPDATE execution_steps s
       SET status = 'CANCELED', fencing_token = s.fencing_token + 1, lease_owner = NULL,
           lease_expires_at = NULL, next_attempt_at = NULL, enqueued_at = NULL,
           finished_at = now(), updated_at = now()
      FROM others
     WHERE s.id = others.id
 RETURNING s.id, others.status AS previous, others.step_key
), task AS (
    UPDATE human_tasks t
       SET status = 'CANCELED', updated_at = now(), version = t.version + 1
      FROM canceled
     WHERE t.execution_step_id = canceled.id AND canceled.previous = 'WAITING'
       AND t.status NOT IN ('CLOSED', 'CANCELED', 'DELETED')
 RETURNING t.id, t.department_id
), released AS (
    UPDATE execution_steps s
       SET next_attempt_at = now(), enqueued_at = now(), updated_at = now()
      FROM execution
     WHERE execution.status = 'FAILED' AND s.execution_id = :execution_id::uuid
       AND s.position = :handlers_from::int4 AND (s.status = 'PENDING') IS TRUE
 RETURNING s.id
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, :department::uuid, a.reason, a.metadata
      FROM done,
           unnest(:a_action::text[], :a_entity_type::text[], :a_entity_id::text[],
                  :a_reason::text[], :a_metadata::jsonb[])
             AS a(action, entity_type, entity_id, reason, metadata)
    UNION ALL
    SELECT 'WORKFLOW_EXECUTION_STEP_CANCELED', 'execution_step', canceled.id::text,
           :department::uuid, :cancel_reason::text,
           jsonb_build_object('execution_id', :execution_id::uuid, 'step', canceled.step_key,
                              'from', canceled.previous)
      FROM canceled
    UNION ALL
    SELECT 'HUMAN_TASK_CANCELED', 'human_task', task.id::text, task.department_id,
           :cancel_reason::text,
           jsonb_build_object('execution_id', :execution_id::uuid, 'to', 'CANCELED')
      FROM task
)
SELECT done.id IS NOT NULL AS applied, execution.status AS execution_status,
       released.id AS released_id
  FROM (VALUES (1)) AS one
  LEFT JOIN done ON true
  LEFT JOIN execution ON true
  LEFT JOIN released ON true;
