-- An Idempotency-Key belongs to its caller (Stripe-style), no longer to the workflow: one
-- user's key never answers another user's request, and a key a user reuses for another
-- workflow or other inputs is refused instead of starting a second execution. Executions
-- started without a user (GovFlow itself, the CLI) share one key space: NULLS NOT DISTINCT.
--
-- Under the old rule a user could give one key to several workflows. The earliest execution
-- keeps the key; the later ones lose it (their audit entries still tell how they started).
UPDATE executions e
   SET idempotency_key = NULL
 WHERE e.idempotency_key IS NOT NULL
   AND EXISTS (SELECT 1 FROM executions f
                WHERE f.idempotency_key = e.idempotency_key
                  AND f.created_by IS NOT DISTINCT FROM e.created_by
                  AND (f.created_at, f.id) < (e.created_at, e.id));

DROP INDEX executions_idempotency;
CREATE UNIQUE INDEX executions_idempotency ON executions (idempotency_key, created_by)
    NULLS NOT DISTINCT WHERE idempotency_key IS NOT NULL;
