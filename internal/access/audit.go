package access

import (
	"time"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// AuditFilter is the audit log's filter, as `hdi audit list` and
// GET /api/v1/audit take it: since a time as hdi reads one (2024-03-15,
// RFC 3339, -7d, -12h, today; sinceName names it in errors), of one token.
func AuditFilter(since, token string, limit int64, now time.Time, sinceName string) (dbq.AuditLogParams, error) {
	p := dbq.AuditLogParams{RowLimit: limit}
	if since != "" {
		pt, err := timerange.ParsePoint(sinceName, since, now)
		if err != nil {
			return p, err
		}
		p.Since = &pt.Time
	}
	if token != "" {
		p.TokenName = &token
	}
	return p, nil
}
