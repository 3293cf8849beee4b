package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// TestPlanOverTheCapIsRefused: a provider that ignores max_units still
// gets its plan refused, in one line that proposes a chunk that fits.
func TestPlanOverTheCapIsRefused(t *testing.T) {
	t.Parallel()
	job := tickJob()
	job.MaxUnits = 4
	job.File = "ticks.yaml"
	_, err := newRunner(nil, newFake(5, 1), false).Plan(context.Background(), job)
	want := "ticks.yaml: chunking.time: the provider's default chunk length makes 5 units, more than max_units 4 allows: use chunking.time: 1w (1 units), or raise max_units"
	if err == nil || err.Error() != want {
		t.Fatalf("plan of 5 units with max_units 4:\n got %v\nwant %s", err, want)
	}
	job.MaxUnits = 5
	if _, err := newRunner(nil, newFake(5, 1), false).Plan(context.Background(), job); err != nil {
		t.Fatalf("5 units with max_units 5: %v", err)
	}
}

// TestUnitFromTheEpochKeepsItsRange: a unit that starts at 1970-01-01
// (start 0) loads with its range: the ledger records it.
func TestUnitFromTheEpochKeepsItsRange(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	fake := newFake(1, 10)
	fake.start = 0
	job := tickJob()
	job.Source.Start, job.Source.End = "1970-01-01", "1970-01-01"
	if _, err := run(t, newRunner(pool, fake, false), job); err != nil {
		t.Fatal(err)
	}
	if got := pgtest.Scalar[string](t, pool, `SELECT coalesce(range_start::text, 'NULL') || ' ' || coalesce(range_end::text, 'NULL') FROM units`); got != "1970-01-01 00:00:00+00 1970-01-02 00:00:00+00" {
		t.Errorf("the epoch's unit is recorded with the range %s", got)
	}
	if got := pgtest.Scalar[string](t, pool, `SELECT parameters->>'start_ns' || '..' || (parameters->>'end_ns') FROM runs`); got != "0..86400000000000" {
		t.Errorf("the run recorded its range as %s", got)
	}
}

// TestRunRecordsFilesAbsolute: a run records its job's files as absolute
// paths, so a worker or a retry in another directory reads the same files.
func TestRunRecordsFilesAbsolute(t *testing.T) {
	t.Parallel()
	pool := setup(t)
	job := tickJob()
	job.Source.Files = []string{"downloads/*.dbn.zst", "/data/x.dbn"}
	if _, err := run(t, newRunner(pool, newFake(1, 10), false), job); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	want := filepath.Join(wd, "downloads/*.dbn.zst") + " /data/x.dbn"
	params := pgtest.Scalar[[]byte](t, pool, `SELECT parameters FROM runs`)
	rec, err := runner.RecordedJob(params)
	if err != nil || strings.Join(rec.Source.Files, " ") != want {
		t.Errorf("recorded files %v (%v), want %s", rec.Source.Files, err, want)
	}
	if job.Source.Files[0] != "downloads/*.dbn.zst" {
		t.Error("recording changed the job's own files")
	}
}

// twoStreams is a provider whose units say which of its two streams they
// fill, as files of several schemas do.
type twoStreams struct{ *fakeProvider }

func (twoStreams) Describe(context.Context) (*sdk.Description, error) {
	return &sdk.Description{Name: "fake", Version: "1", Streams: []sdk.Stream{
		{Name: "ticks", Schema: ticksSchema, TimeField: "ts_recv"}, {Name: "ticks2", Schema: ticksSchema, TimeField: "ts_recv"}}}, nil
}

func (f twoStreams) Plan(ctx context.Context, j *sdk.Job) (*sdk.Plan, error) {
	p, err := f.fakeProvider.Plan(ctx, j)
	for i := range p.Units {
		p.Units[i].Stream = []string{"ticks", "ticks2"}[i%2]
	}
	return p, err
}

// TestRunsCarryTheJobsName: files that name their schemas load one run per
// schema, each named after the job as every run is, however many schemas.
func TestRunsCarryTheJobsName(t *testing.T) {
	t.Parallel()
	job := tickJob()
	job.Source.Schema = ""
	for _, days := range []int{1, 2} {
		plans, err := newRunner(nil, twoStreams{newFake(days, 1)}, false).PlanAll(context.Background(), job)
		if err != nil || len(plans) != days {
			t.Fatalf("%d days: %d plans, %v", days, len(plans), err)
		}
		for _, p := range plans {
			if p.Job.Name != job.Name || p.Job.Source.Schema != p.Stream.Name {
				t.Errorf("%d schemas: the %s run is named %s", days, p.Stream.Name, p.Job.Name)
			}
		}
	}
}
