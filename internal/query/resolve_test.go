package query_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/dbconn"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/query"
	"github.com/hdi-dev/hdi/internal/query/querytest"
)

// TestResolveTellsFaults: resolving a symbol request, the caller's mistakes
// are ParamErrors (no dataset to default to, an unknown symbol) and a
// failure of the database is not: a connection an administrator ended
// gives the database's error, for the caller to classify (hdi serve's 503),
// never a parameter error (the 400 that blamed the client).
func TestResolveTellsFaults(t *testing.T) {
	url := querytest.Empty(t)
	pool := pgtest.Connect(t, url)
	querytest.Roll(t, pool)
	cat := catalog(t, "")
	plan := func(dataset, symbol string) *query.SymbolQuery {
		sq, err := query.SymbolRequest{Kind: "bars", Symbols: []string{symbol}, Start: "2024-03-11", End: "2024-03-22", Dataset: dataset, Interval: "1d"}.Plan(cat)
		if err != nil {
			t.Fatal(err)
		}
		return sq
	}
	var pe *query.ParamError
	if err := plan("XNAS.ITCH", "ESH4").Resolve(ctx(t), connect(t, url)); !errors.As(err, &pe) || pe.Param != "symbols" || !pe.NotFound {
		t.Errorf("an unknown symbol: %v, want a NotFound ParamError on symbols", err)
	}
	if err := plan("", "ESH4").Resolve(ctx(t), connect(t, url)); err != nil {
		t.Errorf("the only dataset: %v", err)
	}
	for _, dataset := range []string{"", "GLBX.MDP3"} { // DefaultDataset, then CheckSymbols first
		conn := connect(t, url)
		terminate(t, pool, conn)
		err := plan(dataset, "ESH4").Resolve(ctx(t), conn)
		if err == nil || errors.As(err, &pe) || dbconn.Classify(err) != dbconn.FaultUnavailable {
			t.Errorf("dataset %q, the connection terminated: %v (a ParamError: %v), want the database's fault", dataset, err, errors.As(err, &pe))
		}
	}
}

// terminate ends conn's backend as an administrator would, waiting until it
// is gone.
func terminate(t *testing.T, admin interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, conn *pgx.Conn) {
	t.Helper()
	var ok bool
	if err := admin.QueryRow(ctx(t), "SELECT pg_terminate_backend($1, 10000)", conn.PgConn().PID()).Scan(&ok); err != nil || !ok {
		t.Fatalf("pg_terminate_backend: %v %v", ok, err)
	}
}
