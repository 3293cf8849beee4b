-- Running EMA and Wilder smoothing over the stored fixed-point prices
-- (bigint, units of 1e-9), for the indicator queries
-- (sql/queries/indicators.sql). The same recursions as ema_running and
-- wilder_running (00017), with the state in units of 1e-9 rather than in
-- price units: the step then adds a bigint to a numeric, in place of
-- turning every value into a scale-9 decimal first, and divides once in
-- place of twice. Callers multiply the result by 0.000000001 (exact).
--
-- Both take x (the row's fixed-point value), k (the row's 1-based position
-- in the window's order, row_number()) and n (the smoothing length). Until
-- k = n the state is the sum of the values so far (callers show NULL
-- there); at k = n it is the mean of the first n values (the seed), at 11
-- decimal places of the unit; after it
--   ema_running_fixed:    round((2 * x + (n - 1) * previous) / (n + 1), 11)
--   wilder_running_fixed: round(((n - 1) * previous + x) / n, 11)
-- 11 decimal places of 1e-9 are the 20 decimal places of a price that
-- ema_running and wilder_running carry. The step is one plpgsql CASE
-- expression: a LANGUAGE sql step is not inlined as a transition function
-- and measured twice as slow (docs/BENCHMARKS.md, "Indicator queries").

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION ema_running_fixed_step(s numeric, x bigint, k bigint, n integer) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
    RETURN CASE WHEN k > n THEN round((2 * x::numeric + (n - 1) * s) / (n + 1), 11)
                WHEN k < n THEN coalesce(s, 0) + x
                ELSE round((coalesce(s, 0) + x) * 1.00000000000 / n, 11) END;
END
$fn$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION wilder_running_fixed_step(s numeric, x bigint, k bigint, n integer) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
    RETURN CASE WHEN k > n THEN round(((n - 1) * s + x) / n, 11)
                WHEN k < n THEN coalesce(s, 0) + x
                ELSE round((coalesce(s, 0) + x) * 1.00000000000 / n, 11) END;
END
$fn$;
-- +goose StatementEnd
CREATE AGGREGATE ema_running_fixed(bigint, bigint, integer) (SFUNC = ema_running_fixed_step, STYPE = numeric);
CREATE AGGREGATE wilder_running_fixed(bigint, bigint, integer) (SFUNC = wilder_running_fixed_step, STYPE = numeric);
COMMENT ON AGGREGATE ema_running_fixed(bigint, bigint, integer) IS
    'EMA of fixed-point x (1e-9 units, result in the same units) over n rows, seeded with the mean of the first n; as a running window aggregate with k = row_number() (NULL-free x).';
COMMENT ON AGGREGATE wilder_running_fixed(bigint, bigint, integer) IS
    'Wilder''s smoothing of fixed-point x (1e-9 units, result in the same units) over n rows, seeded with the mean of the first n; as a running window aggregate with k = row_number() (NULL-free x).';

-- +goose Down
DROP AGGREGATE wilder_running_fixed(bigint, bigint, integer);
DROP AGGREGATE ema_running_fixed(bigint, bigint, integer);
DROP FUNCTION wilder_running_fixed_step(numeric, bigint, bigint, integer);
DROP FUNCTION ema_running_fixed_step(numeric, bigint, bigint, integer);
