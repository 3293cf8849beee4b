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
	jobs, err := w.scheduled()
	if err != nil {
		return nil, err
	}
	out := make([]*river.PeriodicJob, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, river.NewPeriodicJob(j.sched, func() (river.JobArgs, *river.InsertOpts) {
			return queue.ScheduleArgs{Job: j.name, Tick: j.sched.Tick(time.Now()), Spec: j.spec},
				&river.InsertOpts{Queue: j.queue, UniqueOpts: river.UniqueOpts{ByArgs: true}}
		}, &river.PeriodicJobOpts{ID: "hdi-schedule-" + j.name}))
	}
	return out, nil
}

// scheduledJob is a scheduled job as its ticks are queued.
type scheduledJob struct {
	name  string
	sched *schedule.Schedule
	queue string
	spec  []byte // the job, without its provider secrets
}

// scheduled reads the scheduled jobs. The job in a tick's args goes
// without the provider config values that are secret, named so or declared
// so by the provider (as `hdi ingest --queue` records a run's job): the
// worker that plans the tick takes them from its own environment or
// config. A job whose provider cannot say which they are is not scheduled
// by this worker.
func (w *Worker) scheduled() ([]scheduledJob, error) {
	var out []scheduledJob
	secrets := map[string][]string{} // by provider
	for _, job := range w.opts.Scheduled {
		sched, err := schedule.Parse(job.Schedule, job.Timezone)
		if err != nil {
			return nil, fmt.Errorf("job %s: schedule: %w", job.Name, err)
		}
		keys, ok := secrets[job.Provider.Name]
		if !ok {
			if keys, err = w.providerSecrets(job.Provider.Name); err != nil {
				w.log.Warn("job not scheduled: its provider cannot say which of its config is secret", "job", job.Name, "provider", job.Provider.Name, "err", err)
				continue
			}
			secrets[job.Provider.Name] = keys
		}
		spec, err := json.Marshal(runner.WithoutSecrets(job, keys))
		if err != nil {
			return nil, err
		}
		out = append(out, scheduledJob{name: job.Name, sched: sched, queue: queue.JobQueue(job), spec: spec})
	}
	return out, nil
}

// providerSecrets are the config keys the named provider declares secret.
func (w *Worker) providerSecrets(provider string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return w.opts.NewRunner(runner.Options{Pool: w.opts.Pool}).SecretKeys(ctx, provider)
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
	case !q.Created:
		log.Info("scheduled run: nothing to load", "already_loaded", q.Loaded, "already_queued", q.Queued)
	default:
		log.Info("scheduled run queued", "run", q.RunID, "units", q.Units, "already_loaded", q.Loaded)
	}
	return nil
}
