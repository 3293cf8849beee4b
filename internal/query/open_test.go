package query_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

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

	// Wrong guesses: another dataset, candidates that are not the
	// database's. The reads decide.
	for _, tc := range []struct {
		all     []string
		dataset string
		symbol  string
	}{
		{[]string{"GLBX.MDP3", "XNAS.ITCH"}, "XNAS.ITCH", "ES.c.0"},
		{[]string{"XNAS.ITCH"}, "XNAS.ITCH", "ES.c.0"},
		{[]string{"GLBX.MDP3"}, "GLBX.MDP3", "MSFT"},
	} {
		var wrong query.DatasetGuesses
		wrong.Guess([]string{tc.symbol}, tc.all, tc.dataset)
		if got, want := open(&wrong, plan("", tc.symbol)), sequential(plan("", tc.symbol)); got != want {
			t.Errorf("%s guessed in %s of %v:\n%.300s\nwant\n%.300s", tc.symbol, tc.dataset, tc.all, got, want)
		}
	}

	// ESH1 becomes a symbol of both datasets: the guess (GLBX.MDP3) must
	// give way to the ambiguity.
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
