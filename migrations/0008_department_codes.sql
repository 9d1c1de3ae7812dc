-- Department codes are unique whatever their case: "Permits" and "permits" cannot both exist, so
-- a code names one department however a person spells it. The API stores the codes it receives
-- in lowercase (the spelling the workflow DSL accepts); rows written before keep their spelling.
-- The exact-spelling constraint of 0001 stays: `INSERT ... ON CONFLICT (code)` targets it.
DO $$
DECLARE
    clashes text;
BEGIN
    SELECT string_agg(spellings, '; ') INTO clashes
      FROM (SELECT string_agg(code, ', ' ORDER BY code) AS spellings
              FROM departments GROUP BY lower(code) HAVING count(*) > 1) AS duplicates;
    IF clashes IS NOT NULL THEN
        RAISE EXCEPTION 'department codes that differ only in case: %', clashes
            USING HINT = 'rename all but one department of each group, then migrate again';
    END IF;
END;
$$;

CREATE UNIQUE INDEX departments_code_lower_key ON departments (lower(code));
