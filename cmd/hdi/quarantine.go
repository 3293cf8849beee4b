package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/ops"
	"github.com/hdi-dev/hdi/internal/output"
	"github.com/hdi-dev/hdi/internal/pluginhost"
)

func init() { addCommand(newQuarantineCmd) }

func newQuarantineCmd(app *App) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quarantine",
		Short: "Read, export and retry the rows validation rejected",
		Long: `Rows that fail an error-severity rule, and source records a provider could
not parse, are kept in the quarantine table with the full record, the rule and
the message. Nothing rejected is dropped.`,
		Example: "  hdi quarantine list\n  hdi quarantine list --run 1\n  hdi quarantine retry --run 1",
	}
	cmd.AddCommand(newQuarantineListCmd(app), newQuarantineShowCmd(app), newQuarantineExportCmd(app), newQuarantineRetryCmd(app))
	return cmd
}

func newQuarantineListCmd(app *App) *cobra.Command {
	var (
		run    int64
		unit   string
		limit  int64
		format string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Counts per table, rule and severity; with --run, the rows of that run",
		Example: `  hdi quarantine list
  hdi quarantine list --run 1 --limit 20
  hdi quarantine list --run 1 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			return app.withPool(cmd.Context(), func(ctx context.Context, pool *pgxpool.Pool) error {
				q := dbq.New(pool)
				if !cmd.Flags().Changed("run") {
					rows, err := q.QuarantineSummary(ctx, nil)
					if err != nil {
						return fmt.Errorf("quarantine summary: %w", err)
					}
					if format == "json" {
						return writeJSON(app, rows)
					}
					tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "TABLE\tRULE\tSEVERITY\tRECORDS\tFIRST\tLAST")
					for _, r := range rows {
						fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", r.TargetTable, r.Rule, r.Severity, r.Records, r.FirstAt.UTC().Format(time.RFC3339), r.LastAt.UTC().Format(time.RFC3339))
					}
					return tw.Flush()
				}
				var up *string
				if unit != "" {
					up = &unit
				}
				if err := requireRun(ctx, q, run); err != nil {
					return err
				}
				rows, err := q.Quarantine(ctx, dbq.QuarantineParams{RunID: run, UnitKey: up, RowLimit: &limit})
				if err != nil {
					return fmt.Errorf("quarantine of run %d: %w", run, err)
				}
				if format == "json" {
					return writeJSON(app, rows)
				}
				tw := tabwriter.NewWriter(app.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTABLE\tRULE\tMESSAGE\tRETRIED\tUNIT")
				for _, r := range rows {
					retried := ""
					if r.RetriedAt != nil {
						retried = r.RetriedAt.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.QuarantineID, r.TargetTable, r.Rule, truncate(r.Message, 80), retried, r.UnitKey)
				}
				return tw.Flush()
			})
		},
	}
	cmd.Flags().Int64Var(&run, "run", 0, "list the rows of this run")
	cmd.Flags().StringVar(&unit, "unit", "", "with --run: only this unit")
	cmd.Flags().Int64Var(&limit, "limit", 100, "with --run: at most this many rows")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	return cmd
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func newQuarantineShowCmd(app *App) *cobra.Command {
	return &cobra.Command{
		Use:     "show ID",
		Short:   "Show one quarantined row with its full source record (JSON)",
		Example: "  hdi quarantine show 1",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErrorf("ID must be a number, not %q", args[0])
			}
			return app.withPool(cmd.Context(), func(ctx context.Context, pool *pgxpool.Pool) error {
				row, err := dbq.New(pool).GetQuarantined(ctx, id)
				if errors.Is(err, pgx.ErrNoRows) {
					return fmt.Errorf("no quarantined row %d: see `hdi quarantine list --run RUN`", id)
				}
				if err != nil {
					return fmt.Errorf("quarantined row %d: %w", id, err)
				}
				return writeJSON(app, row)
			})
		},
	}
}

func newQuarantineExportCmd(app *App) *cobra.Command {
	var (
		run     int64
		outPath string
	)
	cmd := &cobra.Command{
		Use:   "export --run ID",
		Short: "Write a run's quarantined rows as NDJSON (one object per row, the full record included)",
		Example: `  hdi quarantine export --run 1 > rejected.ndjson
  hdi quarantine export --run 1 --output rejected.ndjson`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("run") {
				return usageErrorf("--run is required")
			}
			return app.withPool(cmd.Context(), func(ctx context.Context, pool *pgxpool.Pool) error {
				q := dbq.New(pool)
				if err := requireRun(ctx, q, run); err != nil {
					return err
				}
				rows, err := q.Quarantine(ctx, dbq.QuarantineParams{RunID: run})
				if err != nil {
					return fmt.Errorf("export quarantine of run %d: %w", run, err)
				}
				var w io.Writer = app.Stdout
				var file *output.AtomicFile
				if outPath != "" {
					if file, err = output.CreateAtomic(outPath); err != nil {
						return err
					}
					defer file.Abort()
					w = file
				}
				bw := bufio.NewWriter(w)
				enc := json.NewEncoder(bw)
				for _, r := range rows {
					if err := enc.Encode(r); err != nil {
						return err
					}
				}
				if err := bw.Flush(); err != nil {
					return err
				}
				if file != nil {
					if err := file.Commit(); err != nil {
						return err
					}
				}
				app.Logger.Info("exported quarantined rows", "run", run, "rows", len(rows))
				return nil
			})
		},
	}
	cmd.Flags().Int64Var(&run, "run", 0, "the run whose rows to export")
	cmd.Flags().StringVar(&outPath, "output", "", "write to this file instead of stdout")
	return cmd
}

func newQuarantineRetryCmd(app *App) *cobra.Command {
	var (
		run int64
		job string
	)
	cmd := &cobra.Command{
		Use:   "retry --run ID [--job NAME|FILE]",
		Short: "Re-validate a run's quarantined rows with the job's current rules and load those that pass",
		Long: `After fixing a job's rules (or the data behind a rule), retry re-validates the
run's quarantined records with the job as it is now, loads the ones that pass
into the job's table, and marks them retried; the rest stay in quarantine.
The job defaults to the run's job (a run of an ad-hoc ingest, which has no
job file, uses the job it recorded); give --job to use another file.
Records the provider could not parse (rule "source") cannot be rebuilt: fix
the source and run the job again with --force.`,
		Example: "  hdi quarantine retry --run 1\n  hdi quarantine retry --run 1 --job jobs/es-nq-trades.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("run") {
				return usageErrorf("--run is required")
			}
			return app.withPool(cmd.Context(), func(ctx context.Context, pool *pgxpool.Pool) error {
				host := pluginhost.New(app.pluginHostOptions())
				defer host.Close()
				res, err := app.opsEnv(pool, host).RetryQuarantine(ctx, run, job, func(name string) (*jobspec.Job, error) {
					return jobspec.FindWith(app.jobsDir(), name, app.jobOpts(false))
				}, ops.Flags)
				if res.Checked+res.Skipped > 0 || err == nil {
					fmt.Fprintf(app.Stderr, "retried %d quarantined rows of run %d: %d loaded, %d already present, %d still rejected, %d unparsed source records skipped\n",
						res.Checked, run, res.Loaded, res.Deduplicated, res.StillRejected, res.Skipped)
				}
				return err
			})
		},
	}
	cmd.Flags().Int64Var(&run, "run", 0, "the run whose quarantined rows to retry")
	cmd.Flags().StringVar(&job, "job", "", "job name or file whose rules and mapping to use (default: the run's job)")
	return cmd
}

// requireRun fails with a clear message when there is no such run.
func requireRun(ctx context.Context, q *dbq.Queries, run int64) error {
	_, err := q.GetRun(ctx, run)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("no run %d: see `hdi runs list`", run)
	}
	if err != nil {
		return fmt.Errorf("run %d: %w", run, err)
	}
	return nil
}
