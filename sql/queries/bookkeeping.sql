-- Bookkeeping: runs, the unit ledger, the quarantine (read only; hdi's own
-- writes are in sql/internal).

-- GetRun: one run.
-- name: GetRun :one
SELECT * FROM runs WHERE run_id = @run_id;

-- Runs: the latest runs, newest first, of one job or (job NULL) of all.
-- name: Runs :many
SELECT * FROM runs
WHERE (sqlc.narg(job)::text IS NULL OR job = sqlc.narg(job)::text)
ORDER BY started_at DESC, run_id DESC
LIMIT sqlc.narg(row_limit)::bigint;

-- Units: the units of a run.
-- name: Units :many
SELECT * FROM units WHERE run_id = @run_id ORDER BY started_at, unit_key;

-- Quarantine: quarantined records of a run, optionally of one unit.
-- name: Quarantine :many
SELECT * FROM quarantine
WHERE run_id = @run_id
  AND (sqlc.narg(unit_key)::text IS NULL OR unit_key = sqlc.narg(unit_key)::text)
ORDER BY quarantine_id
LIMIT sqlc.narg(row_limit)::bigint;

-- QuarantineSummary: rejected records per table, rule and severity.
-- name: QuarantineSummary :many
SELECT target_table, rule, severity, count(*) AS records,
       min(created_at)::timestamptz AS first_at, max(created_at)::timestamptz AS last_at
FROM quarantine
WHERE (sqlc.narg(run_id)::bigint IS NULL OR run_id = sqlc.narg(run_id)::bigint)
GROUP BY target_table, rule, severity
ORDER BY target_table, rule, severity;

-- GetQuarantined: one quarantined record.
-- name: GetQuarantined :one
SELECT * FROM quarantine WHERE quarantine_id = @quarantine_id;

-- RunCheckpoints: what providers said of the units of a run they were
-- fetching (a batch job's state, downloads), newest first.
-- name: RunCheckpoints :many
SELECT unit_key, target_table, provider, note, updated_at
FROM unit_checkpoints
WHERE run_id = @run_id
ORDER BY updated_at DESC, unit_key;
