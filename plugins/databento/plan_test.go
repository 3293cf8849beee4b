package main

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// metadataCalls counts the requests to each estimate endpoint.
func (b *bundle) metadataCalls() map[string]int {
	n := map[string]int{}
	for _, e := range []string{"metadata.get_record_count", "metadata.get_billable_size", "metadata.get_cost"} {
		n[e] = len(b.srv.RequestsTo(e))
	}
	return n
}

// TestEstimatesTakeFewRequests: a plan asks the metadata endpoints about
// at most eight spans of consecutive units per symbol group, whatever its
// size (72 hourly units: 8 calls of each, not 72), and the estimates
// shared out to the units add up to what the whole range is estimated at.
// A plan of a few units is still estimated unit by unit.
func TestEstimatesTakeFewRequests(t *testing.T) {
	b := setup(t)
	whole, err := b.p.Plan(context.Background(), b.apiJob("trades", "ESH4"))
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, u := range whole.Units {
		want += *u.EstimatedRows
	}
	if got := b.metadataCalls(); got["metadata.get_cost"] != 3 || got["metadata.get_record_count"] != 3 || got["metadata.get_billable_size"] != 3 {
		t.Errorf("3 daily units: %v, want 3 calls of each", got)
	}
	b.srv.Reset()
	job := b.apiJob("trades", "ESH4")
	job.Chunking.Length, _ = timerange.ParseChunk("1h")
	plan, err := b.p.Plan(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Units) != 72 {
		t.Fatalf("%d units, want 72 hours", len(plan.Units))
	}
	if got := b.metadataCalls(); got["metadata.get_cost"] != 8 || got["metadata.get_record_count"] != 8 || got["metadata.get_billable_size"] != 8 {
		t.Errorf("72 hourly units: %v, want 8 calls of each", got)
	}
	var rows int64
	var cost float64
	for _, u := range plan.Units {
		if u.EstimatedRows == nil || u.EstimatedCostUSD == nil || u.EstimatedBytes == nil {
			t.Fatalf("unit %s has no estimate", u.Key)
		}
		rows += *u.EstimatedRows
		cost += *u.EstimatedCostUSD
	}
	if want == 0 || math.Abs(float64(rows-want)) > float64(len(plan.Units)) || cost <= 0 {
		t.Errorf("the hourly units are estimated at %d rows ($%f), the days at %d", rows, cost, want)
	}
}

// TestPlanRefusesTooManyUnitsFirst: decades in hourly units are refused
// with their count before any unit is built or any estimate asked for.
func TestPlanRefusesTooManyUnitsFirst(t *testing.T) {
	b := setup(t)
	job := b.apiJob("trades", "ESH4", "NQH4")
	job.Start, job.End = day("1971-01-01"), day("2026-12-02")
	job.Chunking.Length, _ = timerange.ParseChunk("1h")
	job.Chunking.SymbolsPerUnit = 1
	job.MaxUnits = 10_000
	_, err := b.p.Plan(context.Background(), job)
	var tm *sdk.TooManyUnits
	if !errors.As(err, &tm) || tm.Units != 2*490_176 || tm.UnitsPerChunk != 2 || tm.Chunk != job.Chunking.Length {
		t.Fatalf("plan: %v (%+v), want a refusal of 980352 units, 2 per chunk of 1h", err, tm)
	}
	if n := len(b.srv.Requests()); n != 0 {
		t.Errorf("%d API requests for a refused plan", n)
	}
	// Without a chunk: the default (a day) is what the refusal names.
	job.Chunking.Length = timerange.Chunk{}
	if _, err := b.p.Plan(context.Background(), job); !errors.As(err, &tm) || tm.Chunk.String() != "1d" || tm.Units != 2*20_424 {
		t.Errorf("default chunk: %v (%+v)", err, tm)
	}
	// The parallelism split stays within the cap.
	job = b.apiJob("trades", "ESH4")
	job.Parallelism, job.MaxUnits = 64, 3
	if plan, err := b.p.Plan(context.Background(), job); err != nil || len(plan.Units) > 3 {
		t.Errorf("cap 3 with parallelism 64: %v units, %v", len(plan.Units), err)
	}
}

// TestPlanFromTheEpoch: a range that starts at 1970-01-01 (start 0) is a
// range: planned, estimated and fetched like any other.
func TestPlanFromTheEpoch(t *testing.T) {
	b := setup(t)
	job := b.apiJob("trades", "ESH4")
	job.Start, job.End = 0, day("1970-01-03")
	plan, col, err := b.run(t, job, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Units) != 2 || plan.Units[0].Start != 0 || plan.Units[1].End != day("1970-01-03") {
		t.Fatalf("units %+v", plan.Units)
	}
	for _, r := range b.srv.RequestsTo("timeseries.get_range") {
		if r.Status != 200 {
			t.Errorf("get_range %v: %d", r.Form, r.Status)
		}
	}
	if first := b.srv.RequestsTo("timeseries.get_range"); len(first) == 0 || first[0].Form.Get("start") != "1970-01-01T00:00:00Z" {
		t.Errorf("the first unit was not asked for from the epoch: %v", first)
	}
	if col.Rows["trades"] != 0 {
		t.Errorf("%d rows in 1970", col.Rows["trades"])
	}
}

// TestSpanEstimatesHonourTheLimit: a limit caps each unit, so spans of
// several units are estimated without it and each unit's share is capped.
func TestSpanEstimatesHonourTheLimit(t *testing.T) {
	b := setup(t, dbfake.Generate(dbfake.GenOptions{PerDay: 2000, Schemas: []dbn.Schema{dbn.SchemaTrades}}))
	job := b.apiJob("trades", "ESH4")
	job.Chunking.Length, _ = timerange.ParseChunk("1h")
	job.Limit = 5
	plan, err := b.p.Plan(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	var most int64
	for _, u := range plan.Units {
		most = max(most, *u.EstimatedRows)
	}
	if most != 5 {
		t.Errorf("the largest unit estimate is %d rows, want the limit 5", most)
	}
	for _, r := range b.srv.RequestsTo("metadata.get_record_count") {
		if r.Form.Has("limit") {
			t.Errorf("a span of units was estimated with the limit: %v", r.Form)
		}
	}
}
