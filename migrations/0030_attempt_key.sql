-- An attempt is named by its step and the fencing token its claim took: every claim moves the
-- step's token on under the step's row lock and writes one attempt row with the new token, so
-- no two attempts of a step share one. Every statement finds an attempt by that pair (the
-- finish closing it, the checks after a lost connection) or by its step (the API's attempts of
-- an execution's steps). That pair is now the primary key, and the two B-tree entries each
-- attempt row had (the surrogate id's, and (execution_step_id, attempt)'s, which no statement
-- filtered on beyond the step) become one: 5 fewer index entries per execution of five steps
-- (docs/benchmarks.md, "What each row of a step costs"). `id` stays, numbered as before: it
-- orders two attempts of one step that a hand-back gave the same number.
ALTER TABLE execution_step_attempts DROP CONSTRAINT execution_step_attempts_pkey;
DROP INDEX execution_step_attempts_step;
ALTER TABLE execution_step_attempts
    ADD CONSTRAINT execution_step_attempts_pkey PRIMARY KEY (execution_step_id, fencing_token);
