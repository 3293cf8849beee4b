// Command hdi-bench measures `hdi ingest` end to end against a bare pgx
// CopyFrom and psql \copy of the same rows (see docs/BENCHMARKS.md):
//
//	make build && go run ./cmd/hdi-bench -n 5000000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/hdi-dev/hdi/internal/bench"
	"github.com/hdi-dev/hdi/internal/dbn"
)

func main() {
	var (
		cfg     bench.Config
		schemas string
	)
	flag.IntVar(&cfg.N, "n", 5_000_000, "records per schema")
	flag.StringVar(&schemas, "schemas", "trades,ohlcv-1m,mbp-10", "schemas to run, comma-separated")
	flag.StringVar(&cfg.BinDir, "bin", "bin", "directory holding hdi and hdi-provider-databento")
	flag.StringVar(&cfg.WorkDir, "work", filepath.Join(os.TempDir(), "hdi-bench"), "directory for the generated files (reused)")
	flag.IntVar(&cfg.Repeat, "repeat", 1, "rounds per schema (the median is reported)")
	flag.BoolVar(&cfg.HDIOnly, "hdi-only", false, "skip the CopyFrom and psql baselines")
	var hdiArgs string
	flag.StringVar(&hdiArgs, "hdi-args", "", "extra arguments of hdi ingest, space-separated (e.g. \"--param parts=1\")")
	flag.IntVar(&cfg.BareBatch, "bare-batch", 0, "diagnostic: bare CopyFrom in COPYs of this many rows, each in a savepoint")
	flag.Parse()
	cfg.HDIArgs = strings.Fields(hdiArgs)
	for _, s := range strings.Split(schemas, ",") {
		sc, err := dbn.ParseSchema(strings.TrimSpace(s))
		if err != nil {
			fail(err)
		}
		cfg.Schemas = append(cfg.Schemas, sc)
	}
	cfg.AdminURL = firstNonEmpty(os.Getenv("HDI_TEST_DATABASE_URL"), os.Getenv("DATABASE_URL"),
		"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	if abs, err := filepath.Abs(cfg.BinDir); err == nil {
		cfg.BinDir = abs
	}
	cfg.Log = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	results, err := bench.Run(ctx, cfg)
	bench.Print(os.Stdout, results)
	if err != nil {
		fail(err)
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "hdi-bench:", err)
	os.Exit(1)
}
