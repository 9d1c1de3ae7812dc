-- Fleet awareness: the workers table (govflow/usecases/fleet.py), and steps handed back by a
-- worker that lacks their action.


-- name: join_fleet
-- Record worker :id (or refresh it) with its plugins and actions; its heartbeat is now.
INSERT INTO workers (id, hostname, pid, plugins, actions)
VALUES (:id::varchar, :hostname::varchar, :pid::int4, :plugins::jsonb, :actions::jsonb)
ON CONFLICT (id) DO UPDATE
   SET plugins = EXCLUDED.plugins, actions = EXCLUDED.actions, heartbeat_at = now();


-- name: beat
-- Worker :id is alive (a worker forgotten meanwhile is not recreated: it joins again).
UPDATE workers SET heartbeat_at = now() WHERE id = :id::varchar;


-- name: leave_fleet
DELETE FROM workers WHERE id = :id::varchar;


-- name: forget_gone
-- Workers silent for :gone seconds are forgotten.
DELETE FROM workers WHERE heartbeat_at < now() - make_interval(secs => :gone::float8);


-- name: live_actions
-- The actions of the workers that beat within :within seconds, and how many there are.
SELECT count(*) AS workers,
       COALESCE((SELECT jsonb_agg(DISTINCT a)
                   FROM workers w2, jsonb_array_elements_text(w2.actions) AS a
                  WHERE w2.heartbeat_at >= now() - make_interval(secs => :within::float8)),
                '[]'::jsonb)::text AS actions
  FROM workers w
 WHERE w.heartbeat_at >= now() - make_interval(secs => :within::float8);


-- name: offered_elsewhere
-- Whether a worker other than :id that beat within :within seconds offers :action.
SELECT EXISTS (SELECT 1 FROM workers w
                WHERE w.id <> :id::varchar
                  AND w.heartbeat_at >= now() - make_interval(secs => :within::float8)
                  AND w.actions ? :action::text) AS offered;


-- name: handbacks
SELECT s.handbacks FROM execution_steps s WHERE s.id = :step_id::uuid;


-- name: hand_back
-- The worker holding :token lacks the step's action: the step goes back to PENDING, claimable
-- in :delay seconds, its claim's attempt uncounted (the attempt row stays, closed HANDED_BACK),
-- one more hand-back counted; the audit records are written with it.
WITH done AS (
    UPDATE execution_steps
       SET status = 'PENDING', attempt = GREATEST(attempt - 1, 0), handbacks = handbacks + 1,
           next_attempt_at = now() + make_interval(secs => :delay::float8), enqueued_at = NULL,
           lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE id = :step_id::uuid AND (fencing_token = :token::int8 AND status = 'RUNNING') IS TRUE
 RETURNING id
), attempt AS (
    UPDATE execution_step_attempts
       SET finished_at = now(), outcome = 'HANDED_BACK'
     WHERE execution_step_id = :step_id::uuid AND fencing_token = :token::int8
       AND EXISTS (SELECT 1 FROM done)
), audit AS (
    INSERT INTO audit_logs (action, entity_type, entity_id, department_id, reason, metadata)
    SELECT a.action, a.entity_type, a.entity_id, :department::uuid, a.reason, a.metadata
      FROM done,
           unnest(:a_action::text[], :a_entity_type::text[], :a_entity_id::text[],
                  :a_reason::text[], :a_metadata::jsonb[])
             AS a(action, entity_type, entity_id, reason, metadata)
)
SELECT EXISTS (SELECT 1 FROM done) AS applied;
