-- hdi's statements on live streams (package stream, `hdi stream`): the
-- stream's row, its committed positions, and the runs of its sessions.

-- LockLiveStream: one process per stream. A session lock, held on the
-- stream's own connection for as long as it runs: false when another
-- process holds it.
-- name: LockLiveStream :one
SELECT pg_try_advisory_lock(hashtextextended('hdi.live_stream:' || @name::text, 0)) AS locked;

-- UnlockLiveStream: release the stream's lock (the session's end does too).
-- name: UnlockLiveStream :exec
SELECT pg_advisory_unlock(hashtextextended('hdi.live_stream:' || @name::text, 0));

-- StartLiveStream: a process takes the stream: its row, created or taken
-- over, with the job it runs and the run of this session.
-- name: StartLiveStream :exec
INSERT INTO live_streams (name, provider, dataset, streams, symbols, job, state, run_id, host, pid, started_at, stopped_at, heartbeat_at, error)
VALUES (@name, @provider, sqlc.narg(dataset), @streams, @symbols, @job, 'starting', @run_id, @host, @pid, now(), NULL, now(), NULL)
ON CONFLICT (name) DO UPDATE SET
    provider = excluded.provider, dataset = excluded.dataset, streams = excluded.streams,
    symbols = excluded.symbols, job = excluded.job, state = 'starting', run_id = excluded.run_id,
    host = excluded.host, pid = excluded.pid, started_at = now(), stopped_at = NULL,
    heartbeat_at = now(), rows_per_s = 0, error = NULL;

-- GetLiveStream: one stream's row.
-- name: GetLiveStream :one
SELECT * FROM live_streams WHERE name = @name;

-- SetLiveStreamState: the stream's state (and its error, when it failed).
-- name: SetLiveStreamState :exec
UPDATE live_streams SET
    state = @state,
    heartbeat_at = now(),
    stopped_at = CASE WHEN @state::text IN ('stopped', 'failed') THEN now() END,
    error = sqlc.narg(error)
WHERE name = @name;

-- HeartbeatLiveStream: the process is alive; how fast it loads.
-- name: HeartbeatLiveStream :exec
UPDATE live_streams SET heartbeat_at = now(), rows_per_s = @rows_per_s WHERE name = @name;

-- CountLiveReconnect: the feed was cut (n times, counting those the
-- database could not be told of) and the stream reconnects.
-- name: CountLiveReconnect :exec
UPDATE live_streams SET reconnects = reconnects + @n::bigint, state = 'reconnecting', heartbeat_at = now() WHERE name = @name;

-- CountLiveBackfill: a gap longer than the replay window was filled by a
-- historical run.
-- name: CountLiveBackfill :exec
UPDATE live_streams SET gaps_backfilled = gaps_backfilled + 1, heartbeat_at = now() WHERE name = @name;

-- LivePositions: the committed position of each stream of the feed.
-- name: LivePositions :many
SELECT * FROM live_positions WHERE name = @name ORDER BY stream;

-- StartLivePosition: where a stream of the feed starts, before it has
-- committed anything (its first position); a stream that has one keeps it.
-- name: StartLivePosition :exec
INSERT INTO live_positions (name, stream, target_table, ts_ns)
VALUES (@name, @stream, @target_table, @ts_ns)
ON CONFLICT (name, stream) DO NOTHING;

-- CommitLivePosition: a stream's position, in the transaction of the rows
-- before it (rows without a new position keep the old one).
-- name: CommitLivePosition :execrows
UPDATE live_positions SET
    target_table = @target_table,
    ts_ns = coalesce(sqlc.narg(ts_ns), ts_ns),
    sequence = coalesce(sqlc.narg(sequence), sequence),
    source_ts = coalesce(sqlc.narg(source_ts), source_ts),
    committed_at = now(),
    rows_total = rows_total + @rows
WHERE name = @name AND stream = @stream;

-- TouchLivePosition: the source is alive and has sent nothing new for the
-- stream: its clock moves on (lag stays true on a quiet feed).
-- name: TouchLivePosition :exec
UPDATE live_positions SET source_ts = @source_ts, committed_at = now()
WHERE name = @name AND stream = @stream;

-- LiveStreams: every stream with its totals over its feed's streams, for
-- `hdi status`, `hdi runs show`, the API and /metrics. lag_seconds is the time
-- since the source's clock of the last commit; a stream whose heartbeat is
-- older than stale_after_seconds is reported 'dead' whatever its state.
-- name: LiveStreams :many
SELECT s.name, s.provider, s.dataset, s.streams, s.symbols,
       CASE WHEN s.state NOT IN ('stopped', 'failed')
                 AND (s.heartbeat_at IS NULL OR s.heartbeat_at < now() - make_interval(secs => @stale_after_seconds::float8))
            THEN 'dead' ELSE s.state END::text AS state,
       s.run_id, s.host, s.pid, s.started_at, s.stopped_at, s.heartbeat_at,
       s.reconnects, s.gaps_backfilled, s.rows_per_s, s.error,
       coalesce(sum(p.rows_total), 0)::bigint AS rows_total,
       coalesce(max(p.ts_ns), 0)::bigint AS last_ts_ns,
       coalesce(max(p.committed_at), s.started_at, now())::timestamptz AS committed_at,
       -- -1: unknown (the source has sent no clock yet)
       coalesce(extract(epoch FROM now() - min(p.source_ts)), -1)::float8 AS lag_seconds
FROM live_streams s
LEFT JOIN live_positions p ON p.name = s.name
GROUP BY s.name
ORDER BY s.name;

-- CreateLiveRun: a run row for one session of a live stream, or for a
-- backfill it asked for.
-- name: CreateLiveRun :one
INSERT INTO runs (job, parameters, kind, live_stream) VALUES (@job, @parameters, @kind, @live_stream)
RETURNING run_id;

-- FinishLiveRun: a live session's end: stopped on purpose, or failed.
-- name: FinishLiveRun :exec
UPDATE runs SET status = @status, finished_at = now(), rows_inserted = @rows_inserted,
    rows_deduplicated = @rows_deduplicated, rows_quarantined = @rows_quarantined, rows_warned = @rows_warned,
    error = sqlc.narg(error)
WHERE run_id = @run_id;

-- AddLiveRunRows: a live session's counts so far (sessions run for days).
-- name: AddLiveRunRows :exec
UPDATE runs SET rows_inserted = rows_inserted + @rows_inserted, rows_deduplicated = rows_deduplicated + @rows_deduplicated,
    rows_quarantined = rows_quarantined + @rows_quarantined, rows_warned = rows_warned + @rows_warned
WHERE run_id = @run_id;
