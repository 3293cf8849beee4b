package query

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

func asPgError(err error, pe **pgconn.PgError) bool { return errors.As(err, pe) }

// ParamError is a problem with one parameter of a symbol request, the same
// from flags (hdi query bars) and from a query string (hdi serve). Param is
// the parameter's name, as data: the CLI shows it as a flag (--dataset), the
// API as a query parameter. The message never spells either: where it points
// at a parameter it holds a Ref, which the caller renders in its own terms
// (Text). NotFound marks a value that names nothing (an unknown symbol):
// HTTP 404 rather than 400.
type ParamError struct {
	Param    string
	NotFound bool
	format   string
	args     []any
}

// Ref is a parameter, and optionally a value of it, that a ParamError's
// message points at: "pick one with Ref{Param: "dataset"}" reads "pick one
// with --dataset" on the command line and "pick one with dataset=" over
// HTTP.
type Ref struct{ Param, Value string }

// paramErr is the one way to build a ParamError: format is a constant, and
// args are its values, Refs among them.
func paramErr(param, format string, args ...any) *ParamError {
	return &ParamError{Param: param, format: format, args: args}
}

// notFound is paramErr for a value that names nothing.
func notFound(param, format string, args ...any) *ParamError {
	e := paramErr(param, format, args...)
	e.NotFound = true
	return e
}

// Text is the message, each Ref written by ref.
func (e *ParamError) Text(ref func(Ref) string) string {
	args := make([]any, len(e.args))
	for i, a := range e.args {
		if r, ok := a.(Ref); ok {
			a = ref(r)
		}
		args[i] = a
	}
	return fmt.Sprintf(e.format, args...)
}

// Template is the message before its values are put in: the same for every
// error of one kind.
func (e *ParamError) Template() string { return e.format }

// Error is the message with Refs written as query parameters (dataset=,
// adjust=none), prefixed by the parameter's name.
func (e *ParamError) Error() string { return e.Param + ": " + e.Text(QueryParam) }

// QueryParam writes a Ref as a query-string parameter: dataset=,
// adjust=none.
func QueryParam(r Ref) string { return r.Param + "=" + r.Value }
