package serve_test

import (
	"encoding/json"
	"testing"

	"github.com/hdi-dev/hdi/internal/serve"
)

// testResolveTakesALimit: limit works on the symbol resolution too, whose
// query has no row_limit parameter (the stream cuts its rows).
func testResolveTakesALimit(t *testing.T, url string) {
	ts := newServer(t, url, serve.Options{})
	var rows []map[string]any
	b := ts.mustGet(t, "/api/v1/symbols/resolve?symbols=ES.c.0&start=2024-03-14&end=2024-03-15&limit=1")
	if err := json.Unmarshal(b, &rows); err != nil || len(rows) != 1 {
		t.Errorf("limit=1: want 1 row, got %s (%v)", b, err)
	}
}
