package serve

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/hdi-dev/hdi/internal/dbq"
)

// auditKey keys a request's *audited in its context.
type auditKey struct{}

// audited is what the audit log keeps of a request: set by authorize, the
// handler (the run) and the problem it answered, if any.
type audited struct {
	route   string
	write   bool
	token   string
	runID   *int64
	outcome string
}

func auditOf(ctx context.Context) *audited {
	a, _ := ctx.Value(auditKey{}).(*audited)
	return a
}

// noteRun tells the audit log which run a request named or made, and what
// came of it.
func noteRun(ctx context.Context, runID int64, outcome string) {
	if a := auditOf(ctx); a != nil {
		if runID != 0 {
			a.runID = &runID
		}
		a.outcome = outcome
	}
}

// maxOutcome bounds the outcome text of an audit row.
const maxOutcome = 1000

// record writes the audit row of a write request or a refused
// authentication (401, 403), and logs it (the token's name, never the
// token). A row that cannot be written is logged as an error with all it
// held.
func (s *Server) record(r *http.Request, a *audited, status int) {
	if !a.write && status != http.StatusUnauthorized && status != http.StatusForbidden {
		return
	}
	outcome := a.outcome
	if outcome == "" {
		outcome = http.StatusText(status)
	}
	if len(outcome) > maxOutcome {
		outcome = outcome[:maxOutcome] + "…"
	}
	row := dbq.InsertAuditParams{RemoteAddr: remoteHost(r), Method: r.Method, Route: a.route, RunID: a.runID,
		Status: int32(status), Outcome: outcome, RequestID: requestID(r.Context())}
	if a.token != "" {
		row.TokenName = &a.token
	}
	attrs := []any{"request_id", row.RequestID, "token", a.token, "remote_addr", row.RemoteAddr, "method", r.Method,
		"route", a.route, "status", status, "outcome", outcome}
	if a.runID != nil {
		attrs = append(attrs, "run", *a.runID)
	}
	level := slog.LevelInfo
	if status == http.StatusUnauthorized || status == http.StatusForbidden {
		level = slog.LevelWarn
	}
	s.opts.Logger.Log(r.Context(), level, "audit", attrs...)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	if err := dbq.New(s.opts.Ops.Pool).InsertAudit(ctx, row); err != nil {
		s.opts.Logger.Error("the audit log could not record a request", append(attrs, "err", err)...)
	}
}
