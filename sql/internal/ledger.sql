-- hdi's own statements on its bookkeeping tables: runs, the unit ledger, the
-- quarantine and the symbol mappings. sqlc compiles them into internal/dbq
-- with the query files; `hdi query` does not offer them (they write).

-- CreateRun: start a run of a job; returns it. A backfill names the live
-- stream that asked for it.
-- name: CreateRun :one
INSERT INTO runs (job, parameters, kind, live_stream)
VALUES (@job, @parameters, CASE WHEN sqlc.narg(live_stream)::text IS NULL THEN 'ingest' ELSE 'backfill' END, sqlc.narg(live_stream))
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
    rows_inserted = @rows_inserted,
    rows_updated = @rows_updated,
    rows_unchanged = @rows_unchanged,
    rows_deduplicated = @rows_deduplicated,
    rows_quarantined = @rows_quarantined,
    rows_warned = @rows_warned,
    error = sqlc.narg(error)
WHERE run_id = @run_id;

-- AddRetriedRows: a quarantine retry moved rows out of a run's quarantine
-- into its table: keep the run's counts true.
-- name: AddRetriedRows :exec
UPDATE runs SET
    rows_inserted = rows_inserted + @rows_inserted,
    rows_updated = rows_updated + @rows_updated,
    rows_unchanged = rows_unchanged + @rows_unchanged,
    rows_deduplicated = rows_deduplicated + @rows_deduplicated,
    rows_quarantined = rows_quarantined - @rows_retried
WHERE run_id = @run_id;

-- LockUnit: serialise the loads of one unit into one table across runs and
-- processes; the lock ends with the transaction.
-- name: LockUnit :exec
SELECT pg_advisory_xact_lock(hashtext(@unit_key::text || ' -> ' || @target_table::text));

-- UnitDone: whether the ledger says the unit is loaded into the table.
-- name: UnitDone :one
SELECT EXISTS (SELECT 1 FROM units
               WHERE unit_key = @unit_key AND target_table = @target_table AND status = 'done');

-- RecordUnit: write a unit's ledger row (done: in the transaction that
-- loaded its rows; failed: after it rolled back). A failed row never
-- replaces a done one: the done unit's data is still there.
-- name: RecordUnit :exec
INSERT INTO units (unit_key, run_id, provider, dataset, schema, target_table, symbols,
                   range_start, range_end, status, rows_inserted, rows_updated, rows_unchanged,
                   rows_deduplicated, rows_quarantined, rows_warned, error, started_at, finished_at)
VALUES (@unit_key, @run_id, @provider, sqlc.narg(dataset), sqlc.narg(schema), @target_table, @symbols,
        sqlc.narg(range_start), sqlc.narg(range_end), @status, @rows_inserted, @rows_updated, @rows_unchanged,
        @rows_deduplicated, @rows_quarantined, @rows_warned, sqlc.narg(error), @started_at, clock_timestamp())
ON CONFLICT (unit_key, target_table) DO UPDATE SET
    run_id = excluded.run_id, provider = excluded.provider, dataset = excluded.dataset,
    schema = excluded.schema, symbols = excluded.symbols,
    range_start = excluded.range_start, range_end = excluded.range_end, status = excluded.status,
    rows_inserted = excluded.rows_inserted, rows_updated = excluded.rows_updated,
    rows_unchanged = excluded.rows_unchanged, rows_deduplicated = excluded.rows_deduplicated,
    rows_quarantined = excluded.rows_quarantined, rows_warned = excluded.rows_warned,
    error = excluded.error, started_at = excluded.started_at, finished_at = excluded.finished_at
WHERE units.status <> 'done' OR excluded.status = 'done';

-- GetUnit: a unit's ledger row by key and target table.
-- name: GetUnit :one
SELECT * FROM units WHERE unit_key = @unit_key AND target_table = @target_table;

-- DoneUnitKeys: which of these unit keys are done into a target table.
-- name: DoneUnitKeys :many
SELECT unit_key FROM units
WHERE unit_key = ANY(@unit_keys::text[]) AND target_table = @target_table AND status = 'done';

-- CopyQuarantine: bulk-insert quarantined records (in the unit's transaction).
-- name: CopyQuarantine :copyfrom
INSERT INTO quarantine (run_id, unit_key, target_table, rule, severity, message, field, record)
VALUES (@run_id, @unit_key, @target_table, @rule, @severity, @message, @field, @record);

-- QuarantineToRetry: a run's quarantined records not yet retried, with the
-- dataset and schema of their unit, by unit.
-- name: QuarantineToRetry :many
SELECT q.quarantine_id, q.unit_key, q.target_table, coalesce(u.dataset, '')::text AS dataset,
       coalesce(u.schema, '')::text AS schema, q.record, q.rule
FROM quarantine q
LEFT JOIN units u ON u.unit_key = q.unit_key AND u.target_table = q.target_table
WHERE q.run_id = @run_id AND q.retried_at IS NULL AND q.severity = 'error'
ORDER BY q.unit_key, q.quarantine_id;

-- MarkQuarantineRetried: records a retry loaded (in its transaction).
-- name: MarkQuarantineRetried :exec
UPDATE quarantine SET retried_at = now() WHERE quarantine_id = ANY(@quarantine_ids::bigint[]);

-- InsertSymbolMappings: record mapping intervals; a mapping already there
-- is left alone (reloads are idempotent).
-- name: InsertSymbolMappings :batchexec
INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol,
                             start_date, end_date, source, run_id)
VALUES (@dataset, @stype_in, @stype_in_symbol, @stype_out, @stype_out_symbol,
        @start_date, @end_date, @source, sqlc.narg(run_id))
ON CONFLICT DO NOTHING;

-- CopyTrades: bulk-load trades with COPY (pgx CopyFrom), for tests and
-- tools that write trades without a provider.
-- name: CopyTrades :copyfrom
INSERT INTO trades (
    dataset, ts, ts_recv, ts_event, rtype, publisher_id, instrument_id,
    action, side, depth, price, size, flags, ts_in_delta, sequence
) VALUES (
    @dataset, @ts, @ts_recv, @ts_event, @rtype, @publisher_id, @instrument_id,
    @action, @side, @depth, @price, @size, @flags, @ts_in_delta, @sequence
);

-- AddCoverage: add a unit's rows per instrument and UTC day to
-- coverage_daily (in the unit's transaction).
-- name: AddCoverage :exec
INSERT INTO coverage_daily (table_name, dataset, instrument_id, day, row_count, first_ts, last_ts)
SELECT @table_name::text, @dataset::text, unnest(@instrument_ids::bigint[]), unnest(@days::date[]),
       unnest(@row_counts::bigint[]), unnest(@first_ts::timestamptz[]), unnest(@last_ts::timestamptz[])
ON CONFLICT (table_name, dataset, instrument_id, day) DO UPDATE SET
    row_count = coverage_daily.row_count + EXCLUDED.row_count,
    first_ts = least(coverage_daily.first_ts, EXCLUDED.first_ts),
    last_ts = greatest(coverage_daily.last_ts, EXCLUDED.last_ts);

-- ClearCoverage: drop the coverage of days a replacing unit recounts
-- (instrument_ids NULL: every instrument).
-- name: ClearCoverage :exec
DELETE FROM coverage_daily
WHERE table_name = @table_name AND dataset = @dataset AND day >= @first_day AND day <= @last_day
  AND (sqlc.narg(instrument_ids)::bigint[] IS NULL OR instrument_id = ANY(sqlc.narg(instrument_ids)::bigint[]));

-- SaveCheckpoint: keep what the provider asked to keep of a unit's fetch
-- (autocommit: it outlives the unit's transaction).
-- name: SaveCheckpoint :exec
INSERT INTO unit_checkpoints (unit_key, target_table, provider, run_id, state, note, updated_at)
VALUES (@unit_key, @target_table, @provider, @run_id, @state, @note, now())
ON CONFLICT (unit_key, target_table) DO UPDATE SET
    provider = EXCLUDED.provider, run_id = EXCLUDED.run_id, state = EXCLUDED.state,
    note = EXCLUDED.note, updated_at = now();

-- GetCheckpoint: the last checkpoint of a unit (none: no row).
-- name: GetCheckpoint :one
SELECT state FROM unit_checkpoints WHERE unit_key = @unit_key AND target_table = @target_table;
