-- Back-adjusted continuous bars (hdi query bars --adjust, hdi serve):
--   contract_rolls  the rolls of continuous symbols with the prices that
--                   back-adjustment uses (docs/queries.md);
--   hdi_product     an exact product aggregate over numeric (ratio
--                   adjustment across several rolls).

-- +goose Up
CREATE AGGREGATE hdi_product(numeric) (SFUNC = numeric_mul, STYPE = numeric, INITCOND = '1');

-- contract_rolls: for each continuous symbol of p_symbols, each day in
-- [p_start, p_end) on which it names another contract than the day before
-- (roll_day), with the old and the new contract and their daily closes
-- (ohlcv_1d, fixed-point 1e-9) on the old contract's last day with a bar
-- before the roll; when the new contract has no bar that day, its first
-- close on or after the roll day. NULL prices: no daily bar to take them
-- from.
-- +goose StatementBegin
CREATE FUNCTION contract_rolls(p_dataset text, p_symbols text[], p_start timestamptz, p_end timestamptz)
RETURNS TABLE (symbol text, roll_day date, old_instrument_id bigint, old_raw_symbol text, new_instrument_id bigint,
               new_raw_symbol text, old_close_day date, old_close bigint, new_close_day date, new_close bigint)
LANGUAGE sql STABLE
AS $fn$
WITH p AS (
    SELECT DISTINCT p.symbol, p.day, p.instrument_id, p.raw_symbol
    FROM symbol_periods(p_dataset, p_symbols, p_start, p_end) p
    WHERE p.symbol ~ '\.[cnv]\.[0-9]+$'
), r AS (
    SELECT p.symbol, p.day AS roll_day, p.instrument_id AS new_id, p.raw_symbol AS new_raw,
           lag(p.instrument_id) OVER w AS old_id, lag(p.raw_symbol) OVER w AS old_raw
    FROM p WINDOW w AS (PARTITION BY p.symbol ORDER BY p.day)
), rolls AS (
    SELECT r.*, (SELECT o.ts FROM ohlcv_1d o WHERE o.dataset = p_dataset AND o.instrument_id = r.old_id
                   AND o.ts < r.roll_day ORDER BY o.ts DESC LIMIT 1) AS old_ts
    FROM r WHERE r.old_id IS NOT NULL AND r.old_id <> r.new_id
)
SELECT rolls.symbol, rolls.roll_day, rolls.old_id, rolls.old_raw, rolls.new_id, rolls.new_raw,
       (old.ts AT TIME ZONE 'UTC')::date, old.close,
       (coalesce(same.ts, later.ts) AT TIME ZONE 'UTC')::date, coalesce(same.close, later.close)
FROM rolls
LEFT JOIN ohlcv_1d old ON old.dataset = p_dataset AND old.instrument_id = rolls.old_id AND old.ts = rolls.old_ts
LEFT JOIN ohlcv_1d same ON same.dataset = p_dataset AND same.instrument_id = rolls.new_id AND same.ts = rolls.old_ts
LEFT JOIN LATERAL (SELECT o.ts, o.close FROM ohlcv_1d o WHERE o.dataset = p_dataset AND o.instrument_id = rolls.new_id
                     AND o.ts >= rolls.roll_day ORDER BY o.ts LIMIT 1) later ON same.ts IS NULL
ORDER BY rolls.symbol, rolls.roll_day
$fn$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION contract_rolls(text, text[], timestamptz, timestamptz);
DROP AGGREGATE hdi_product(numeric);
