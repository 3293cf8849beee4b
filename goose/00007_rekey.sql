-- Brings databases created by earlier builds to the layout 00001 and 00002
-- now create, and does nothing on new ones:
--   * the ledger (units) is keyed by (unit_key, target_table), so the same
--     source loaded into another table is a unit of its own;
--   * every natural key <table>_key ends with dataset instead of starting
--     with it (a leading text column slowed every insert 1.4-2x).
-- Rebuilding a key rebuilds its index: on big tables this takes a while,
-- once. A TimescaleDB hypertable with compressed chunks may refuse to drop
-- its key; then decompress its chunks first (decompress_chunk) and run
-- `hdi migrate up` again.

-- +goose Up
-- +goose StatementBegin
DO $$
DECLARE
    k record;
BEGIN
    IF (SELECT array_length(conkey, 1) FROM pg_constraint
        WHERE conrelid = 'units'::regclass AND contype = 'p') = 1 THEN
        EXECUTE format('ALTER TABLE units DROP CONSTRAINT %I, ADD PRIMARY KEY (unit_key, target_table)',
                       (SELECT conname FROM pg_constraint WHERE conrelid = 'units'::regclass AND contype = 'p'));
    END IF;
    FOR k IN
        SELECT c.conrelid::regclass AS tbl, c.conname,
               substring(pg_get_constraintdef(c.oid) FROM '^UNIQUE NULLS NOT DISTINCT \(dataset, (instrument_id, ts, .*)\)$') AS cols
        FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid
        WHERE c.contype = 'u' AND c.conname = t.relname || '_key'
          AND t.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'units'::regclass)
    LOOP
        CONTINUE WHEN k.cols IS NULL;
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I UNIQUE NULLS NOT DISTINCT (%s, dataset)',
                       k.tbl, k.conname, k.conname, k.cols);
    END LOOP;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- Nothing to undo: 00001 and 00002 create this layout themselves.
SELECT 1;
