-- Idempotency keys of the API's creating requests (govflow/usecases/idempotency_keys.py): a
-- key is claimed before its request runs, completed with the answer it gave, or released when
-- the request did not succeed. A claim takes over a key that expired, or whose request has
-- been in flight longer than :in_flight_seconds (its process died before completing it).


-- name: claim_key
-- Claim key :key of caller :user_id on route :method :path for request :request_hash; a row
-- is returned only when this request now holds the key.
INSERT INTO http_idempotency_keys AS k (user_id, key, method, path, request_hash, expires_at)
VALUES (:user_id::uuid, :key::varchar, :method::varchar, :path::varchar, :request_hash::varchar,
        now() + make_interval(secs => :ttl_seconds::integer))
ON CONFLICT (user_id, method, path, key) DO UPDATE
   SET request_hash = EXCLUDED.request_hash,
       response_status = NULL,
       response_body = NULL,
       created_at = now(),
       expires_at = EXCLUDED.expires_at
 WHERE k.expires_at <= now()
    OR (k.response_status IS NULL
        AND k.created_at <= now() - make_interval(secs => :in_flight_seconds::integer))
RETURNING k.id, k.created_at;


-- name: find_key
-- The holder of key :key of caller :user_id on route :method :path, unless it expired.
SELECT id, request_hash, response_status, response_body
  FROM http_idempotency_keys
 WHERE user_id = :user_id::uuid AND method = :method::varchar AND path = :path::varchar
   AND key = :key::varchar AND expires_at > now();


-- name: complete_key
-- The answer the request holding claim :id (made at :claimed_at) gave, kept for its replays;
-- nothing when a later claim took the key over.
UPDATE http_idempotency_keys
   SET response_status = :status::integer, response_body = :body::text
 WHERE id = :id::bigint AND created_at = :claimed_at::timestamptz AND response_status IS NULL;


-- name: release_key
-- The request holding claim :id (made at :claimed_at) did not succeed: the key is free again.
DELETE FROM http_idempotency_keys
 WHERE id = :id::bigint AND created_at = :claimed_at::timestamptz AND response_status IS NULL;


-- name: purge_keys
-- At most :batch expired keys removed (the oldest first).
DELETE FROM http_idempotency_keys
 WHERE id IN (SELECT id FROM http_idempotency_keys
               WHERE expires_at <= now()
               ORDER BY expires_at
               LIMIT :batch::integer
                 FOR UPDATE SKIP LOCKED);
