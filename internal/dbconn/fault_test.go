package dbconn_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hdi-dev/hdi/internal/dbconn"
)

// TestClassify: database errors by SQLSTATE class and type, wrapped as hdi
// wraps them. (The real faults, from a real server, are in internal/serve's
// tests: terminated connections, a dropped database, a statement timeout.)
func TestClassify(t *testing.T) {
	pg := func(code string) error {
		return fmt.Errorf("run query X: %w", &pgconn.PgError{Severity: "FATAL", Code: code})
	}
	for _, tc := range []struct {
		name string
		err  error
		want dbconn.Fault
	}{
		{"nil", nil, dbconn.FaultNone},
		{"terminated by an administrator", pg("57P01"), dbconn.FaultUnavailable},
		{"server crash", pg("57P02"), dbconn.FaultUnavailable},
		{"starting up", pg("57P03"), dbconn.FaultUnavailable},
		{"database dropped", pg("57P04"), dbconn.FaultUnavailable},
		{"connection failure", pg("08006"), dbconn.FaultUnavailable},
		{"too many connections", pg("53300"), dbconn.FaultUnavailable},
		{"disk full", pg("53100"), dbconn.FaultUnavailable},
		{"no such database", pg("3D000"), dbconn.FaultUnavailable},
		{"statement timeout", pg("57014"), dbconn.FaultTimeout},
		{"unique violation", pg("23505"), dbconn.FaultNone},
		{"bad value", pg("22021"), dbconn.FaultNone},
		{"syntax", pg("42601"), dbconn.FaultNone},
		{"wrong password, while connecting", &pgconn.ConnectError{}, dbconn.FaultUnavailable},
		{"network", fmt.Errorf("read: %w", &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}), dbconn.FaultUnavailable},
		{"connection closed", fmt.Errorf("x: %w", pgconn.ErrConnClosed), dbconn.FaultUnavailable},
		{"cut mid-message", fmt.Errorf("x: %w", io.ErrUnexpectedEOF), dbconn.FaultUnavailable},
		{"the caller's deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), dbconn.FaultNone},
		{"the caller gave up", fmt.Errorf("x: %w", context.Canceled), dbconn.FaultNone},
		{"hdi's own error", errors.New("no symbol mappings loaded"), dbconn.FaultNone},
	} {
		if got := dbconn.Classify(tc.err); got != tc.want {
			t.Errorf("%s: %v: got %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
	if err := pg("57P01"); !strings.Contains(dbconn.WithAdvice(err).Error(), "check that PostgreSQL is running") || !errors.Is(dbconn.WithAdvice(err), err) {
		t.Errorf("a terminated connection: %v", dbconn.WithAdvice(err))
	}
	if err := pg("23505"); dbconn.WithAdvice(err) != err {
		t.Errorf("advice for a unique violation: %v", dbconn.WithAdvice(err))
	}
}
