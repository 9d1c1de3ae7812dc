-- The Idempotency-Key of the API's creating requests (govflow/http/idempotency.py): a key
-- belongs to its caller and its route (method and path template), so one key may serve
-- POST /users and POST /departments alike; the request's fingerprint tells a replay from a
-- reuse. The first answer is kept as the exact text that was sent, so a replay is byte for
-- byte the same (jsonb would reorder its keys). Expired keys are purged by their expires_at.
--
-- Nothing wrote this table before: no row has to be converted.

ALTER TABLE http_idempotency_keys
    DROP CONSTRAINT http_idempotency_keys_user_id_key_key,
    ALTER COLUMN response_body TYPE text USING response_body::text,
    ADD CONSTRAINT http_idempotency_keys_caller_route_key UNIQUE (user_id, method, path, key);

CREATE INDEX http_idempotency_keys_expiry ON http_idempotency_keys (expires_at);
