package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hdi-dev/hdi/internal/dbq"
)

// QuarantineRow is one rejected source record. Rule holds every failing
// rule's name (comma-separated) and Message every message, for a row that
// failed several rules.
type QuarantineRow struct {
	Rule     string
	Severity string // jobspec.SeverityError or SeverityWarn
	Message  string
	Field    string // the source field at fault, when one is
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
			Rule: r.Rule, Severity: sev, Message: storableText(r.Message), Record: json.RawMessage(jsonbText(r.Record)),
		}
		if r.Field != "" {
			params[i].Field = &r.Field
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

// storableText is s as PostgreSQL text can hold it: valid UTF-8 without
// NUL bytes (a message may quote a file name or a provider's text).
func storableText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\ufffd"), "\x00", "\ufffd")
}

// jsonbText makes a JSON text storable in jsonb, which cannot hold the
// character U+0000: each \u0000 escape becomes \ufffd, the replacement
// character that stands for bytes JSON cannot hold (as invalid UTF-8 does),
// so a record with a NUL byte is quarantined rather than failing its unit.
func jsonbText(b []byte) []byte {
	const nul = `\u0000`
	if !bytes.Contains(b, []byte(nul)) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 == len(b) {
			out = append(out, b[i])
			continue
		}
		if bytes.HasPrefix(b[i:], []byte(nul)) {
			out = append(out, `\ufffd`...)
			i += len(nul) - 1
			continue
		}
		out = append(out, b[i], b[i+1]) // an escape: \\ must not start another
		i++
	}
	return out
}
