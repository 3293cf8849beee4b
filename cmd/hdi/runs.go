package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/dbq"
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
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErrorf("RUN_ID must be a number, not %q", args[0])
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
				units, err := q.Units(ctx, id)
				if err != nil {
					return fmt.Errorf("units of run %d: %w", id, err)
				}
				if showFormat == "json" {
					return writeJSON(app, map[string]any{"run": run, "units": units})
				}
				tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintf(tw, "run\t%d\njob\t%s\nstatus\t%s\nstarted\t%s\nduration\t%s\n", run.RunID, run.Job, run.Status, run.StartedAt.UTC().Format(time.RFC3339), runDuration(run))
				fmt.Fprintf(tw, "units\t%d done, %d skipped, %d failed, of %d\n", run.UnitsDone, run.UnitsSkipped, run.UnitsFailed, run.UnitsTotal)
				fmt.Fprintf(tw, "rows\t%d inserted, %d updated, %d unchanged, %d deduplicated, %d quarantined, %d warned\n",
					run.RowsInserted, run.RowsUpdated, run.RowsUnchanged, run.RowsDeduplicated, run.RowsQuarantined, run.RowsWarned)
				if run.Error != nil {
					fmt.Fprintf(tw, "error\t%s\n", *run.Error)
				}
				fmt.Fprintf(tw, "parameters\t%s\n", run.Parameters)
				tw.Flush()
				fmt.Fprintln(app.Stdout)
				tw = tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
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
	cmd.AddCommand(list, show)
	return cmd
}

func runDuration(r dbq.Run) string {
	if r.FinishedAt == nil {
		return "running"
	}
	return r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
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
