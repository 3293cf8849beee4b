package load

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hdi-dev/hdi/internal/dbq"
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
	params := make([]dbq.CopyQuarantineParams, len(rows))
	for i, r := range rows {
		sev := r.Severity
		if sev == "" {
			sev = "error"
		}
		params[i] = dbq.CopyQuarantineParams{
			RunID: u.info.RunID, UnitKey: u.info.Key, TargetTable: u.info.Table,
			Rule: r.Rule, Severity: sev, Message: r.Message, Record: json.RawMessage(r.Record),
		}
	}
	n, err := dbq.New(u.tx).CopyQuarantine(ctx, params)
	if err != nil {
		return fmt.Errorf("load: unit %s: write %d quarantine rows: %w", u.info.Key, len(rows), err)
	}
	u.counts.Quarantined += n
	return nil
}

// Warned counts n loaded rows that failed a warn rule.
func (u *UnitTx) Warned(n int64) { u.counts.Warned += n }
