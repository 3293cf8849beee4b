package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// TestAPIEverySchema fetches every schema from the fake API.
func TestAPIEverySchema(t *testing.T) {
	b := setup(t)
	for _, s := range dbn.Schemas() {
		t.Run(s.String(), func(t *testing.T) {
			job := b.apiJob(s.String(), "ESH4")
			job.Params = map[string]string{"chunk": "1d"}
			plan, col, err := b.run(t, job, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Units) != 3 {
				t.Fatalf("units = %d, want 3 (one per day)", len(plan.Units))
			}
			if got := col.Rows[s.String()]; got != 30 {
				t.Errorf("rows = %d, want 30 (10 a day for 3 days)", got)
			}
			rec := col.Batches[s.String()][0]
			ids := rec.Column(rec.Schema().FieldIndices("instrument_id")[0]).(*array.Uint32)
			if ids.Value(0) != 1001 {
				t.Errorf("instrument_id = %d", ids.Value(0))
			}
			if len(col.Maps) == 0 || col.Maps[0].InSymbol != "ESH4" || col.Maps[0].OutSymbol != "1001" {
				t.Errorf("mappings = %+v", col.Maps)
			}
		})
	}
	for _, r := range b.srv.RequestsTo("timeseries.get_range") {
		if !r.HasAuth || r.User != b.srv.Key || r.Password != "" || r.Method != "POST" {
			t.Fatalf("request auth: %+v", r)
		}
		if r.Form.Get("encoding") != "dbn" || r.Form.Get("compression") != "zstd" {
			t.Fatalf("form = %v", r.Form)
		}
	}
	b.noKey(t, nil)
}

// TestContinuousRoll: ES.c.0 resolves to ESH4 then ESM4, with mappings.
func TestContinuousRoll(t *testing.T) {
	b := setup(t)
	job := b.apiJob("trades", "ES.c.0")
	job.StypeIn = "continuous"
	job.Params = map[string]string{"chunk": "none"}
	_, col, err := b.run(t, job, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range col.Maps {
		if m.StypeIn != "continuous" || m.InSymbol != "ES.c.0" {
			t.Errorf("mapping %+v", m)
		}
		got[m.StartDate+"/"+m.EndDate] = m.OutSymbol
	}
	if got["2024-01-02/2024-01-03"] != "1001" || got["2024-01-03/2024-01-05"] != "1002" {
		t.Errorf("mappings = %v", got)
	}
	if col.Rows["trades"] != 30 {
		t.Errorf("rows = %d", col.Rows["trades"])
	}
}

func TestRetries(t *testing.T) {
	b := setup(t)
	b.srv.Inject(
		dbfake.Fault{Endpoint: "timeseries.get_range", Status: 429, RetryAfter: "0"},
		dbfake.Fault{Endpoint: "timeseries.get_range", Status: 500},
		dbfake.Fault{Endpoint: "timeseries.get_range", CutAfter: 0.5},
	)
	job := b.apiJob("trades", "ESH4", "ESM4", "AAPL")
	job.Params = map[string]string{"chunk": "none"}
	_, col, err := b.run(t, job, 0)
	if err != nil {
		t.Fatal(err)
	}
	if col.Rows["trades"] != 90 {
		t.Errorf("rows = %d, want 90", col.Rows["trades"])
	}
	if n := len(b.srv.RequestsTo("timeseries.get_range")); n != 4 {
		t.Errorf("get_range requests = %d, want 4 (429, 500, cut, ok)", n)
	}
	if len(col.Maps) != 3 {
		t.Errorf("mappings sent %d times, want once per symbol (3)", len(col.Maps))
	}
}

// TestDryRunEstimatesGiveUpFast: a plan that is only shown tries the
// estimates once: an API that answers 503 gets no retry, and once a
// request has failed the other units' give up without one (at most the 4
// requests in flight at once), an unreachable one costs one warning naming
// its host, and neither fails the plan nor promises a retry.
func TestDryRunEstimatesGiveUpFast(t *testing.T) {
	b := setup(t)
	b.srv.Inject(dbfake.Fault{Endpoint: "metadata.get_record_count", Status: 503, Count: 100})
	job := b.apiJob("trades", "ESH4")
	job.End = day("2024-01-12") // 10 units of a day
	job.DryRun = true
	plan, err := b.p.Plan(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Units) != 10 || plan.Units[0].EstimatedRows != nil {
		t.Fatalf("units %d, estimates %v: want 10 without estimates", len(plan.Units), plan.Units[0].EstimatedRows)
	}
	if n := len(b.srv.RequestsTo("metadata.get_record_count")); n > 4 {
		t.Errorf("a dry run sent %d get_record_count requests to a failing API, want at most the 4 in flight at once", n)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	job.Config["base_url"] = "http://" + closed
	plan, err = b.p.Plan(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(plan.Warnings, "\n")
	if len(plan.Warnings) != 1 || !strings.Contains(w, "no answer from "+closed+" after 1 attempt") || strings.Contains(w, "retried") {
		t.Errorf("warnings %q: want one naming %s, with no promise of a retry", plan.Warnings, closed)
	}
}

// TestCutStreamResumes: a stream cut after batches went to the host is
// resumed within Fetch from the last record's index timestamp, twice here;
// the records of that very timestamp come again (the host's unique key
// drops them), none is missing, and the host is told.
func TestCutStreamResumes(t *testing.T) {
	b := setup(t, dbfake.Generate(dbfake.GenOptions{PerDay: 5000, Days: 1, Schemas: []dbn.Schema{dbn.SchemaTrades}}))
	job := b.apiJob("trades", "ALL_SYMBOLS")
	job.End = day("2024-01-03")
	_, whole, err := b.run(t, job, 1000)
	if err != nil {
		t.Fatal(err)
	}
	want := whole.Rows["trades"]
	b.srv.Reset()
	b.srv.Inject(dbfake.Fault{Endpoint: "timeseries.get_range", CutAfter: 0.6, Count: 2})
	_, col, err := b.run(t, job, 1000)
	if err != nil {
		t.Fatal(err)
	}
	reqs := b.srv.RequestsTo("timeseries.get_range")
	if len(reqs) != 3 {
		t.Fatalf("requests = %d, want 3 (cut, cut, whole rest)", len(reqs))
	}
	// A resume never goes back; it moves on unless a cut came before the
	// decoder completed a zstd block of the resumed body (then it asks for
	// the same rest again). The last one starts past the unit's start.
	s0, s1, s2 := reqs[0].Form.Get("start"), reqs[1].Form.Get("start"), reqs[2].Form.Get("start")
	if s1 < s0 || s2 < s1 || s2 == s0 {
		t.Errorf("resumes start at %s, %s, %s: want each at or after the one before, the last past the first", s0, s1, s2)
	}
	if n := col.Rows["trades"]; n < want || n > want+20 {
		t.Errorf("rows = %d, want all %d and at most the boundary records again", n, want)
	}
	if !strings.Contains(strings.Join(col.Warnings, "\n"), "resuming from") {
		t.Errorf("no warning about the resume: %v", col.Warnings)
	}
	b.noKey(t, errors.New(strings.Join(col.Warnings, "\n")))
}

func TestRetriesExhausted(t *testing.T) {
	b := setup(t)
	b.srv.Inject(dbfake.Fault{Endpoint: "timeseries.get_range", Status: 503, Count: 10})
	job := b.apiJob("trades", "ESH4")
	job.Params = map[string]string{"chunk": "none"}
	_, _, err := b.run(t, job, 0)
	if k, _ := sdk.KindOf(err); err == nil || k != sdk.ErrorRetryable {
		t.Fatalf("err = %v (kind %v)", err, k)
	}
	if n := len(b.srv.RequestsTo("timeseries.get_range")); n != 4 {
		t.Errorf("requests = %d, want 4 (max_retries 3)", n)
	}
}

func TestNoRetry(t *testing.T) {
	for _, st := range []int{400, 401, 403, 422} {
		t.Run(fmt.Sprint(st), func(t *testing.T) {
			b := setup(t)
			detail := fmt.Sprintf("symbols: bad thing %d", st)
			b.srv.Inject(dbfake.Fault{Endpoint: "timeseries.get_range", Status: st, Detail: detail})
			job := b.apiJob("trades", "ESH4")
			job.Params = map[string]string{"chunk": "none"}
			_, _, err := b.run(t, job, 0)
			want := map[int]sdk.ErrorKind{400: sdk.ErrorPermanent, 401: sdk.ErrorAuth, 403: sdk.ErrorAuth, 422: sdk.ErrorPermanent}[st]
			if k, _ := sdk.KindOf(err); err == nil || !strings.Contains(err.Error(), detail) || k != want {
				t.Fatalf("err = %v (kind %v, want %v)", err, k, want)
			}
			if n := len(b.srv.RequestsTo("timeseries.get_range")); n != 1 {
				t.Errorf("requests = %d, want 1", n)
			}
			b.noKey(t, err)
		})
	}
}

// TestStructuredErrorDetail: the API's structured detail gives its message
// and a hint from its case, not from a word found in its payload.
func TestStructuredErrorDetail(t *testing.T) {
	b := setup(t)
	b.srv.Inject(dbfake.Fault{Endpoint: "timeseries.get_range", Status: 422, Case: "data_start_before_available_start",
		Detail: "`start` was before the available start of dataset GLBX.MDP3."})
	job := b.apiJob("trades", "ESH4")
	job.Params = map[string]string{"chunk": "none"}
	_, _, err := b.run(t, job, 0)
	if err == nil || !strings.Contains(err.Error(), "`start` was before the available start of dataset GLBX.MDP3.") ||
		!strings.Contains(err.Error(), "fix the start parameter") || strings.Contains(err.Error(), `"case"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestWrongKey(t *testing.T) {
	b := setup(t)
	job := b.apiJob("trades", "ESH4")
	job.Config["api_key"] = "db-WRONGwrongWRONGwrongWRONGwron"
	_, err := b.p.Plan(context.Background(), job)
	if err == nil || !strings.Contains(err.Error(), dbfake.UnauthorizedDetail) || !strings.Contains(err.Error(), "API key") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "WRONGwrong") || strings.Contains(b.logs.String(), "WRONGwrong") {
		t.Errorf("key leaked: %v", err)
	}
	if k, _ := sdk.KindOf(err); k != sdk.ErrorAuth {
		t.Errorf("kind = %v, want auth", k)
	}
	// Check does no I/O: a job of local files needs no network.
	if _, err := b.p.Check(context.Background(), job.Config); err != nil {
		t.Errorf("Check: %v", err)
	}
	if len(b.srv.RequestsTo("metadata.list_datasets")) != 0 {
		t.Errorf("Check called the API")
	}
	d, _ := b.p.Describe(context.Background())
	if strings.Contains(fmt.Sprintf("%+v", d.Config), b.srv.Key) {
		t.Errorf("key in Describe")
	}
}

// TestSymbolSplit: more symbols than the per-request limit become groups.
func TestSymbolSplit(t *testing.T) {
	b := setup(t)
	syms := []string{"ESH4", "ESM4", "AAPL"}
	for i := range 2100 {
		syms = append(syms, fmt.Sprintf("X%04d", i))
	}
	job := b.apiJob("trades", syms...)
	job.Params = map[string]string{"chunk": "none"}
	plan, col, err := b.run(t, job, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Units) != 2 || len(plan.Units[0].Symbols) != 2000 || len(plan.Units[1].Symbols) != 103 {
		t.Fatalf("units: %d", len(plan.Units))
	}
	for _, r := range b.srv.RequestsTo("timeseries.get_range") {
		if n := len(strings.Split(r.Form.Get("symbols"), ",")); n > 2000 {
			t.Errorf("request with %d symbols", n)
		}
	}
	if col.Rows["trades"] != 90 {
		t.Errorf("rows = %d", col.Rows["trades"])
	}
}

func TestPlanning(t *testing.T) {
	b := setup(t)
	job := b.apiJob("trades", "ESH4", "AAPL")
	p1, err := b.p.Plan(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := b.p.Plan(context.Background(), b.apiJob("trades", "AAPL", "ESH4"))
	if len(p1.Units) != 3 {
		t.Fatalf("units = %d, want 3 days", len(p1.Units))
	}
	for i, u := range p1.Units {
		if u.Key != p2.Units[i].Key {
			t.Errorf("keys differ: %s / %s", u.Key, p2.Units[i].Key)
		}
		if !strings.HasPrefix(u.Key, "databento:GLBX.MDP3:trades:raw_symbol:s") || !strings.HasSuffix(u.Key, "T00:00:00Z") {
			t.Errorf("key %s", u.Key)
		}
		if u.EstimatedRows == nil || *u.EstimatedRows != 20 || u.EstimatedBytes == nil || *u.EstimatedBytes != 20*48 || u.EstimatedCostUSD == nil || *u.EstimatedCostUSD <= 0 {
			t.Errorf("estimates of %s: %v %v %v", u.Key, u.EstimatedRows, u.EstimatedBytes, u.EstimatedCostUSD)
		}
	}
	// Defaults per schema: ohlcv-1d is one unit a year.
	p3, err := b.p.Plan(context.Background(), b.apiJob("ohlcv-1d", "ESH4"))
	if err != nil || len(p3.Units) != 1 {
		t.Fatalf("ohlcv-1d: %v, %d units", err, len(p3.Units))
	}
	job = b.apiJob("trades", "ESH4")
	job.Chunking.Length, _ = timerange.ParseChunk("1w")
	p4, err := b.p.Plan(context.Background(), job)
	if err != nil || len(p4.Units) != 1 {
		t.Fatalf("week: %v", err)
	}
	if n := len(b.srv.RequestsTo("metadata.get_cost")); n == 0 {
		t.Errorf("no get_cost calls")
	}
}

func TestBadParameters(t *testing.T) {
	b := setup(t)
	cases := []struct {
		name  string
		mod   func(*sdk.Job)
		want  string
		field string
	}{
		{"lower dataset", func(j *sdk.Job) { j.Dataset = "glbx" }, `"glbx" is not a Databento dataset code`, "dataset"},
		{"underscore dataset", func(j *sdk.Job) { j.Dataset = "GLBX_MDP3" }, `"GLBX_MDP3" is not a Databento dataset code`, "dataset"},
		{"unknown schema", func(j *sdk.Job) { j.Stream = "trade" }, `"trade" is not a Databento schema`, "schema"},
		{"unknown stype", func(j *sdk.Job) { j.StypeIn = "ric" }, `"ric" is not a Databento symbology type`, "stype_in"},
		{"continuous as raw", func(j *sdk.Job) { j.Symbols = []string{"ES.c.0"} }, `"ES.c.0" is a continuous symbol: set stype_in to continuous`, "symbols[0]"},
		{"parent not parent", func(j *sdk.Job) { j.StypeIn, j.Symbols = "parent", []string{"ESH4"} }, `"ESH4" is not a parent symbol`, "symbols[0]"},
		{"no symbols", func(j *sdk.Job) { j.Symbols = nil }, "are required for the API source", "symbols"},
		{"end before start", func(j *sdk.Job) { j.End = j.Start - 1 }, "is not after the start", "end"},
		{"no range", func(j *sdk.Job) { j.Start, j.End = 0, 0 }, "is required for the API source", "start"},
		{"bad chunk", func(j *sdk.Job) { j.Params = map[string]string{"chunk": "fortnight"} }, `"fortnight": want 1d`, "params.chunk"},
		{"unknown param", func(j *sdk.Job) { j.Params = map[string]string{"colour": "red"} }, `unknown parameter "colour"`, "params.colour"},
		{"bad param value", func(j *sdk.Job) { j.Params = map[string]string{"source": "ftp"} }, `"ftp": want one of api, files`, "params.source"},
		{"bad timeout", func(j *sdk.Job) { j.Config["timeout"] = "soon" }, `"soon": want a duration`, "config.timeout"},
		{"no key", func(j *sdk.Job) { delete(j.Config, "api_key") }, "no Databento API key", "config.api_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b.srv.Reset()
			job := b.apiJob("trades", "ESH4")
			c.mod(job)
			_, err := b.p.Plan(context.Background(), job)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if f := sdk.FieldOf(err); f != c.field {
				t.Errorf("field %q, want %q", f, c.field)
			}
			if n := len(b.srv.Requests()); n != 0 {
				t.Errorf("%d requests made before the error", n)
			}
		})
	}
}

// TestLargeUnitsSplitForParallelism: a one-day job of over a million
// trades would plan one unit, one COPY stream; with parallelism 4 and no
// chunk chosen it plans four contiguous pieces of the day, with the
// estimates shared out and the rows all fetched once.
func TestLargeUnitsSplitForParallelism(t *testing.T) {
	b := setup(t, dbfake.Generate(dbfake.GenOptions{PerDay: 400_000, Days: 1, Schemas: []dbn.Schema{dbn.SchemaTrades}}))
	job := b.apiJob("trades", "ALL_SYMBOLS")
	job.End = day("2024-01-03")
	job.Parallelism = 4
	plan, col, err := b.run(t, job, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Units) != 4 {
		t.Fatalf("%d units, want 4", len(plan.Units))
	}
	var rows int64
	keys := map[string]bool{}
	for i, u := range plan.Units {
		keys[u.Key] = true
		rows += *u.EstimatedRows
		if i > 0 && u.Start != plan.Units[i-1].End {
			t.Errorf("unit %d starts at %d, the previous ends at %d", i, u.Start, plan.Units[i-1].End)
		}
	}
	if plan.Units[0].Start != day("2024-01-02") || plan.Units[3].End != day("2024-01-03") || len(keys) != 4 {
		t.Errorf("units do not tile the day with distinct keys: %+v", plan.Units)
	}
	if col.Rows["trades"] != rows || rows < minSplitRowsForTest {
		t.Errorf("fetched %d rows, estimated %d", col.Rows["trades"], rows)
	}
	if !strings.Contains(strings.Join(plan.Warnings, "\n"), "split by time into 4") {
		t.Errorf("warnings: %v", plan.Warnings)
	}
	// A chosen chunk is kept as it is.
	job.Params = map[string]string{"chunk": "1d"}
	if plan, err := b.p.Plan(context.Background(), job); err != nil || len(plan.Units) != 1 {
		t.Errorf("with chunk 1d: %v units, %v", len(plan.Units), err)
	}
}

const minSplitRowsForTest = 1_000_000

// batchJob is a one-day trades job by batch delivery, downloading into a
// directory of the test's.
func (b *bundle) batchJob(t *testing.T) *sdk.Job {
	job := b.apiJob("trades", "ALL_SYMBOLS")
	job.End = day("2024-01-03")
	job.Config["download_dir"] = t.TempDir()
	job.Config["poll_interval"] = "1ms"
	job.Params = map[string]string{"delivery": "batch"}
	return job
}

// fetchAll fetches every unit of plan with the checkpoint given (nil:
// none), like the host does, into a new collector.
func (b *bundle) fetchAll(t *testing.T, job *sdk.Job, plan *sdk.Plan, checkpoint []byte) (*sdk.Collector, error) {
	t.Helper()
	col := &sdk.Collector{}
	t.Cleanup(col.Release)
	for _, u := range plan.Units {
		if err := b.p.Fetch(context.Background(), &sdk.FetchRequest{Job: job, Unit: u, Checkpoint: checkpoint}, col); err != nil {
			return col, err
		}
	}
	return col, nil
}

// TestBatchDeliveryThroughFaults: a unit by batch job, through a 429 while
// polling, an expired job, a cut download and a corrupted one, loads the
// same rows as the stream; the checkpoint then holds the job and its
// verified files, and a fetch with it submits nothing and downloads nothing.
func TestBatchDeliveryThroughFaults(t *testing.T) {
	b := setup(t, dbfake.Generate(dbfake.GenOptions{PerDay: 3000, Days: 1, Schemas: []dbn.Schema{dbn.SchemaTrades}}))
	stream := b.apiJob("trades", "ALL_SYMBOLS")
	stream.End = day("2024-01-03")
	_, whole, err := b.run(t, stream, 0)
	if err != nil {
		t.Fatal(err)
	}
	job := b.batchJob(t)
	plan, err := b.p.Plan(context.Background(), job)
	if err != nil || len(plan.Units) != 1 || !strings.Contains(plan.Units[0].Note, "batch delivery") {
		t.Fatalf("plan: %+v %v", plan, err)
	}
	b.srv.Reset()
	b.srv.Inject(
		dbfake.Fault{Endpoint: "batch.list_jobs", Status: 429, RetryAfter: "0"},
		dbfake.Fault{Endpoint: "batch.list_jobs", Expire: true},
		dbfake.Fault{Endpoint: "batch.download", CutAfter: 0.5},
		dbfake.Fault{Endpoint: "batch.download", Corrupt: true},
	)
	col, err := b.fetchAll(t, job, plan, nil)
	if err != nil {
		t.Fatalf("%v\nnotes: %v", err, col.Notes)
	}
	if col.Rows["trades"] != whole.Rows["trades"] {
		t.Fatalf("batch rows %d, stream rows %d", col.Rows["trades"], whole.Rows["trades"])
	}
	if n := len(b.srv.Jobs()); n != 2 {
		t.Fatalf("%d jobs submitted, want 2 (the first expired)", n)
	}
	if !strings.Contains(strings.Join(col.Warnings, "\n"), "has expired") {
		t.Errorf("no warning about the expired job: %v", col.Warnings)
	}
	var st struct {
		JobID string `json:"job_id"`
		Files []struct {
			Name     string
			Verified bool
		}
	}
	if err := json.Unmarshal(col.State, &st); err != nil || st.JobID != b.srv.Jobs()[1].ID || len(st.Files) != 5 {
		t.Fatalf("checkpoint %s: %v", col.State, err)
	}
	for _, f := range st.Files {
		if !f.Verified {
			t.Errorf("file %s not verified in the checkpoint", f.Name)
		}
	}
	downloads := len(b.srv.RequestsTo("batch.download"))
	again, err := b.fetchAll(t, job, plan, col.State)
	if err != nil || again.Rows["trades"] != whole.Rows["trades"] {
		t.Fatalf("fetch with the checkpoint: %d rows, %v", again.Rows["trades"], err)
	}
	if n := len(b.srv.Jobs()); n != 2 {
		t.Errorf("the checkpoint's job was submitted again: %d jobs", n)
	}
	if n := len(b.srv.RequestsTo("batch.download")); n != downloads {
		t.Errorf("verified files were downloaded again: %d requests, was %d", n, downloads)
	}
	b.noKey(t, errors.New(strings.Join(append(col.Warnings, col.Notes...), "\n")))
}

// TestDeliveryChoiceAndBadInput: auto chooses by the estimate and says
// why; an unknown delivery and an unwritable download_dir are one line
// each, naming the key.
func TestDeliveryChoiceAndBadInput(t *testing.T) {
	b := setup(t)
	job := b.apiJob("trades", "ESH4")
	job.Params = map[string]string{"chunk": "none", "batch_min_bytes": "1"}
	job.Config["download_dir"] = t.TempDir()
	plan, err := b.p.Plan(context.Background(), job)
	if err != nil || !strings.Contains(plan.Units[0].Note, "batch delivery:") || !strings.Contains(plan.Units[0].Note, "at least batch_min_bytes 1 B") {
		t.Fatalf("auto over the threshold: %+v %v", plan, err)
	}
	job.Params["batch_min_bytes"] = "1000000000000"
	if plan, err = b.p.Plan(context.Background(), job); err != nil || !strings.HasPrefix(plan.Units[0].Note, "stream:") {
		t.Fatalf("auto under the threshold: %+v %v", plan, err)
	}
	job.Params = map[string]string{"delivery": "bulk"}
	if _, err := b.p.Plan(context.Background(), job); err == nil || sdk.FieldOf(err) != "params.delivery" || !strings.Contains(err.Error(), "want one of auto, stream, batch") {
		t.Errorf("unknown delivery: %v (field %q)", err, sdk.FieldOf(err))
	}
	ro := filepath.Join(t.TempDir(), "ro")
	if err := os.MkdirAll(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	job.Params = map[string]string{"delivery": "batch"}
	job.Config["download_dir"] = filepath.Join(ro, "sub")
	if os.Geteuid() == 0 {
		job.Config["download_dir"] = "/proc/hdi-cannot-write-here" // root writes anywhere else
	}
	_, err = b.p.Plan(context.Background(), job)
	if k := sdk.FieldOf(err); err == nil || k != "config.download_dir" || !strings.Contains(err.Error(), "set download_dir to a writable directory") {
		t.Errorf("unwritable download_dir: %v (field %q)", err, k)
	}
}
