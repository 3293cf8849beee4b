package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hdi-dev/hdi/internal/buildinfo"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/pluginhost"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/internal/worker"
)

func init() { addCommand(newWorkerCmd) }

func newWorkerCmd(app *App) *cobra.Command {
	var (
		queues      []string
		concurrency int
		rescueAfter time.Duration
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Load queued units (hdi ingest --queue) and queue scheduled jobs at their ticks, until stopped",
		Long: `A worker takes units queued by 'hdi ingest --queue' (and by schedules) from
the database and loads each on the same path as 'hdi ingest': the unit's rows
and its ledger row commit in one transaction. Run any number of workers, on
any number of machines: each needs the database URL, the provider plugins and
the providers' credentials (DATABENTO_API_KEY ...), and file jobs' files at
the same paths.

A worker is named host:pid and beats a heartbeat in the database. One that
stops answering for --rescue-after (config worker.rescue_after, default 30s)
is presumed dead: its units go back to the queue for another worker. A unit
that fails with a retryable error is tried again, 3 attempts in all.

The worker that is the queue's leader queues each job with a schedule: key
(see jobs/README.md) at its ticks, once however many workers run; a tick
whose previous run is still going is skipped.

SIGTERM or Ctrl-C stops taking work; the units under way roll back and go
back to the queue at once, and the worker exits 0.`,
		Example: `  hdi worker                                              # (until SIGTERM)
  hdi worker --concurrency 4 --queue default --queue mbo   # (until SIGTERM)
  hdi worker --rescue-after 1m                            # (until SIGTERM)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if concurrency < 1 || concurrency > jobspec.MaxConcurrency {
				return usageErrorf("--concurrency must be 1..%d, got %d", jobspec.MaxConcurrency, concurrency)
			}
			if !cmd.Flags().Changed("rescue-after") {
				rescueAfter = app.Config.WorkerRescueAfter
			}
			if rescueAfter < time.Second {
				return usageErrorf("--rescue-after must be at least 1s, got %s", rescueAfter)
			}
			for _, q := range queues {
				if !jobspec.ValidQueueName(q) {
					return usageErrorf("--queue %q is not a queue name: %s", q, jobspec.QueueNameHelp)
				}
			}
			return app.runWorker(cmd.Context(), queues, concurrency, rescueAfter)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&queues, "queue", nil, "queue to take units from (repeatable; default: default)")
	fl.IntVar(&concurrency, "concurrency", 2, "units loaded at once by this worker (1..64)")
	fl.DurationVar(&rescueAfter, "rescue-after", worker.DefaultRescueAfter, "a worker silent this long is presumed dead and its units go to another (config worker.rescue_after)")
	return cmd
}

func (a *App) runWorker(ctx context.Context, queues []string, concurrency int, rescueAfter time.Duration) error {
	pool, err := a.openSchemaPool(ctx, false, 2*concurrency+6)
	if err != nil {
		return err
	}
	defer pool.Close()
	host := pluginhost.New(a.pluginHostOptions())
	defer host.Close()

	ents, err := jobspec.List(a.jobsDir(), a.jobOpts(true))
	if err != nil {
		return err
	}
	var scheduled []*jobspec.Job
	for _, e := range ents {
		switch {
		case e.Err != nil:
			a.Logger.Warn("job not read: its schedule, if any, does not run", "file", e.File, "err", e.Err)
		case e.Job.Schedule != "":
			scheduled = append(scheduled, e.Job)
		}
	}
	w, err := worker.New(worker.Options{
		Pool: pool, Queues: queues, Concurrency: concurrency, RescueAfter: rescueAfter,
		NewRunner: func(o runner.Options) *runner.Runner { return a.newRunner(o.Pool, host, o) },
		Scheduled: scheduled, Version: buildinfo.Get().Version, Logger: a.Logger,
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return w.Run(ctx)
}
