-- Running aggregates for the indicator queries (sql/queries/indicators.sql),
-- used as window aggregates OVER (PARTITION BY ... ORDER BY ts ROWS
-- UNBOUNDED PRECEDING): PostgreSQL then carries one state along each
-- partition, so an EMA or Wilder average over n rows costs one step a row
-- (a recursive CTE over the rows cost far more; docs/BENCHMARKS.md).
--
-- Both take x (the row's value), k (the row's 1-based position in the
-- window's order, row_number()) and n (the smoothing length). Until k = n
-- the state is the sum of the values so far (callers show NULL there); at
-- k = n it is the mean of the first n values (the seed); after it
--   ema_running:    round(2/(n+1) * x + (1 - 2/(n+1)) * previous, 20)
--   wilder_running: round((previous * (n - 1) + x) / n, 20)
-- The arithmetic is numeric, exactly as the queries wrote it before.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION ema_running_step(s numeric, x numeric, k bigint, n integer) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
    IF k < n THEN
        RETURN coalesce(s, 0) + x;
    ELSIF k = n THEN
        RETURN (coalesce(s, 0) + x) / n;
    END IF;
    RETURN round(2.0 / (n + 1) * x + (1 - 2.0 / (n + 1)) * s, 20);
END
$fn$;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE FUNCTION wilder_running_step(s numeric, x numeric, k bigint, n integer) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $fn$
BEGIN
    IF k < n THEN
        RETURN coalesce(s, 0) + x;
    ELSIF k = n THEN
        RETURN (coalesce(s, 0) + x) / n;
    END IF;
    RETURN round((s * (n - 1) + x) / n, 20);
END
$fn$;
-- +goose StatementEnd
CREATE AGGREGATE ema_running(numeric, bigint, integer) (SFUNC = ema_running_step, STYPE = numeric);
CREATE AGGREGATE wilder_running(numeric, bigint, integer) (SFUNC = wilder_running_step, STYPE = numeric);
COMMENT ON AGGREGATE ema_running(numeric, bigint, integer) IS
    'EMA of x over n rows, seeded with the mean of the first n; as a running window aggregate with k = row_number() (NULL-free x).';
COMMENT ON AGGREGATE wilder_running(numeric, bigint, integer) IS
    'Wilder''s smoothing of x over n rows, seeded with the mean of the first n; as a running window aggregate with k = row_number() (NULL-free x).';

-- +goose Down
DROP AGGREGATE wilder_running(numeric, bigint, integer);
DROP AGGREGATE ema_running(numeric, bigint, integer);
DROP FUNCTION wilder_running_step(numeric, numeric, bigint, integer);
DROP FUNCTION ema_running_step(numeric, numeric, bigint, integer);
