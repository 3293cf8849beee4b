-- Live streams (`hdi stream`): a live feed recorded into the same tables as
-- history, exactly once.
--
--   live_streams    one row per stream (a job with mode: live, or an ad-hoc
--                   stream), named by the job: who runs it now, its state,
--                   and what it has done over its life. `hdi stream` holds a
--                   session advisory lock on the name while it runs, so a
--                   second process for the same stream refuses to start.
--   live_positions  per stream of the feed (a schema: trades, ohlcv-1m ...)
--                   the last committed position: the index time and
--                   sequence of the last record committed, written in the
--                   same transaction as the rows, so the committed rows are
--                   always a prefix of the feed. A restart or a reconnect
--                   resumes from here; the tables' unique keys drop the
--                   overlap the source replays.
--   runs.kind       ingest (a historical run), live (one session of a live
--                   stream: from its start to its stop) or backfill (a
--                   historical run a live stream started to fill a gap longer
--                   than the source's replay window); runs.live_stream names
--                   the stream of a live or backfill run. A session that is
--                   stopped on purpose ends 'stopped'.

-- +goose Up
CREATE TABLE live_streams (
    name            text        PRIMARY KEY,
    provider        text        NOT NULL,
    dataset         text,
    streams         text[]      NOT NULL,
    symbols         text[]      NOT NULL DEFAULT '{}',
    -- The job as it runs (provider secrets left out).
    job             jsonb       NOT NULL,
    state           text        NOT NULL DEFAULT 'starting'
                    CHECK (state IN ('starting', 'streaming', 'reconnecting', 'backfilling', 'stopped', 'failed')),
    run_id          bigint,
    host            text,
    pid             integer,
    started_at      timestamptz,
    stopped_at      timestamptz,
    -- The process writes it every few seconds while it runs: a stream
    -- whose heartbeat is old is dead, whatever its state says.
    heartbeat_at    timestamptz,
    reconnects      bigint      NOT NULL DEFAULT 0,
    gaps_backfilled bigint      NOT NULL DEFAULT 0,
    -- Rows per second over the last commits, as the process measures it.
    rows_per_s      double precision NOT NULL DEFAULT 0,
    error           text
);

CREATE TABLE live_positions (
    name          text        NOT NULL REFERENCES live_streams (name) ON DELETE CASCADE,
    stream        text        NOT NULL,
    target_table  text        NOT NULL,
    -- The last committed record: its index time (ns since the epoch) and
    -- its sequence at the source.
    ts_ns         bigint      NOT NULL,
    sequence      numeric(20) NOT NULL DEFAULT 0,
    -- The source's clock when it was committed: lag is the time since.
    source_ts     timestamptz,
    committed_at  timestamptz NOT NULL DEFAULT now(),
    rows_total    bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (name, stream)
);

ALTER TABLE runs ADD COLUMN kind text NOT NULL DEFAULT 'ingest'
    CHECK (kind IN ('ingest', 'live', 'backfill'));
ALTER TABLE runs ADD COLUMN live_stream text;
CREATE INDEX runs_live_stream_idx ON runs (live_stream, run_id) WHERE live_stream IS NOT NULL;
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'interrupted', 'cancelled', 'stopped'));

-- +goose Down
UPDATE runs SET status = 'interrupted' WHERE status = 'stopped';
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'interrupted', 'cancelled'));
DROP INDEX runs_live_stream_idx;
ALTER TABLE runs DROP COLUMN live_stream;
ALTER TABLE runs DROP COLUMN kind;
DROP TABLE live_positions;
DROP TABLE live_streams;
