package dbconn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Fault is what a database error means to whoever asked: the one place hdi
// tells a database that cannot serve from a statement that failed. It
// decides from SQLSTATE classes and error types, never from message text.
type Fault int

const (
	// FaultNone: not a fault of the database (no error, or the statement's
	// own failure: a constraint, a bad value, a bug).
	FaultNone Fault = iota
	// FaultUnavailable: the database cannot serve now. It is down,
	// restarting, dropped, out of connections or resources, or the
	// connection was cut (SQLSTATE classes 08, 57P and 53, 3D000; a failure
	// to connect; a network error). The same request may succeed later, and
	// a read may be retried at once on a live connection.
	FaultUnavailable
	// FaultTimeout: the statement ran out of time: cancelled by the
	// statement timeout (57014 query_canceled; an administrator's
	// pg_cancel_backend gives the same code).
	FaultTimeout
)

// Classify says which Fault err, an error of a database operation, is.
func Classify(err error) Fault {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return FaultNone // the caller gave up, or ran out of its own time
	}
	var ce *ConnectError
	var pce *pgconn.ConnectError
	if errors.As(err, &ce) || errors.As(err, &pce) {
		return FaultUnavailable // whatever the server said while we connected
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch {
		case pg.Code == "57014":
			return FaultTimeout
		case strings.HasPrefix(pg.Code, "08"), strings.HasPrefix(pg.Code, "57P"), strings.HasPrefix(pg.Code, "53"), pg.Code == "3D000":
			return FaultUnavailable
		}
		return FaultNone
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) || pgconn.SafeToRetry(err) {
		return FaultUnavailable
	}
	return FaultNone
}

// WithAdvice adds to the error of a database operation what to do about
// its fault; err is returned as it is when it is no fault, or already says
// (a ConnectError names the server and what to check).
func WithAdvice(err error) error {
	var ce *ConnectError
	if errors.As(err, &ce) {
		return err
	}
	switch Classify(err) {
	case FaultUnavailable:
		return fmt.Errorf("%w; the database is unavailable (down, restarting, out of connections, or the connection was cut): check that PostgreSQL is running, then try again", err)
	case FaultTimeout:
		return fmt.Errorf("%w; the statement ran out of time: ask for less (a shorter range, fewer symbols) or raise statement_timeout", err)
	}
	return err
}
