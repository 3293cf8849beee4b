package query

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// FillDataset completes the values of a query that needs symbols and takes
// an optional (sqlc.narg) dataset, such as the indicator queries: asked
// without a dataset, it is the one in which the symbols name something
// (PickDataset, as hdi query bars picks it). Other queries (CoverageDaily,
// whose symbols are optional too, reads every dataset without one), and
// values that name a dataset or no symbols, are left as they are.
func FillDataset(ctx context.Context, conn *pgx.Conn, q *Query, values map[string]any) error {
	ds, sy := q.Param("dataset"), q.Param("symbols")
	if ds == nil || !ds.Optional || sy == nil || sy.Optional {
		return nil
	}
	if v, ok := values["dataset"]; ok && v != nil && v != "" {
		return nil
	}
	var symbols []string
	switch v := values["symbols"].(type) {
	case string:
		symbols = SplitList(v)
	case []string:
		symbols = v
	}
	if len(symbols) == 0 {
		return nil
	}
	dataset, err := PickDataset(ctx, conn, "", symbols)
	if err != nil {
		return err
	}
	values["dataset"] = dataset
	return nil
}
