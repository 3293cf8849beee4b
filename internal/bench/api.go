package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
)

// APIConfig is the benchmark of API pulls: the same N trades (one day,
// three instruments) loaded from a DBN file, through the fake Databento
// API, and through the API with the stream cut twice.
type APIConfig struct {
	N                         int
	AdminURL, BinDir, WorkDir string
	Log                       io.Writer
}

// APIResult holds the three loads' times.
type APIResult struct {
	Rows                 int64
	File, API, APICut    time.Duration
	GetRanges, CutRanges int
}

// RunAPI serves the generated trades from dbfake in this process and runs
// `hdi ingest` three times, each into a fresh database, with the default
// concurrency (2): from a DBN file of the same records, from the API, and
// from the API cutting the first two streams half-way.
func RunAPI(ctx context.Context, cfg APIConfig) (*APIResult, error) {
	log := Config{Log: cfg.Log}
	if cfg.Log == nil {
		log.Log = io.Discard
	}
	log.logf("generating %d trades", cfg.N)
	ds := dbfake.Generate(dbfake.GenOptions{Days: 1, PerDay: cfg.N / 3, Schemas: []dbn.Schema{dbn.SchemaTrades}})
	srv := dbfake.New(ds)
	defer srv.Close()
	res := &APIResult{Rows: int64(len(ds.Records[dbn.SchemaTrades]))}

	// The same records as a file, as Databento would deliver them.
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.WorkDir, fmt.Sprintf("api-trades-%d.dbn.zst", res.Rows))
	day := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	if err := writeFeed(path, ds.Code, dbn.SchemaTrades, ds.Records[dbn.SchemaTrades], day, day.AddDate(0, 0, 1)); err != nil {
		return nil, err
	}
	wcfg := WorkersConfig{AdminURL: cfg.AdminURL, BinDir: cfg.BinDir}
	api := []string{"ingest", "--provider", "databento", "--dataset", ds.Code, "--schema", "trades", "--symbols", "ALL_SYMBOLS",
		"--start", "2024-01-02", "--end", "2024-01-02"}
	runs := []struct {
		name string
		d    *time.Duration
		args []string
		cut  bool
	}{
		{"file", &res.File, []string{"ingest", "--provider", "databento", "--file", path}, false},
		{"api", &res.API, api, false},
		{"api, two cuts", &res.APICut, api, true},
	}
	for _, r := range runs {
		srv.Reset()
		if r.cut {
			srv.Inject(dbfake.Fault{Endpoint: "timeseries.get_range", CutAfter: 0.5, Count: 2})
		}
		var err error
		*r.d, err = withDB(ctx, wcfg, "api", func(h *hdiEnv) (time.Duration, error) {
			h.env = append(h.env, "DATABENTO_BASE_URL="+srv.URL, "DATABENTO_API_KEY="+srv.Key)
			log.logf("%s: hdi %v", r.name, r.args)
			t0 := time.Now()
			if err := h.run(r.args...); err != nil {
				return 0, err
			}
			d := time.Since(t0)
			return d, h.checkRows("trades", res.Rows)
		})
		if err != nil {
			return res, fmt.Errorf("%s: %w", r.name, err)
		}
		if r.cut {
			res.CutRanges = len(srv.RequestsTo("timeseries.get_range"))
		} else if r.name == "api" {
			res.GetRanges = len(srv.RequestsTo("timeseries.get_range"))
		}
	}
	return res, nil
}

// PrintAPI writes the figures.
func PrintAPI(w io.Writer, r *APIResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "load\tseconds\trows/s\tratio\t")
	rate := func(d time.Duration) float64 { return float64(r.Rows) / d.Seconds() }
	fmt.Fprintf(tw, "file (DBN, zstd)\t%.1f\t%.0f\t1.00 (vs file)\t\n", r.File.Seconds(), rate(r.File))
	fmt.Fprintf(tw, "API (%d get_range)\t%.1f\t%.0f\t%.2f (vs file)\t\n", r.GetRanges, r.API.Seconds(), rate(r.API), rate(r.API)/rate(r.File))
	fmt.Fprintf(tw, "API, two cuts (%d get_range)\t%.1f\t%.0f\t%.2f (time vs uncut)\t\n", r.CutRanges, r.APICut.Seconds(), rate(r.APICut), r.APICut.Seconds()/r.API.Seconds())
	tw.Flush()
}
