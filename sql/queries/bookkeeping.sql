-- Bookkeeping: runs, the unit ledger, the quarantine.

-- CreateRun: start a run of a job; returns it.
-- name: CreateRun :one
INSERT INTO runs (job, parameters) VALUES (@job, @parameters)
RETURNING *;

-- FinishRun: record a run's end, status and counts.
-- name: FinishRun :exec
UPDATE runs SET
    status = @status,
    finished_at = now(),
    units_total = @units_total,
    units_done = @units_done,
    units_skipped = @units_skipped,
    units_failed = @units_failed,
    rows_loaded = @rows_loaded,
    rows_deduplicated = @rows_deduplicated,
    rows_quarantined = @rows_quarantined,
    rows_warned = @rows_warned,
    error = sqlc.narg(error)
WHERE run_id = @run_id;

-- GetRun: one run.
-- name: GetRun :one
SELECT * FROM runs WHERE run_id = @run_id;

-- Runs: the latest runs, newest first, of one job or (job NULL) of all.
-- name: Runs :many
SELECT * FROM runs
WHERE (sqlc.narg(job)::text IS NULL OR job = sqlc.narg(job)::text)
ORDER BY started_at DESC, run_id DESC
LIMIT @row_limit;

-- RecordUnit: write a unit's ledger row (in the transaction that loaded its
-- rows). A failed unit's row is replaced when it is retried.
-- name: RecordUnit :exec
INSERT INTO units (unit_key, run_id, provider, dataset, schema, target_table, symbols,
                   range_start, range_end, status, rows_loaded, rows_deduplicated,
                   rows_quarantined, rows_warned, error, started_at)
VALUES (@unit_key, @run_id, @provider, sqlc.narg(dataset), sqlc.narg(schema), @target_table, @symbols,
        sqlc.narg(range_start), sqlc.narg(range_end), @status, @rows_loaded, @rows_deduplicated,
        @rows_quarantined, @rows_warned, sqlc.narg(error), @started_at)
ON CONFLICT (unit_key, target_table) DO UPDATE SET
    run_id = excluded.run_id,
    status = excluded.status,
    rows_loaded = excluded.rows_loaded,
    rows_deduplicated = excluded.rows_deduplicated,
    rows_quarantined = excluded.rows_quarantined,
    rows_warned = excluded.rows_warned,
    error = excluded.error,
    started_at = excluded.started_at,
    finished_at = now()
WHERE units.status <> 'done';

-- GetUnit: a unit's ledger row by key and target table.
-- name: GetUnit :one
SELECT * FROM units WHERE unit_key = @unit_key AND target_table = @target_table;

-- DoneUnitKeys: which of these unit keys are done into a target table.
-- name: DoneUnitKeys :many
SELECT unit_key FROM units
WHERE unit_key = ANY(@unit_keys::text[]) AND target_table = @target_table AND status = 'done';

-- Units: the units of a run.
-- name: Units :many
SELECT * FROM units WHERE run_id = @run_id ORDER BY started_at, unit_key;

-- InsertQuarantine: keep a rejected (or warned) source record.
-- name: InsertQuarantine :one
INSERT INTO quarantine (run_id, unit_key, target_table, rule, severity, message, field, record)
VALUES (@run_id, @unit_key, @target_table, @rule, @severity, @message, sqlc.narg(field), @record)
RETURNING quarantine_id;

-- CopyQuarantine: bulk-insert quarantined records.
-- name: CopyQuarantine :copyfrom
INSERT INTO quarantine (run_id, unit_key, target_table, rule, severity, message, field, record)
VALUES (@run_id, @unit_key, @target_table, @rule, @severity, @message, @field, @record);

-- Quarantine: quarantined records of a run, optionally of one unit.
-- name: Quarantine :many
SELECT * FROM quarantine
WHERE run_id = @run_id
  AND (sqlc.narg(unit_key)::text IS NULL OR unit_key = sqlc.narg(unit_key)::text)
ORDER BY quarantine_id
LIMIT @row_limit;

-- QuarantineSummary: rejected records per table, rule and severity.
-- name: QuarantineSummary :many
SELECT target_table, rule, severity, count(*) AS records,
       min(created_at)::timestamptz AS first_at, max(created_at)::timestamptz AS last_at
FROM quarantine
WHERE (sqlc.narg(run_id)::bigint IS NULL OR run_id = sqlc.narg(run_id)::bigint)
GROUP BY target_table, rule, severity
ORDER BY target_table, rule, severity;
