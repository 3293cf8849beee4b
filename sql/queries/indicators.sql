-- Indicators: VWAP, returns, realized volatility, moving averages, RSI and
-- ATR of symbols resolved per UTC day (symbol_periods, as the Symbol*
-- queries). Every query returns ts (the bar's open time, timestamptz),
-- symbol (as asked) and numeric columns, each symbol's rows in time order,
-- the symbols one after another (symbol, ts: the order the windows compute
-- in, so no sort follows them). Prices are exact decimals, summed exactly
-- (numeric, or the stored fixed-point bigints in 128-bit integers), never
-- as floats; only logarithms (log returns, volatilities) are float8. The
-- formulas, conventions and edges are in docs/queries.md, "Indicators".
-- (A value column is coalesce(v::numeric, NULL): sqlc then types it as one
-- that may be NULL.) Without dataset, hdi picks the dataset in which the
-- symbols name something, as for hdi query bars.
--
-- The bar queries take interval (default 1d) and read the relation the bars
-- of that interval come from: 1s, 1m, 1h, 1d and eod Databento's ohlcv_*
-- tables; 5m, 15m and 1h-rollup the roll-ups bars_5m, bars_15m and bars_1h
-- (views on plain PostgreSQL, continuous aggregates on TimescaleDB), by
-- indicator_bars (goose/00019, inlined). Returns, RealizedVol and RsiAtr
-- take the bars with each one's previous close from indicator_series
-- (goose/00021, inlined), MovingAverages from indicator_bars. A bar
-- without a high, low or close (NULL) is left out, like a missing bar. The
-- windows (n bars) count the bars the range holds: the first n-1 rows of a
-- symbol are NULL; start earlier to warm them up.
--
-- Rolls: a change of a bar (return, RSI's gain or loss, ATR's true range)
-- is always taken against the previous bar of the same contract, fetched
-- from before the range or the roll where needed, so no roll gap enters it.
-- Price levels (SMA, EMA, Bollinger) are of the series as the bars query
-- returns it: across a roll the window holds both contracts' prices.

-- Vwap: volume-weighted average price from trades, cumulative from the start
-- of each session, one row per bar of width interval.
-- vwap is sum(price * size) / sum(size) over the session's trades up to the
-- end of the bar; bar_vwap the same over the bar's own trades. A session is
-- the UTC day, or with session_tz and session_start the local day that
-- starts at session_start (CME Globex: America/Chicago, 17:00); bars start
-- at the session's start. Trades are bucketed on ts (ts_recv); a trade
-- without a price or with size 0 is left out. VWAP restarts when a
-- continuous symbol's contract changes (a roll inside a session).
-- @chart overlay
-- @param symbols text[] "symbols, comma-separated: ES.c.0, ESH4, 5482"
-- @param dataset text "dataset, e.g. GLBX.MDP3 (default: the one where the symbols are)"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- @param interval interval "bar width: 1m (default), 5m, 1h, 1d, ..."
-- @param session_tz text "the session's time zone (IANA, default UTC)"
-- @param session_start time "local time the session starts (default 00:00)"
-- name: Vwap :many
WITH args AS (
    SELECT coalesce(sqlc.narg('interval')::interval, interval '1 minute') AS width,
           coalesce(sqlc.narg(session_tz)::text, 'UTC') AS tz,
           coalesce(sqlc.narg(session_start)::time, time '00:00') AS st
), per AS (
    -- The periods (UTC days) in time order, by keys that are constant
    -- within a period (so g below sorts each period's trades only on the
    -- session and the bar), each with the starts of the sessions its
    -- trades can be in: s0, the start of the session of from_ts, and the
    -- next two (a day meets at most three). OFFSET 0 computes them once a
    -- period, not once a trade.
    SELECT p.symbol, p.instrument_id, p.from_ts, p.to_ts, a.width,
           ((d.d0 + a.st) AT TIME ZONE a.tz) AS s0, (((d.d0 + 1) + a.st) AT TIME ZONE a.tz) AS s1,
           (((d.d0 + 2) + a.st) AT TIME ZONE a.tz) AS s2
    FROM args a,
         symbol_periods(sqlc.narg(dataset)::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
    CROSS JOIN LATERAL (SELECT ((p.from_ts AT TIME ZONE a.tz) - a.st)::date AS d0) d
    ORDER BY p.symbol, p.from_ts, p.to_ts, p.instrument_id
    OFFSET 0
), t AS (
    SELECT per.symbol, per.from_ts, per.to_ts, per.instrument_id, x.ts, x.price, x.size, per.width,
           CASE WHEN x.ts >= per.s2 THEN per.s2 WHEN x.ts >= per.s1 THEN per.s1 ELSE per.s0 END AS session_ts,
           -- price * size fits a bigint (the CASE keeps abs() from the one price it cannot take).
           CASE WHEN x.price < -9223372036854775807 THEN false
                ELSE x.size <= 9223372036854775807 / greatest(abs(x.price), 1) END AS fits
    FROM per
    CROSS JOIN LATERAL (
        -- OFFSET 0 keeps this a per-period index range scan on the key (instrument_id, ts, …).
        SELECT * FROM trades x
        WHERE x.dataset = sqlc.narg(dataset)::text AND x.instrument_id = per.instrument_id
          AND x.ts >= per.from_ts AND x.ts < per.to_ts
        OFFSET 0
    ) x
    WHERE x.price IS NOT NULL AND x.size > 0
), g AS (
    -- Each period's part of a bar: grouped in the periods' order, so only
    -- each period's trades are sorted. price * size is summed in the stored
    -- units (1e-9) in 128-bit integers where it fits 64 bits, else in
    -- numeric: exact either way.
    SELECT t.symbol, t.from_ts, t.to_ts, t.instrument_id, t.session_ts, date_bin(t.width, t.ts, t.session_ts) AS ts,
           coalesce(sum(t.price * t.size) FILTER (WHERE t.fits), 0) + coalesce(sum(t.price::numeric * t.size) FILTER (WHERE NOT t.fits), 0) AS pv,
           sum(t.size) AS volume
    FROM t
    GROUP BY t.symbol, t.from_ts, t.to_ts, t.instrument_id, t.session_ts, date_bin(t.width, t.ts, t.session_ts)
), b AS (
    -- The bars. A bar that reaches past its period (UTC midnight) has a
    -- part in each period it meets, summed here; the rest are whole.
    SELECT g.symbol, g.instrument_id, g.session_ts, g.ts, g.pv * 0.000000001 AS pv, g.volume
    FROM g WHERE g.ts >= g.from_ts AND g.ts + coalesce(sqlc.narg('interval')::interval, interval '1 minute') <= g.to_ts
    UNION ALL
    SELECT g.symbol, g.instrument_id, g.session_ts, g.ts, sum(g.pv) * 0.000000001, sum(g.volume)
    FROM g WHERE NOT (g.ts >= g.from_ts AND g.ts + coalesce(sqlc.narg('interval')::interval, interval '1 minute') <= g.to_ts)
    GROUP BY g.symbol, g.instrument_id, g.session_ts, g.ts
)
SELECT b.ts::timestamptz AS ts, b.symbol::text AS symbol,
       coalesce((sum(b.pv) OVER w / sum(b.volume) OVER w)::numeric, NULL) AS vwap,
       coalesce((b.pv / b.volume)::numeric, NULL) AS bar_vwap
FROM b
WINDOW w AS (PARTITION BY b.symbol, b.instrument_id, b.session_ts ORDER BY b.ts)
ORDER BY 2, 1;

-- Returns: simple and log close-to-close returns of each bar, across rolls.
-- simple_return = (close - prev_close) / prev_close and log_return =
-- ln(close / prev_close), where prev_close is the previous bar of the same
-- contract (also from before start_ts, or before the roll for the first bar
-- of a new contract): across a roll of a continuous symbol the return is the
-- new contract's own, never the gap between the contracts. Over a gap
-- (missing bars) the return spans it. NULL without a previous bar, and
-- log_return where a price is not positive.
-- @chart pane
-- @param symbols text[] "symbols, comma-separated: ES.c.0, ESH4, 5482"
-- @param dataset text "dataset, e.g. GLBX.MDP3 (default: the one where the symbols are)"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- @param interval text "bars: 1s, 1m, 5m, 15m, 1h, 1h-rollup, 1d (default), eod"
-- name: Returns :many
WITH s AS (
    -- The bars, each with the previous close of its contract, in (symbol,
    -- ts) order (goose/00021, inlined).
    SELECT s.ts, s.symbol, s.from_ts, s.high, s.low, s.close, s.prev_close
    FROM indicator_series(sqlc.narg(dataset)::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz, sqlc.narg('interval')::text) AS s(ts, symbol, from_ts, high, low, close, prev_close)
)
SELECT s.ts::timestamptz AS ts, s.symbol::text AS symbol,
       coalesce(((s.close - s.prev_close)::numeric / nullif(s.prev_close, 0))::numeric, NULL) AS simple_return,
       coalesce((CASE WHEN s.close > 0 AND s.prev_close > 0 THEN ln(s.close::float8 / s.prev_close) END)::numeric, NULL) AS log_return
FROM s
ORDER BY s.symbol, s.from_ts, s.ts;

-- RealizedVol: rolling realized volatility over the last n bars, annualised.
-- realized_vol is the sample standard deviation (n - 1) of the last n log
-- returns (as Returns: against the same contract's previous close, so across
-- rolls) times sqrt(periods_per_year); parkinson_vol is Parkinson's high/low
-- estimator sqrt(sum(ln(high / low)^2) / (4 ln 2 n) * periods_per_year)
-- over the last n bars. periods_per_year defaults to 252 for 1d and eod bars
-- and to 252 times the bars of a 24-hour day for intraday bars (1m: 252 *
-- 1440); give it for another calendar (CME Globex 1h bars: 252 * 23). NULL
-- until the window holds n values.
-- @chart pane
-- @param symbols text[] "symbols, comma-separated: ES.c.0, ESH4, 5482"
-- @param dataset text "dataset, e.g. GLBX.MDP3 (default: the one where the symbols are)"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- @param interval text "bars: 1s, 1m, 5m, 15m, 1h, 1h-rollup, 1d (default), eod"
-- @param n integer "bars in the window (default 20, at least 2)"
-- @param periods_per_year numeric "bars a year, for annualising (default: see above)"
-- name: RealizedVol :many
WITH args AS (
    -- (indicator_series checks the interval.)
    SELECT coalesce(sqlc.narg(periods_per_year)::numeric,
                    CASE a.iv WHEN '1d' THEN 252 WHEN 'eod' THEN 252 WHEN '1s' THEN 252 * 86400 WHEN '1m' THEN 252 * 1440
                              WHEN '5m' THEN 252 * 288 WHEN '15m' THEN 252 * 96 ELSE 252 * 24 END) AS ppy,
           coalesce(sqlc.narg(n)::integer, 20) AS n
    FROM (SELECT coalesce(sqlc.narg('interval')::text, '1d') AS iv) a
), s AS (
    -- The bars, each with the previous close of its contract, in (symbol,
    -- ts) order (goose/00021, inlined).
    SELECT s.ts, s.symbol, s.from_ts, s.high, s.low, s.close, s.prev_close
    FROM indicator_series(sqlc.narg(dataset)::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz, sqlc.narg('interval')::text) AS s(ts, symbol, from_ts, high, low, close, prev_close)
), r AS (
    SELECT s.ts, s.symbol, s.from_ts, (SELECT a.n FROM args a) AS n, (SELECT a.ppy FROM args a) AS ppy,
           -- Irrational either way: in float8 (docs/queries.md, "Exact sums").
           CASE WHEN s.close > 0 AND s.prev_close > 0 THEN ln(s.close::float8 / s.prev_close) END AS lr,
           CASE WHEN s.low > 0 THEN ln(s.high::float8 / s.low) ^ 2 END AS hl2
    FROM s
    -- OFFSET 0: computed once a row, not again for each window frame that
    -- holds it (float8 aggregates recompute their frame on every row).
    -- ORDER BY: the rows' order already; said, so no sort is added above.
    ORDER BY s.symbol, s.from_ts, s.ts
    OFFSET 0
)
SELECT r.ts::timestamptz AS ts, r.symbol::text AS symbol,
       coalesce((CASE WHEN count(r.lr) OVER w = r.n THEN stddev_samp(r.lr) OVER w * sqrt(r.ppy::float8) END)::numeric, NULL) AS realized_vol,
       coalesce((CASE WHEN count(r.hl2) OVER w = r.n
                  THEN sqrt(sum(r.hl2) OVER w / (4 * ln(2::float8) * r.n) * r.ppy::float8) END)::numeric, NULL) AS parkinson_vol
FROM r
WINDOW w AS (PARTITION BY r.symbol ORDER BY r.from_ts, r.ts ROWS BETWEEN coalesce(sqlc.narg(n)::integer, 20) - 1 PRECEDING AND CURRENT ROW)
ORDER BY r.symbol, r.from_ts, r.ts;

-- MovingAverages: simple and exponential moving averages of the close over n
-- bars, and Bollinger bands.
-- sma is the mean of the last n closes; ema starts at the n-th bar with the
-- sma of the first n closes and then follows ema = a * close + (1 - a) *
-- previous ema with a = 2 / (n + 1), carried at 20 decimal places;
-- bb_upper/bb_lower are sma ± k * the population standard deviation of the
-- last n closes (k default 2). NULL until n bars. Price levels of the series
-- as the bars query returns it (a continuous symbol's window spans a roll).
-- @chart overlay
-- @param symbols text[] "symbols, comma-separated: ES.c.0, ESH4, 5482"
-- @param dataset text "dataset, e.g. GLBX.MDP3 (default: the one where the symbols are)"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- @param interval text "bars: 1s, 1m, 5m, 15m, 1h, 1h-rollup, 1d (default), eod"
-- @param n integer "bars in the window (default 20)"
-- @param k numeric "Bollinger width in standard deviations (default 2)"
-- name: MovingAverages :many
WITH args AS (
    SELECT CASE WHEN a.iv IN ('1s', '1m', '5m', '15m', '1h', '1h-rollup', '1d', 'eod') THEN a.iv
                ELSE ('interval ' || a.iv || ' is none of 1s, 1m, 5m, 15m, 1h, 1h-rollup, 1d, eod')::date::text END AS iv,
           coalesce(sqlc.narg(k)::numeric, 2) AS k,
           coalesce(sqlc.narg(n)::integer, 20) AS n
    FROM (SELECT coalesce(sqlc.narg('interval')::text, '1d') AS iv) a
), per AS (
    SELECT p.symbol, p.instrument_id, p.from_ts, p.to_ts, a.iv
    FROM args a,
         symbol_periods(sqlc.narg(dataset)::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
    -- In (symbol, from_ts) order. A symbol's periods are its UTC days (every
    -- contract of a day has the day's from_ts), so (symbol, from_ts, ts) is
    -- (symbol, ts); the windows and the output use it, and the bars need
    -- sorting only within a period (an incremental sort of rows that the
    -- bar tables' index already returns in order), not as a whole.
    ORDER BY p.symbol, p.from_ts
), bars AS (
    SELECT per.symbol, per.from_ts, x.ts, x.close
    -- The period's bars (goose/00019: a UNION ALL of the bar relations, inlined).
    FROM per CROSS JOIN LATERAL indicator_bars(sqlc.narg(dataset)::text, per.iv, per.instrument_id, per.from_ts, per.to_ts) AS x(ts, high, low, close)
), s AS (
    SELECT b.ts, b.symbol, b.from_ts, b.close,
           row_number() OVER (PARTITION BY b.symbol ORDER BY b.from_ts, b.ts) AS rn, (SELECT a.n FROM args a) AS n,
           -- Of the stored fixed-point closes (bigint, 1e-9): sum adds them
           -- exactly in 128-bit integers, stddev_pop in numeric, each frame
           -- step adding one close and removing one; scaled to prices below.
           sum(b.close) OVER w AS sum_close, stddev_pop(b.close) OVER w AS sd_fixed
    FROM bars b
    WINDOW w AS (PARTITION BY b.symbol ORDER BY b.from_ts, b.ts ROWS BETWEEN coalesce(sqlc.narg(n)::integer, 20) - 1 PRECEDING AND CURRENT ROW)
), e AS (
    -- The EMA carried along each symbol's rows (goose/00019: one step a
    -- row, in units of 1e-9), and the prices: sum * 1e-9 / n is the mean
    -- of the n closes, exact to the division's 16+ digits.
    SELECT s.ts, s.symbol, s.from_ts, s.rn, s.n,
           s.sum_close * 0.000000001 / s.n AS sma, s.sd_fixed * 0.000000001 AS sd,
           ema_running_fixed(s.close, s.rn, s.n) OVER (PARTITION BY s.symbol ORDER BY s.from_ts, s.ts ROWS UNBOUNDED PRECEDING) * 0.000000001 AS ema
    FROM s
)
SELECT e.ts::timestamptz AS ts, e.symbol::text AS symbol,
       coalesce((CASE WHEN e.rn >= e.n THEN e.sma END)::numeric, NULL) AS sma,
       coalesce((CASE WHEN e.rn >= e.n THEN e.ema END)::numeric, NULL) AS ema,
       coalesce((CASE WHEN e.rn >= e.n THEN e.sma + a.k * e.sd END)::numeric, NULL) AS bb_upper,
       coalesce((CASE WHEN e.rn >= e.n THEN e.sma - a.k * e.sd END)::numeric, NULL) AS bb_lower
FROM e CROSS JOIN args a
ORDER BY e.symbol, e.from_ts, e.ts;

-- RsiAtr: Wilder's relative strength index and average true range over n
-- bars.
-- Per bar: gain = max(close - prev_close, 0), loss = max(prev_close - close,
-- 0), true range = max(high - low, |high - prev_close|, |low - prev_close|),
-- with prev_close the same contract's previous close (as Returns: across
-- rolls without the gap; a bar with no earlier bar at all is left out).
-- Wilder smoothing: the n-th value is the mean of the first n, then avg =
-- (previous avg * (n - 1) + value) / n, carried at 20 decimal places. rsi =
-- 100 - 100 / (1 + avg gain / avg loss): 100 when the average loss is 0, 50
-- when both are 0. atr is the smoothed true range. NULL until n bars.
-- @chart pane
-- @param symbols text[] "symbols, comma-separated: ES.c.0, ESH4, 5482"
-- @param dataset text "dataset, e.g. GLBX.MDP3 (default: the one where the symbols are)"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- @param interval text "bars: 1s, 1m, 5m, 15m, 1h, 1h-rollup, 1d (default), eod"
-- @param n integer "bars of Wilder's smoothing (default 14)"
-- name: RsiAtr :many
WITH args AS (
    SELECT coalesce(sqlc.narg(n)::integer, 14) AS n
), s AS (
    -- The bars, each with the previous close of its contract, in (symbol,
    -- ts) order (goose/00021, inlined).
    SELECT s.ts, s.symbol, s.from_ts, s.high, s.low, s.close, s.prev_close
    FROM indicator_series(sqlc.narg(dataset)::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz, sqlc.narg('interval')::text) AS s(ts, symbol, from_ts, high, low, close, prev_close)
), t AS (
    -- The bars with a previous close, their gain, loss and true range.
    SELECT c.*, row_number() OVER (PARTITION BY c.symbol ORDER BY c.from_ts, c.ts) AS rn, (SELECT a.n FROM args a) AS n
    FROM (SELECT s.ts, s.symbol, s.from_ts,
                 greatest(s.close - s.prev_close, 0) AS gain, greatest(s.prev_close - s.close, 0) AS loss,
                 greatest(s.high - s.low, abs(s.high - s.prev_close), abs(s.low - s.prev_close)) AS tr
          FROM s WHERE s.prev_close IS NOT NULL) c
), wl AS (
    -- Wilder's averages carried along each symbol's rows (goose/00019: one
    -- step a row, in units of 1e-9: the RSI's ratio needs no scaling, the
    -- ATR is scaled to a price); NULL until n bars.
    SELECT t.ts, t.symbol, t.from_ts,
           CASE WHEN t.rn >= t.n THEN wilder_running_fixed(t.gain, t.rn, t.n) OVER v END AS ag,
           CASE WHEN t.rn >= t.n THEN wilder_running_fixed(t.loss, t.rn, t.n) OVER v END AS al,
           CASE WHEN t.rn >= t.n THEN wilder_running_fixed(t.tr, t.rn, t.n) OVER v * 0.000000001 END AS atr
    FROM t
    WINDOW v AS (PARTITION BY t.symbol ORDER BY t.from_ts, t.ts ROWS UNBOUNDED PRECEDING)
)
SELECT wl.ts::timestamptz AS ts, wl.symbol::text AS symbol,
       coalesce((CASE WHEN wl.al > 0 THEN 100 - 100 / (1 + wl.ag / wl.al)
             WHEN wl.ag > 0 THEN 100
             WHEN wl.ag = 0 THEN 50 END)::numeric, NULL) AS rsi,
       coalesce(wl.atr::numeric, NULL) AS atr
FROM wl
ORDER BY wl.symbol, wl.from_ts, wl.ts;
