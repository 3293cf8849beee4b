package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/synth"
)

// WorkersConfig is the benchmark of queued runs and `hdi worker` processes.
type WorkersConfig struct {
	// N trades are loaded as Units units (file parts), once by one
	// `hdi ingest` and once queued for each count of Workers processes.
	N       int
	Units   int
	Workers []int
	// Concurrency is each worker's --concurrency and the one process's.
	Concurrency int
	// EmptyUnits empty files (a DBN header, no record) measure the queue's
	// own cost per unit with one worker and its throughput with
	// EmptyWorkers processes.
	EmptyUnits, EmptyWorkers  int
	AdminURL, BinDir, WorkDir string
	Log                       io.Writer
}

// WorkersResult holds the figures of one benchmark run.
type WorkersResult struct {
	Rows        int64
	OneProcess  time.Duration
	ByWorkers   map[int]time.Duration
	EmptyUnits  int
	EmptyOne    time.Duration // one worker, concurrency 1
	EmptyMany   time.Duration // EmptyWorkers workers, concurrency 1
	ManyWorkers int
}

// RunWorkers times a queued load of the same file with 1, 2, 4... worker
// processes beside one `hdi ingest` process, and the queue's cost on empty
// units. Each load goes into a fresh database; times run from queueing to
// `hdi runs wait` returning (workers already started and idle), so they
// include planning, River's fetch latency and the run's finishing.
func RunWorkers(ctx context.Context, cfg WorkersConfig) (*WorkersResult, error) {
	log := Config{Log: cfg.Log}
	if cfg.Log == nil {
		log.Log = io.Discard
	}
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.WorkDir, fmt.Sprintf("%s-%d.dbn.zst", dbn.SchemaTrades, cfg.N))
	if _, err := os.Stat(path); err != nil {
		log.logf("writing %d trades to %s", cfg.N, path)
		if err := synth.WriteBench(path+".tmp", dbn.SchemaTrades, cfg.N, true); err != nil {
			return nil, err
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			return nil, err
		}
	}
	res := &WorkersResult{Rows: int64(cfg.N), ByWorkers: map[int]time.Duration{}, EmptyUnits: cfg.EmptyUnits, ManyWorkers: cfg.EmptyWorkers}
	parts := "parts=" + strconv.Itoa(cfg.Units)
	conc := strconv.Itoa(cfg.Concurrency)

	var err error
	res.OneProcess, err = withDB(ctx, cfg, "one", func(h *hdiEnv) (time.Duration, error) {
		log.logf("one process: hdi ingest --param %s --concurrency %s", parts, conc)
		t0 := time.Now()
		if err := h.run("ingest", "--provider", "databento", "--file", path, "--param", parts, "--concurrency", conc); err != nil {
			return 0, err
		}
		return time.Since(t0), h.checkRows("trades", int64(cfg.N))
	})
	if err != nil {
		return res, err
	}
	for _, k := range cfg.Workers {
		res.ByWorkers[k], err = withDB(ctx, cfg, fmt.Sprintf("w%d", k), func(h *hdiEnv) (time.Duration, error) {
			log.logf("%d worker processes, --concurrency %s each", k, conc)
			return h.queued(k, cfg.Concurrency, func() error {
				return h.run("ingest", "--provider", "databento", "--file", path, "--param", parts, "--queue")
			}, "trades", int64(cfg.N))
		})
		if err != nil {
			return res, err
		}
	}
	if cfg.EmptyUnits == 0 {
		return res, nil
	}
	empty := filepath.Join(cfg.WorkDir, fmt.Sprintf("empty-%d", cfg.EmptyUnits))
	if err := writeEmptyFiles(empty, cfg.EmptyUnits); err != nil {
		return res, err
	}
	for _, w := range []int{1, cfg.EmptyWorkers} {
		d, err := withDB(ctx, cfg, fmt.Sprintf("empty%d", w), func(h *hdiEnv) (time.Duration, error) {
			log.logf("%d empty units, %d worker processes", cfg.EmptyUnits, w)
			return h.queued(w, 1, func() error {
				return h.run("ingest", "--provider", "databento", "--file", empty, "--queue")
			}, "", 0)
		})
		if err != nil {
			return res, err
		}
		if w == 1 {
			res.EmptyOne = d
		} else {
			res.EmptyMany = d
		}
	}
	return res, nil
}

// writeEmptyFiles writes n DBN trades files with no record (once).
func writeEmptyFiles(dir string, n int) error {
	if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("e%05d.dbn", n-1))); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := range n {
		if err := synth.WriteTrades(filepath.Join(dir, fmt.Sprintf("e%05d.dbn", i)), 0, false); err != nil {
			return err
		}
	}
	return nil
}

// hdiEnv runs hdi against one benchmark database.
type hdiEnv struct {
	ctx  context.Context
	env  []string
	hdi  string
	conn *pgx.Conn
	url  string
}

func withDB(ctx context.Context, cfg WorkersConfig, name string, f func(*hdiEnv) (time.Duration, error)) (d time.Duration, err error) {
	url, drop, err := createDB(ctx, cfg.AdminURL, "hdi_bench_"+name)
	if err != nil {
		return 0, err
	}
	defer func() {
		if derr := drop(); derr != nil && err == nil {
			err = derr
		}
	}()
	h := &hdiEnv{ctx: ctx, env: append(os.Environ(), "DATABASE_URL="+url, "HDI_PLUGIN_PATH="+cfg.BinDir), hdi: filepath.Join(cfg.BinDir, "hdi"), url: url}
	if err := h.run("migrate", "up"); err != nil {
		return 0, err
	}
	if h.conn, err = pgx.Connect(ctx, url); err != nil {
		return 0, err
	}
	defer h.conn.Close(context.WithoutCancel(ctx))
	if err := checkpoint(ctx, h.conn); err != nil {
		return 0, err
	}
	return f(h)
}

func (h *hdiEnv) run(args ...string) error {
	c := command(h.ctx, h.env, h.hdi, args...)
	if out, err := c.CombinedOutput(); err != nil {
		return fmt.Errorf("hdi %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// queued starts k workers, waits until they are registered, then times
// enqueue() and the run's wait, and stops the workers.
func (h *hdiEnv) queued(k, conc int, enqueue func() error, table string, rows int64) (time.Duration, error) {
	var ws []*exec.Cmd
	defer func() {
		for _, w := range ws {
			_ = w.Process.Signal(syscall.SIGTERM)
			_ = w.Wait()
		}
	}()
	for range k {
		w := command(h.ctx, h.env, h.hdi, "worker", "--concurrency", strconv.Itoa(conc))
		if err := w.Start(); err != nil {
			return 0, err
		}
		ws = append(ws, w)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var n int
		if err := h.conn.QueryRow(h.ctx, `SELECT count(*) FROM workers`).Scan(&n); err != nil {
			return 0, err
		}
		if n == k {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("only %d of %d workers started", n, k)
		}
	}
	t0 := time.Now()
	if err := enqueue(); err != nil {
		return 0, err
	}
	var run int64
	if err := h.conn.QueryRow(h.ctx, `SELECT max(run_id) FROM runs`).Scan(&run); err != nil {
		return 0, err
	}
	if err := h.run("runs", "wait", strconv.FormatInt(run, 10), "--timeout", "30m"); err != nil {
		return 0, err
	}
	d := time.Since(t0)
	if table != "" {
		return d, h.checkRows(table, rows)
	}
	return d, nil
}

func (h *hdiEnv) checkRows(table string, want int64) error {
	var n int64
	if err := h.conn.QueryRow(h.ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
		return err
	}
	if n != want {
		return fmt.Errorf("%s holds %d rows, want %d", table, n, want)
	}
	return nil
}

// PrintWorkers writes the figures as tables.
func PrintWorkers(w io.Writer, r *WorkersResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "load\tseconds\trows/s\tvs one process\t")
	fmt.Fprintf(tw, "one hdi ingest\t%.1f\t%.0f\t1.00\t\n", r.OneProcess.Seconds(), float64(r.Rows)/r.OneProcess.Seconds())
	for k := range 65 {
		d, ok := r.ByWorkers[k]
		if !ok {
			continue
		}
		fmt.Fprintf(tw, "%d workers\t%.1f\t%.0f\t%.2f\t\n", k, d.Seconds(), float64(r.Rows)/d.Seconds(), r.OneProcess.Seconds()/d.Seconds())
	}
	tw.Flush()
	if r.EmptyUnits > 0 && r.EmptyOne > 0 {
		fmt.Fprintf(w, "\nempty units: %d\n", r.EmptyUnits)
		fmt.Fprintf(w, "1 worker: %.1f ms per unit (%.0f units/s)\n", 1000*r.EmptyOne.Seconds()/float64(r.EmptyUnits), float64(r.EmptyUnits)/r.EmptyOne.Seconds())
		if r.EmptyMany > 0 {
			fmt.Fprintf(w, "%d workers: %.0f units/s\n", r.ManyWorkers, float64(r.EmptyUnits)/r.EmptyMany.Seconds())
		}
	}
}
