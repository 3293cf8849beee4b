-- Sessions, rolls and liquidity (docs/queries.md, "Sessions, rolls and
-- liquidity"). Symbols resolve as in every Symbol* query (symbol_periods:
-- raw ESH4, parent ES.FUT, continuous ES.c.0, or an instrument id, per UTC
-- day). Prices are fixed-point bigint (1e-9 units, shown as exact decimals
-- by hdi query) or exact numeric; nothing goes through floats.

-- SessionBars: OHLCV bars by trading session instead of UTC day, from
-- ohlcv_1m. Each trading date D of [start_ts, end_ts) has two sessions in
-- the exchange's time zone: ETH, the whole electronic trading day
-- [D-1 eth_start, D eth_start) (when eth_start is after rth_start, as at
-- CME: it starts the evening before and is labelled with the date it ends
-- on; else [D eth_start, D+1 eth_start)), and RTH, [D rth_start, D rth_end),
-- inside it. Edges are half-open, on the local clock (DST is the time
-- zone's). A session takes the bars of the contract the symbol names on D,
-- over the whole session. ts and session_end are the session's edges; open
-- is the first bar's open, close the last bar's close, volume the sum;
-- bar_count is the minutes with a bar. Sessions without bars have no row.
-- Defaults: CME equity index futures (America/Chicago, RTH 08:30-15:15,
-- ETH from 17:00).
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first trading date, included"
-- @param end_ts timestamptz "last trading date, included (a date)"
-- @param time_zone text "the exchange's IANA time zone (default America/Chicago)"
-- @param rth_start text "regular session start, local HH:MM (default 08:30)"
-- @param rth_end text "regular session end, local HH:MM, excluded (default 15:15)"
-- @param eth_start text "trading day start, local HH:MM (default 17:00, the evening before)"
-- name: SessionBars :many
WITH cfg AS (
    SELECT coalesce(sqlc.narg(time_zone)::text, 'America/Chicago') AS tz,
           coalesce(sqlc.narg(rth_start)::text, '08:30')::time AS rth_start,
           coalesce(sqlc.narg(rth_end)::text, '15:15')::time AS rth_end,
           coalesce(sqlc.narg(eth_start)::text, '17:00')::time AS eth_start
), d AS (
    SELECT DISTINCT p.symbol, p.day, p.instrument_id, p.raw_symbol
    FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
), s AS (
    -- ETH: the trading day, from eth_start the evening before (or the same day).
    SELECT d.symbol, d.day, d.instrument_id, d.raw_symbol, 'ETH' AS session,
           ((d.day - (c.eth_start > c.rth_start)::int) + c.eth_start) AT TIME ZONE c.tz AS from_ts,
           ((d.day + 1 - (c.eth_start > c.rth_start)::int) + c.eth_start) AT TIME ZONE c.tz AS to_ts
    FROM d CROSS JOIN cfg c
    UNION ALL
    SELECT d.symbol, d.day, d.instrument_id, d.raw_symbol, 'RTH',
           (d.day + c.rth_start) AT TIME ZONE c.tz, (d.day + c.rth_end) AT TIME ZONE c.tz
    FROM d CROSS JOIN cfg c
)
SELECT s.from_ts::timestamptz AS ts, s.symbol::text AS symbol, s.session::text AS session,
       s.day::date AS trading_date, s.to_ts::timestamptz AS session_end,
       s.instrument_id::bigint AS instrument_id, s.raw_symbol::text AS raw_symbol,
       (array_agg(b.open ORDER BY b.ts))[1]::bigint AS open,
       max(b.high)::bigint AS high,
       min(b.low)::bigint AS low,
       (array_agg(b.close ORDER BY b.ts DESC))[1]::bigint AS close,
       sum(b.volume)::bigint AS volume,
       count(*)::bigint AS bar_count
FROM s
CROSS JOIN LATERAL (
    -- OFFSET 0 keeps this a per-session index range scan on the key (instrument_id, ts, …).
    SELECT * FROM ohlcv_1m x
    WHERE x.dataset = @dataset::text AND x.instrument_id = s.instrument_id
      AND x.ts >= s.from_ts AND x.ts < s.to_ts
    OFFSET 0
) b
GROUP BY s.day, s.symbol, s.session, s.from_ts, s.to_ts, s.instrument_id, s.raw_symbol
ORDER BY s.day, 2, 3, 6
LIMIT sqlc.narg(row_limit)::bigint;

-- RollCalendar: the rolls of continuous symbols (ES.c.0) on the days of
-- [start_ts, end_ts): a roll is a day on which the symbol names another
-- contract than the day before. from_close is the old contract's daily
-- close (ohlcv_1d) on close_date, its last day with a daily bar before the
-- roll; to_close the new contract's close that day (else its first close on
-- or after the roll day, on to_close_date); price_gap = to_close −
-- from_close, exact (NULL where a daily bar is missing). Volume (cleared
-- volume, stat 6) and open interest (stat 9) of both contracts are the last
-- new statistics records of a UTC day: on close_date (from_volume, ...) and
-- on the roll date (roll_from_volume, ...); NULL when none are loaded.
-- @param symbols text[] "continuous symbols, comma-separated: ES.c.0, NQ.v.0"
-- @param start_ts timestamptz "first day, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: RollCalendar :many
WITH r AS (
    -- From the day before the range, so a roll on its first day is seen
    -- (timestamptz_pl_interval is the + operator, which sqlc cannot rewrite here).
    SELECT x.symbol, x.roll_day, x.old_instrument_id, x.old_raw_symbol, x.new_instrument_id, x.new_raw_symbol,
           x.old_close_day, x.old_close, x.new_close_day, x.new_close,
           coalesce(x.old_close_day, x.roll_day - 1) AS before_day
    FROM contract_rolls(@dataset::text, @symbols::text[], timestamptz_pl_interval(@start_ts::timestamptz, '-1 day'), @end_ts::timestamptz)
         AS x(symbol, roll_day, old_instrument_id, old_raw_symbol, new_instrument_id, new_raw_symbol,
              old_close_day, old_close, new_close_day, new_close)
    WHERE x.roll_day >= (@start_ts::timestamptz AT TIME ZONE 'UTC')::date
)
SELECT r.roll_day::timestamp AT TIME ZONE 'UTC' AS ts, r.symbol::text AS symbol, r.roll_day::date AS roll_date,
       r.old_raw_symbol::text AS from_contract, r.new_raw_symbol::text AS to_contract,
       r.old_instrument_id::bigint AS from_instrument_id, r.new_instrument_id::bigint AS to_instrument_id,
       r.old_close_day::date AS close_date, r.old_close::bigint AS from_close,
       r.new_close_day::date AS to_close_date, r.new_close::bigint AS to_close,
       (r.new_close - r.old_close)::bigint AS price_gap,
       st.from_volume, st.to_volume, st.from_open_interest, st.to_open_interest,
       st.roll_from_volume, st.roll_to_volume, st.roll_from_open_interest, st.roll_to_open_interest
FROM r
CROSS JOIN LATERAL (
    -- The last new record of each statistic, contract and UTC day.
    SELECT
       (array_agg(s.quantity ORDER BY s.ts_recv DESC, s.sequence DESC)
            FILTER (WHERE s.stat_type = 6 AND s.instrument_id = r.old_instrument_id AND s.day = r.before_day))[1]::bigint AS from_volume,
       (array_agg(s.quantity ORDER BY s.ts_recv DESC, s.sequence DESC)
            FILTER (WHERE s.stat_type = 6 AND s.instrument_id = r.new_instrument_id AND s.day = r.before_day))[1]::bigint AS to_volume,
       (array_agg(s.quantity ORDER BY s.ts_recv DESC, s.sequence DESC)
            FILTER (WHERE s.stat_type = 9 AND s.instrument_id = r.old_instrument_id AND s.day = r.before_day))[1]::bigint AS from_open_interest,
       (array_agg(s.quantity ORDER BY s.ts_recv DESC, s.sequence DESC)
            FILTER (WHERE s.stat_type = 9 AND s.instrument_id = r.new_instrument_id AND s.day = r.before_day))[1]::bigint AS to_open_interest,
       (array_agg(s.quantity ORDER BY s.ts_recv DESC, s.sequence DESC)
            FILTER (WHERE s.stat_type = 6 AND s.instrument_id = r.old_instrument_id AND s.day = r.roll_day))[1]::bigint AS roll_from_volume,
       (array_agg(s.quantity ORDER BY s.ts_recv DESC, s.sequence DESC)
            FILTER (WHERE s.stat_type = 6 AND s.instrument_id = r.new_instrument_id AND s.day = r.roll_day))[1]::bigint AS roll_to_volume,
       (array_agg(s.quantity ORDER BY s.ts_recv DESC, s.sequence DESC)
            FILTER (WHERE s.stat_type = 9 AND s.instrument_id = r.old_instrument_id AND s.day = r.roll_day))[1]::bigint AS roll_from_open_interest,
       (array_agg(s.quantity ORDER BY s.ts_recv DESC, s.sequence DESC)
            FILTER (WHERE s.stat_type = 9 AND s.instrument_id = r.new_instrument_id AND s.day = r.roll_day))[1]::bigint AS roll_to_open_interest
    FROM (SELECT s.instrument_id, s.stat_type, s.quantity, s.ts_recv, s.sequence, (s.ts AT TIME ZONE 'UTC')::date AS day
          FROM statistics s
          WHERE s.dataset = @dataset::text AND s.instrument_id IN (r.old_instrument_id, r.new_instrument_id)
            AND s.stat_type IN (6, 9) AND s.update_action = 1
            AND ((s.ts >= r.before_day::timestamp AT TIME ZONE 'UTC' AND s.ts < (r.before_day + 1)::timestamp AT TIME ZONE 'UTC')
              OR (s.ts >= r.roll_day::timestamp AT TIME ZONE 'UTC' AND s.ts < (r.roll_day + 1)::timestamp AT TIME ZONE 'UTC'))) s
) st
ORDER BY r.roll_day, r.symbol;

-- Liquidity: quoted spread and traded volume by time of day. Each record
-- of tbbo (a trade with the best bid and offer before it) or, for a
-- symbol's day without tbbo rows, of mbp-1 (every top-of-book update) is
-- put in the local time-of-day bucket of its ts (buckets of bucket_minutes
-- from local midnight in time_zone; the last one of a day is shorter when
-- bucket_minutes does not divide 24h). Per symbol and bucket: quotes, the
-- records with both a bid and an ask; avg_spread and median_spread, the mean
-- and median of ask_px_00 − bid_px_00 over them (price units, exact: the
-- median of an even count is the mean of the two middle spreads, the mean is
-- rounded to 1e-12); trades and volume, the records that are trades (tbbo:
-- all; mbp-1: action T) and their summed size; days, the local dates with
-- records in the bucket. Spreads are sampled per record, not weighted by
-- time.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- @param bucket_minutes integer "bucket width in minutes (default 30)"
-- @param time_zone text "IANA time zone of the buckets (default America/Chicago)"
-- name: Liquidity :many
WITH cfg AS (
    SELECT coalesce(sqlc.narg(time_zone)::text, 'America/Chicago') AS tz,
           coalesce(sqlc.narg(bucket_minutes)::integer, 30) AS width
), rec AS (
    SELECT p.symbol, b.ts, b.action, b.size, b.bid_px_00, b.ask_px_00
    FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
    CROSS JOIN LATERAL (
        SELECT x.ts, x.action, x.size, x.bid_px_00, x.ask_px_00 FROM tbbo x
        WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
          AND x.ts >= p.from_ts AND x.ts < p.to_ts
        UNION ALL
        SELECT x.ts, x.action, x.size, x.bid_px_00, x.ask_px_00 FROM mbp_1 x
        WHERE x.dataset = @dataset::text AND x.instrument_id = p.instrument_id
          AND x.ts >= p.from_ts AND x.ts < p.to_ts
          AND NOT EXISTS (SELECT 1 FROM tbbo y
                          WHERE y.dataset = @dataset::text AND y.instrument_id = p.instrument_id
                            AND y.ts >= p.from_ts AND y.ts < p.to_ts)
    ) b
), bucketed AS (
    SELECT rec.symbol, (rec.ts AT TIME ZONE c.tz) AS local_ts, c.width,
           (extract(hour FROM rec.ts AT TIME ZONE c.tz)::int * 60 + extract(minute FROM rec.ts AT TIME ZONE c.tz)::int) / c.width AS bucket,
           rec.action, rec.size,
           CASE WHEN rec.bid_px_00 IS NOT NULL AND rec.ask_px_00 IS NOT NULL THEN rec.ask_px_00 - rec.bid_px_00 END AS spread
    FROM rec CROSS JOIN cfg c
)
SELECT b.symbol::text AS symbol,
       make_time(b.bucket * b.width / 60, b.bucket * b.width % 60, 0) AS bucket_start,
       make_time(least((b.bucket + 1) * b.width, 1440) / 60, least((b.bucket + 1) * b.width, 1440) % 60, 0) AS bucket_end,
       count(DISTINCT b.local_ts::date)::bigint AS days,
       count(b.spread)::bigint AS quotes,
       round(sum(b.spread)::numeric / nullif(count(b.spread), 0) / 1000000000, 12) AS avg_spread,
       ((percentile_disc(0.5) WITHIN GROUP (ORDER BY b.spread))
        + (percentile_disc(0.5) WITHIN GROUP (ORDER BY b.spread DESC)))::numeric / 2000000000 AS median_spread,
       count(*) FILTER (WHERE b.action = 'T')::bigint AS trades,
       coalesce(sum(b.size) FILTER (WHERE b.action = 'T'), 0)::bigint AS volume
FROM bucketed b
GROUP BY b.symbol, b.bucket, b.width
ORDER BY 1, 2;
