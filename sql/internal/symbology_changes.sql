-- hdi's own statements on symbology_changes (goose/00018): `hdi query`
-- does not offer them.

-- SymbologyGeneration: how many committed transactions have changed
-- symbol_mappings or definition, as this snapshot sees them. It only
-- grows; a request that reads the same number as an earlier one sees the
-- same mappings and definitions.
-- name: SymbologyGeneration :one
SELECT coalesce(sum(n), 0)::bigint AS generation FROM symbology_changes;

-- CompactSymbologyChanges: fold symbology_changes into one row with the
-- same sum (readers see the rows before or after, never a different sum;
-- rows of transactions still open are left for next time). One row is left
-- alone.
-- name: CompactSymbologyChanges :exec
WITH gone AS (
    DELETE FROM symbology_changes
    WHERE (SELECT count(*) FROM symbology_changes) > 1
    RETURNING n
)
INSERT INTO symbology_changes (n)
SELECT sum(n) FROM gone HAVING count(*) > 0;
