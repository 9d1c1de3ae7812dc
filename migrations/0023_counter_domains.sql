-- The two table CHECKs that 0020 and 0021 put on the hot tables become domains, as 0022 did for
-- the vocabularies: executions.depth and execution_steps.needs_left hold values of a domain that
-- refuses a negative number. A table CHECK is read back and prepared in every statement that
-- writes a row of its table and checked on every UPDATE of it, whatever the UPDATE sets; a
-- domain's constraint is read once per connection and checked only where a value is assigned
-- to the column (docs/decisions.md, "The hot tables' vocabularies are domains").
--
-- The columns keep their type (a domain over it), so no table is rewritten; adding the
-- constraint to the column reads its rows, which 0020 and 0021 already held to it.

CREATE DOMAIN nesting_depth AS integer CONSTRAINT nesting_depth_check CHECK (VALUE >= 0);
CREATE DOMAIN needs_count AS integer CONSTRAINT needs_count_check CHECK (VALUE >= 0);

ALTER TABLE executions
    DROP CONSTRAINT executions_depth_check,
    ALTER COLUMN depth TYPE nesting_depth;

ALTER TABLE execution_steps
    DROP CONSTRAINT execution_steps_needs_left_check,
    ALTER COLUMN needs_left TYPE needs_count;
