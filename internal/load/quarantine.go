package load

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// QuarantineRow is one rejected source record. Rule holds every failing
// rule's name (comma-separated) and Message every message, for a row that
// failed several rules.
type QuarantineRow struct {
	Rule     string
	Severity string // jobspec.SeverityError or SeverityWarn
	Message  string
	Record   []byte // the full source record as JSON (rules.RowJSON)
}

// Quarantine copies rejected rows into the quarantine table, in the unit's
// transaction, and counts them as quarantined.
func (u *UnitTx) Quarantine(ctx context.Context, rows []QuarantineRow) error {
	if len(rows) == 0 {
		return nil
	}
	n, err := u.tx.CopyFrom(ctx, quarantineTable, quarantineColumns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		r := rows[i]
		sev := r.Severity
		if sev == "" {
			sev = "error"
		}
		return []any{u.info.RunID, u.info.Key, u.info.Table, r.Rule, sev, r.Message, json.RawMessage(r.Record)}, nil
	}))
	if err != nil {
		return fmt.Errorf("load: unit %s: write %d quarantine rows: %w", u.info.Key, len(rows), err)
	}
	u.counts.Quarantined += n
	return nil
}
