package query_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/query"
	sqlfiles "github.com/hdi-dev/hdi/sql"
)

// TestCatalogChart: `-- @chart overlay|pane` in a query's comment block sets
// Query.Chart and is not part of the description (like @param lines); a
// query without one has Chart ""; a file without `-- name:` lines takes it
// from its leading comment; any other kind is refused with the file, the
// query and what to write; a user file's annotation reaches the catalog.
func TestCatalogChart(t *testing.T) {
	src := `-- Sma: the simple moving average of the close.
-- @chart overlay
-- @param n integer "bars in the average"
-- name: Sma :many
SELECT 1 AS ts, @n::int AS sma;

-- Range: high minus low, per bar.
--   @chart   pane
-- name: Range :many
SELECT 1 AS ts, 2 AS range;

-- Plain: no chart.
-- name: Plain :many
SELECT 1;
`
	qs, err := query.ParseFile("x.sql", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, chart, desc string }{
		{"Sma", query.ChartOverlay, "the simple moving average of the close."},
		{"Range", query.ChartPane, "high minus low, per bar."},
		{"Plain", "", "no chart."},
	}
	if len(qs) != len(want) {
		t.Fatalf("%d queries, want %d", len(qs), len(want))
	}
	for i, w := range want {
		if q := qs[i]; q.Name != w.name || q.Chart != w.chart || q.Description != w.desc {
			t.Errorf("query %d: %s chart %q description %q; want %s %q %q", i, q.Name, q.Chart, q.Description, w.name, w.chart, w.desc)
		}
	}
	if p := qs[0].Param("n"); p == nil || p.Type != "integer" || p.Description != "bars in the average" {
		t.Errorf("the @param next to @chart: %+v", p)
	}

	qs, err = query.ParseFile("dir/vol.sql", []byte("-- Realized volatility.\n-- @chart pane\nSELECT 1 AS ts, 0.2 AS vol\n"))
	if err != nil || len(qs) != 1 || qs[0].Name != "vol" || qs[0].Chart != query.ChartPane || qs[0].Description != "Realized volatility." {
		t.Fatalf("a file without name lines: %+v, %v", qs, err)
	}

	for _, bad := range []string{"candles", "", "overlay pane"} {
		_, err := query.ParseFile("bad.sql", []byte("-- Bad.\n-- @chart "+bad+"\n-- name: Bad :many\nSELECT 1;\n"))
		if err == nil || !strings.Contains(err.Error(), "bad.sql: query Bad: -- @chart") || !strings.Contains(err.Error(), "want overlay") {
			t.Errorf("@chart %q: %v", bad, err)
		}
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mine.sql"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := query.Load(sqlfiles.Queries, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		if q, err := c.Lookup(w.name, ""); err != nil || q.Chart != w.chart {
			t.Errorf("the catalog's %s: %+v, %v", w.name, q, err)
		}
	}
}
