-- Views: exact decimal prices and readable times for every market table
-- (<table>_v), the coverage of every table, and bar roll-ups.
--
-- In the <table>_v views, every 1e-9 fixed-point column is an exact numeric
-- with scale 9 (372025000000000 -> 372025.000000000), every nanosecond
-- timestamp is ISO 8601 UTC text with all nine digits
-- (2024-01-02T14:30:00.123456789Z), ts stays the timestamptz to filter on, and
-- NULLs (Databento's undefined sentinels) stay NULL.
--
-- The roll-ups bars_5m, bars_15m and bars_1h (from ohlcv_1m) and
-- trade_bars_1m (from trades) are plain views here, computed at query time
-- with date_bin; 00005 replaces them with TimescaleDB continuous aggregates of
-- the same names and columns when the extension is there. Buckets start at
-- the origin 2000-01-03 00:00 UTC, time_bucket's default, so both backends
-- give the same buckets.

-- +goose Up
CREATE VIEW mbo_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    x.action,
    x.side,
    fixed_to_numeric(x.price) AS price,
    x.size,
    x.channel_id,
    x.order_id,
    x.flags,
    x.ts_in_delta,
    x.sequence
FROM mbo x;

CREATE VIEW mbp_1_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    x.action,
    x.side,
    x.depth,
    fixed_to_numeric(x.price) AS price,
    x.size,
    x.flags,
    x.ts_in_delta,
    x.sequence,
    fixed_to_numeric(x.bid_px_00) AS bid_px_00,
    fixed_to_numeric(x.ask_px_00) AS ask_px_00,
    x.bid_sz_00,
    x.ask_sz_00,
    x.bid_ct_00,
    x.ask_ct_00
FROM mbp_1 x;

CREATE VIEW mbp_10_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    x.action,
    x.side,
    x.depth,
    fixed_to_numeric(x.price) AS price,
    x.size,
    x.flags,
    x.ts_in_delta,
    x.sequence,
    fixed_to_numeric(x.bid_px_00) AS bid_px_00,
    fixed_to_numeric(x.ask_px_00) AS ask_px_00,
    x.bid_sz_00,
    x.ask_sz_00,
    x.bid_ct_00,
    x.ask_ct_00,
    fixed_to_numeric(x.bid_px_01) AS bid_px_01,
    fixed_to_numeric(x.ask_px_01) AS ask_px_01,
    x.bid_sz_01,
    x.ask_sz_01,
    x.bid_ct_01,
    x.ask_ct_01,
    fixed_to_numeric(x.bid_px_02) AS bid_px_02,
    fixed_to_numeric(x.ask_px_02) AS ask_px_02,
    x.bid_sz_02,
    x.ask_sz_02,
    x.bid_ct_02,
    x.ask_ct_02,
    fixed_to_numeric(x.bid_px_03) AS bid_px_03,
    fixed_to_numeric(x.ask_px_03) AS ask_px_03,
    x.bid_sz_03,
    x.ask_sz_03,
    x.bid_ct_03,
    x.ask_ct_03,
    fixed_to_numeric(x.bid_px_04) AS bid_px_04,
    fixed_to_numeric(x.ask_px_04) AS ask_px_04,
    x.bid_sz_04,
    x.ask_sz_04,
    x.bid_ct_04,
    x.ask_ct_04,
    fixed_to_numeric(x.bid_px_05) AS bid_px_05,
    fixed_to_numeric(x.ask_px_05) AS ask_px_05,
    x.bid_sz_05,
    x.ask_sz_05,
    x.bid_ct_05,
    x.ask_ct_05,
    fixed_to_numeric(x.bid_px_06) AS bid_px_06,
    fixed_to_numeric(x.ask_px_06) AS ask_px_06,
    x.bid_sz_06,
    x.ask_sz_06,
    x.bid_ct_06,
    x.ask_ct_06,
    fixed_to_numeric(x.bid_px_07) AS bid_px_07,
    fixed_to_numeric(x.ask_px_07) AS ask_px_07,
    x.bid_sz_07,
    x.ask_sz_07,
    x.bid_ct_07,
    x.ask_ct_07,
    fixed_to_numeric(x.bid_px_08) AS bid_px_08,
    fixed_to_numeric(x.ask_px_08) AS ask_px_08,
    x.bid_sz_08,
    x.ask_sz_08,
    x.bid_ct_08,
    x.ask_ct_08,
    fixed_to_numeric(x.bid_px_09) AS bid_px_09,
    fixed_to_numeric(x.ask_px_09) AS ask_px_09,
    x.bid_sz_09,
    x.ask_sz_09,
    x.bid_ct_09,
    x.ask_ct_09
FROM mbp_10 x;

CREATE VIEW tbbo_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    x.action,
    x.side,
    x.depth,
    fixed_to_numeric(x.price) AS price,
    x.size,
    x.flags,
    x.ts_in_delta,
    x.sequence,
    fixed_to_numeric(x.bid_px_00) AS bid_px_00,
    fixed_to_numeric(x.ask_px_00) AS ask_px_00,
    x.bid_sz_00,
    x.ask_sz_00,
    x.bid_ct_00,
    x.ask_ct_00
FROM tbbo x;

CREATE VIEW trades_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    x.action,
    x.side,
    x.depth,
    fixed_to_numeric(x.price) AS price,
    x.size,
    x.flags,
    x.ts_in_delta,
    x.sequence
FROM trades x;

CREATE VIEW bbo_1s_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    x.side,
    fixed_to_numeric(x.price) AS price,
    x.size,
    x.flags,
    x.sequence,
    fixed_to_numeric(x.bid_px_00) AS bid_px_00,
    fixed_to_numeric(x.ask_px_00) AS ask_px_00,
    x.bid_sz_00,
    x.ask_sz_00,
    x.bid_ct_00,
    x.ask_ct_00
FROM bbo_1s x;

CREATE VIEW bbo_1m_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    x.side,
    fixed_to_numeric(x.price) AS price,
    x.size,
    x.flags,
    x.sequence,
    fixed_to_numeric(x.bid_px_00) AS bid_px_00,
    fixed_to_numeric(x.ask_px_00) AS ask_px_00,
    x.bid_sz_00,
    x.ask_sz_00,
    x.bid_ct_00,
    x.ask_ct_00
FROM bbo_1m x;

CREATE VIEW cmbp_1_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    x.action,
    x.side,
    fixed_to_numeric(x.price) AS price,
    x.size,
    x.flags,
    x.ts_in_delta,
    fixed_to_numeric(x.bid_px_00) AS bid_px_00,
    fixed_to_numeric(x.ask_px_00) AS ask_px_00,
    x.bid_sz_00,
    x.ask_sz_00,
    x.bid_pb_00,
    x.ask_pb_00
FROM cmbp_1 x;

CREATE VIEW tcbbo_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    x.action,
    x.side,
    fixed_to_numeric(x.price) AS price,
    x.size,
    x.flags,
    x.ts_in_delta,
    fixed_to_numeric(x.bid_px_00) AS bid_px_00,
    fixed_to_numeric(x.ask_px_00) AS ask_px_00,
    x.bid_sz_00,
    x.ask_sz_00,
    x.bid_pb_00,
    x.ask_pb_00
FROM tcbbo x;

CREATE VIEW cbbo_1s_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    x.side,
    fixed_to_numeric(x.price) AS price,
    x.size,
    x.flags,
    fixed_to_numeric(x.bid_px_00) AS bid_px_00,
    fixed_to_numeric(x.ask_px_00) AS ask_px_00,
    x.bid_sz_00,
    x.ask_sz_00,
    x.bid_pb_00,
    x.ask_pb_00
FROM cbbo_1s x;

CREATE VIEW cbbo_1m_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    x.side,
    fixed_to_numeric(x.price) AS price,
    x.size,
    x.flags,
    fixed_to_numeric(x.bid_px_00) AS bid_px_00,
    fixed_to_numeric(x.ask_px_00) AS ask_px_00,
    x.bid_sz_00,
    x.ask_sz_00,
    x.bid_pb_00,
    x.ask_pb_00
FROM cbbo_1m x;

CREATE VIEW ohlcv_1s_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    fixed_to_numeric(x.open) AS open,
    fixed_to_numeric(x.high) AS high,
    fixed_to_numeric(x.low) AS low,
    fixed_to_numeric(x.close) AS close,
    x.volume
FROM ohlcv_1s x;

CREATE VIEW ohlcv_1m_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    fixed_to_numeric(x.open) AS open,
    fixed_to_numeric(x.high) AS high,
    fixed_to_numeric(x.low) AS low,
    fixed_to_numeric(x.close) AS close,
    x.volume
FROM ohlcv_1m x;

CREATE VIEW ohlcv_1h_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    fixed_to_numeric(x.open) AS open,
    fixed_to_numeric(x.high) AS high,
    fixed_to_numeric(x.low) AS low,
    fixed_to_numeric(x.close) AS close,
    x.volume
FROM ohlcv_1h x;

CREATE VIEW ohlcv_1d_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    fixed_to_numeric(x.open) AS open,
    fixed_to_numeric(x.high) AS high,
    fixed_to_numeric(x.low) AS low,
    fixed_to_numeric(x.close) AS close,
    x.volume
FROM ohlcv_1d x;

CREATE VIEW ohlcv_eod_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    fixed_to_numeric(x.open) AS open,
    fixed_to_numeric(x.high) AS high,
    fixed_to_numeric(x.low) AS low,
    fixed_to_numeric(x.close) AS close,
    x.volume
FROM ohlcv_eod x;

CREATE VIEW statistics_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    ns_to_text(x.ts_ref) AS ts_ref,
    fixed_to_numeric(x.price) AS price,
    x.quantity,
    x.sequence,
    x.ts_in_delta,
    x.stat_type,
    st.name AS stat_type_name,
    x.channel_id,
    x.update_action,
    x.stat_flags
FROM statistics x
LEFT JOIN stat_types st ON st.stat_type = x.stat_type;

CREATE VIEW status_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    x.action,
    sa.name AS action_name,
    x.reason,
    sr.name AS reason_name,
    x.trading_event,
    x.is_trading,
    x.is_quoting,
    x.is_short_sell_restricted
FROM status x
LEFT JOIN status_actions sa ON sa.action = x.action
LEFT JOIN status_reasons sr ON sr.reason = x.reason;

CREATE VIEW imbalance_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    fixed_to_numeric(x.ref_price) AS ref_price,
    ns_to_text(x.auction_time) AS auction_time,
    fixed_to_numeric(x.cont_book_clr_price) AS cont_book_clr_price,
    fixed_to_numeric(x.auct_interest_clr_price) AS auct_interest_clr_price,
    fixed_to_numeric(x.ssr_filling_price) AS ssr_filling_price,
    fixed_to_numeric(x.ind_match_price) AS ind_match_price,
    fixed_to_numeric(x.upper_collar) AS upper_collar,
    fixed_to_numeric(x.lower_collar) AS lower_collar,
    x.paired_qty,
    x.total_imbalance_qty,
    x.market_imbalance_qty,
    x.unpaired_qty,
    x.auction_type,
    x.side,
    x.auction_status,
    x.freeze_status,
    x.num_extensions,
    x.unpaired_side,
    x.significant_imbalance
FROM imbalance x;

CREATE VIEW definition_v AS
SELECT
    x.dataset,
    x.ts,
    ns_to_text(x.ts_recv) AS ts_recv,
    ns_to_text(x.ts_event) AS ts_event,
    x.rtype,
    x.publisher_id,
    x.instrument_id,
    x.raw_symbol,
    x.security_update_action,
    x.instrument_class,
    fixed_to_numeric(x.min_price_increment) AS min_price_increment,
    fixed_to_numeric(x.display_factor) AS display_factor,
    ns_to_text(x.expiration) AS expiration,
    ns_to_text(x.activation) AS activation,
    fixed_to_numeric(x.high_limit_price) AS high_limit_price,
    fixed_to_numeric(x.low_limit_price) AS low_limit_price,
    fixed_to_numeric(x.max_price_variation) AS max_price_variation,
    fixed_to_numeric(x.unit_of_measure_qty) AS unit_of_measure_qty,
    fixed_to_numeric(x.min_price_increment_amount) AS min_price_increment_amount,
    fixed_to_numeric(x.price_ratio) AS price_ratio,
    x.inst_attrib_value,
    x.underlying_id,
    x.raw_instrument_id,
    x.market_depth_implied,
    x.market_depth,
    x.market_segment_id,
    x.max_trade_vol,
    x.min_lot_size,
    x.min_lot_size_block,
    x.min_lot_size_round_lot,
    x.min_trade_vol,
    x.contract_multiplier,
    x.decay_quantity,
    x.original_contract_size,
    x.appl_id,
    x.maturity_year,
    x.decay_start_date,
    x.channel_id,
    x.currency,
    x.settl_currency,
    x.secsubtype,
    x."group",
    x.exchange,
    x.asset,
    x.cfi,
    x.security_type,
    x.unit_of_measure,
    x.underlying,
    x.strike_price_currency,
    fixed_to_numeric(x.strike_price) AS strike_price,
    x.match_algorithm,
    x.main_fraction,
    x.price_display_format,
    x.sub_fraction,
    x.underlying_product,
    x.maturity_month,
    x.maturity_day,
    x.maturity_week,
    x.user_defined_instrument,
    x.contract_multiplier_unit,
    x.flow_schedule_type,
    x.tick_rule,
    x.leg_count,
    x.leg_index,
    x.leg_instrument_id,
    x.leg_raw_symbol,
    x.leg_instrument_class,
    x.leg_side,
    fixed_to_numeric(x.leg_price) AS leg_price,
    fixed_to_numeric(x.leg_delta) AS leg_delta,
    x.leg_ratio_price_numerator,
    x.leg_ratio_price_denominator,
    x.leg_ratio_qty_numerator,
    x.leg_ratio_qty_denominator,
    x.leg_underlying_id
FROM definition x;

-- coverage: per table, dataset and instrument, the first and last ts and the
-- row count. It scans the tables: filter it (table_name, dataset) on big ones.
CREATE VIEW coverage AS
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

-- Roll-ups of one-minute bars: open of the first bar, close of the last,
-- extremes of high and low, total volume, and how many 1m bars were there.
CREATE VIEW bars_5m AS
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

CREATE VIEW bars_15m AS
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

CREATE VIEW bars_1h AS
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

-- One-minute bars built from trades, bucketed on ts (the trade's ts_recv: a
-- hypertable's continuous aggregate can only bucket its partitioning column),
-- so a trade received just after a minute boundary counts in the next minute,
-- where Databento's ohlcv-1m (bucketed on ts_event) counts it in the earlier
-- one. Open and close follow (ts_recv, sequence) order.
CREATE VIEW trade_bars_1m AS
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

-- +goose Down
DROP VIEW trade_bars_1m, bars_1h, bars_15m, bars_5m;
DROP VIEW coverage;
DROP VIEW mbo_v, mbp_1_v, mbp_10_v, tbbo_v, trades_v, bbo_1s_v, bbo_1m_v, cmbp_1_v, tcbbo_v, cbbo_1s_v, cbbo_1m_v, ohlcv_1s_v, ohlcv_1m_v, ohlcv_1h_v, ohlcv_1d_v, ohlcv_eod_v, statistics_v, status_v, imbalance_v, definition_v;
