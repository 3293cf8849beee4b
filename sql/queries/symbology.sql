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
