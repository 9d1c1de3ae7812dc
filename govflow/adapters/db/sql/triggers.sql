-- Triggers: the workflows whose current version has a schedule, and each one's bookmark
-- (migration 0027). The spec is stored as JSON: its 'triggers' key holds the schedule.


-- name: scheduled_workflows
-- The active workflows whose current version declares a schedule: one row per schedule entry
-- (listed: its index in the list; a single mapping: NULL), with the entry's bookmark.
SELECT w.id AS workflow_id, w.name, w.department_id, e.schedule::text AS schedule,
       CASE WHEN jsonb_typeof(v.spec #> '{triggers,schedule}') = 'array'
            THEN e.position - 1 END AS entry,
       t.last_slot, t.last_fired_slot, t.last_execution_id
  FROM workflows w
  JOIN workflow_versions v ON v.id = w.current_version_id
  CROSS JOIN LATERAL jsonb_array_elements(
         CASE WHEN jsonb_typeof(v.spec #> '{triggers,schedule}') = 'array'
              THEN v.spec #> '{triggers,schedule}'
              ELSE jsonb_build_array(v.spec #> '{triggers,schedule}') END
       ) WITH ORDINALITY AS e(schedule, position)
  LEFT JOIN trigger_schedules t ON t.workflow_id = w.id AND t.entry = e.position - 1
 WHERE w.is_active AND jsonb_typeof(v.spec #> '{triggers,schedule}') IN ('object', 'array')
 ORDER BY w.id, e.position;


-- name: schedule_state
-- The bookmarks of the schedule entries of workflow :workflow_id (none: never seen).
SELECT entry, last_slot, last_fired_slot, last_execution_id
  FROM trigger_schedules
 WHERE workflow_id = :workflow_id::uuid
 ORDER BY entry;


-- name: bookmark_schedule
-- Schedule :entry of :workflow_id is seen for the first time: slots before :slot are not its.
INSERT INTO trigger_schedules (workflow_id, entry, last_slot)
VALUES (:workflow_id::uuid, :entry::int, :slot::timestamptz)
ON CONFLICT (workflow_id, entry) DO NOTHING;


-- name: advance_schedule
-- Move the bookmark of schedule :entry of :workflow_id from :previous to :slot, remembering the newest slot that
-- started an execution (:fired_slot, :execution_id; NULL: none). Only the scheduler that
-- finds the bookmark still at :previous moves it (it alone audits the skipped slots).
UPDATE trigger_schedules
   SET last_slot = :slot::timestamptz,
       last_fired_slot = coalesce(:fired_slot::timestamptz, last_fired_slot),
       last_execution_id = CASE WHEN :fired_slot::timestamptz IS NULL THEN last_execution_id
                                ELSE :execution_id::uuid END,
       updated_at = now()
 WHERE workflow_id = :workflow_id::uuid AND entry = :entry::int
   AND last_slot = :previous::timestamptz
RETURNING workflow_id;


-- name: recent_trigger_events
-- The newest :limit audit entries of the triggers of :workflow_id (entity the workflow),
-- among the actions :actions.
SELECT id, action, occurred_at, metadata::text AS metadata
  FROM audit_logs
 WHERE entity_type = 'workflow' AND entity_id = :workflow_id::text
   AND action = ANY(:actions::text[])
 ORDER BY id DESC
 LIMIT :limit::int;


-- name: webhook_target
-- The workflow :name if its current version declares a webhook.
SELECT w.id AS workflow_id, w.name, w.department_id,
       (v.spec #> '{triggers,webhook}')::text AS webhook
  FROM workflows w
  JOIN workflow_versions v ON v.id = w.current_version_id
 WHERE w.name = :name::varchar AND jsonb_typeof(v.spec #> '{triggers,webhook}') = 'object';


-- name: workflow_triggers
-- The triggers of the current version of workflow :workflow_id, if it is in :department
-- (NULL: any department); its schedules' bookmarks are schedule_state's.
SELECT w.id AS workflow_id, w.name, w.is_active, (v.spec -> 'triggers')::text AS triggers
  FROM workflows w
  JOIN workflow_versions v ON v.id = w.current_version_id
 WHERE w.id = :workflow_id::uuid
   AND (:department::uuid IS NULL OR w.department_id = :department::uuid);
