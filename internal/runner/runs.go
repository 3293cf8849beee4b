package runner

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/config"
	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/jobspec"
)

// runParameters is what a runs row records of the job: the source, the
// target, and the whole job (rules, mapping) so that a run of an ad-hoc job
// can be retried; provider secrets masked.
func runParameters(p *Planned) ([]byte, error) {
	cfg := map[string]string{}
	for k, v := range p.Job.Provider.Config {
		if config.IsSecretKey(k) {
			v = config.Mask(v)
		}
		cfg[k] = v
	}
	job := *p.Job
	job.Provider.Config = cfg
	return json.Marshal(map[string]any{
		"job":             job,
		"provider":        p.Job.Provider.Name,
		"provider_config": cfg,
		"source":          p.Job.Source,
		"start_ns":        p.SDKJob.Start,
		"end_ns":          p.SDKJob.End,
		"table":           p.Table.Plain(),
		"mode":            p.Job.Target.Mode,
		"units":           len(p.Units),
		"file":            p.Job.File,
	})
}

func startRun(ctx context.Context, pool *pgxpool.Pool, p *Planned) (int64, error) {
	params, err := runParameters(p)
	if err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	run, err := dbq.New(pool).CreateRun(ctx, dbq.CreateRunParams{Job: p.Job.Name, Parameters: params})
	if err != nil {
		return 0, fmt.Errorf("record run (is the database migrated? run `hdi migrate up`): %w", err)
	}
	return run.RunID, nil
}

func finishRun(ctx context.Context, pool *pgxpool.Pool, s *Summary) error {
	var msg *string
	if err := s.Err(); err != nil {
		m := err.Error()
		msg = &m
	}
	return dbq.New(pool).FinishRun(ctx, dbq.FinishRunParams{
		RunID: s.RunID, Status: s.Status, Error: msg,
		UnitsTotal: int32(s.UnitsTotal), UnitsDone: int32(s.UnitsDone), UnitsSkipped: int32(s.UnitsSkipped), UnitsFailed: int32(s.UnitsFailed),
		RowsInserted: s.Rows.Inserted, RowsUpdated: s.Rows.Updated, RowsUnchanged: s.Rows.Unchanged,
		RowsDeduplicated: s.Rows.Deduplicated, RowsQuarantined: s.Rows.Quarantined, RowsWarned: s.Rows.Warned,
	})
}

// RecordedJob is the job a run recorded in its parameters (its provider
// secrets masked): what `quarantine retry` uses for a run whose job has no
// file, such as an ad-hoc ingest.
func RecordedJob(parameters []byte) (*jobspec.Job, error) {
	var rec struct {
		Job *jobspec.Job `json:"job"`
	}
	if err := json.Unmarshal(parameters, &rec); err != nil {
		return nil, fmt.Errorf("read the run's recorded job: %w", err)
	}
	if rec.Job == nil {
		return nil, fmt.Errorf("the run recorded no job (it was made by an older hdi)")
	}
	return rec.Job, nil
}
