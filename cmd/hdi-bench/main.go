// Command hdi-bench measures `hdi ingest` end to end against a bare pgx
// CopyFrom, psql \copy and two sessions of server-side COPY (the database's
// own limit) of the same rows, and, with -workers, queued runs
// loaded by `hdi worker` processes, and with -analytics the indicator
// queries against a plain SELECT of their input rows (see docs/BENCHMARKS.md):
//
//	make build && go run ./cmd/hdi-bench -n 5000000
//	make build && go run ./cmd/hdi-bench -n 5000000 -workers 1,2,4
//	make build && go run ./cmd/hdi-bench -analytics 1,30
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hdi-dev/hdi/internal/bench"
	"github.com/hdi-dev/hdi/internal/dbn"
)

func main() {
	var (
		cfg     bench.Config
		schemas string
	)
	flag.IntVar(&cfg.N, "n", 5_000_000, "records per schema (-stream: 0 skips the replays)")
	flag.StringVar(&schemas, "schemas", "trades,ohlcv-1m,mbp-10", "schemas to run, comma-separated")
	flag.StringVar(&cfg.BinDir, "bin", "bin", "directory holding hdi and hdi-provider-databento")
	flag.StringVar(&cfg.WorkDir, "work", filepath.Join(os.TempDir(), "hdi-bench"), "directory for the generated files (reused)")
	flag.IntVar(&cfg.Repeat, "repeat", 1, "rounds per schema (the median is reported)")
	flag.BoolVar(&cfg.HDIOnly, "hdi-only", false, "skip the baselines (CopyFrom, server COPY, psql)")
	var hdiArgs string
	flag.StringVar(&hdiArgs, "hdi-args", "", "extra arguments of hdi ingest (with -stream: of hdi stream), space-separated (e.g. \"--param parts=1\")")
	flag.IntVar(&cfg.BareBatch, "bare-batch", 0, "diagnostic: bare CopyFrom in COPYs of this many rows, each in a savepoint")
	var (
		workers string
		wcfg    bench.WorkersConfig
	)
	flag.StringVar(&workers, "workers", "", "benchmark queued runs instead: worker process counts, comma-separated (e.g. 1,2,4)")
	flag.IntVar(&wcfg.Units, "units", 16, "-workers: units (file parts) of the queued trades file")
	flag.IntVar(&wcfg.Concurrency, "concurrency", 2, "-workers: --concurrency of each worker and of the one process")
	flag.IntVar(&wcfg.EmptyUnits, "empty", 500, "-workers: empty units for the queue's own cost (0: skip)")
	flag.IntVar(&wcfg.EmptyWorkers, "empty-workers", 20, "-workers: worker processes for the empty units' throughput")
	simulate := flag.Bool("simulate", false, "print the scaling simulation of docs/SCALING.md and exit")
	serveBench := flag.Bool("serve", false, "benchmark hdi serve instead: hey on /api/v1/bars against pgbench on the same SQL")
	clients := flag.Int("clients", 50, "-serve: concurrent clients")
	duration := flag.Duration("duration", 20*time.Second, "-serve: how long each load runs")
	rounds := flag.Int("rounds", 3, "-serve: rounds of the two loads, alternating which goes first")
	apiBench := flag.Bool("api", false, "benchmark API pulls instead: N trades from a file, from the fake API, and from the API cut twice")
	streamBench := flag.Bool("stream", false, "benchmark hdi stream instead: N records per schema replayed by the fake Live gateway vs hdi ingest of the same file, a paced run cut half-way, and a replay's memory")
	rate := flag.Int("rate", 50_000, "-stream: records/s of the paced run (0: skip it)")
	paced := flag.Duration("paced", 20*time.Second, "-stream: how long the paced run publishes")
	rssN := flag.Int("rss-n", 0, "-stream: trades of the replay whose RSS is sampled (e.g. 10000000; 0: skip it)")
	analytics := flag.String("analytics", "", "benchmark the indicator queries instead: symbol counts (a year of 1m bars each), comma-separated (e.g. 1,30)")
	noJIT := flag.Bool("no-jit", false, "-analytics: SET jit = off in the benchmark's session")
	anQueries := flag.String("queries", "", "-analytics: the queries to run, comma-separated (default: all)")
	tradesPerBar := flag.Int("trades-per-bar", 10, "-analytics: trades a minute, Vwap's input (1 to 60)")
	flag.Parse()
	if *simulate {
		for _, sc := range bench.ScaleScenarios() {
			var rs []bench.ScaleResult
			for _, w := range []int{1, 2, 4, 8, 16, 32, 64, 128, 256} {
				rs = append(rs, bench.Simulate(sc.Model, w))
			}
			bench.PrintScale(os.Stdout, sc.Name, rs)
			fmt.Println()
		}
		return
	}
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
	if *apiBench {
		res, err := bench.RunAPI(ctx, bench.APIConfig{N: cfg.N, AdminURL: cfg.AdminURL, BinDir: cfg.BinDir, WorkDir: cfg.WorkDir, Log: os.Stderr})
		if res != nil {
			bench.PrintAPI(os.Stdout, res)
		}
		if err != nil {
			fail(err)
		}
		return
	}
	if *streamBench {
		scfg := bench.StreamConfig{N: cfg.N, Repeat: cfg.Repeat, Schemas: cfg.Schemas, Rate: *rate, Paced: *paced, RSSN: *rssN, StreamArgs: cfg.HDIArgs,
			AdminURL: cfg.AdminURL, BinDir: cfg.BinDir, WorkDir: cfg.WorkDir, Log: os.Stderr}
		res, err := bench.RunStream(ctx, scfg)
		if res != nil {
			bench.PrintStream(os.Stdout, res)
		}
		if err != nil {
			fail(err)
		}
		return
	}
	if *analytics != "" {
		if *tradesPerBar < 1 || *tradesPerBar > 60 {
			fail(fmt.Errorf("-trades-per-bar: %d is not from 1 to 60", *tradesPerBar))
		}
		acfg := bench.AnalyticsConfig{AdminURL: cfg.AdminURL, BinDir: cfg.BinDir, Repeat: cfg.Repeat, NoJIT: *noJIT, TradesPerBar: *tradesPerBar, Log: os.Stderr}
		for _, v := range strings.Split(*analytics, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 || n > 99 {
				fail(fmt.Errorf("-analytics: %q is not a symbol count from 1 to 99", v))
			}
			acfg.Symbols = append(acfg.Symbols, n)
		}
		if *anQueries != "" {
			acfg.Queries = strings.Split(*anQueries, ",")
		}
		res, err := bench.RunAnalytics(ctx, acfg)
		bench.PrintAnalytics(os.Stdout, res)
		if err != nil {
			fail(err)
		}
		return
	}
	if *serveBench {
		res, err := bench.RunServe(ctx, bench.ServeConfig{AdminURL: cfg.AdminURL, BinDir: cfg.BinDir, WorkDir: cfg.WorkDir,
			Clients: *clients, Duration: *duration, Rounds: *rounds, Log: os.Stderr})
		if res != nil {
			bench.PrintServe(os.Stdout, res)
		}
		if err != nil {
			fail(err)
		}
		return
	}
	if workers != "" {
		for _, w := range strings.Split(workers, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(w))
			if err != nil || n < 1 {
				fail(fmt.Errorf("-workers: %q is not a process count", w))
			}
			wcfg.Workers = append(wcfg.Workers, n)
		}
		wcfg.N, wcfg.AdminURL, wcfg.BinDir, wcfg.WorkDir, wcfg.Log = cfg.N, cfg.AdminURL, cfg.BinDir, cfg.WorkDir, os.Stderr
		res, err := bench.RunWorkers(ctx, wcfg)
		if res != nil {
			bench.PrintWorkers(os.Stdout, res)
		}
		if err != nil {
			fail(err)
		}
		return
	}
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
