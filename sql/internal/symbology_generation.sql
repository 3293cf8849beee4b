-- hdi's own read of symbology_changes (goose/00018): `hdi query` does not
-- offer it.

-- SymbologyGeneration: how many committed transactions have changed
-- symbol_mappings or definition, as this snapshot sees them. It only
-- grows; a request that reads the same number as an earlier one sees the
-- same mappings and definitions.
-- name: SymbologyGeneration :one
SELECT coalesce(sum(n), 0)::bigint AS generation FROM symbology_changes;
