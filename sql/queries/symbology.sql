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
SELECT p.symbol::text AS symbol, p.day::date AS day, p.instrument_id::bigint AS instrument_id, p.raw_symbol::text AS raw_symbol
FROM symbol_periods(@dataset::text, @symbols::text[], @start_ts::timestamptz, @end_ts::timestamptz) AS p(symbol, day, instrument_id, raw_symbol, from_ts, to_ts)
ORDER BY 1, 2, 3;

-- SymbolDatasets: the datasets in which each of SYMBOLS names something on
-- some date: the input symbol of a mapping, the raw symbol of a definition,
-- or (a number) an instrument id with mappings or definitions there. A
-- symbol that names nothing anywhere has no row. Picks the dataset of a
-- symbol query given without one; datasets are the candidates (Datasets).
-- name: SymbolDatasets :many
SELECT a.symbol::text AS symbol, ds.dataset::text AS dataset
FROM (SELECT DISTINCT s AS symbol,
             -- (CASE, not a WHERE, guards the cast)
             CASE WHEN s ~ '^[0-9]{1,18}$' THEN s::bigint END AS id
      FROM unnest(@symbols::text[]) AS s) a
CROSS JOIN unnest(@datasets::text[]) AS ds(dataset)
WHERE EXISTS (SELECT 1 FROM symbol_mappings m WHERE m.dataset = ds.dataset AND m.stype_in_symbol = a.symbol)
   OR EXISTS (SELECT 1 FROM definition d WHERE d.dataset = ds.dataset AND d.raw_symbol = a.symbol)
   OR EXISTS (SELECT 1 FROM symbol_mappings m WHERE m.dataset = ds.dataset AND m.instrument_id = a.id)
   OR EXISTS (SELECT 1 FROM definition d WHERE d.instrument_id = a.id AND d.dataset = ds.dataset)
ORDER BY 1, 2;

-- DatasetSymbols: every input symbol with mappings and every raw symbol of
-- definitions, with its dataset (only those of dataset when given), for
-- "did you mean" suggestions.
-- name: DatasetSymbols :many
SELECT m.dataset::text AS dataset, m.stype_in_symbol::text AS symbol
FROM symbol_mappings m
WHERE sqlc.narg(dataset)::text IS NULL OR m.dataset = sqlc.narg(dataset)::text
UNION
SELECT d.dataset::text, d.raw_symbol::text
FROM definition d
WHERE (sqlc.narg(dataset)::text IS NULL OR d.dataset = sqlc.narg(dataset)::text) AND d.raw_symbol <> ''
ORDER BY 1, 2;

-- SymbolCoverage: for each of SYMBOLS, the first and last UTC day on which
-- table_name holds rows of what the symbol named in a dataset, as the loader
-- counted them (coverage_daily: no scan of the table). A symbol names an
-- instrument over its mapping intervals, a raw symbol of definitions from its
-- first definition on, a number that instrument id on any day. A symbol with
-- no such rows has no row.
-- name: SymbolCoverage :many
SELECT a.symbol::text AS symbol, min(c.day)::date AS first_day, max(c.day)::date AS last_day
FROM unnest(@symbols::text[]) AS a(symbol)
CROSS JOIN LATERAL (
    SELECT m.instrument_id, m.start_date AS from_day, m.end_date AS to_day
    FROM symbol_mappings m
    WHERE m.dataset = @dataset::text AND m.stype_in_symbol = a.symbol AND m.instrument_id IS NOT NULL
    UNION ALL
    SELECT d.instrument_id, min((d.ts AT TIME ZONE 'UTC')::date), 'infinity'::date
    FROM definition d
    WHERE d.dataset = @dataset::text AND d.raw_symbol = a.symbol
    GROUP BY d.instrument_id
    UNION ALL
    SELECT n.id, '-infinity'::date, 'infinity'::date
    FROM (SELECT CASE WHEN a.symbol ~ '^[0-9]{1,18}$' THEN a.symbol::bigint END AS id) n
    WHERE n.id IS NOT NULL
) i
JOIN coverage_daily c
  ON c.table_name = @table_name::text AND c.dataset = @dataset::text AND c.instrument_id = i.instrument_id
 AND c.day >= i.from_day AND c.day < i.to_day
GROUP BY a.symbol
ORDER BY 1;

-- Datasets: the datasets with symbol mappings or definitions, read off the
-- indexes that lead with dataset: one probe per dataset, not a scan.
-- name: Datasets :many
WITH RECURSIVE mapped(dataset) AS (
    SELECT min(dataset) FROM symbol_mappings
    UNION ALL
    SELECT (SELECT min(m.dataset) FROM symbol_mappings m WHERE m.dataset > x.dataset)
    FROM mapped x WHERE x.dataset IS NOT NULL
), defined(dataset) AS (
    SELECT min(dataset) FROM definition
    UNION ALL
    SELECT (SELECT min(d.dataset) FROM definition d WHERE d.dataset > x.dataset)
    FROM defined x WHERE x.dataset IS NOT NULL
)
SELECT dataset::text AS dataset FROM mapped WHERE dataset IS NOT NULL
UNION
SELECT dataset::text FROM defined WHERE dataset IS NOT NULL
ORDER BY 1;
