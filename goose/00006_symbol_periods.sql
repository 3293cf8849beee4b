-- symbol_periods: the set-based symbol resolution every Symbol* query joins.
-- For each of p_symbols and each UTC day of [p_start, p_end) it names the
-- instrument(s) the symbol meant that day in p_dataset (continuous: one
-- contract a day; parent: many; a number: an instrument id; a raw symbol
-- without mappings: its definitions), with the contract's raw symbol that day
-- and the day's window clipped to [p_start, p_end).
--
-- It is PL/pgSQL so the planner never inlines it: its few rows (ROWS 50) then
-- drive a nested loop of index range scans on the key (instrument_id, ts, ...) in
-- the market tables, instead of a scan of the whole time range.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION symbol_periods(p_dataset text, p_symbols text[], p_start timestamptz, p_end timestamptz)
RETURNS TABLE (symbol text, day date, instrument_id bigint, raw_symbol text, from_ts timestamptz, to_ts timestamptz)
LANGUAGE plpgsql STABLE PARALLEL SAFE ROWS 50
AS $fn$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH asked AS (
    SELECT DISTINCT s::text AS symbol FROM unnest(p_symbols) AS s
), bounds AS (
    SELECT p_start AS start_ts, p_end AS end_ts
), days AS (
    -- The UTC days that [start_ts, end_ts) touches.
    SELECT g::date AS day
    FROM bounds bd,
         generate_series((bd.start_ts AT TIME ZONE 'UTC')::date::timestamp,
                         ((bd.end_ts AT TIME ZONE 'UTC') - interval '1 microsecond')::date::timestamp,
                         interval '1 day') AS g
), mapped AS (
    -- A continuous symbol names one contract a day (the latest load wins
    -- if two loads disagree); a parent symbol names many.
    SELECT DISTINCT ON (a.symbol, d.day, CASE WHEN m.stype_in = 'continuous' THEN 0 ELSE m.instrument_id END)
           a.symbol, d.day, m.instrument_id
    FROM asked a
    CROSS JOIN days d
    JOIN symbol_mappings m
      ON m.dataset = p_dataset AND m.stype_in_symbol = a.symbol
     AND m.start_date <= d.day AND d.day < m.end_date
     AND m.instrument_id IS NOT NULL
    ORDER BY a.symbol, d.day, CASE WHEN m.stype_in = 'continuous' THEN 0 ELSE m.instrument_id END, m.loaded_at DESC
), resolved AS (
    SELECT x.symbol, x.day, x.instrument_id FROM mapped x
    UNION
    -- A numeric symbol without a mapping that day is an instrument id.
    SELECT n.symbol, d.day, n.id
    FROM (SELECT a.symbol, CASE WHEN a.symbol ~ '^[0-9]{1,18}$' THEN a.symbol::bigint END AS id FROM asked a) n
    CROSS JOIN days d
    WHERE n.id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM mapped x WHERE x.symbol = n.symbol AND x.day = d.day)
    UNION
    -- A raw symbol without a mapping that day: the instruments whose latest
    -- definition up to the end of the day carries it.
    SELECT a.symbol, d.day, d1.instrument_id
    FROM asked a
    CROSS JOIN days d
    JOIN definition d1
      ON d1.dataset = p_dataset AND d1.raw_symbol = a.symbol
     AND d1.ts < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
    WHERE NOT EXISTS (SELECT 1 FROM mapped x WHERE x.symbol = a.symbol AND x.day = d.day)
      AND NOT EXISTS (
          SELECT 1 FROM definition d2
          WHERE d2.dataset = d1.dataset AND d2.instrument_id = d1.instrument_id
            AND d2.ts > d1.ts AND d2.ts < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
            AND d2.raw_symbol <> a.symbol)
), periods AS (
    -- Each (symbol, day, instrument) with the raw symbol of the contract that day
    -- and the half-open window of the day clipped to [start_ts, end_ts).
    SELECT r.symbol, r.instrument_id,
           coalesce(
               (SELECT m.stype_in_symbol FROM symbol_mappings m
                WHERE m.dataset = p_dataset AND m.instrument_id = r.instrument_id
                  AND m.stype_in = 'raw_symbol' AND m.start_date <= r.day AND r.day < m.end_date
                ORDER BY m.loaded_at DESC LIMIT 1),
               (SELECT d.raw_symbol FROM definition d
                WHERE d.dataset = p_dataset AND d.instrument_id = r.instrument_id
                  AND d.ts < (r.day + 1)::timestamp AT TIME ZONE 'UTC'
                ORDER BY d.ts DESC LIMIT 1),
               '')::text AS raw_symbol,
           greatest(r.day::timestamp AT TIME ZONE 'UTC', bd.start_ts) AS from_ts,
           least((r.day + 1)::timestamp AT TIME ZONE 'UTC', bd.end_ts) AS to_ts
    FROM resolved r, bounds bd
)
SELECT p.symbol, (p.from_ts AT TIME ZONE 'UTC')::date, p.instrument_id, p.raw_symbol, p.from_ts, p.to_ts
FROM periods p;
END;
$fn$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION symbol_periods(text, text[], timestamptz, timestamptz);
