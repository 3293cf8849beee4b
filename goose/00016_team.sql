-- hdi serve for a team: tokens with scopes, an append-only audit log, and
-- the idempotency keys of write requests.
--   api_tokens        one row per token `hdi tokens create` made: its name,
--                     scope (read < run < admin), expiry and revocation;
--                     only the SHA-256 of the token is kept, never the
--                     token. A name is unique among the tokens not revoked,
--                     so a revoked name may be given again.
--   audit_log         one row per write request and per refused
--                     authentication (401, 403) of hdi serve. Append-only:
--                     a trigger refuses UPDATE, DELETE and TRUNCATE, for
--                     every role but a superuser who drops the trigger.
--   idempotency_keys  a write request's Idempotency-Key, per token: the
--                     first request's answer, replayed to a repeat of it
--                     (kept for a day).

-- +goose Up
CREATE TABLE api_tokens (
    token_id   bigserial   PRIMARY KEY,
    name       text        NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    token_hash bytea       NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    scope      text        NOT NULL CHECK (scope IN ('read', 'run', 'admin')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz
);
CREATE UNIQUE INDEX api_tokens_name_idx ON api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE audit_log (
    audit_id    bigserial   PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    token_name  text,                  -- NULL: no token, or none hdi knows
    remote_addr text        NOT NULL,
    method      text        NOT NULL,
    route       text        NOT NULL,  -- the route's pattern (/api/v1/runs/{id}/cancel)
    run_id      bigint,                -- the run the request named or made
    status      integer     NOT NULL,
    outcome     text        NOT NULL,
    request_id  text        NOT NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_token_idx ON audit_log (token_name, at);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE idempotency_keys (
    token_name   text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,  -- SHA-256 of method, route and body
    status       integer,               -- NULL while the first request runs
    location     text,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (token_name, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE api_tokens;
