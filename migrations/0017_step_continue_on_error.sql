-- continue_on_error (docs/dsl.md, "continue_on_error"): each execution step keeps its spec's
-- setting from the start, so that every decision on it (a worker's, a human task's rejection,
-- a signal) knows whether its failure fails the execution. Existing steps: false.

ALTER TABLE execution_steps ADD COLUMN continue_on_error boolean NOT NULL DEFAULT false;
