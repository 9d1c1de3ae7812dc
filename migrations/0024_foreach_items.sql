-- foreach: (docs/dsl.md, "foreach"): a step run once per item of a list keeps each item's
-- result as soon as the item ends, written only while the step is RUNNING under the fencing
-- token of the attempt that ran it. An attempt after a crash (or a retry) reads them and runs
-- only the items that have none, so an item whose result was kept never runs again. One row
-- per item (the unique index): the step's output is built from them in index order.

CREATE TABLE execution_step_items (
    id                 bigserial PRIMARY KEY,
    execution_step_id  uuid NOT NULL REFERENCES execution_steps (id) ON DELETE CASCADE,
    item_index         integer NOT NULL,
    fencing_token      bigint NOT NULL,
    output             jsonb NOT NULL,
    finished_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX execution_step_items_step ON execution_step_items (execution_step_id, item_index);
