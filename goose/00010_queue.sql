-- Queued runs and the workers that load them (`hdi ingest --queue`,
-- `hdi worker`, scheduled jobs). River's own tables come from 00009.
--   runs.status   gains queued (no unit started yet) and cancelled;
--   runs.queue    the worker queue of a queued run (NULL: one hdi ingest
--                 process loaded it);
--   runs.schedule_tick  the tick a scheduled run stands for: one run per
--                 job and tick, however many workers race to queue it;
--   workers       one row per live `hdi worker` process, its heartbeat
--                 tells the others when it died (its units are rescued).

-- +goose Up
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'interrupted', 'cancelled'));
ALTER TABLE runs ADD COLUMN queue text;
ALTER TABLE runs ADD COLUMN schedule_tick timestamptz;
CREATE UNIQUE INDEX runs_schedule_tick_idx ON runs (job, schedule_tick) WHERE schedule_tick IS NOT NULL;
CREATE INDEX runs_open_queued_idx ON runs (run_id) WHERE queue IS NOT NULL AND finished_at IS NULL;

CREATE TABLE workers (
    worker_id    text        PRIMARY KEY,
    host         text        NOT NULL,
    pid          integer     NOT NULL,
    queues       text[]      NOT NULL,
    concurrency  integer     NOT NULL,
    version      text        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE workers;
DROP INDEX runs_open_queued_idx;
DROP INDEX runs_schedule_tick_idx;
ALTER TABLE runs DROP COLUMN schedule_tick;
ALTER TABLE runs DROP COLUMN queue;
UPDATE runs SET status = 'interrupted' WHERE status IN ('queued', 'cancelled');
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted'));
