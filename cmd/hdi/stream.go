package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/internal/stream"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

func init() { addCommand(newStreamCmd) }

type streamFlags struct {
	job, name                                          string
	provider, dataset, stypeIn, stypeOut, start, table string
	schemas, symbols, params                           []string
	commitRows                                         int
	commitInterval                                     time.Duration
	noBackfill, migrate                                bool
}

// streamFlagKeys maps the job keys a stream flag sets to the flag, so an
// error about a value names what the user typed.
var streamFlagKeys = map[string]string{
	"provider": "provider.name", "dataset": "source.dataset", "schema": "source.schemas",
	"symbols": "source.symbols", "stype-in": "source.stype_in", "stype-out": "source.stype_out",
	"start": "source.start", "table": "target.table", "param": "source.params",
	"commit-rows": "live.commit_rows", "commit-interval": "live.commit_interval",
}

func newStreamCmd(app *App) *cobra.Command {
	var f streamFlags
	cmd := &cobra.Command{
		Use:   "stream",
		Short: "Record a live feed into the same tables as history, exactly once, until stopped",
		Long: `Record a provider's live feed (Databento Live) into the tables history loads
into, until SIGTERM or Ctrl-C; then commit what is held and exit 0.

Each schema of the feed goes to its own table. Rows are validated, mapped and
COPYed as they arrive and committed with the feed's position every
--commit-rows rows or --commit-interval, whichever comes first: what is
stored is always a prefix of the feed. When the feed is cut, stalls, or the
provider or the database goes away, the stream reconnects (with backoff and
jitter) and resumes from the last committed position: the source replays
the gap and the tables' unique keys drop the overlap. A gap longer than the
source replays (Databento: 24 hours) is first filled by an ordinary
historical run, which names the stream. Killed at any moment and started
again, it loses nothing and stores nothing twice.

A live job is a job file with mode: live (see jobs/README.md), or given by
flags. One process records a stream: a second for the same stream refuses
to start. 'hdi status' and 'hdi runs show' show each stream's state, last
committed time, lag, rows per second and reconnects.`,
		Example: `  hdi stream --provider databento --dataset GLBX.MDP3 --schema trades --symbols ES.FUT --stype-in parent   # (until SIGTERM)
  hdi stream --job es-nq-live                           # (until SIGTERM)
  hdi stream --job es-nq-live --start -1h               # replay the last hour first (until SIGTERM)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			job, err := app.streamJob(cmd, &f)
			if err != nil {
				return err
			}
			return app.runStream(cmd.Context(), job, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.job, "job", "", "live job (mode: live): a name in the jobs directory, a built-in, or a file")
	fl.StringVar(&f.name, "name", "", "the stream's name (default: the job's name)")
	fl.StringVar(&f.provider, "provider", "", "provider plugin for an ad-hoc stream (e.g. databento)")
	fl.StringVar(&f.dataset, "dataset", "", "dataset code, e.g. GLBX.MDP3")
	fl.StringSliceVar(&f.schemas, "schema", nil, "schemas of the feed, comma-separated or repeated, e.g. trades,ohlcv-1m")
	fl.StringSliceVarP(&f.symbols, "symbols", "s", nil, "symbols, comma-separated (or ALL_SYMBOLS)")
	fl.StringVar(&f.stypeIn, "stype-in", "", "symbology of --symbols: raw_symbol, continuous, parent, instrument_id")
	fl.StringVar(&f.stypeOut, "stype-out", "", "output symbology (default instrument_id)")
	fl.StringVar(&f.start, "start", "", "replay from this time first (the source's replay window; older is backfilled from history): a date, an RFC 3339 time, or relative (-1h)")
	fl.StringVar(&f.table, "table", "", "target table, for a feed of one schema (default: the schema's table)")
	fl.StringArrayVar(&f.params, "param", nil, "provider parameter KEY=VALUE (repeatable; overrides the job's)")
	fl.IntVar(&f.commitRows, "commit-rows", 0, fmt.Sprintf("commit once this many rows are pending (default %d)", jobspec.DefaultCommitRows))
	fl.DurationVar(&f.commitInterval, "commit-interval", 0, fmt.Sprintf("commit pending rows at least this often (default %s)", jobspec.DefaultCommitInterval))
	fl.BoolVar(&f.noBackfill, "no-backfill", false, "do not fill a gap longer than the replay window from history (resume at the window's start)")
	fl.BoolVar(&f.migrate, "migrate", false, "apply pending migrations first instead of stopping")
	return cmd
}

// streamJob builds the live job from --job or from the ad-hoc flags.
func (a *App) streamJob(cmd *cobra.Command, f *streamFlags) (*jobspec.Job, error) {
	changed := cmd.Flags().Changed
	var job *jobspec.Job
	if f.job != "" {
		for _, name := range []string{"provider", "dataset", "schema", "symbols", "stype-in", "stype-out"} {
			if changed(name) {
				return nil, usageErrorf("--%s describes an ad-hoc stream and cannot be combined with --job (edit the job file)", name)
			}
		}
		j, err := jobspec.FindWith(a.jobsDir(), f.job, a.jobOpts(false))
		if err != nil {
			return nil, err
		}
		if !j.IsLive() {
			return nil, usageErrorf("--job %s: job %s is not a live job (give it mode: live; `hdi ingest --job %s` loads its range of history)", f.job, j.Name, f.job)
		}
		job = j
		job.Flags = map[string]string{}
	} else {
		if f.provider == "" {
			return nil, usageErrorf("give --job NAME|FILE of a live job, or --provider with the source flags for an ad-hoc stream")
		}
		job = &jobspec.Job{
			Name: adhocStreamName(f), Mode: jobspec.ModeLive,
			Provider: jobspec.Provider{Name: f.provider},
			Source:   jobspec.Source{Dataset: f.dataset, Symbols: f.symbols, StypeIn: f.stypeIn, StypeOut: f.stypeOut},
		}
		if len(f.schemas) == 1 {
			job.Source.Schema = f.schemas[0]
		} else {
			job.Source.Schemas = f.schemas
		}
		job.Flags = map[string]string{"source.schema": "--schema"}
		for flag, key := range streamFlagKeys {
			job.Flags[key] = "--" + flag
		}
	}
	for flag, key := range streamFlagKeys {
		if changed(flag) {
			job.Flags[key] = "--" + flag
		}
	}
	if changed("name") {
		job.Name = f.name
	}
	if changed("start") {
		job.Source.Start = f.start
	}
	if changed("table") {
		job.Target.Table = f.table
	}
	if changed("commit-rows") {
		if f.commitRows < 1 {
			return nil, usageErrorf("--commit-rows must be at least 1, got %d", f.commitRows)
		}
		job.Live.CommitRows = f.commitRows
	}
	if changed("commit-interval") {
		if f.commitInterval <= 0 {
			return nil, usageErrorf("--commit-interval must be positive, got %s", f.commitInterval)
		}
		job.Live.CommitInterval = jobspec.Duration(f.commitInterval)
	}
	if f.noBackfill {
		off := false
		job.Live.Backfill = &off
	}
	params, err := paramFlags(f.params)
	if err != nil {
		return nil, err
	}
	for k, v := range params {
		if job.Source.Params == nil {
			job.Source.Params = map[string]string{}
		}
		job.Source.Params[k] = v
		job.Flags["source.params."+k] = "--param " + k
	}
	job.ApplyDefaults()
	if err := job.Validate(time.Now()); err != nil {
		return nil, err
	}
	return job, nil
}

// paramFlags reads --param KEY=VALUE values (nil for none).
func paramFlags(params []string) (map[string]string, error) {
	var out map[string]string
	for _, kv := range params {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, usageErrorf("--param %q: want KEY=VALUE, e.g. --param parts=1", kv)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, nil
}

// adhocStreamName names an ad-hoc stream by what it records.
func adhocStreamName(f *streamFlags) string {
	parts := []string{"live", f.provider}
	if f.dataset != "" {
		parts = append(parts, f.dataset)
	}
	parts = append(parts, f.schemas...)
	return strings.Join(parts, "-")
}

func (a *App) runStream(ctx context.Context, job *jobspec.Job, f *streamFlags) error {
	pool, host, done, err := a.openIngest(ctx, f.migrate, len(job.LiveSchemas())+4)
	if err != nil {
		return err
	}
	defer done()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	open := func(ctx context.Context, name string) (sdk.Provider, error) { return host.Open(ctx, name) }
	r := a.newRunner(pool, host, runner.Options{})
	err = stream.Run(ctx, stream.Options{Pool: pool, Runner: r, Open: open, Logger: a.Logger}, job)
	if errors.Is(err, stream.ErrBusy) {
		return exitCodeError{code: exitFailure, msg: err.Error()}
	}
	return err
}
