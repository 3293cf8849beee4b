package dbconn_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/dbconn"
	"github.com/hdi-dev/hdi/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestJITOffUnlessTheURLSetsIt: hdi's connections (hdi query's and hdi
// serve's pool both come from PoolConfig) run with jit = off, since JIT
// compiling the indicator queries costs seconds (docs/BENCHMARKS.md); a
// database URL that sets jit keeps its own value.
func TestJITOffUnlessTheURLSetsIt(t *testing.T) {
	admin := pgtest.AdminURL(t)
	sep := "?"
	if strings.Contains(admin, "?") {
		sep = "&"
	}
	for _, c := range []struct{ url, want string }{
		{admin, "off"},
		{admin + sep + "jit=on", "on"},
	} {
		pool, err := dbconn.Open(context.Background(), c.url)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = pool.QueryRow(context.Background(), "SHOW jit").Scan(&got)
		pool.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("SHOW jit = %q on a connection of PoolConfig (URL sets jit: %v), want %q", got, c.want == "on", c.want)
		}
	}
}
