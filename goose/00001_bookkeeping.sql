-- hdi's own bookkeeping: runs of jobs, the unit ledger that makes loads
-- idempotent, and the quarantine that keeps every rejected row.
--
-- A run is one execution of a job. A unit is the smallest piece of work the
-- runner plans and loads atomically (provider + dataset + schema + symbols +
-- time range, named by unit_key); its ledger row, one per unit and target
-- table, is written in the same transaction as its rows, so a re-run skips
-- done units and a crash loses or duplicates nothing, while the same source
-- loaded into another table is a unit of its own. Every row a rule rejects (severity error) lands in
-- quarantine with the full source record; warnings may be recorded there too.

-- +goose Up
CREATE TABLE runs (
    run_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job           text        NOT NULL,
    parameters    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    status        text        NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    units_total   integer     NOT NULL DEFAULT 0,
    units_done    integer     NOT NULL DEFAULT 0,
    units_skipped integer     NOT NULL DEFAULT 0,
    units_failed  integer     NOT NULL DEFAULT 0,
    rows_loaded   bigint      NOT NULL DEFAULT 0,
    rows_deduplicated bigint  NOT NULL DEFAULT 0,
    rows_quarantined  bigint  NOT NULL DEFAULT 0,
    rows_warned   bigint      NOT NULL DEFAULT 0,
    error         text
);
CREATE INDEX runs_job_started_idx ON runs (job, started_at DESC);

CREATE TABLE units (
    unit_key      text        NOT NULL,
    run_id        bigint      NOT NULL REFERENCES runs (run_id),
    provider      text        NOT NULL,
    dataset       text,
    schema        text,
    target_table  text        NOT NULL,
    symbols       text[]      NOT NULL DEFAULT '{}',
    range_start   timestamptz,
    range_end     timestamptz,
    status        text        NOT NULL
                  CHECK (status IN ('done', 'failed')),
    rows_loaded       bigint  NOT NULL DEFAULT 0,
    rows_deduplicated bigint  NOT NULL DEFAULT 0,
    rows_quarantined  bigint  NOT NULL DEFAULT 0,
    rows_warned       bigint  NOT NULL DEFAULT 0,
    error         text,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (unit_key, target_table)
);
CREATE INDEX units_run_idx ON units (run_id);
CREATE INDEX units_target_idx ON units (target_table, dataset, range_start);

CREATE TABLE quarantine (
    quarantine_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id        bigint      NOT NULL REFERENCES runs (run_id),
    unit_key      text        NOT NULL,
    target_table  text        NOT NULL,
    rule          text        NOT NULL,
    severity      text        NOT NULL CHECK (severity IN ('error', 'warn')),
    message       text        NOT NULL,
    -- The field the rule looked at, when there is one.
    field         text,
    -- The full source record, with the provider's field names.
    record        jsonb       NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    retried_at    timestamptz
);
CREATE INDEX quarantine_run_idx ON quarantine (run_id);
CREATE INDEX quarantine_unit_idx ON quarantine (unit_key);
CREATE INDEX quarantine_target_idx ON quarantine (target_table, created_at);

-- +goose Down
DROP TABLE quarantine;
DROP TABLE units;
DROP TABLE runs;
