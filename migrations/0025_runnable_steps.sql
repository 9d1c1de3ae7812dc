-- While one branch of a graph waits, the others run (docs/dsl.md, "A graph of steps"): a graph's
-- execution counts its steps runnable (due, every need settled) or running, so that a step that
-- suspends or settles knows, under the execution's row lock, whether the execution keeps running
-- or waits (core/engine.py decide_branches). The creation sets it to the graph's roots; each
-- finish of a step of the graph counts itself out and the steps it released in, on the execution
-- row it locks anyway; an operator's, a task's or a signal's change counts it afresh from the
-- locked steps. NULL for a list (and every existing execution): nothing counts there.

ALTER TABLE executions ADD COLUMN runnable_steps needs_count;
