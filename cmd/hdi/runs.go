package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/queue"
	"github.com/hdi-dev/hdi/internal/status"
)

func init() { addCommand(newRunsCmd) }

func newRunsCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "runs",
		Short:   "List ingest runs and show one with its units",
		Example: "  hdi runs list\n  hdi runs show 1",
	}
	var (
		format string
		job    string
		limit  int64
	)
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the latest runs, newest first",
		Example: "  hdi runs list\n  hdi runs list --job es-nq-trades --limit 5 --format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			return app.withPool(cmd.Context(), func(ctx context.Context, pool *pgxpool.Pool) error {
				var jp *string
				if job != "" {
					jp = &job
				}
				runs, err := dbq.New(pool).Runs(ctx, dbq.RunsParams{Job: jp, RowLimit: &limit})
				if err != nil {
					return fmt.Errorf("list runs: %w", err)
				}
				if format == "json" {
					return writeJSON(app, runs)
				}
				tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RUN\tJOB\tSTATUS\tSTARTED\tDURATION\tUNITS DONE/SKIPPED/FAILED\tINSERTED\tUPDATED\tDEDUPED\tQUARANTINED")
				for _, r := range runs {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d/%d/%d of %d\t%d\t%d\t%d\t%d\n", r.RunID, r.Job, r.Status,
						r.StartedAt.UTC().Format(time.RFC3339), runDuration(r), r.UnitsDone, r.UnitsSkipped, r.UnitsFailed, r.UnitsTotal,
						r.RowsInserted, r.RowsUpdated, r.RowsDeduplicated, r.RowsQuarantined)
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().StringVar(&format, "format", "table", "output format: table or json")
	list.Flags().StringVar(&job, "job", "", "only runs of this job")
	list.Flags().Int64Var(&limit, "limit", 20, "how many runs")

	var showFormat string
	show := &cobra.Command{
		Use:     "show RUN_ID",
		Short:   "Show one run with its parameters and units",
		Example: "  hdi runs show 1\n  hdi runs show 1 --format json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(showFormat); err != nil {
				return err
			}
			id, err := parseRunID(args[0])
			if err != nil {
				return err
			}
			return app.withPool(cmd.Context(), func(ctx context.Context, pool *pgxpool.Pool) error {
				q := dbq.New(pool)
				run, err := q.GetRun(ctx, id)
				if errors.Is(err, pgx.ErrNoRows) {
					return fmt.Errorf("no run %d: see `hdi runs list`", id)
				}
				if err != nil {
					return fmt.Errorf("show run %d: %w", id, err)
				}
				if run.Queue != nil {
					return app.showQueuedRun(ctx, pool, run, showFormat)
				}
				if run.Kind == "live" && run.LiveStream != nil {
					return app.showLiveRun(ctx, pool, run, showFormat)
				}
				units, err := q.Units(ctx, id)
				if err != nil {
					return fmt.Errorf("units of run %d: %w", id, err)
				}
				if showFormat == "json" {
					return writeJSON(app, map[string]any{"run": run, "units": units})
				}
				app.writeRunHeader(run, nil)
				if err := app.writeCheckpoints(ctx, q, id); err != nil {
					return err
				}
				tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "UNIT\tTABLE\tSTATUS\tINSERTED\tUPDATED\tUNCHANGED\tDEDUPED\tQUARANTINED\tWARNED\tERROR")
				for _, u := range units {
					msg := ""
					if u.Error != nil {
						msg = *u.Error
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", u.UnitKey, u.TargetTable, u.Status,
						u.RowsInserted, u.RowsUpdated, u.RowsUnchanged, u.RowsDeduplicated, u.RowsQuarantined, u.RowsWarned, msg)
				}
				return tw.Flush()
			})
		},
	}
	show.Flags().StringVar(&showFormat, "format", "table", "output format: table or json")
	cmd.AddCommand(list, show, newRunsWaitCmd(app), newRunsCancelCmd(app))
	return cmd
}

// writeRunHeader prints a run's fields; p, for a queued run, adds where
// its units are.
func (a *App) writeRunHeader(run dbq.Run, p *queue.Progress) {
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "run\t%d\njob\t%s\nstatus\t%s\nstarted\t%s\nduration\t%s\n", run.RunID, run.Job, run.Status, run.StartedAt.UTC().Format(time.RFC3339), runDuration(run))
	if p != nil {
		fmt.Fprintf(tw, "queue\t%s: %s\n", *run.Queue, progressLine(p))
	}
	fmt.Fprintf(tw, "units\t%d done, %d skipped, %d failed, of %d\n", run.UnitsDone, run.UnitsSkipped, run.UnitsFailed, run.UnitsTotal)
	fmt.Fprintf(tw, "rows\t%d inserted, %d updated, %d unchanged, %d deduplicated, %d quarantined, %d warned\n",
		run.RowsInserted, run.RowsUpdated, run.RowsUnchanged, run.RowsDeduplicated, run.RowsQuarantined, run.RowsWarned)
	if run.Error != nil {
		fmt.Fprintf(tw, "error\t%s\n", *run.Error)
	}
	tw.Flush()
	// The job and what it resolved to, indented (one key a line).
	var params bytes.Buffer
	if err := json.Indent(&params, run.Parameters, "  ", "  "); err != nil {
		params.Reset()
		params.Write(run.Parameters)
	}
	fmt.Fprintf(a.Stdout, "parameters:\n  %s\n\n", params.Bytes())
}

// writeCheckpoints lists what providers last said of the run's units
// while fetching them (a batch job's state, its downloads), if anything.
func (a *App) writeCheckpoints(ctx context.Context, q *dbq.Queries, runID int64) error {
	cps, err := q.RunCheckpoints(ctx, &runID)
	if err != nil || len(cps) == 0 {
		return err
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UNIT\tPROVIDER SAYS\tAT")
	for _, c := range cps {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.UnitKey, c.Note, c.UpdatedAt.UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(a.Stdout)
	return nil
}

// progressLine says where a queued run's units are.
func progressLine(p *queue.Progress) string {
	return fmt.Sprintf("%d done, %d running, %d queued, %d retrying, %d failed, %d cancelled, of %d",
		p.Done, p.Running, p.Queued, p.Retrying, p.Failed, p.Cancelled, p.Units)
}

// showQueuedRun prints a queued run with the state of each unit: queued,
// running (on which worker), retrying (which attempt, the last error),
// done, skipped (loaded by another run), failed or cancelled.
func (a *App) showQueuedRun(ctx context.Context, pool *pgxpool.Pool, run dbq.Run, format string) error {
	p, err := queue.RunProgress(ctx, pool, run.RunID)
	if err != nil {
		return err
	}
	units, err := queue.Units(ctx, pool, run.RunID)
	if err != nil {
		return fmt.Errorf("units of run %d: %w", run.RunID, err)
	}
	if format == "json" {
		return writeJSON(a, map[string]any{"run": run, "progress": p, "units": units})
	}
	a.writeRunHeader(run, p)
	if err := a.writeCheckpoints(ctx, dbq.New(pool), run.RunID); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "UNIT\tTABLE\tSTATE\tWORKER\tATTEMPT\tINSERTED\tUPDATED\tDEDUPED\tQUARANTINED\tNOTE")
	for _, u := range units {
		note := u.Error
		switch {
		case u.State == queue.StateSkipped:
			note = fmt.Sprintf("loaded by run %d", u.LoadedBy)
		case u.State == queue.StateRetrying && u.NextAttempt != nil:
			note = fmt.Sprintf("next attempt %s; last error: %s", u.NextAttempt.UTC().Format(time.RFC3339), u.Error)
		}
		var l dbq.RunUnitJobsRow
		if u.State == queue.StateDone {
			l = *u.Ledger
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%d\t%d\t%d\t%d\t%s\n", u.Key, u.Table, u.State, dash(u.Worker), u.Attempt, u.MaxAttempts,
			deref(l.RowsInserted), deref(l.RowsUpdated), deref(l.RowsDeduplicated), deref(l.RowsQuarantined), oneLine(note))
	}
	return tw.Flush()
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}

// errWaitTimeout ends `runs wait` that gave up (exit 124, as timeout(1)).
var errWaitTimeout = exitCodeError{code: 124}

func newRunsWaitCmd(app *App) *cobra.Command {
	var (
		timeout time.Duration
		format  string
	)
	cmd := &cobra.Command{
		Use:   "wait RUN_ID",
		Short: "Wait for a run to finish: exit 0 when every unit is done, 1 when any failed",
		Long: `Wait until every unit of the run has ended, printing its progress on
stderr, then say how it ended: exit 0 when every unit was loaded (or was
loaded already), 1 when any failed or the run was cancelled or interrupted.
With --timeout, a run still going after it exits 124 and says how far it got
(the run goes on).`,
		Example: "  hdi runs wait 1\n  hdi runs wait 1 --timeout 10m --format json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			id, err := parseRunID(args[0])
			if err != nil {
				return err
			}
			return app.withPool(cmd.Context(), func(ctx context.Context, pool *pgxpool.Pool) error {
				return app.waitRun(ctx, pool, id, timeout, format)
			})
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 0, "give up after this long (exit 124); 0 waits for ever")
	cmd.Flags().StringVar(&format, "format", "table", "the run's end on stdout: table (nothing) or json")
	return cmd
}

// waitRun polls the run until it ends.
func (a *App) waitRun(ctx context.Context, pool *pgxpool.Pool, id int64, timeout time.Duration, format string) error {
	start := time.Now()
	last := ""
	for {
		p, finished, err := queue.Finish(ctx, pool, id)
		if err != nil {
			return err
		}
		run, err := dbq.New(pool).GetRun(ctx, id)
		if err != nil {
			return err
		}
		if line := progressLine(p); run.Queue != nil && line != last {
			a.Logger.Info("run "+strconv.FormatInt(id, 10), "status", run.Status, "units", line)
			last = line
		}
		if finished {
			if format == "json" {
				if err := writeJSON(a, map[string]any{"run": run, "progress": p}); err != nil {
					return err
				}
			}
			fmt.Fprintf(a.Stderr, "run %d %s: %d done, %d skipped, %d failed, of %d units; %d rows inserted, %d updated, %d quarantined\n",
				id, run.Status, run.UnitsDone, run.UnitsSkipped, run.UnitsFailed, run.UnitsTotal, run.RowsInserted, run.RowsUpdated, run.RowsQuarantined)
			if run.Status != "succeeded" {
				if run.Error != nil {
					fmt.Fprintf(a.Stderr, "%s\n", *run.Error)
				}
				return errSilentFailure
			}
			return nil
		}
		if timeout > 0 && time.Since(start) >= timeout {
			msg := fmt.Sprintf("run %d is still %s after %s", id, run.Status, timeout)
			if run.Queue != nil {
				msg += ": " + progressLine(p) + "; are workers running? (`hdi status` lists them)"
			}
			return errWaitTimeout.with(msg)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func newRunsCancelCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel RUN_ID",
		Short: "Cancel a queued run: its units not started are dropped, those under way roll back",
		Long: `Cancel a run queued with 'hdi ingest --queue': units still queued are dropped,
units a worker is loading are stopped and roll back (nothing half-done is
committed), and units already loaded stay loaded. A run loaded by one
'hdi ingest' process is stopped with Ctrl-C instead.`,
		Example: `  RUN=$(hdi ingest --job es-nq-trades --start 2024-01-15 --end 2024-01-15 --queue) && hdi runs cancel "$RUN"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseRunID(args[0])
			if err != nil {
				return err
			}
			return app.withPool(cmd.Context(), func(ctx context.Context, pool *pgxpool.Pool) error {
				n, err := queue.Cancel(ctx, pool, id)
				if err != nil {
					return err
				}
				fmt.Fprintf(app.Stderr, "run %d cancelled: %d units stopped; `hdi runs show %d` lists them\n", id, n, id)
				return nil
			})
		},
	}
}

func runDuration(r dbq.Run) string {
	if r.FinishedAt == nil {
		return "running"
	}
	return r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
}

// parseRunID reads a RUN_ID argument.
func parseRunID(arg string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil {
		return 0, usageErrorf("RUN_ID must be a number, not %q", arg)
	}
	return id, nil
}

func checkFormat(f string) error {
	if f != "table" && f != "json" {
		return usageErrorf("--format must be table or json, not %q", f)
	}
	return nil
}

func writeJSON(app *App, v any) error {
	enc := json.NewEncoder(app.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// withPool connects to a migrated database and runs fn.
func (a *App) withPool(ctx context.Context, fn func(context.Context, *pgxpool.Pool) error) error {
	pool, err := a.openSchemaPool(ctx, false, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	return fn(ctx, pool)
}

// showLiveRun prints one session of a live stream, with the stream's state
// now: when the session is the stream's current one, that is where it is.
func (a *App) showLiveRun(ctx context.Context, pool *pgxpool.Pool, run dbq.Run, format string) error {
	all, err := status.Streams(ctx, pool)
	if err != nil {
		return err
	}
	var st *dbq.LiveStreamsRow
	for i := range all {
		if all[i].Name == *run.LiveStream {
			st = &all[i]
		}
	}
	positions, err := dbq.New(pool).LivePositions(ctx, *run.LiveStream)
	if err != nil {
		return fmt.Errorf("positions of stream %s: %w", *run.LiveStream, err)
	}
	if format == "json" {
		return writeJSON(a, map[string]any{"run": run, "stream": st, "positions": positions})
	}
	a.writeRunHeader(run, nil)
	if st != nil {
		fmt.Fprintf(a.Stdout, "stream  %s\n\n", status.StreamLine(*st))
	}
	tw := tabwriter.NewWriter(a.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEMA\tTABLE\tLAST RECORD\tSEQUENCE\tSOURCE CLOCK\tCOMMITTED\tROWS")
	for _, p := range positions {
		src := "-"
		if p.SourceTs != nil {
			src = p.SourceTs.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", p.Stream, p.TargetTable, time.Unix(0, p.TsNs).UTC().Format(time.RFC3339Nano),
			p.Sequence, src, p.CommittedAt.UTC().Format(time.RFC3339), p.RowsTotal)
	}
	return tw.Flush()
}
