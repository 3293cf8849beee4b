package load

// All SQL on hdi's bookkeeping tables (goose/00001_bookkeeping.sql) is here,
// so a change to those tables touches one file.

const (
	// lockUnitSQL serialises the loads of one unit ($1) into one table ($2)
	// across runs and processes; the lock ends with the transaction.
	lockUnitSQL = `SELECT pg_advisory_xact_lock(hashtext($1 || ' -> ' || $2))`

	unitDoneSQL = `SELECT EXISTS (SELECT 1 FROM units WHERE unit_key = $1 AND target_table = $2 AND status = 'done')`

	// upsertUnitSQL writes the ledger row. $10 is the status; a failed row
	// never replaces a done one (the data of a done unit is still there).
	upsertUnitSQL = `
INSERT INTO units (unit_key, run_id, provider, dataset, schema, target_table, symbols,
                   range_start, range_end, status, rows_loaded, rows_deduplicated,
                   rows_quarantined, error, started_at, finished_at)
VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, clock_timestamp())
ON CONFLICT (unit_key, target_table) DO UPDATE SET
    run_id = EXCLUDED.run_id, provider = EXCLUDED.provider, dataset = EXCLUDED.dataset,
    schema = EXCLUDED.schema, symbols = EXCLUDED.symbols,
    range_start = EXCLUDED.range_start, range_end = EXCLUDED.range_end, status = EXCLUDED.status,
    rows_loaded = EXCLUDED.rows_loaded, rows_deduplicated = EXCLUDED.rows_deduplicated,
    rows_quarantined = EXCLUDED.rows_quarantined, error = EXCLUDED.error,
    started_at = EXCLUDED.started_at, finished_at = EXCLUDED.finished_at
WHERE units.status <> 'done' OR EXCLUDED.status = 'done'`
)

// quarantineTable and quarantineColumns are the COPY target of rejected rows.
var (
	quarantineTable   = []string{"quarantine"}
	quarantineColumns = []string{"run_id", "unit_key", "target_table", "rule", "severity", "message", "record"}
)
