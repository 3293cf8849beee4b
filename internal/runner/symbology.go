package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// WriteMappings stores symbol mappings a provider sent (a unit's, a live
// feed's); storing the same mapping again is a no-op thanks to
// symbol_mappings' unique key.
func WriteMappings(ctx context.Context, tx pgx.Tx, runID int64, ms []sdk.SymbolMapping) error {
	params := make([]dbq.InsertSymbolMappingsParams, 0, len(ms))
	for _, m := range ms {
		if m.StartDate >= m.EndDate {
			continue // an empty interval maps nothing
		}
		start, err := time.Parse(time.DateOnly, m.StartDate)
		if err != nil {
			return fmt.Errorf("symbol mapping %s -> %s: start date %q: %w", m.InSymbol, m.OutSymbol, m.StartDate, err)
		}
		end, err := time.Parse(time.DateOnly, m.EndDate)
		if err != nil {
			return fmt.Errorf("symbol mapping %s -> %s: end date %q: %w", m.InSymbol, m.OutSymbol, m.EndDate, err)
		}
		params = append(params, dbq.InsertSymbolMappingsParams{
			Dataset: m.Dataset, StypeIn: m.StypeIn, StypeInSymbol: m.InSymbol, StypeOut: m.StypeOut,
			StypeOutSymbol: m.OutSymbol, StartDate: start, EndDate: end, Source: "provider", RunID: &runID,
		})
	}
	if len(params) == 0 {
		return nil
	}
	if err := dbq.New(tx).InsertSymbolMappings(ctx, params).Close(); err != nil {
		return fmt.Errorf("write %d symbol mappings: %w", len(params), err)
	}
	return nil
}
