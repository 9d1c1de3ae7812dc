-- Time-ordered (UUIDv7-layout) ids for the rows the engine creates all the time: a new row's
-- key lands at the right edge of its B-tree instead of on a random leaf page, so inserts touch
-- few pages however large the tables grow. Existing ids keep their values.
CREATE FUNCTION govflow_uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT encode(
        set_bit(
            set_bit(
                overlay(uuid_send(gen_random_uuid())
                        PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp())
                                                         * 1000)::bigint) FROM 3)
                        FROM 1 FOR 6),
                52, 1),
            53, 1),
        'hex')::uuid
$$;

ALTER TABLE executions ALTER COLUMN id SET DEFAULT govflow_uuid_v7();
ALTER TABLE execution_steps ALTER COLUMN id SET DEFAULT govflow_uuid_v7();
ALTER TABLE human_tasks ALTER COLUMN id SET DEFAULT govflow_uuid_v7();
