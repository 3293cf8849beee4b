-- symbology_changes: a count of the committed transactions that changed
-- symbol_mappings or definition, which `hdi serve` reads (sum(n)) in the
-- same snapshot as a request's data query to know whether the dataset it
-- picked for the same symbols before still holds (internal/query, Open).
--
-- A transaction that inserts, updates, deletes or truncates either table
-- notes it once, however many statements it runs: it adds a row whose n is
-- 1 plus the n of the committed rows it folds into it (deleting them), so
-- the sum grows by exactly one when it commits, and by nothing if it rolls
-- back. The rows it folds are those no other transaction holds (FOR UPDATE
-- SKIP LOCKED): loaders running side by side never wait for one another
-- here, and the table stays about as many rows long as there are
-- transactions open on it. The change and its note become visible together,
-- so sum(n) grows with every such commit in whatever order the commits come
-- (a max(id) would not: a transaction that took a lower id may commit after
-- a higher one is read). Outside READ COMMITTED (where a row folded by a
-- concurrent transaction would be a serialization failure) the note is a
-- plain row of 1.

-- +goose Up
CREATE TABLE symbology_changes (n bigint NOT NULL CHECK (n > 0));

-- +goose StatementBegin
CREATE FUNCTION note_symbology_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- A transaction-local flag: one note a transaction. A savepoint rolled
    -- back takes its note (the row, the rows folded) and its flag with it.
    IF current_setting('hdi.symbology_change_noted', true) IS DISTINCT FROM 'on' THEN
        PERFORM set_config('hdi.symbology_change_noted', 'on', true);
        IF current_setting('transaction_isolation') = 'read committed' THEN
            WITH gone AS (
                DELETE FROM symbology_changes
                WHERE ctid = ANY (ARRAY(SELECT ctid FROM symbology_changes FOR UPDATE SKIP LOCKED LIMIT 64))
                RETURNING n
            )
            INSERT INTO symbology_changes (n) SELECT 1 + coalesce(sum(n), 0) FROM gone;
        ELSE
            INSERT INTO symbology_changes (n) VALUES (1);
        END IF;
    END IF;
    RETURN NULL;
END
$fn$;
-- +goose StatementEnd

CREATE TRIGGER symbol_mappings_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON symbol_mappings
    FOR EACH STATEMENT EXECUTE FUNCTION note_symbology_change();
CREATE TRIGGER definition_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON definition
    FOR EACH STATEMENT EXECUTE FUNCTION note_symbology_change();

-- +goose Down
DROP TRIGGER definition_changed ON definition;
DROP TRIGGER symbol_mappings_changed ON symbol_mappings;
DROP FUNCTION note_symbology_change();
DROP TABLE symbology_changes;
