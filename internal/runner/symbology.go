package runner

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/plugins/sdk"
)

// writeMappings stores a unit's symbol mappings; reloading the same mapping
// is a no-op thanks to symbol_mappings' unique key.
func writeMappings(ctx context.Context, tx pgx.Tx, runID int64, ms []sdk.SymbolMapping) error {
	const q = `INSERT INTO symbol_mappings
	(dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source, run_id)
	VALUES ($1, $2, $3, $4, $5, $6::date, $7::date, 'provider', $8)
	ON CONFLICT ON CONSTRAINT symbol_mappings_key DO NOTHING`
	batch := &pgx.Batch{}
	for _, m := range ms {
		if m.StartDate >= m.EndDate {
			continue // an empty interval maps nothing
		}
		batch.Queue(q, m.Dataset, m.StypeIn, m.InSymbol, m.StypeOut, m.OutSymbol, m.StartDate, m.EndDate, runID)
	}
	if batch.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("write %d symbol mappings: %w", batch.Len(), err)
	}
	return nil
}
