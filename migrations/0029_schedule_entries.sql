-- Several schedules per workflow (docs/dsl.md, "schedule"): `triggers.schedule` may be a list,
-- and each entry keeps its own bookmark. `entry` is the entry's index in the list (0 for the
-- single-entry form, whose rows keep their meaning).
ALTER TABLE trigger_schedules ADD COLUMN entry integer NOT NULL DEFAULT 0;
ALTER TABLE trigger_schedules DROP CONSTRAINT trigger_schedules_pkey;
ALTER TABLE trigger_schedules ADD PRIMARY KEY (workflow_id, entry);
