package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/dbconn"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/migrate"
	"github.com/hdi-dev/hdi/internal/ops"
	"github.com/hdi-dev/hdi/internal/pluginhost"
	"github.com/hdi-dev/hdi/internal/queue"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

func init() { addCommand(newIngestCmd) }

type ingestFlags struct {
	job                                          string
	provider, dataset, schema, stypeIn, stypeOut string
	symbols, files, params                       []string
	start, end, chunk, table, mode, columns      string
	limit, maxUnits                              int64
	concurrency                                  int
	maxCost                                      float64
	dryRun, force, migrate                       bool
	format, queue                                string
}

// queueFromJob is --queue's value when given without one: the job's queue,
// else the default queue.
const queueFromJob = "(job)"

// ingestFlagKeys maps the job keys an ingest flag sets to the flag, so an
// error about a value names what the user typed.
var ingestFlagKeys = map[string]string{
	"provider": "provider.name", "dataset": "source.dataset", "schema": "source.schema",
	"symbols": "source.symbols", "stype-in": "source.stype_in", "stype-out": "source.stype_out",
	"limit": "source.limit", "file": "source.files", "chunk": "chunking.time", "columns": "source.columns",
	"start": "source.start", "end": "source.end", "table": "target.table", "mode": "target.mode",
	"concurrency": "concurrency", "max-cost": "max_cost", "max-units": "max_units", "param": "source.params",
}

func newIngestCmd(app *App) *cobra.Command {
	var f ingestFlags
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Fetch, validate, map and load data: a job file or an ad-hoc job",
		Long: `Run a job: the provider plans units, each unit is fetched, validated,
mapped and loaded with COPY in one transaction with its ledger row. A re-run
skips finished units; --force reloads them. Ctrl-C stops after the current
batch and commits nothing half-done; run the same command again to resume.

A job is a YAML file (--job NAME|FILE, see jobs/README.md) or given by flags
with the same meaning. --start/--end override a job's range: a date-only end
is included, a timestamp end is excluded. A plan of more than --max-units
units (default 10000) is refused with the chunk length that would fit.
Before loading starts (planning, --dry-run, --queue) Ctrl-C or SIGTERM
stops at once, with nothing changed; either way an interrupted ingest
exits 1.

With --queue the run is planned here (rules, mapping, cost, --max-cost) and
its units are queued for 'hdi worker' processes instead of loaded: the run
id goes to stdout, and 'hdi runs wait ID' follows it. A unit already loaded,
or already queued by another run, is not queued again.`,
		Example: `  hdi ingest --job es-nq-ohlcv-1d
  hdi ingest --job jobs/es-nq-trades.yaml --start 2024-01-08 --end 2024-01-09 --dry-run
  hdi ingest --provider databento --dataset GLBX.MDP3 --schema ohlcv-1d --symbols ES.c.0,NQ.c.0 --stype-in continuous --start 2024-01-01 --end 2024-12-31
  hdi ingest --provider databento --file ./downloads/*.dbn.zst
  hdi ingest --provider csv --file prices.csv --table my_prices
  hdi ingest --provider databento --dataset GLBX.MDP3 --schema ohlcv-1h --symbols ES.c.0 --stype-in continuous --start 2022-01-01 --end 2023-12-31 --chunk 1h --max-units 20000 --dry-run
  hdi ingest --job es-nq-trades --start 2024-01-08 --end 2024-01-09 --queue`,
		Args: func(cmd *cobra.Command, args []string) error {
			// A shell glob after --file expands to several words: the first
			// is the flag's value, the rest arrive as arguments.
			if len(args) > 0 && !cmd.Flags().Changed("file") {
				return usageErrorf("unexpected argument %q: ingest takes its input from flags (did you mean --file %s?)", args[0], args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			f.files = append(f.files, args...)
			job, err := app.ingestJob(cmd, &f)
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("queue") && !f.dryRun {
				return app.queueIngest(cmd.Context(), job, &f)
			}
			return app.runIngest(cmd.Context(), job, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.job, "job", "", "job name (in the jobs directory or built in) or job file")
	fl.StringVar(&f.provider, "provider", "", "provider plugin for an ad-hoc job (e.g. databento)")
	fl.StringVar(&f.dataset, "dataset", "", "dataset code, e.g. GLBX.MDP3")
	fl.StringVar(&f.schema, "schema", "", "schema or stream, e.g. trades, ohlcv-1d")
	fl.StringSliceVarP(&f.symbols, "symbols", "s", nil, "symbols, comma-separated (or ALL_SYMBOLS)")
	fl.StringVar(&f.stypeIn, "stype-in", "", "symbology of --symbols: raw_symbol, continuous, parent, instrument_id, ...")
	fl.StringVar(&f.stypeOut, "stype-out", "", "output symbology (default instrument_id)")
	fl.StringVar(&f.start, "start", "", "start: a date, an RFC 3339 time, or relative (-30d, yesterday)")
	fl.StringVar(&f.end, "end", "", "end: a date (included), an RFC 3339 time (excluded), or relative (today)")
	fl.StringArrayVar(&f.files, "file", nil, "local files, directories or globs: --file A B C, or repeated (uses the provider's file source)")
	fl.StringVar(&f.columns, "columns", "", "columns of a file source without a fixed schema (csv): "+sdk.ColumnSyntax)
	fl.Int64Var(&f.limit, "limit", 0, "maximum records to fetch (0: no limit)")
	fl.StringArrayVar(&f.params, "param", nil, "provider parameter KEY=VALUE (repeatable; overrides the job's), e.g. --param parts=1")
	fl.StringVar(&f.chunk, "chunk", "", "unit length: "+timerange.ChunkSyntax)
	fl.StringVar(&f.table, "table", "", "target table (default: the schema's table)")
	fl.StringVar(&f.mode, "mode", "", "load mode: dedupe-append (default) or replace-range")
	fl.IntVar(&f.concurrency, "concurrency", 0, "units loaded at once (default 2)")
	fl.Float64Var(&f.maxCost, "max-cost", 0, "refuse to start when the estimated cost in USD is higher")
	fl.Int64Var(&f.maxUnits, "max-units", jobspec.DefaultMaxUnits, "refuse a plan of more units (a longer --chunk makes fewer)")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan (units, estimated rows, bytes and cost) and change nothing")
	fl.BoolVar(&f.force, "force", false, "reload units that are already loaded (delete, then load, in one transaction)")
	fl.BoolVar(&f.migrate, "migrate", false, "apply pending migrations first instead of stopping")
	fl.StringVar(&f.format, "format", "table", "--dry-run and --queue output: table (text) or json")
	fl.StringVar(&f.queue, "queue", "", "queue the units for `hdi worker` instead of loading them: --queue (the job's queue, else default) or --queue=NAME")
	fl.Lookup("queue").NoOptDefVal = queueFromJob
	return cmd
}

// ingestJob builds the job from --job or from the ad-hoc flags. Values are
// parsed by the same code as the job file's keys; an error names the flag.
func (a *App) ingestJob(cmd *cobra.Command, f *ingestFlags) (*jobspec.Job, error) {
	changed := cmd.Flags().Changed
	adhoc := []string{"provider", "dataset", "schema", "stype-in", "stype-out", "limit", "file", "chunk", "columns"}
	var job *jobspec.Job
	if f.job != "" {
		for _, name := range adhoc {
			if changed(name) {
				return nil, usageErrorf("--%s describes an ad-hoc job and cannot be combined with --job (edit the job file, or override only --start/--end/--symbols)", name)
			}
		}
		j, err := jobspec.FindWith(a.jobsDir(), f.job, a.jobOpts(false))
		if err != nil {
			return nil, err
		}
		job = j
		job.Flags = map[string]string{}
	} else {
		if f.provider == "" {
			return nil, usageErrorf("give --job NAME|FILE, or --provider with the source flags for an ad-hoc job")
		}
		chunk, err := timerange.ParseChunk(f.chunk)
		if err != nil {
			return nil, usageErrorf("--chunk: %v", err)
		}
		job = &jobspec.Job{
			Name:     adhocName(f),
			Provider: jobspec.Provider{Name: f.provider},
			Source: jobspec.Source{
				Dataset: f.dataset, Schema: f.schema, Symbols: f.symbols, StypeIn: f.stypeIn, StypeOut: f.stypeOut,
				Limit: f.limit, Files: f.files,
			},
			Chunking: jobspec.Chunking{Time: chunk},
		}
		if f.columns != "" {
			cols, err := sdk.ParseColumns(f.columns)
			if err != nil {
				return nil, usageErrorf("--columns: %v", err)
			}
			for _, c := range cols {
				job.Source.Columns = append(job.Source.Columns, jobspec.ColumnFromSDK(c))
			}
		}
		// Every key of an ad-hoc job is a flag's, set or not.
		job.Flags = map[string]string{}
		for flag, key := range ingestFlagKeys {
			job.Flags[key] = "--" + flag
		}
	}
	o := ops.Overrides{Label: ops.Flags}
	if changed("symbols") && f.job != "" {
		o.Symbols = f.symbols
	}
	if changed("start") {
		o.Start = &f.start
	}
	if changed("end") {
		o.End = &f.end
	}
	if changed("table") {
		o.Table = &f.table
	}
	if changed("mode") {
		o.Mode = &f.mode
	}
	if changed("concurrency") {
		if f.concurrency == 0 { // a job would read it as unset, and load 2 at once
			return nil, usageErrorf("--concurrency must be 1..%d, got 0", jobspec.MaxConcurrency)
		}
		o.Concurrency = &f.concurrency
	}
	if changed("max-cost") {
		o.MaxCost = &f.maxCost
	}
	var err error
	if o.Params, err = paramFlags(f.params); err != nil {
		return nil, err
	}
	if changed("max-units") {
		if f.maxUnits < 1 {
			return nil, usageErrorf("--max-units must be at least 1, got %d", f.maxUnits)
		}
		job.MaxUnits = f.maxUnits
	}
	if f.format != "table" && f.format != "json" {
		return nil, usageErrorf("--format must be table or json, not %q", f.format)
	}
	if err := o.Apply(job, time.Now()); err != nil {
		return nil, err
	}
	return job, nil
}

// queueIngest plans the job here and queues its units for the workers.
func (a *App) queueIngest(ctx context.Context, job *jobspec.Job, f *ingestFlags) error {
	name := f.queue
	if name == queueFromJob {
		name = ""
	}
	ctx, _, unwatch := a.watchSignals(ctx)
	defer unwatch()
	pool, host, done, err := a.openIngest(ctx, f.migrate, 4)
	if err != nil {
		return interrupted(ctx, err)
	}
	defer done()
	sub, err := a.opsEnv(pool, host).Queue(ctx, job, queue.Options{Queue: name, Force: f.force}, ops.Flags)
	var fe *ops.FieldError
	if errors.As(err, &fe) && fe.Field == "queue" {
		return usageError{err}
	}
	if err != nil {
		return interrupted(ctx, err)
	}
	for _, w := range sub.Warnings {
		a.Logger.Warn(w, "job", job.Name)
	}
	if f.format == "json" {
		return json.NewEncoder(a.Stdout).Encode(sub.Queued)
	}
	if sub.RunID == 0 {
		fmt.Fprintln(a.Stderr, sub.Summary())
		return nil
	}
	fmt.Fprintln(a.Stdout, sub.RunID)
	fmt.Fprintf(a.Stderr, "%s; `hdi runs wait %d` follows it\n", sub.Summary(), sub.RunID)
	return nil
}

// opsEnv is the write operations (package ops) on pool, with runners on
// host's plugins and the jobs of the jobs directory.
func (a *App) opsEnv(pool *pgxpool.Pool, host *pluginhost.Host) *ops.Env {
	return &ops.Env{Pool: pool, JobsDir: a.jobsDir(), JobOptions: a.jobOpts(false),
		NewRunner: func(o runner.Options) *runner.Runner { return a.newRunner(o.Pool, host, o) }}
}

// openIngest opens the database with conns connections (migrating it when
// migrateUp) and a plugin host; done closes both.
func (a *App) openIngest(ctx context.Context, migrateUp bool, conns int) (*pgxpool.Pool, *pluginhost.Host, func(), error) {
	pool, err := a.openSchemaPool(ctx, migrateUp, conns)
	if errors.Is(err, migrate.ErrBehind) {
		return nil, nil, nil, fmt.Errorf("%w (or pass --migrate)", err)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	host := pluginhost.New(a.pluginHostOptions())
	return pool, host, func() { host.Close(); pool.Close() }, nil
}

func (a *App) runIngest(ctx context.Context, job *jobspec.Job, f *ingestFlags) error {
	ctx, sig, unwatch := a.watchSignals(ctx)
	defer unwatch()
	pool, host, done, err := a.openIngest(ctx, f.migrate, job.Concurrency+2)
	if err != nil {
		return interrupted(ctx, err)
	}
	defer done()

	var progress runner.Progress = &runner.LogProgress{Logger: a.Logger}
	if isTerminal(a.Stderr) && a.Config.LogFormat != "json" && !f.dryRun {
		progress = &runner.Bar{W: a.Stderr}
	}
	r := a.newRunner(pool, host, runner.Options{
		Progress: progress,
		Force:    f.force,
		Stop:     sig.stop,
		// A file source needs no network, not even to plan.
		Offline: f.dryRun && len(job.Source.Files) > 0,
		DryRun:  f.dryRun,
	})
	plans, err := r.PlanAll(ctx, job)
	if err != nil {
		return interrupted(ctx, err)
	}
	for _, w := range plans[0].Warnings {
		a.Logger.Warn(w, "job", job.Name)
	}
	if f.dryRun {
		if err := writePlans(ctx, a.Stdout, plans, f.format); err != nil {
			return interrupted(ctx, err)
		}
		for _, p := range plans {
			if err := p.CheckCost(); err != nil {
				return err
			}
		}
		return nil
	}
	// Files of several schemas load one schema after the other, each into
	// its own table with its own run.
	sig.loading.Store(true)
	failed := false
	for _, p := range plans {
		summary, runErr := r.Run(ctx, p)
		if summary == nil {
			return runErr
		}
		if a.Config.LogFormat == "json" {
			summary.Log(a.Logger)
		} else if err := summary.WriteText(a.Stderr); err != nil {
			return err
		}
		if runErr != nil {
			failed = true
			if errors.Is(runErr, runner.ErrInterrupted) {
				break
			}
		}
	}
	if failed {
		return errSilentFailure // the summaries said what failed
	}
	return nil
}

// openSchemaPool connects to the database and makes sure its schema is
// current, applying the migrations when applyMigrations is set.
func (a *App) openSchemaPool(ctx context.Context, applyMigrations bool, conns int) (*pgxpool.Pool, error) {
	url, err := a.databaseURL(ctx)
	if err != nil {
		return nil, err
	}
	m, err := migrate.Open(ctx, url, migrate.Options{})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	if err := m.Check(ctx); err != nil {
		if !applyMigrations || !errors.Is(err, migrate.ErrBehind) {
			return nil, err
		}
		rs, err := m.Up(ctx)
		a.reportMigrations(rs, "applied")
		if err != nil {
			return nil, err
		}
	}
	cfg, err := dbconn.PoolConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = int32(max(conns, 4))
	return dbconn.OpenConfig(ctx, cfg)
}

// planRow is one unit of a dry run.
type planRow struct {
	Key     string   `json:"key"`
	Start   string   `json:"start,omitempty"`
	End     string   `json:"end,omitempty"`
	Symbols []string `json:"symbols,omitempty"`
	Rows    *int64   `json:"estimated_rows"`
	Bytes   *int64   `json:"estimated_bytes"`
	CostUSD *float64 `json:"estimated_cost_usd"`
	// Note is the provider's remark on how the unit will be fetched.
	Note string `json:"note,omitempty"`
}

// planDoc is one stream's plan in a dry run's JSON.
type planDoc struct {
	Job              string    `json:"job"`
	Stream           string    `json:"stream"`
	Table            string    `json:"table"`
	Units            []planRow `json:"units"`
	EstimatedRows    *int64    `json:"estimated_rows"`
	EstimatedBytes   int64     `json:"estimated_bytes"`
	EstimatedCostUSD *float64  `json:"estimated_cost_usd"`
	MaxCostUSD       *float64  `json:"max_cost_usd"`
	Warnings         []string  `json:"warnings"`
}

// writePlans prints a dry run: one table per stream, or one JSON document
// ({"plans": [...]}) for all of them. It streams: however many units, it
// holds one row at a time (the table takes two passes, the first to size
// its columns), and it stops when ctx is cancelled.
func writePlans(ctx context.Context, out io.Writer, plans []*runner.Planned, format string) error {
	w := bufio.NewWriterSize(out, 64<<10)
	write := writePlanTable
	if format == "json" {
		write = writePlanJSON
	}
	if err := write(ctx, w, plans); err != nil {
		return err
	}
	return w.Flush()
}

// planHeader is what a stream's plan says besides its units.
func planHeader(p *runner.Planned) planDoc {
	d := planDoc{Job: p.Job.Name, Stream: p.Stream.Name, Table: p.Table.Plain(), Units: []planRow{},
		EstimatedRows: known(p.KnownRows, p.Rows), EstimatedBytes: p.Bytes, EstimatedCostUSD: knownF(p.KnownCost, p.CostUSD),
		MaxCostUSD: p.Job.MaxCost, Warnings: p.Warnings}
	if d.Warnings == nil {
		d.Warnings = []string{}
	}
	return d
}

func planUnitRow(u *sdk.Unit) planRow {
	r := planRow{Key: u.Key, Symbols: u.Symbols, Rows: u.EstimatedRows, Bytes: u.EstimatedBytes, CostUSD: u.EstimatedCostUSD, Note: u.Note}
	if rg, ok := u.Range(); ok {
		r.Start, r.End = timerange.Format(rg.Start), timerange.Format(rg.End)
	}
	return r
}

// eachUnit calls fn with every unit's row, checking ctx as it goes.
func eachUnit(ctx context.Context, p *runner.Planned, fn func(planRow) error) error {
	for i := range p.Units {
		if i%256 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(planUnitRow(&p.Units[i])); err != nil {
			return err
		}
	}
	return nil
}

// writePlanJSON writes what json.Encoder with a two-space indent makes of
// {"plans": [planDoc...]}, one unit at a time.
func writePlanJSON(ctx context.Context, w *bufio.Writer, plans []*runner.Planned) error {
	w.WriteString("{\n  \"plans\": [\n")
	for i, p := range plans {
		head, err := json.MarshalIndent(planHeader(p), "    ", "  ")
		if err != nil {
			return err
		}
		before, after, _ := bytes.Cut(head, []byte(`"units": []`))
		w.WriteString("    ")
		w.Write(before)
		w.WriteString(`"units": [`)
		n := 0
		err = eachUnit(ctx, p, func(r planRow) error {
			b, err := json.MarshalIndent(r, "        ", "  ")
			if err != nil {
				return err
			}
			if n++; n > 1 {
				w.WriteString(",")
			}
			w.WriteString("\n        ")
			_, err = w.Write(b) // bufio.Writer keeps its first error
			return err
		})
		if err != nil {
			return err
		}
		if n > 0 {
			w.WriteString("\n      ")
		}
		w.WriteString("]")
		w.Write(after)
		if i < len(plans)-1 {
			w.WriteString(",")
		}
		w.WriteString("\n")
	}
	_, err := w.WriteString("  ]\n}\n")
	return err
}

// planCells are a unit's cells in the table: the aligned ones, then the note.
func planCells(r planRow) [8]string {
	return [8]string{r.Key, r.Start, r.End, symbolsShort(r.Symbols), optInt(r.Rows), optInt(r.Bytes), optCost(r.CostUSD), r.Note}
}

// writePlanTable writes what text/tabwriter (padding 2) makes of the plan
// tables: every cell but a line's last padded to its column's widest plus
// two. The columns are sized in a first pass over the units.
func writePlanTable(ctx context.Context, w *bufio.Writer, plans []*runner.Planned) error {
	for i, p := range plans {
		if i > 0 {
			w.WriteString("\n")
		}
		d := planHeader(p)
		header := [8]string{"UNIT", "START", "END", "SYMBOLS", "EST ROWS", "EST BYTES", "EST COST", "NOTE"}
		// The total line leaves START, END and SYMBOLS empty, and has no
		// EST COST column: its cost follows EST BYTES as the line's last text.
		total := []string{fmt.Sprintf("total: %d units of %s into %s", len(p.Units), d.Stream, d.Table), "", "", "",
			optInt(d.EstimatedRows), strconv.FormatInt(d.EstimatedBytes, 10), optCost(d.EstimatedCostUSD)}
		var width [7]int
		fit := func(cells []string) {
			for c := range min(len(cells)-1, len(width)) {
				width[c] = max(width[c], utf8.RuneCountInString(cells[c])+2)
			}
		}
		fit(header[:])
		fit(total)
		if err := eachUnit(ctx, p, func(r planRow) error { c := planCells(r); fit(c[:]); return nil }); err != nil {
			return err
		}
		line := func(cells []string) error {
			last := len(cells) - 1
			for c, s := range cells[:last] {
				w.WriteString(s)
				w.WriteString(strings.Repeat(" ", width[c]-utf8.RuneCountInString(s)))
			}
			w.WriteString(cells[last])
			_, err := w.WriteString("\n") // bufio.Writer keeps its first error
			return err
		}
		if err := line(header[:]); err != nil {
			return err
		}
		if err := eachUnit(ctx, p, func(r planRow) error { c := planCells(r); return line(c[:]) }); err != nil {
			return err
		}
		if err := line(total); err != nil {
			return err
		}
	}
	return nil
}

func known(ok bool, v int64) *int64 {
	if !ok {
		return nil
	}
	return &v
}

func knownF(ok bool, v float64) *float64 {
	if !ok {
		return nil
	}
	return &v
}

func optInt(v *int64) string {
	if v == nil {
		return "?"
	}
	return fmt.Sprint(*v)
}

func optCost(v *float64) string {
	if v == nil {
		return "?"
	}
	return fmt.Sprintf("$%.2f", *v)
}

func symbolsShort(s []string) string {
	if len(s) > 4 {
		return strings.Join(s[:3], ",") + fmt.Sprintf(",… (%d)", len(s))
	}
	return strings.Join(s, ",")
}

// adhocName names an ad-hoc job in the runs table: provider, dataset and schema.
func adhocName(f *ingestFlags) string {
	parts := []string{"adhoc", f.provider}
	for _, p := range []string{f.dataset, f.schema} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(f.files) > 0 {
		parts = append(parts, "files")
	}
	return strings.Join(parts, "-")
}

// errInterrupted ends an ingest stopped by SIGINT or SIGTERM before its
// units started loading: nothing was loaded or queued.
var errInterrupted = errors.New("interrupted: nothing was loaded or queued")

// ingestSignals is how an ingest answers SIGINT and SIGTERM.
type ingestSignals struct {
	// stop is closed by the first signal once loading has started: the
	// run stops after the batch in flight.
	stop chan struct{}
	// loading says units are loading. Before, the first signal cancels
	// the context at once (planning, estimating, printing, queueing change
	// nothing, or roll back); after, it closes stop, and a second cancels.
	loading atomic.Bool
}

// watchSignals returns ctx cancelled (cause errInterrupted) as
// ingestSignals says; unwatch stops listening.
func (a *App) watchSignals(ctx context.Context) (_ context.Context, _ *ingestSignals, unwatch func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	s := &ingestSignals{stop: make(chan struct{})}
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		if !s.loading.Load() {
			cancel(errInterrupted)
			return
		}
		a.Logger.Warn("stopping after the current batch; nothing half-done is committed (press Ctrl-C again to abort at once)")
		close(s.stop)
		select {
		case <-sigs:
			cancel(errInterrupted)
		case <-ctx.Done():
		}
	}()
	return ctx, s, func() { signal.Stop(sigs); cancel(nil) }
}

// interrupted is errInterrupted when a signal cancelled ctx, else err.
func interrupted(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errInterrupted) {
		return errInterrupted
	}
	return err
}
