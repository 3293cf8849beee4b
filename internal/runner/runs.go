package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hdi-dev/hdi/internal/config"
	"github.com/hdi-dev/hdi/internal/dbq"
	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// RunParameters is what a runs row records of a planned job: the source,
// the target, and the whole job (rules, mapping) so that a run of an
// ad-hoc job can be retried and a queued one loaded by any worker. Provider
// secrets are masked in provider_config and left out of the job: whoever
// loads the job again takes them from its own environment or config.
// units is how many units the run has (len(p.Units) for a run of p alone).
// Relative file paths are recorded absolute, resolved in the directory of
// the process that planned the run: a worker or a retry elsewhere reads
// the same files. start_ns and end_ns are null for a job without a range.
func RunParameters(p *Planned, units int) ([]byte, error) {
	cfg := map[string]string{}
	for k, v := range p.Job.Provider.Config {
		if isSecret(k, p.SecretKeys) {
			v = config.Mask(v)
		}
		cfg[k] = v
	}
	job := WithoutSecrets(p.Job, p.SecretKeys)
	files, err := absPaths(job.Source.Files)
	if err != nil {
		return nil, err
	}
	job.Source.Files = files
	var start, end *int64
	if _, ok := p.SDKJob.Range(); ok {
		start, end = &p.SDKJob.Start, &p.SDKJob.End
	}
	return json.Marshal(map[string]any{
		"job":             job,
		"provider":        p.Job.Provider.Name,
		"provider_config": cfg,
		"source":          job.Source,
		"start_ns":        start,
		"end_ns":          end,
		"table":           p.Table.Plain(),
		"mode":            p.Job.Target.Mode,
		"units":           units,
		"file":            p.Job.File,
	})
}

// absPaths resolves relative paths (and globs) in the working directory.
func absPaths(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("file %s: %w", p, err)
		}
		out = append(out, abs)
	}
	return out, nil
}

// WithoutSecrets is a copy of job without the provider config values that
// are secret: named so (api_key, token, password...) or among secretKeys
// (what the provider declares).
func WithoutSecrets(job *jobspec.Job, secretKeys []string) *jobspec.Job {
	c := *job
	c.Provider.Config = map[string]string{}
	for k, v := range job.Provider.Config {
		if !isSecret(k, secretKeys) {
			c.Provider.Config[k] = v
		}
	}
	return &c
}

// SecretKeys are the config keys the named provider declares secret, as
// its plans have them (Planned.SecretKeys): what WithoutSecrets needs to
// record a job that is not planned first (a scheduled job's ticks).
func (r *Runner) SecretKeys(ctx context.Context, provider string) ([]string, error) {
	prov, err := r.opts.Open(ctx, provider)
	if err != nil {
		return nil, err
	}
	desc, err := prov.Describe(ctx)
	if err != nil {
		return nil, err
	}
	return secretKeys(desc), nil
}

// secretKeys are the config keys desc declares secret.
func secretKeys(desc *sdk.Description) []string {
	var out []string
	for _, k := range desc.Config {
		if k.Secret {
			out = append(out, k.Name)
		}
	}
	return out
}

func isSecret(key string, declared []string) bool {
	return config.IsSecretKey(key) || slices.Contains(declared, key)
}

func startRun(ctx context.Context, pool *pgxpool.Pool, p *Planned) (int64, error) {
	params, err := RunParameters(p, len(p.Units))
	if err != nil {
		return 0, fmt.Errorf("record run: %w", err)
	}
	run, err := dbq.New(pool).CreateRun(ctx, dbq.CreateRunParams{Job: p.Job.Name, Parameters: params, LiveStream: p.liveStream()})
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

// RecordedJob is the job a run recorded in its parameters (without its
// provider secrets): what `quarantine retry` uses for a run whose job has
// no file, such as an ad-hoc ingest, and what workers load queued units of.
func RecordedJob(parameters []byte) (*jobspec.Job, error) {
	var rec struct {
		Job   *jobspec.Job `json:"job"`
		Units int64        `json:"units"`
	}
	if err := json.Unmarshal(parameters, &rec); err != nil {
		return nil, fmt.Errorf("read the run's recorded job: %w", err)
	}
	if rec.Job == nil {
		return nil, fmt.Errorf("the run recorded no job (it was made by an older hdi)")
	}
	if rec.Job.MaxUnits == 0 { // planned before max_units existed, without a cap
		rec.Job.MaxUnits = max(rec.Units, jobspec.DefaultMaxUnits)
	}
	return rec.Job, nil
}
