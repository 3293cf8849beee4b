// Package ops holds what changes hdi's state on request: queue a run of a
// job, retry a run's quarantined rows, and create, list and revoke API
// tokens. `hdi ingest --queue`, `hdi quarantine retry` and `hdi tokens`
// call it from the command line, `hdi serve` from its write endpoints, so
// the API cannot do what the command line would refuse, and a refusal says
// the same thing both ways, naming the flag or the field.
package ops

import (
	"errors"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/runner"
)

// Env is what the operations need: the database (read-write), the jobs,
// and runners wired to the plugins and the providers' configuration.
type Env struct {
	Pool *pgxpool.Pool
	// NewRunner makes a runner; the operation sets its Pool and options.
	NewRunner func(runner.Options) *runner.Runner
	// JobsDir and JobOptions find jobs by name.
	JobsDir    string
	JobOptions jobspec.Options
}

// Labels name a request's fields as the caller gave them, for errors:
// Flags on the command line (--start), Body in an HTTP request (start).
type Labels func(field string) string

var (
	// Flags are the command line's names: --start.
	Flags Labels = func(f string) string { return "--" + f }
	// Body are a request body's names: start.
	Body Labels = func(f string) string { return f }
)

// FieldError is a request refused for what one of its fields holds (Field
// "" when no one field is at fault): the command line prints it, the API
// answers 400 naming the field.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// ErrConflict refuses a request that collides with what exists (a token
// name in use).
var ErrConflict = errors.New("conflict")

// ErrNotFound is an operation on something that does not exist (a token).
var ErrNotFound = errors.New("not found")

// kindError is a message of its own that is one of the errors above.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }
