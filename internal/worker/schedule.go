package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/queue"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/internal/schedule"
)

// periodicJobs turns the scheduled jobs into River periodic jobs. River
// runs them on its leader only, so each tick is queued by one worker
// however many run; the tick in the job's args (and the run's unique tick)
// keeps a tick queued once across a change of leader.
func (w *Worker) periodicJobs() ([]*river.PeriodicJob, error) {
	var out []*river.PeriodicJob
	for _, job := range w.opts.Scheduled {
		sched, err := schedule.Parse(job.Schedule, job.Timezone)
		if err != nil {
			return nil, fmt.Errorf("job %s: schedule: %w", job.Name, err)
		}
		spec, err := json.Marshal(runner.WithoutSecrets(job, nil))
		if err != nil {
			return nil, err
		}
		q := job.Queue
		if q == "" {
			q = queue.DefaultQueue
		}
		name := job.Name
		out = append(out, river.NewPeriodicJob(sched, func() (river.JobArgs, *river.InsertOpts) {
			return queue.ScheduleArgs{Job: name, Tick: sched.Tick(time.Now()), Spec: spec},
				&river.InsertOpts{Queue: q, UniqueOpts: river.UniqueOpts{ByArgs: true}}
		}, &river.PeriodicJobOpts{ID: "hdi-schedule-" + name}))
	}
	return out, nil
}

// scheduleWorker plans a scheduled job for its tick and queues the run.
type scheduleWorker struct {
	river.WorkerDefaults[queue.ScheduleArgs]
	w *Worker
}

func (sw *scheduleWorker) Work(ctx context.Context, job *river.Job[queue.ScheduleArgs]) error {
	w, a := sw.w, job.Args
	log := w.log.With("job", a.Job, "tick", a.Tick.Format(time.RFC3339))
	var spec jobspec.Job
	if err := json.Unmarshal(a.Spec, &spec); err != nil {
		return river.JobCancel(fmt.Errorf("scheduled job %s: read its spec: %w", a.Job, err))
	}
	prev, err := dbq.New(w.opts.Pool).OpenRunOfJob(ctx, a.Job)
	switch {
	case err == nil:
		log.Warn("tick skipped: the job's previous run is still going", "previous_run", prev)
		return nil
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	}
	tick := a.Tick
	r := w.opts.NewRunner(runner.Options{Pool: w.opts.Pool, Now: func() time.Time { return tick }})
	plans, err := r.PlanAll(ctx, &spec)
	if err != nil {
		log.Error("scheduled run not queued: planning failed", "err", err)
		return err
	}
	for _, p := range plans {
		if err := p.CheckCost(); err != nil {
			log.Error("scheduled run not queued", "err", err)
			return river.JobCancel(err)
		}
	}
	q, err := queue.Enqueue(ctx, w.opts.Pool, &spec, plans, queue.Options{Tick: tick})
	if err != nil {
		return err
	}
	switch {
	case q.TickTaken:
		log.Info("tick already queued")
	case q.RunID == 0:
		log.Info("scheduled run: nothing to load", "already_loaded", q.Loaded, "already_queued", q.Queued)
	default:
		log.Info("scheduled run queued", "run", q.RunID, "units", q.Units, "already_loaded", q.Loaded)
	}
	return nil
}
