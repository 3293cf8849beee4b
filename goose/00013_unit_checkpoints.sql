-- unit_checkpoints: what a provider asked to keep of a unit's fetch
-- (sdk.Sender.Checkpoint): e.g. Databento's batch job id and the files it
-- downloaded and verified. Written at once, outside the unit's
-- transaction, so a crash or a failed attempt keeps it; handed back to the
-- provider when the unit is fetched again (retry, re-run, --force). note
-- says where the unit is, for `hdi runs show`.

-- +goose Up
CREATE TABLE unit_checkpoints (
    unit_key     text        NOT NULL,
    target_table text        NOT NULL,
    provider     text        NOT NULL,
    run_id       bigint      REFERENCES runs (run_id) ON DELETE SET NULL,
    state        bytea       NOT NULL,
    note         text        NOT NULL DEFAULT '',
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit_key, target_table)
);
CREATE INDEX unit_checkpoints_run_idx ON unit_checkpoints (run_id);

-- +goose Down
DROP TABLE unit_checkpoints;
