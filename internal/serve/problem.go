package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hdi-dev/hdi/internal/query"
)

// Errors are RFC 9457 problem details (application/problem+json), with
// huma's model: title, status, detail and, for a bad parameter, an errors
// entry whose location is query.NAME. A bad request is 400 (404 when a
// value names nothing), an unreachable database 503, a statement that ran
// out of time 504; 500 is kept for hdi's own faults.

// problem is an error with its HTTP status and, where one parameter is at
// fault, its location.
type problem struct {
	status  int
	detail  string
	param   string // query parameter at fault, if any
	value   any
	headers map[string]string
}

func (p *problem) Error() string { return p.detail }

func badParam(param, format string, args ...any) *problem {
	return &problem{status: http.StatusBadRequest, detail: fmt.Sprintf(format, args...), param: param}
}

// classify turns an error into the problem the client gets.
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
	if errors.Is(err, context.DeadlineExceeded) {
		return &problem{status: http.StatusGatewayTimeout, detail: "the query ran out of time"}
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == "57014": // query_canceled: the statement timeout
			return &problem{status: http.StatusGatewayTimeout, detail: "the query ran longer than the server's statement timeout: narrow the range or the symbols, or ask for fewer rows (limit)"}
		case strings.HasPrefix(pg.Code, "08"), pg.Code == "57P01", pg.Code == "57P02", pg.Code == "57P03", pg.Code == "53300":
			return unavailable(err)
		case strings.HasPrefix(pg.Code, "22"): // data exception: a value the query cannot use
			return &problem{status: http.StatusBadRequest, detail: pg.Message}
		}
		return &problem{status: http.StatusInternalServerError, detail: "the query failed: " + pg.Message}
	}
	var netErr net.Error
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) {
		return unavailable(err)
	}
	return &problem{status: http.StatusInternalServerError, detail: err.Error()}
}

func unavailable(err error) *problem {
	return &problem{status: http.StatusServiceUnavailable, detail: "the database is not reachable: " + firstLine(err.Error()),
		headers: map[string]string{"Retry-After": "5"}}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// writeProblem writes err as problem+json.
func writeProblem(w http.ResponseWriter, err error) {
	p := classify(err)
	m := &huma.ErrorModel{Title: http.StatusText(p.status), Status: p.status, Detail: p.detail}
	if p.param != "" {
		m.Errors = []*huma.ErrorDetail{{Location: "query." + p.param, Message: p.detail, Value: p.value}}
	}
	for k, v := range p.headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.status)
	_ = json.NewEncoder(w).Encode(m)
}

// humaError is a problem as huma returns it from a typed operation.
func humaError(err error) error {
	p := classify(err)
	var details []error
	if p.param != "" {
		details = append(details, &huma.ErrorDetail{Location: "query." + p.param, Message: p.detail, Value: p.value})
	}
	return huma.NewError(p.status, p.detail, details...)
}

// paramErrorsAre400 makes huma's own parameter validation failures 400 Bad
// Request (huma says 422): a malformed query string is a bad request.
// huma.NewError is global: it is wrapped once, whatever the servers built.
func paramErrorsAre400() { paramErrorsOnce.Do(wrapNewError) }

var paramErrorsOnce sync.Once

func wrapNewError() {
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
		return orig(status, msg, errs...)
	}
}
