-- needs: (docs/dsl.md, "A graph of steps"): a step of a graph keeps the positions of the steps
-- that need it (dependents; NULL for a step of a list, which the next step follows) and counts
-- the steps it still waits for (needs_left). The execution's creation sets both (a root: 0
-- needs left, due at once); the finish of each need counts its dependents down under their row
-- locks, and the one that brings a dependent to 0 makes it due in the same statement, so two
-- branches finishing at once release a join exactly once. Existing steps: a list's.

ALTER TABLE execution_steps
    ADD COLUMN dependents int4[],
    ADD COLUMN needs_left int4 NOT NULL DEFAULT 0
        CONSTRAINT execution_steps_needs_left_check CHECK (needs_left >= 0);
