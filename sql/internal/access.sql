-- hdi's statements on who may use hdi serve and what they did (package
-- access): API tokens (only their SHA-256), the append-only audit log and
-- the idempotency keys of write requests. Not in `hdi query`'s catalog: a
-- read token never sees them.

-- CreateAPIToken: a new token; a name already held by a token not revoked
-- is a unique violation (api_tokens_name_idx).
-- name: CreateAPIToken :one
INSERT INTO api_tokens (name, token_hash, scope, expires_at)
VALUES (@name, @token_hash, @scope, sqlc.narg(expires_at))
RETURNING token_id, name, scope, created_at, expires_at, revoked_at;

-- ListAPITokens: every token, newest first; never the hash.
-- name: ListAPITokens :many
SELECT token_id, name, scope, created_at, expires_at, revoked_at
FROM api_tokens
ORDER BY revoked_at IS NOT NULL, name, token_id DESC;

-- RevokeAPIToken: revoke the token of that name not revoked yet.
-- name: RevokeAPIToken :one
UPDATE api_tokens SET revoked_at = now()
WHERE name = @name AND revoked_at IS NULL
RETURNING token_id, name, scope, created_at, expires_at, revoked_at;

-- LiveAPITokens: the tokens hdi serve accepts now: not revoked, not
-- expired.
-- name: LiveAPITokens :many
SELECT name, token_hash, scope, expires_at
FROM api_tokens
WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now());

-- APITokenByHash: the token with this hash, revoked and expired ones
-- included (the audit log names them).
-- name: APITokenByHash :one
SELECT name, token_hash, scope, expires_at, revoked_at
FROM api_tokens
WHERE token_hash = @token_hash
ORDER BY token_id DESC
LIMIT 1;

-- InsertAudit: one row of the audit log.
-- name: InsertAudit :exec
INSERT INTO audit_log (token_name, remote_addr, method, route, run_id, status, outcome, request_id)
VALUES (sqlc.narg(token_name), @remote_addr, @method, @route, sqlc.narg(run_id), @status, @outcome, @request_id);

-- AuditLog: the audit log, newest first: since a time, of one token.
-- name: AuditLog :many
SELECT audit_id, at, token_name, remote_addr, method, route, run_id, status, outcome, request_id
FROM audit_log
WHERE (sqlc.narg(since)::timestamptz IS NULL OR at >= sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(token_name)::text IS NULL OR token_name = sqlc.narg(token_name)::text)
ORDER BY at DESC, audit_id DESC
LIMIT @row_limit::bigint;

-- PruneIdempotencyKeys: keys are kept for a day.
-- name: PruneIdempotencyKeys :exec
DELETE FROM idempotency_keys WHERE created_at < now() - interval '1 day';

-- ClaimIdempotencyKey: the first request with this key (per token) claims
-- it; a repeat gets no row and reads the claim (GetIdempotencyKey).
-- name: ClaimIdempotencyKey :one
INSERT INTO idempotency_keys (token_name, key, request_hash)
VALUES (@token_name, @key, @request_hash)
ON CONFLICT (token_name, key) DO NOTHING
RETURNING created_at;

-- GetIdempotencyKey: a claimed key, and the answer once there is one.
-- name: GetIdempotencyKey :one
SELECT request_hash, status, location, body
FROM idempotency_keys
WHERE token_name = @token_name AND key = @key;

-- AnswerIdempotencyKey: the first request's answer, for its repeats.
-- name: AnswerIdempotencyKey :exec
UPDATE idempotency_keys SET status = @status, location = sqlc.narg(location), body = @body
WHERE token_name = @token_name AND key = @key;

-- ReleaseIdempotencyKey: the first request failed: a repeat runs again.
-- name: ReleaseIdempotencyKey :exec
DELETE FROM idempotency_keys WHERE token_name = @token_name AND key = @key AND status IS NULL;
