-- What `hdi serve` reports on /metrics about the data and the runs (read
-- only; not in the query catalog).

-- MetricsRowsByTable: rows loaded per table (from coverage_daily, counted
-- at load time).
-- name: MetricsRowsByTable :many
SELECT table_name, sum(row_count)::bigint AS row_count FROM coverage_daily GROUP BY table_name ORDER BY table_name;

-- MetricsRunOutcomes: runs per status.
-- name: MetricsRunOutcomes :many
SELECT status, count(*) AS runs FROM runs GROUP BY status ORDER BY status;

-- MetricsUnitOutcomes: ledger units per status.
-- name: MetricsUnitOutcomes :many
SELECT status, count(*) AS units FROM units GROUP BY status ORDER BY status;
