package serve

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hdi-dev/hdi/internal/dbconn"
	"github.com/hdi-dev/hdi/internal/ops"
	"github.com/hdi-dev/hdi/internal/query"
	"github.com/hdi-dev/hdi/internal/queue"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Errors are RFC 9457 problem details (application/problem+json), with
// huma's model plus the request's id: title, status, detail, request_id
// and, for a bad parameter, an errors entry whose location is query.NAME.
// A bad request is 400 (404 when a value names nothing), a database that
// cannot serve 503 with Retry-After, a statement that ran out of time 504;
// 500 is kept for hdi's own faults. A 5xx says what happened in hdi's
// words and gives the request id; the cause (PostgreSQL's own text) goes
// to the log under that id, never to the client.

// problem is an error with its HTTP status and, where one parameter is at
// fault, its location.
type problem struct {
	status  int
	detail  string
	param   string // the parameter or field at fault, if any
	in      string // where param is: query (""), path, header or body
	value   any
	headers map[string]string
}

func (p *problem) Error() string { return p.detail }

func badParam(param, format string, args ...any) *problem {
	return &problem{status: http.StatusBadRequest, detail: fmt.Sprintf(format, args...), param: param}
}

// retryAfter is how long a client should wait when the database cannot serve.
const retryAfter = "5"

// classify turns an error into the problem the client gets. It is the one
// mapping from errors to statuses; database faults are classified by
// dbconn.Classify, as the CLI does.
func classify(err error) *problem {
	var p *problem
	if errors.As(err, &p) {
		return p
	}
	var pe *query.ParamError
	if errors.As(err, &pe) {
		st := http.StatusBadRequest
		if pe.NotFound {
			st = http.StatusNotFound
		}
		// Where the message points at a parameter it says dataset=, never a flag.
		return &problem{status: st, detail: pe.Param + ": " + pe.Text(query.QueryParam), param: pe.Param}
	}
	var be *query.BindError
	if errors.As(err, &be) {
		msg := be.Msg
		if be.Value != "" {
			msg = fmt.Sprintf("%q: %s", be.Value, be.Msg)
		}
		return &problem{status: http.StatusBadRequest, detail: be.Param + ": " + msg, param: be.Param, value: be.Value}
	}
	var fe *ops.FieldError
	if errors.As(err, &fe) {
		return &problem{status: http.StatusBadRequest, detail: fe.Error(), param: fe.Field, in: "body"}
	}
	switch {
	case errors.Is(err, queue.ErrNoRun), errors.Is(err, ops.ErrNotFound):
		return &problem{status: http.StatusNotFound, detail: err.Error()}
	case errors.Is(err, queue.ErrNotCancellable), errors.Is(err, ops.ErrConflict):
		return &problem{status: http.StatusConflict, detail: err.Error()}
	}
	var se *sdk.Error
	if errors.As(err, &se) {
		switch kind, _ := sdk.KindOf(err); kind {
		case sdk.ErrorPermanent, sdk.ErrorNotFound: // the job as asked (a dataset, a symbol)
			return &problem{status: http.StatusBadRequest, detail: "the provider refused the job: " + se.Error()}
		default: // the provider's credentials or service: the server's log says which
			return &problem{status: http.StatusBadGateway, detail: "the provider failed (" + kind.String() + ")"}
		}
	}
	switch dbconn.Classify(err) {
	case dbconn.FaultUnavailable:
		return &problem{status: http.StatusServiceUnavailable, detail: "the database is unavailable; retry later",
			headers: map[string]string{"Retry-After": retryAfter}}
	case dbconn.FaultTimeout:
		return &problem{status: http.StatusGatewayTimeout, detail: "the query ran longer than the server's statement timeout: narrow the range or the symbols, or ask for fewer rows (limit)"}
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && strings.HasPrefix(pg.Code, "22") {
		// A data exception: a value the query cannot use. PostgreSQL's
		// message is about the caller's value (never the server's state).
		return &problem{status: http.StatusBadRequest, detail: "a value the query cannot use: " + pg.Message}
	}
	return &problem{status: http.StatusInternalServerError, detail: "the request failed inside hdi"}
}

// explain classifies err for the client. A 5xx is logged with its cause
// and request id, and its detail gives the id to quote.
func (s *Server) explain(ctx context.Context, err error) *problem {
	p := classify(err)
	if p.status < 500 {
		return p
	}
	id := requestID(ctx)
	level := slog.LevelWarn
	switch {
	case ctx.Err() != nil:
		level = slog.LevelInfo // the client went away
	case p.status == http.StatusInternalServerError:
		level = slog.LevelError
	}
	s.opts.Logger.Log(ctx, level, "request failed", "request_id", id, "status", p.status, "err", err)
	p.detail += " (request id " + id + ")"
	return p
}

// fail answers err as problem+json.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeProblem(w, r, s.explain(r.Context(), err))
}

// humaError is err as a typed (huma) operation returns it.
func (s *Server) humaError(ctx context.Context, err error) error {
	p := s.explain(ctx, err)
	if len(p.headers) == 0 {
		return p.model(requestID(ctx))
	}
	h := http.Header{}
	for k, v := range p.headers {
		h.Set(k, v)
	}
	return huma.ErrorWithHeaders(p.model(requestID(ctx)), h)
}

// errorModel is huma's ErrorModel with the request id. (Its name is the
// spec's schema name, ErrorModel, as before the id was added.)
type errorModel struct {
	huma.ErrorModel
	RequestID string `json:"request_id,omitempty" doc:"The request's id, also in the X-Request-Id header: the server's log has the cause of a 5xx under it"`
}

func (p *problem) model(requestID string) *errorModel {
	m := &errorModel{ErrorModel: huma.ErrorModel{Title: http.StatusText(p.status), Status: p.status, Detail: p.detail}, RequestID: requestID}
	if p.param != "" {
		m.Errors = []*huma.ErrorDetail{{Location: cmp.Or(p.in, "query") + "." + p.param, Message: p.detail, Value: p.value}}
	}
	return m
}

// writeProblem writes p as problem+json.
func writeProblem(w http.ResponseWriter, r *http.Request, p *problem) {
	if a := auditOf(r.Context()); a != nil {
		a.outcome = p.detail
	}
	for k, v := range p.headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.status)
	_ = json.NewEncoder(w).Encode(p.model(requestID(r.Context())))
}

// humaErrors makes huma's own errors this server's: parameter validation
// failures are 400 Bad Request (huma says 422: a malformed query string is
// a bad request), and every problem carries the request id. huma's error
// constructors are global: they are replaced once, whatever the servers
// built.
func humaErrors() { humaErrorsOnce.Do(replaceHumaErrors) }

var humaErrorsOnce sync.Once

func replaceHumaErrors() {
	orig := huma.NewError
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		if status == http.StatusUnprocessableEntity && len(errs) > 0 {
			all := true
			for _, e := range errs {
				var d *huma.ErrorDetail
				if !errors.As(e, &d) || !(strings.HasPrefix(d.Location, "query.") || strings.HasPrefix(d.Location, "path.") || strings.HasPrefix(d.Location, "header.")) {
					all = false
				}
			}
			if all {
				status = http.StatusBadRequest
			}
		}
		e := orig(status, msg, errs...)
		if m, ok := e.(*huma.ErrorModel); ok {
			return &errorModel{ErrorModel: *m}
		}
		return e
	}
	huma.NewErrorWithContext = func(ctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
		e := huma.NewError(status, msg, errs...)
		if m, ok := e.(*errorModel); ok {
			m.RequestID = requestID(ctx.Context())
		}
		return e
	}
}
