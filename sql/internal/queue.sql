-- hdi's statements on queued runs, River's job table and the workers
-- (package queue and `hdi worker`). River's schema, for sqlc, is
-- sql/river/schema.sql; River's own client inserts, fetches and completes
-- the jobs. Each unit job's args hold its run: {"run_id": N, "unit_key": ...}.

-- CreateQueuedRun: record a queued run. A scheduled run names its tick: a
-- second run for the same job and tick is not created (no row returned).
-- name: CreateQueuedRun :one
INSERT INTO runs (job, parameters, status, queue, schedule_tick, units_total, units_skipped)
VALUES (@job, @parameters, 'queued', @queue, sqlc.narg(schedule_tick), @units_total, @units_skipped)
ON CONFLICT (job, schedule_tick) WHERE schedule_tick IS NOT NULL DO NOTHING
RETURNING run_id;

-- SetQueuedRunUnits: the units a queued run ended up with once its jobs
-- were inserted (those already queued by another run are not its own).
-- name: SetQueuedRunUnits :exec
UPDATE runs SET units_total = @units_total, units_skipped = @units_skipped WHERE run_id = @run_id;

-- StartQueuedRun: a worker took the run's first unit.
-- name: StartQueuedRun :exec
UPDATE runs SET status = 'running' WHERE run_id = @run_id AND status = 'queued';

-- OpenQueuedRuns: queued runs not finished yet (a cancelled one finishes
-- when its last unit has stopped).
-- name: OpenQueuedRuns :many
SELECT run_id FROM runs
WHERE queue IS NOT NULL AND finished_at IS NULL
ORDER BY run_id;

-- OpenRunOfJob: the newest unfinished queued run of a job, if any (a
-- scheduled tick is skipped while it goes on).
-- name: OpenRunOfJob :one
SELECT run_id FROM runs
WHERE job = @job AND queue IS NOT NULL AND finished_at IS NULL
ORDER BY run_id DESC
LIMIT 1;

-- RunJobCounts: how many of a queued run's unit jobs are in each River
-- state.
-- name: RunJobCounts :many
SELECT state::text AS state, count(*) AS jobs
FROM river_job
WHERE kind = 'hdi.unit' AND args @> jsonb_build_object('run_id', @run_id::bigint)
GROUP BY state;

-- RunUnitJobs: a queued run's unit jobs with what the ledger says of each
-- (the ledger row may belong to another run, one that loaded the unit
-- first).
-- name: RunUnitJobs :many
SELECT j.id, j.state::text AS state, j.attempt, j.max_attempts,
       coalesce(j.attempted_by[cardinality(j.attempted_by)], '')::text AS worker,
       coalesce((j.errors[cardinality(j.errors)])->>'error', '')::text AS last_error,
       j.scheduled_at, j.attempted_at, j.finalized_at,
       (j.args->>'unit_key')::text AS unit_key, (j.args->>'table')::text AS target_table,
       u.run_id AS ledger_run_id, u.status AS ledger_status,
       u.rows_inserted, u.rows_updated, u.rows_unchanged, u.rows_deduplicated,
       u.rows_quarantined, u.rows_warned, u.range_start, u.range_end, u.symbols
FROM river_job j
LEFT JOIN units u ON u.unit_key = j.args->>'unit_key' AND u.target_table = j.args->>'table'
WHERE j.kind = 'hdi.unit' AND j.args @> jsonb_build_object('run_id', @run_id::bigint)
ORDER BY j.id;

-- RunUnitJobIDs: the ids of a run's unit jobs not finished yet (to cancel).
-- name: RunUnitJobIDs :many
SELECT id FROM river_job
WHERE kind = 'hdi.unit' AND args @> jsonb_build_object('run_id', @run_id::bigint)
  AND state NOT IN ('completed', 'cancelled', 'discarded')
ORDER BY id;

-- FinishQueuedRun: a queued run whose unit jobs all ended: its status and
-- its counts, summed from the ledger rows it wrote. units_skipped grows by
-- the units a worker found loaded by another run meanwhile.
-- name: FinishQueuedRun :exec
UPDATE runs r SET
    status = CASE WHEN r.status = 'cancelled' THEN 'cancelled' ELSE @status END,
    finished_at = now(),
    units_done = l.done,
    units_skipped = r.units_skipped + greatest(sqlc.arg(units_completed)::bigint - l.done, 0),
    units_failed = @units_failed,
    rows_inserted = l.inserted, rows_updated = l.updated, rows_unchanged = l.unchanged,
    rows_deduplicated = l.deduplicated, rows_quarantined = l.quarantined, rows_warned = l.warned,
    error = sqlc.narg(error)
FROM (SELECT count(*) FILTER (WHERE status = 'done') AS done,
             coalesce(sum(rows_inserted) FILTER (WHERE status = 'done'), 0)::bigint AS inserted,
             coalesce(sum(rows_updated) FILTER (WHERE status = 'done'), 0)::bigint AS updated,
             coalesce(sum(rows_unchanged) FILTER (WHERE status = 'done'), 0)::bigint AS unchanged,
             coalesce(sum(rows_deduplicated) FILTER (WHERE status = 'done'), 0)::bigint AS deduplicated,
             coalesce(sum(rows_quarantined) FILTER (WHERE status = 'done'), 0)::bigint AS quarantined,
             coalesce(sum(rows_warned) FILTER (WHERE status = 'done'), 0)::bigint AS warned
      FROM units WHERE run_id = @run_id) l
WHERE r.run_id = @run_id AND r.finished_at IS NULL;

-- CancelQueuedRun: mark a queued run cancelled; its jobs are cancelled
-- through River, and the run finishes (FinishQueuedRun) once they stopped.
-- name: CancelQueuedRun :one
UPDATE runs SET status = 'cancelled'
WHERE run_id = @run_id AND queue IS NOT NULL AND finished_at IS NULL
RETURNING run_id;

-- QueueDepth: River jobs not finished, per queue, kind and state.
-- name: QueueDepth :many
SELECT queue, kind, state::text AS state, count(*) AS jobs
FROM river_job
WHERE state NOT IN ('completed', 'cancelled', 'discarded')
GROUP BY queue, kind, state
ORDER BY queue, kind, state;

-- RegisterWorker: a worker process starts (or a pid is reused on a host).
-- name: RegisterWorker :exec
INSERT INTO workers (worker_id, host, pid, queues, concurrency, version, started_at, heartbeat_at)
VALUES (@worker_id, @host, @pid, @queues, @concurrency, @version, now(), now())
ON CONFLICT (worker_id) DO UPDATE SET
    host = excluded.host, pid = excluded.pid, queues = excluded.queues,
    concurrency = excluded.concurrency, version = excluded.version,
    started_at = now(), heartbeat_at = now();

-- HeartbeatWorker: a worker is alive. No row: it was removed meanwhile (a
-- long pause), and registers again.
-- name: HeartbeatWorker :execrows
UPDATE workers SET heartbeat_at = now() WHERE worker_id = @worker_id;

-- UnregisterWorker: a worker stopped cleanly.
-- name: UnregisterWorker :exec
DELETE FROM workers WHERE worker_id = @worker_id;

-- LiveWorkers: workers whose heartbeat is recent, oldest first.
-- name: LiveWorkers :many
SELECT w.worker_id, w.host, w.pid, w.queues, w.concurrency, w.version, w.started_at, w.heartbeat_at,
       (SELECT count(*) FROM river_job j
        WHERE j.state = 'running' AND j.attempted_by[cardinality(j.attempted_by)] = w.worker_id) AS running
FROM workers w
WHERE w.heartbeat_at > now() - make_interval(secs => @stale_after_seconds::float8)
ORDER BY w.started_at, w.worker_id;

-- ForgetDeadWorkers: drop the rows of workers silent for long (an hour
-- past the rescue time): their units were rescued long ago.
-- name: ForgetDeadWorkers :exec
DELETE FROM workers WHERE heartbeat_at < now() - make_interval(secs => @dead_after_seconds::float8) - interval '1 hour';

-- RescueUnitsOfDeadWorkers: unit jobs left running by a worker that stopped
-- answering (killed, its machine gone) go back to the queue for another
-- worker, or are discarded when out of attempts. A worker is dead when its
-- heartbeat is older than the rescue time, or when it started after it took
-- the job (a new process with the same host:pid). Unit jobs have no River
-- timeout (units can load for hours), so River's own rescuer leaves them to
-- this.
-- name: RescueUnitsOfDeadWorkers :many
UPDATE river_job j SET
    state = CASE WHEN j.attempt >= j.max_attempts THEN 'discarded'::river_job_state ELSE 'available'::river_job_state END,
    finalized_at = CASE WHEN j.attempt >= j.max_attempts THEN now() END,
    scheduled_at = now(),
    errors = array_append(j.errors, jsonb_build_object(
        'at', now(), 'attempt', j.attempt, 'trace', '',
        'error', 'worker ' || coalesce(j.attempted_by[cardinality(j.attempted_by)], '?') ||
                 ' stopped answering: no heartbeat for ' || @rescue_after_seconds::float8 || 's; the unit rolled back and goes to another worker'))
WHERE j.state = 'running' AND j.kind = 'hdi.unit'
  AND j.attempted_at < now() - make_interval(secs => @rescue_after_seconds::float8)
  AND NOT EXISTS (SELECT 1 FROM workers w
                  WHERE w.worker_id = j.attempted_by[cardinality(j.attempted_by)]
                    AND w.heartbeat_at > now() - make_interval(secs => @rescue_after_seconds::float8)
                    AND w.started_at <= j.attempted_at)
RETURNING j.id, j.state::text AS state, j.attempt, (j.args->>'unit_key')::text AS unit_key,
          coalesce(j.attempted_by[cardinality(j.attempted_by)], '')::text AS worker;

-- NewestLoadingRun: of the runs that loaded these units of a table, the
-- newest, one that succeeded first: `hdi ingest --queue` of work loaded
-- already names it, so that `hdi runs wait` on it ends at once.
-- name: NewestLoadingRun :one
SELECT u.run_id, r.status = 'succeeded' AS succeeded
FROM units u JOIN runs r ON r.run_id = u.run_id
WHERE u.unit_key = ANY(@unit_keys::text[]) AND u.target_table = @target_table AND u.status = 'done'
ORDER BY r.status = 'succeeded' DESC, u.run_id DESC
LIMIT 1;
