-- Symbology is data: symbol mappings (from DBN metadata, Databento's
-- symbology API and definition records) and the definition versions answer
-- "which instrument was ES.c.0 / ES.FUT / ESH4 / 5482 on date D".

-- +goose Up

-- symbol_mappings holds one row per mapping interval: input symbol (in the
-- stype_in symbology) -> output symbol (in stype_out) on the UTC dates
-- [start_date, end_date). end_date is exclusive, as DBN gives it. stype_in
-- and stype_out are Databento's symbology names: instrument_id, raw_symbol,
-- continuous, parent, nasdaq_symbol, cms_symbol, isin, us_code, ...
CREATE TABLE symbol_mappings (
    dataset          text        NOT NULL,
    stype_in         text        NOT NULL,
    stype_in_symbol  text        NOT NULL,
    stype_out        text        NOT NULL,
    stype_out_symbol text        NOT NULL,
    -- The output symbol as a number when it is an instrument id.
    instrument_id    bigint      GENERATED ALWAYS AS (
                         CASE WHEN stype_out = 'instrument_id' THEN stype_out_symbol::bigint END) STORED,
    start_date       date        NOT NULL,
    end_date         date        NOT NULL,
    -- Where the mapping came from: dbn_metadata, symbology_api, definition, ...
    source           text        NOT NULL,
    run_id           bigint      REFERENCES runs (run_id) ON DELETE SET NULL,
    loaded_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT symbol_mappings_dates CHECK (start_date < end_date),
    -- Reloading the same mapping is a no-op (ON CONFLICT DO NOTHING). The key
    -- starts with (dataset, input symbol, start_date) so it also serves
    -- resolve_symbol.
    CONSTRAINT symbol_mappings_key UNIQUE (dataset, stype_in_symbol, start_date, stype_in, stype_out,
                                           stype_out_symbol, end_date)
);
-- instrument id -> its symbols on a date.
CREATE INDEX symbol_mappings_instrument_idx ON symbol_mappings (dataset, instrument_id, start_date)
    WHERE instrument_id IS NOT NULL;

-- raw symbol -> its definitions (resolve_symbol falls back to these).
CREATE INDEX definition_raw_symbol_idx ON definition (dataset, raw_symbol, ts);

-- instruments: every definition version of every instrument with the
-- reference fields people look for, valid from its ts (ts_recv) until the
-- next version's ts (valid_to NULL: still current). Spread legs are folded:
-- only the leg_index 0 record of each version is shown (the instrument-level
-- fields repeat on every leg record). Prices are exact decimals.
CREATE VIEW instruments AS
SELECT
    d.dataset,
    d.instrument_id,
    d.raw_symbol,
    d.instrument_class,
    d.security_update_action,
    d.publisher_id,
    d.exchange,
    d.asset,
    d."group",
    d.security_type,
    d.cfi,
    d.underlying,
    d.underlying_id,
    ns_to_timestamptz(d.expiration)        AS expiration,
    ns_to_timestamptz(d.activation)        AS activation,
    fixed_to_numeric(d.min_price_increment) AS min_price_increment,
    fixed_to_numeric(d.display_factor)     AS display_factor,
    d.contract_multiplier,
    d.contract_multiplier_unit,
    d.unit_of_measure,
    fixed_to_numeric(d.unit_of_measure_qty) AS unit_of_measure_qty,
    d.currency,
    d.settl_currency,
    fixed_to_numeric(d.strike_price)       AS strike_price,
    d.strike_price_currency,
    d.maturity_year,
    d.maturity_month,
    d.maturity_day,
    d.leg_count,
    d.ts                                   AS valid_from,
    lead(d.ts) OVER (PARTITION BY d.dataset, d.instrument_id ORDER BY d.ts, d.ts_recv) AS valid_to
FROM definition d
WHERE d.leg_index = 0;

-- resolve_symbol answers "which instrument was SYMBOL in DATASET on the UTC
-- date ON_DATE". SYMBOL may be in any symbology with mappings (continuous
-- ES.c.0, parent ES.FUT, raw ESH4, ...), a raw symbol known only from
-- definitions, or a numeric instrument id. One row per instrument
-- (ES.FUT gives many), with the raw symbol of the contract on that date and
-- the symbology the input was found in. Served by symbol_mappings_key,
-- symbol_mappings_instrument_idx, definition_raw_symbol_idx and definition_key.
-- +goose StatementBegin
CREATE FUNCTION resolve_symbol(p_dataset text, p_symbol text, p_on date)
RETURNS TABLE (instrument_id bigint, raw_symbol text, stype_in text)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH found AS (
        -- A symbol with mappings to instrument ids on the date.
        SELECT m.instrument_id, m.stype_in
        FROM symbol_mappings m
        WHERE m.dataset = p_dataset
          AND m.stype_in_symbol = p_symbol
          AND m.start_date <= p_on AND p_on < m.end_date
          AND m.instrument_id IS NOT NULL
        UNION
        -- A numeric instrument id.
        -- (CASE, not a WHERE, guards the cast: an inlined call may fold it.)
        SELECT n.id, 'instrument_id'
        FROM (SELECT CASE WHEN p_symbol ~ '^[0-9]{1,18}$' THEN p_symbol::bigint END AS id) n
        WHERE n.id IS NOT NULL
        UNION
        -- A raw symbol without mappings: the instruments whose latest
        -- definition up to the end of the date carries it.
        SELECT d.instrument_id, 'raw_symbol'
        FROM definition d
        WHERE d.dataset = p_dataset
          AND d.raw_symbol = p_symbol
          AND d.ts < (p_on + 1)::timestamp AT TIME ZONE 'UTC'
          AND NOT EXISTS (
              SELECT 1 FROM symbol_mappings m
              WHERE m.dataset = p_dataset AND m.stype_in_symbol = p_symbol
                AND m.start_date <= p_on AND p_on < m.end_date)
          AND NOT EXISTS (
              SELECT 1 FROM definition d2
              WHERE d2.dataset = d.dataset AND d2.instrument_id = d.instrument_id
                AND d2.ts > d.ts AND d2.ts < (p_on + 1)::timestamp AT TIME ZONE 'UTC'
                AND d2.raw_symbol <> p_symbol)
    )
    SELECT DISTINCT ON (f.instrument_id)
        f.instrument_id,
        COALESCE(
            -- the raw symbol mapped to the id on that date
            (SELECT m.stype_in_symbol FROM symbol_mappings m
             WHERE m.dataset = p_dataset AND m.instrument_id = f.instrument_id
               AND m.stype_in = 'raw_symbol'
               AND m.start_date <= p_on AND p_on < m.end_date
             LIMIT 1),
            -- else the latest definition up to the end of the date
            (SELECT d.raw_symbol FROM definition d
             WHERE d.dataset = p_dataset AND d.instrument_id = f.instrument_id
               AND d.ts < (p_on + 1)::timestamp AT TIME ZONE 'UTC'
             ORDER BY d.ts DESC
             LIMIT 1),
            -- else the input itself when it was a raw symbol
            CASE WHEN f.stype_in = 'raw_symbol' THEN p_symbol END),
        f.stype_in
    FROM found f
    ORDER BY f.instrument_id,
             -- a mapping's own symbology wins over the numeric guess
             (f.stype_in = 'instrument_id');
END;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION resolve_symbol(text, text, date);
DROP VIEW instruments;
DROP INDEX definition_raw_symbol_idx;
DROP TABLE symbol_mappings;
