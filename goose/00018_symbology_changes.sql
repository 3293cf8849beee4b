-- symbology_changes: a count of the committed transactions that changed
-- symbol_mappings or definition, which `hdi serve` reads (sum(n)) in the
-- same snapshot as a request's data query to know whether the dataset it
-- picked for the same symbols before still holds (internal/query, Open).
--
-- A transaction that inserts, updates, deletes or truncates either table
-- adds one row (n = 1), once however many statements it runs: inserts
-- only, so loaders running side by side take no lock on it, and the row
-- becomes visible exactly when the change does. sum(n) therefore grows
-- with every such commit, whatever order the commits come in (a max(id)
-- would not: a transaction that took a lower id may commit after a higher
-- one is read). CompactSymbologyChanges folds the rows into one with the
-- same sum (the loader runs it at the end of each run), so the table stays
-- a few rows long.

-- +goose Up
CREATE TABLE symbology_changes (n bigint NOT NULL CHECK (n > 0));

-- +goose StatementBegin
CREATE FUNCTION note_symbology_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- A transaction-local flag: one row a transaction. A savepoint rolled
    -- back takes its row and its flag with it.
    IF current_setting('hdi.symbology_change_noted', true) IS DISTINCT FROM 'on' THEN
        INSERT INTO symbology_changes (n) VALUES (1);
        PERFORM set_config('hdi.symbology_change_noted', 'on', true);
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
