-- Symbology: symbol mappings and symbol resolution.

-- ResolveSymbol: which instrument(s) SYMBOL (ES.c.0, ES.FUT, ESH4, 5482, ...)
-- was in a dataset on a UTC date, with the contract's raw symbol and the
-- symbology the input was found in. raw_symbol is '' when neither a mapping
-- nor a definition names the contract.
-- name: ResolveSymbol :many
SELECT r.instrument_id::bigint AS instrument_id,
       coalesce(r.raw_symbol, '')::text AS raw_symbol,
       r.stype_in::text AS stype_in
FROM resolve_symbol(@dataset::text, @symbol::text, @on_date::date) AS r
ORDER BY 1;

-- SymbolPeriods: the instruments a symbol mapped to over the UTC dates
-- [start_date, end_date), one row per mapping interval clipped to the
-- range, for joining market rows to the symbol asked for across rolls.
-- name: SymbolPeriods :many
SELECT DISTINCT
    m.stype_in,
    m.instrument_id::bigint AS instrument_id,
    greatest(m.start_date, @start_date::date)::date AS start_date,
    least(m.end_date, @end_date::date)::date AS end_date
FROM symbol_mappings m
WHERE m.dataset = @dataset
  AND m.stype_in_symbol = @symbol
  AND m.instrument_id IS NOT NULL
  AND m.start_date < @end_date::date
  AND m.end_date > @start_date::date
ORDER BY 3, 2;

-- InsertSymbolMapping: record one mapping interval; a mapping already there
-- is left alone (reloads are idempotent). Returns the rows inserted (0 or 1).
-- name: InsertSymbolMapping :execrows
INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol,
                             start_date, end_date, source, run_id)
VALUES (@dataset, @stype_in, @stype_in_symbol, @stype_out, @stype_out_symbol,
        @start_date, @end_date, @source, sqlc.narg(run_id))
ON CONFLICT DO NOTHING;

-- SymbolMappings: the mappings of an input symbol in a dataset.
-- name: SymbolMappings :many
SELECT * FROM symbol_mappings
WHERE dataset = @dataset AND stype_in_symbol = @symbol
ORDER BY start_date, stype_out_symbol;

-- SymbolsForInstrument: the input symbols mapped to an instrument id on a
-- UTC date.
-- name: SymbolsForInstrument :many
SELECT stype_in, stype_in_symbol, start_date, end_date, source
FROM symbol_mappings
WHERE dataset = @dataset
  AND instrument_id = @instrument_id
  AND start_date <= @on_date::date AND @on_date::date < end_date
ORDER BY stype_in, stype_in_symbol;

-- ResolveSymbols: what each of SYMBOLS named in a dataset on each UTC day of
-- [start_ts, end_ts): one row per (symbol, day, instrument), set-based (the
-- join the SymbolBars*/SymbolTrades/... queries use), with the contract's raw
-- symbol that day. A symbol that names nothing on a day has no row that day.
-- @param symbols text[] "symbols, comma-separated: ESH4, ES.FUT, ES.c.0, 5482"
-- @param start_ts timestamptz "first day or instant, included"
-- @param end_ts timestamptz "last day (included) or instant (excluded)"
-- name: ResolveSymbols :many
WITH asked AS (
    SELECT DISTINCT s::text AS symbol FROM unnest(@symbols::text[]) AS s
), bounds AS (
    SELECT @start_ts::timestamptz AS start_ts, @end_ts::timestamptz AS end_ts
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
      ON m.dataset = @dataset::text AND m.stype_in_symbol = a.symbol
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
      ON d1.dataset = @dataset::text AND d1.raw_symbol = a.symbol
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
                WHERE m.dataset = @dataset::text AND m.instrument_id = r.instrument_id
                  AND m.stype_in = 'raw_symbol' AND m.start_date <= r.day AND r.day < m.end_date
                ORDER BY m.loaded_at DESC LIMIT 1),
               (SELECT d.raw_symbol FROM definition d
                WHERE d.dataset = @dataset::text AND d.instrument_id = r.instrument_id
                  AND d.ts < (r.day + 1)::timestamp AT TIME ZONE 'UTC'
                ORDER BY d.ts DESC LIMIT 1),
               '')::text AS raw_symbol,
           greatest(r.day::timestamp AT TIME ZONE 'UTC', bd.start_ts) AS from_ts,
           least((r.day + 1)::timestamp AT TIME ZONE 'UTC', bd.end_ts) AS to_ts
    FROM resolved r, bounds bd
)
SELECT p.symbol, (p.from_ts AT TIME ZONE 'UTC')::date AS day, p.instrument_id, p.raw_symbol
FROM periods p
ORDER BY 1, 2, 3;

-- UnknownSymbols: which of SYMBOLS name nothing in a dataset on any date: no
-- mapping, no definition with that raw symbol, not an instrument id.
-- name: UnknownSymbols :many
SELECT s::text AS symbol
FROM unnest(@symbols::text[]) AS s
WHERE NOT EXISTS (SELECT 1 FROM symbol_mappings m WHERE m.dataset = @dataset::text AND m.stype_in_symbol = s)
  AND NOT EXISTS (SELECT 1 FROM definition d WHERE d.dataset = @dataset::text AND d.raw_symbol = s)
  AND s !~ '^[0-9]{1,18}$'
ORDER BY 1;

-- DatasetSymbols: every input symbol with mappings in a dataset and every raw
-- symbol of its definitions (for "did you mean" suggestions).
-- name: DatasetSymbols :many
SELECT DISTINCT m.stype_in_symbol::text AS symbol FROM symbol_mappings m WHERE m.dataset = @dataset::text
UNION
SELECT DISTINCT d.raw_symbol::text FROM definition d WHERE d.dataset = @dataset::text
ORDER BY 1;

-- Datasets: the datasets with symbol mappings.
-- name: Datasets :many
SELECT DISTINCT dataset FROM symbol_mappings ORDER BY dataset;
