-- Coverage counted at load time (hdi serve's heat map, hdi query Coverage):
--   coverage_daily  rows loaded per table, dataset, instrument and UTC day,
--                   kept by the loader in each unit's transaction (and
--                   recounted where a replace-range or --force deleted), so
--                   coverage needs no scan of the market tables;
--   coverage        the same view as before (00004), now summed from
--                   coverage_daily instead of scanning every table.

-- +goose Up
CREATE TABLE coverage_daily (
    table_name    text        NOT NULL,
    dataset       text        NOT NULL,
    instrument_id bigint      NOT NULL,
    day           date        NOT NULL,
    row_count     bigint      NOT NULL,
    first_ts      timestamptz NOT NULL,
    last_ts       timestamptz NOT NULL,
    PRIMARY KEY (table_name, dataset, instrument_id, day)
);
CREATE INDEX coverage_daily_day_idx ON coverage_daily (day, table_name);

-- Existing data: count once, from every table with the market columns.
-- +goose StatementBegin
DO $$
DECLARE t text;
BEGIN
    FOR t IN
        SELECT c.table_name FROM information_schema.columns c
        JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name AND tb.table_type = 'BASE TABLE'
        WHERE c.table_schema = current_schema() AND c.column_name IN ('dataset', 'instrument_id', 'ts')
          AND c.table_name <> 'coverage_daily'
        GROUP BY c.table_name HAVING count(*) = 3
    LOOP
        EXECUTE format('INSERT INTO coverage_daily (table_name, dataset, instrument_id, day, row_count, first_ts, last_ts)
                        SELECT %L, dataset, instrument_id, (ts AT TIME ZONE ''UTC'')::date, count(*), min(ts), max(ts)
                        FROM %I WHERE dataset IS NOT NULL AND instrument_id IS NOT NULL
                        GROUP BY dataset, instrument_id, 4', t, t);
    END LOOP;
END $$;
-- +goose StatementEnd

CREATE OR REPLACE VIEW coverage AS
SELECT table_name, dataset, instrument_id, min(first_ts)::timestamptz AS first_ts, max(last_ts)::timestamptz AS last_ts,
       sum(row_count)::bigint AS row_count
FROM coverage_daily
GROUP BY table_name, dataset, instrument_id;

-- +goose Down
CREATE OR REPLACE VIEW coverage AS
SELECT 'mbo'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM mbo GROUP BY dataset, instrument_id
UNION ALL
SELECT 'mbp_1'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM mbp_1 GROUP BY dataset, instrument_id
UNION ALL
SELECT 'mbp_10'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM mbp_10 GROUP BY dataset, instrument_id
UNION ALL
SELECT 'tbbo'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM tbbo GROUP BY dataset, instrument_id
UNION ALL
SELECT 'trades'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM trades GROUP BY dataset, instrument_id
UNION ALL
SELECT 'bbo_1s'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM bbo_1s GROUP BY dataset, instrument_id
UNION ALL
SELECT 'bbo_1m'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM bbo_1m GROUP BY dataset, instrument_id
UNION ALL
SELECT 'cmbp_1'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM cmbp_1 GROUP BY dataset, instrument_id
UNION ALL
SELECT 'tcbbo'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM tcbbo GROUP BY dataset, instrument_id
UNION ALL
SELECT 'cbbo_1s'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM cbbo_1s GROUP BY dataset, instrument_id
UNION ALL
SELECT 'cbbo_1m'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM cbbo_1m GROUP BY dataset, instrument_id
UNION ALL
SELECT 'ohlcv_1s'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM ohlcv_1s GROUP BY dataset, instrument_id
UNION ALL
SELECT 'ohlcv_1m'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM ohlcv_1m GROUP BY dataset, instrument_id
UNION ALL
SELECT 'ohlcv_1h'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM ohlcv_1h GROUP BY dataset, instrument_id
UNION ALL
SELECT 'ohlcv_1d'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM ohlcv_1d GROUP BY dataset, instrument_id
UNION ALL
SELECT 'ohlcv_eod'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM ohlcv_eod GROUP BY dataset, instrument_id
UNION ALL
SELECT 'statistics'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM statistics GROUP BY dataset, instrument_id
UNION ALL
SELECT 'status'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM status GROUP BY dataset, instrument_id
UNION ALL
SELECT 'imbalance'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM imbalance GROUP BY dataset, instrument_id
UNION ALL
SELECT 'definition'::text AS table_name, dataset, instrument_id, min(ts)::timestamptz AS first_ts, max(ts)::timestamptz AS last_ts, count(*)::bigint AS row_count
FROM definition GROUP BY dataset, instrument_id;
DROP TABLE coverage_daily;
