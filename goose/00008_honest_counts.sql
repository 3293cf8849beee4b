-- Separate what a load did to each row, in the ledger and the run history:
--   rows_inserted     new rows (was rows_loaded);
--   rows_updated      rows of a REPLACE stream (definitions, statistics)
--                     whose stored values a newer record changed;
--   rows_unchanged    rows of a REPLACE stream that arrived again with the
--                     same values;
--   rows_deduplicated rows whose key was already stored (KEEP streams) or
--                     repeated within a batch.
-- Target tables are recorded as people write them ("trades", not
-- "public"."trades"), so the ledger, the quarantine and their listings agree
-- with what users type.
-- Released migrations are never edited: changes come as new files like this.

-- +goose Up
ALTER TABLE units RENAME COLUMN rows_loaded TO rows_inserted;
ALTER TABLE units ADD COLUMN rows_updated bigint NOT NULL DEFAULT 0;
ALTER TABLE units ADD COLUMN rows_unchanged bigint NOT NULL DEFAULT 0;
ALTER TABLE runs RENAME COLUMN rows_loaded TO rows_inserted;
ALTER TABLE runs ADD COLUMN rows_updated bigint NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN rows_unchanged bigint NOT NULL DEFAULT 0;
UPDATE units SET target_table = regexp_replace(replace(target_table, '"', ''), '^public\.', '')
WHERE target_table LIKE '%"%' OR target_table LIKE 'public.%';
UPDATE quarantine SET target_table = regexp_replace(replace(target_table, '"', ''), '^public\.', '')
WHERE target_table LIKE '%"%' OR target_table LIKE 'public.%';

-- +goose Down
ALTER TABLE runs DROP COLUMN rows_unchanged;
ALTER TABLE runs DROP COLUMN rows_updated;
ALTER TABLE runs RENAME COLUMN rows_inserted TO rows_loaded;
ALTER TABLE units DROP COLUMN rows_unchanged;
ALTER TABLE units DROP COLUMN rows_updated;
ALTER TABLE units RENAME COLUMN rows_inserted TO rows_loaded;
