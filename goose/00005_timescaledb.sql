-- TimescaleDB, when the server has it: the extension, every market table as
-- a hypertable (chunk interval per schema), compression (segment by dataset
-- and instrument_id, newest first) with a policy, and continuous aggregates
-- in place of the roll-up views of 00004 (same names, same columns).
--
-- Without the extension (not in pg_available_extensions, or installed but
-- not loadable, e.g. missing from shared_preload_libraries) this migration
-- does nothing: the tables stay plain tables with their BRIN and key
-- indexes, and the roll-ups stay plain views. Set hdi.timescaledb=off (e.g.
-- options=-c%20hdi.timescaledb%3Doff in the URL) to stay plain on purpose.
-- After installing TimescaleDB on a database migrated without it, `hdi
-- migrate timescale` re-runs this migration and converts the tables with
-- their data.
--
-- Everything below runs in one transaction: a failure leaves no
-- half-converted schema. Continuous aggregates are created WITH NO DATA
-- (which TimescaleDB allows in a transaction); their policies fill them.

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    t record;
    ht record;
BEGIN
    IF lower(coalesce(current_setting('hdi.timescaledb', true), '')) IN ('off', 'false', '0', 'no') THEN
        RAISE NOTICE 'hdi: hdi.timescaledb is off: market tables stay plain PostgreSQL tables';
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
            RAISE NOTICE 'hdi: TimescaleDB is not installed: market tables stay plain PostgreSQL tables';
            RETURN;
        END IF;
        BEGIN
            CREATE EXTENSION timescaledb;
        EXCEPTION WHEN others THEN
            RAISE WARNING 'hdi: TimescaleDB is installed but cannot be loaded (%): market tables stay plain PostgreSQL tables', SQLERRM
                USING HINT = 'add timescaledb to shared_preload_libraries, restart the server, then run: hdi migrate timescale';
            RETURN;
        END;
    END IF;

    -- name, chunk interval, compression order, compress chunks older than.
    FOR t IN SELECT * FROM (VALUES
        ('mbo',        interval '1 day',    'ts DESC, ts_recv DESC',  interval '7 days'),
        ('mbp_1',      interval '1 day',    'ts DESC, ts_recv DESC',  interval '7 days'),
        ('mbp_10',     interval '1 day',    'ts DESC, ts_recv DESC',  interval '7 days'),
        ('tbbo',       interval '1 day',    'ts DESC, ts_recv DESC',  interval '7 days'),
        ('trades',     interval '1 day',    'ts DESC, ts_recv DESC',  interval '7 days'),
        ('bbo_1s',     interval '1 day',    'ts DESC, ts_recv DESC',  interval '7 days'),
        ('bbo_1m',     interval '7 days',   'ts DESC, ts_recv DESC',  interval '30 days'),
        ('cmbp_1',     interval '1 day',    'ts DESC, ts_recv DESC',  interval '7 days'),
        ('tcbbo',      interval '1 day',    'ts DESC, ts_recv DESC',  interval '7 days'),
        ('cbbo_1s',    interval '1 day',    'ts DESC, ts_recv DESC',  interval '7 days'),
        ('cbbo_1m',    interval '7 days',   'ts DESC, ts_recv DESC',  interval '30 days'),
        ('ohlcv_1s',   interval '1 day',    'ts DESC, ts_event DESC', interval '7 days'),
        ('ohlcv_1m',   interval '7 days',   'ts DESC, ts_event DESC', interval '30 days'),
        ('ohlcv_1h',   interval '30 days',  'ts DESC, ts_event DESC', interval '90 days'),
        ('ohlcv_1d',   interval '365 days', 'ts DESC, ts_event DESC', interval '730 days'),
        ('ohlcv_eod',  interval '365 days', 'ts DESC, ts_event DESC', interval '730 days'),
        ('statistics', interval '7 days',   'ts DESC, ts_recv DESC',  interval '30 days'),
        ('status',     interval '30 days',  'ts DESC, ts_recv DESC',  interval '90 days'),
        ('imbalance',  interval '7 days',   'ts DESC, ts_recv DESC',  interval '30 days'),
        ('definition', interval '7 days',   'ts DESC, ts_recv DESC',  interval '30 days')
    ) AS v (name, chunk, orderby, compress_after) LOOP
        PERFORM create_hypertable(t.name::regclass, by_range('ts', t.chunk),
            create_default_indexes => false, if_not_exists => true, migrate_data => true);
        SELECT compression_enabled INTO ht FROM timescaledb_information.hypertables
        WHERE hypertable_schema = current_schema() AND hypertable_name = t.name;
        IF NOT ht.compression_enabled THEN
            EXECUTE format('ALTER TABLE %I SET (timescaledb.compress, '
                'timescaledb.compress_segmentby = %L, timescaledb.compress_orderby = %L)',
                t.name, 'dataset, instrument_id', t.orderby);
        END IF;
        PERFORM add_compression_policy(t.name::regclass, compress_after => t.compress_after, if_not_exists => true);
    END LOOP;

    -- Continuous aggregates with the columns of the 00004 views. Real-time
    -- (materialized_only = false): rows not yet materialized are computed
    -- from the hypertable at query time, as the plain views do.
    FOR t IN SELECT * FROM (VALUES
        ('bars_5m',  interval '5 minutes'),
        ('bars_15m', interval '15 minutes'),
        ('bars_1h',  interval '1 hour')
    ) AS v (name, width) LOOP
        IF NOT EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
                       WHERE view_schema = current_schema() AND view_name = t.name) THEN
            EXECUTE format('DROP VIEW IF EXISTS %I', t.name);
            EXECUTE format($q$
                CREATE MATERIALIZED VIEW %I
                WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
                SELECT dataset, instrument_id,
                       time_bucket(%L::interval, ts) AS ts,
                       first(open, ts_event) AS open,
                       max(high)::bigint AS high,
                       min(low)::bigint AS low,
                       last(close, ts_event) AS close,
                       sum(volume)::bigint AS volume,
                       count(*)::bigint AS bar_count
                FROM ohlcv_1m
                GROUP BY dataset, instrument_id, time_bucket(%L::interval, ts)
                WITH NO DATA$q$, t.name, t.width, t.width);
            PERFORM add_continuous_aggregate_policy(t.name::regclass,
                start_offset => NULL, end_offset => t.width, schedule_interval => interval '1 hour');
        END IF;
    END LOOP;

    IF NOT EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates
                   WHERE view_schema = current_schema() AND view_name = 'trade_bars_1m') THEN
        DROP VIEW IF EXISTS trade_bars_1m;
        CREATE MATERIALIZED VIEW trade_bars_1m
        WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
        SELECT dataset, instrument_id,
               time_bucket('1 minute'::interval, ts) AS ts,
               first(price, ts_recv) AS open,
               max(price)::bigint AS high,
               min(price)::bigint AS low,
               last(price, ts_recv) AS close,
               sum(size)::bigint AS volume,
               count(*)::bigint AS trade_count
        FROM trades
        GROUP BY dataset, instrument_id, time_bucket('1 minute'::interval, ts)
        WITH NO DATA;
        PERFORM add_continuous_aggregate_policy('trade_bars_1m',
            start_offset => NULL, end_offset => interval '1 minute', schedule_interval => interval '1 hour');
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Continuous aggregates back to the plain views of 00004, compression
-- policies removed. Hypertables stay hypertables (TimescaleDB cannot turn
-- them back); 00002's down drops them like plain tables.
-- +goose StatementBegin
DO $$
DECLARE
    v record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        RETURN;
    END IF;
    FOR v IN SELECT view_name FROM timescaledb_information.continuous_aggregates
             WHERE view_schema = current_schema()
               AND view_name IN ('bars_5m', 'bars_15m', 'bars_1h', 'trade_bars_1m') LOOP
        EXECUTE format('DROP MATERIALIZED VIEW %I', v.view_name);
    END LOOP;
    FOR v IN SELECT hypertable_name FROM timescaledb_information.hypertables
             WHERE hypertable_schema = current_schema() LOOP
        PERFORM remove_compression_policy(v.hypertable_name::regclass, if_exists => true);
    END LOOP;
END
$$;
-- +goose StatementEnd

CREATE OR REPLACE VIEW bars_5m AS
SELECT dataset, instrument_id,
       date_bin('5 minutes', ts, '2000-01-03 00:00:00+00')::timestamptz AS ts,
       (array_agg(open ORDER BY ts_event))[1]::bigint AS open,
       max(high)::bigint AS high,
       min(low)::bigint AS low,
       (array_agg(close ORDER BY ts_event DESC))[1]::bigint AS close,
       sum(volume)::bigint AS volume,
       count(*)::bigint AS bar_count
FROM ohlcv_1m
GROUP BY dataset, instrument_id, date_bin('5 minutes', ts, '2000-01-03 00:00:00+00');

CREATE OR REPLACE VIEW bars_15m AS
SELECT dataset, instrument_id,
       date_bin('15 minutes', ts, '2000-01-03 00:00:00+00')::timestamptz AS ts,
       (array_agg(open ORDER BY ts_event))[1]::bigint AS open,
       max(high)::bigint AS high,
       min(low)::bigint AS low,
       (array_agg(close ORDER BY ts_event DESC))[1]::bigint AS close,
       sum(volume)::bigint AS volume,
       count(*)::bigint AS bar_count
FROM ohlcv_1m
GROUP BY dataset, instrument_id, date_bin('15 minutes', ts, '2000-01-03 00:00:00+00');

CREATE OR REPLACE VIEW bars_1h AS
SELECT dataset, instrument_id,
       date_bin('1 hour', ts, '2000-01-03 00:00:00+00')::timestamptz AS ts,
       (array_agg(open ORDER BY ts_event))[1]::bigint AS open,
       max(high)::bigint AS high,
       min(low)::bigint AS low,
       (array_agg(close ORDER BY ts_event DESC))[1]::bigint AS close,
       sum(volume)::bigint AS volume,
       count(*)::bigint AS bar_count
FROM ohlcv_1m
GROUP BY dataset, instrument_id, date_bin('1 hour', ts, '2000-01-03 00:00:00+00');

CREATE OR REPLACE VIEW trade_bars_1m AS
SELECT dataset, instrument_id,
       date_bin('1 minute', ts, '2000-01-03 00:00:00+00')::timestamptz AS ts,
       (array_agg(price ORDER BY ts_recv, sequence))[1]::bigint AS open,
       max(price)::bigint AS high,
       min(price)::bigint AS low,
       (array_agg(price ORDER BY ts_recv DESC, sequence DESC))[1]::bigint AS close,
       sum(size)::bigint AS volume,
       count(*)::bigint AS trade_count
FROM trades
GROUP BY dataset, instrument_id, date_bin('1 minute', ts, '2000-01-03 00:00:00+00');
