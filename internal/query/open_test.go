package query_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/dbconn"
	"github.com/hdi-dev/hdi/internal/output"
	"github.com/hdi-dev/hdi/internal/query"
	"github.com/hdi-dev/hdi/internal/query/querytest"
)

// TestOpenAnswersAsResolve: Open, first without a guess and then with the
// dataset it remembered (the reads and the query in one pipeline), answers
// every request as Resolve and the query one after the other: the same
// rows, the same errors; and when the database changes under a guess, the
// reads win.
func TestOpenAnswersAsResolve(t *testing.T) {
	url, pool := querytest.Datasets(t)
	conn := connect(t, url)
	cat := catalog(t, "")
	interval := "1d"
	plan := func(dataset string, symbols ...string) *query.SymbolQuery {
		sq, err := query.SymbolRequest{Kind: "bars", Symbols: symbols, Start: "2021-10-01", End: "2024-03-31", Dataset: dataset, Interval: interval}.Plan(cat)
		if err != nil {
			t.Fatal(err)
		}
		return sq
	}
	text := func(rows pgx.Rows, err error) string {
		if err != nil {
			return "error: " + err.Error()
		}
		var b strings.Builder
		if _, err := output.Write(&b, rows, output.Options{Format: output.NDJSON}); err != nil {
			return "error: " + err.Error()
		}
		return b.String()
	}
	sequential := func(sq *query.SymbolQuery) string {
		q, err := sq.Resolved(ctx(t), conn)
		if err != nil {
			return "error: " + err.Error()
		}
		return text(query.OpenRows(ctx(t), conn, q, sq.Values, 1000))
	}
	open := func(g *query.DatasetGuesses, sq *query.SymbolQuery) string {
		_, rows, err := sq.Open(ctx(t), conn, g, 1000)
		return text(rows, err)
	}
	var g query.DatasetGuesses
	for _, tc := range []struct {
		dataset string
		symbols []string
	}{
		{"", []string{"ES.c.0"}},
		{"", []string{"MSFT"}},
		{"", []string{"ES.FUT", "ESH4", "5482"}},
		{"GLBX.MDP3", []string{"ES.c.0"}},
		{"", []string{"MSFT", "ESH4"}},        // no dataset holds both
		{"", []string{"ESH5"}},                // unknown
		{"XNAS.ITCH", []string{"ES.c.0"}},     // not in the one asked for
		{"", []string{"ES.c.0", "NQ.c.0"}},    // guessed below with a stale dataset
		{"", []string{"ESH1"}},                // made ambiguous below
		{"", []string{"NQ.c.0", "ES.c.0"}},    // another key, the same answer
		{"", []string{"ES.c.0", "123456789"}}, // an id that names nothing fits
	} {
		want := sequential(plan(tc.dataset, tc.symbols...))
		for try := range 3 { // no guess, then the guess
			if got := open(&g, plan(tc.dataset, tc.symbols...)); got != want {
				t.Errorf("%s %v, try %d:\n%.300s\nwant\n%.300s", tc.dataset, tc.symbols, try, got, want)
			}
		}
	}

	// A resampled interval's source depends on the bars the range holds:
	// read first, whatever the guess.
	interval = "4h"
	want := sequential(plan("", "ES.c.0"))
	if strings.HasPrefix(want, "error") || !strings.Contains(want, `"bar_count"`) {
		t.Fatalf("4h bars of ES.c.0 resolved one after the other: %.300s", want)
	}
	for try := range 2 {
		if got := open(&g, plan("", "ES.c.0")); got != want {
			t.Errorf("4h bars of ES.c.0, try %d:\n%.300s\nwant\n%.300s", try, got, want)
		}
	}
	interval = "1d"

	// Guesses of another time: a dataset remembered at a generation that is
	// not the database's. The reads decide, whatever the guess says.
	gen := generation(t, pool)
	for _, tc := range []struct {
		generation int64
		dataset    string
		symbol     string
	}{
		{gen - 1, "XNAS.ITCH", "ES.c.0"},
		{gen + 1, "XNAS.ITCH", "ES.c.0"},
		{gen - 1, "GLBX.MDP3", "MSFT"},
		{gen - 1, "GLBX.MDP3", "ESH5"}, // unknown now
	} {
		var wrong query.DatasetGuesses
		wrong.Guess("", []string{tc.symbol}, tc.generation, tc.dataset)
		if got, want := open(&wrong, plan("", tc.symbol)), sequential(plan("", tc.symbol)); got != want {
			t.Errorf("%s guessed in %s at generation %d (now %d):\n%.300s\nwant\n%.300s", tc.symbol, tc.dataset, tc.generation, gen, got, want)
		}
	}

	// ESH1 becomes a symbol of both datasets in another session: the guess
	// (GLBX.MDP3) must give way to the ambiguity at once.
	if _, err := pool.Exec(ctx(t), `INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source)
		VALUES ('XNAS.ITCH', 'raw_symbol', 'ESH1', 'instrument_id', '777', '2021-10-04', '2021-10-05', 'test')`); err != nil {
		t.Fatal(err)
	}
	got := open(&g, plan("", "ESH1"))
	if want := sequential(plan("", "ESH1")); got != want || !strings.Contains(got, "names something in several datasets") {
		t.Errorf("ESH1 in two datasets: %s, want %s", got, want)
	}

	// A guess of a dataset that no longer fits: the reads pick again.
	var stale query.DatasetGuesses
	open(&stale, plan("", "ESH4"))
	if got := open(&stale, plan("", "ESH4")); !strings.Contains(got, `"raw_symbol":"ESH4"`) {
		t.Fatalf("ESH4: %.200s", got)
	}
	for _, sql := range []string{
		`UPDATE symbol_mappings SET dataset = 'XNAS.ITCH' WHERE dataset = 'GLBX.MDP3' AND stype_in_symbol = 'ESH4'`,
		`UPDATE definition SET dataset = 'XNAS.ITCH' WHERE dataset = 'GLBX.MDP3' AND raw_symbol = 'ESH4'`,
	} {
		if _, err := pool.Exec(ctx(t), sql); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := open(&stale, plan("", "ESH4")), sequential(plan("", "ESH4")); got != want || strings.Contains(got, "ESH4") {
		t.Errorf("ESH4 moved to XNAS.ITCH (which has no bars):\n%.300s\nwant\n%.300s", got, want)
	}

	// A fault of the database in the pipeline is the database's error, not
	// a parameter error (hdi serve's 503).
	dead := connect(t, url)
	terminate(t, pool, dead)
	_, _, err := plan("", "ES.c.0").Open(ctx(t), dead, &g, 1000)
	var pe *query.ParamError
	if err == nil || errors.As(err, &pe) || dbconn.Classify(err) != dbconn.FaultUnavailable {
		t.Errorf("the connection terminated: %v, want the database's fault", err)
	}
}

// generation is the symbology generation the database holds now.
func generation(t *testing.T, pool *pgxpool.Pool) int64 {
	t.Helper()
	var g int64
	if err := pool.QueryRow(ctx(t), `SELECT coalesce(sum(n), 0) FROM symbology_changes`).Scan(&g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestSymbologyGeneration: every committed transaction that changes
// symbol_mappings or definition raises the generation, by one however many
// statements it runs, in whatever order such transactions commit; a rolled
// back one does not; and its rows do not pile up.
func TestSymbologyGeneration(t *testing.T) {
	_, pool := querytest.Datasets(t)
	exec := func(db interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	}, sql string) {
		t.Helper()
		if _, err := db.Exec(ctx(t), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	mapping := func(symbol string) string {
		return `INSERT INTO symbol_mappings (dataset, stype_in, stype_in_symbol, stype_out, stype_out_symbol, start_date, end_date, source)
			VALUES ('XNAS.ITCH', 'raw_symbol', '` + symbol + `', 'instrument_id', '999', '2024-01-02', '2024-01-03', 'test') ON CONFLICT DO NOTHING`
	}
	step := func(what string, want int64) {
		t.Helper()
		if got := generation(t, pool); got != want {
			t.Fatalf("after %s: generation %d, want %d", what, got, want)
		}
	}
	g := generation(t, pool)
	if g == 0 {
		t.Fatal("loading the datasets left the generation at 0")
	}

	// One transaction, several statements on both tables: one step.
	tx, err := pool.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	exec(tx, mapping("GEN1"))
	exec(tx, mapping("GEN2"))
	exec(tx, `UPDATE definition SET raw_symbol = raw_symbol WHERE raw_symbol = 'ESH4'`)
	step("statements not yet committed", g)
	if err := tx.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	g++
	step("a transaction of three statements", g)

	// Rolled back: no step.
	tx, err = pool.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	exec(tx, mapping("GEN3"))
	if err := tx.Rollback(ctx(t)); err != nil {
		t.Fatal(err)
	}
	step("a rollback", g)

	// A savepoint rolled back takes its note with it; the statement after
	// it notes the change again.
	tx, err = pool.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	exec(tx, `SAVEPOINT a`)
	exec(tx, mapping("GEN4"))
	exec(tx, `ROLLBACK TO SAVEPOINT a`)
	exec(tx, `DELETE FROM symbol_mappings WHERE stype_in_symbol = 'GEN1'`)
	if err := tx.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	g++
	step("a delete after a savepoint rolled back", g)

	// Out of order: a transaction that began first commits last. Both
	// steps show, each when its transaction commits.
	first, err := pool.Begin(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	exec(first, mapping("GEN5"))
	exec(pool, mapping("GEN6")) // autocommit
	g++
	step("the later transaction's commit", g)
	if err := first.Commit(ctx(t)); err != nil {
		t.Fatal(err)
	}
	g++
	step("the earlier transaction's commit", g)

	exec(pool, `DELETE FROM definition WHERE raw_symbol = 'no such symbol'`)
	g++
	step("a delete of nothing (statements count, not rows)", g)

	// Each note folds the committed ones nobody holds: the table does not
	// grow with the loads.
	for i := range 20 {
		exec(pool, mapping(fmt.Sprintf("GEN%d", 10+i)))
	}
	g += 20
	step("20 more transactions", g)
	var rows int
	if err := pool.QueryRow(ctx(t), `SELECT count(*) FROM symbology_changes`).Scan(&rows); err != nil || rows != 1 {
		t.Errorf("symbology_changes after one transaction at a time: %d rows (%v), want 1", rows, err)
	}
}
