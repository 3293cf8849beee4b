package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/mapping"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// samplePlans are two streams' plans: units with and without a range (one
// from the epoch), estimates known and unknown, long symbol lists, notes.
func samplePlans() []*runner.Planned {
	day := int64(24 * time.Hour)
	cost := 2.5
	a := &runner.Planned{Job: &jobspec.Job{Name: "adhoc-x", MaxCost: &cost}, Stream: sdk.Stream{Name: "trades"},
		Table: mapping.TableInfo{Table: "trades"}, Rows: 30, Bytes: 3000, CostUSD: 1.25, KnownRows: true, KnownCost: true,
		Warnings: []string{"a <warning> & more"}}
	for i := range int64(3) {
		a.Units = append(a.Units, sdk.Unit{Key: fmt.Sprintf("k:%d", i), Start: i * day, End: (i + 1) * day,
			Symbols:       []string{"ES.c.0", "NQ.c.0", "YM.c.0", "RTY.c.0", "CL.c.0"}[:2+i],
			EstimatedRows: sdk.Int64(10), EstimatedBytes: sdk.Int64(1000), EstimatedCostUSD: sdk.Float64(0.41), Note: "stream: 1 kB"})
	}
	b := &runner.Planned{Job: &jobspec.Job{Name: "adhoc-x"}, Stream: sdk.Stream{Name: "mbp-1"}, Table: mapping.TableInfo{Schema: "s", Table: "mbp_1"},
		Units: []sdk.Unit{{Key: "file:ü", Files: []string{"/x"}}}}
	return []*runner.Planned{a, b, {Job: &jobspec.Job{Name: "empty"}, Stream: sdk.Stream{Name: "ohlcv-1d"}}}
}

// TestDryRunPrintsWhatTabwriterAndEncoderWould: the streaming printer
// writes byte for byte what the whole-plan tabwriter table and JSON
// document did.
func TestDryRunPrintsWhatTabwriterAndEncoderWould(t *testing.T) {
	plans := samplePlans()
	var docs []planDoc
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	for i, p := range plans {
		d := planHeader(p)
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintln(tw, "UNIT\tSTART\tEND\tSYMBOLS\tEST ROWS\tEST BYTES\tEST COST\tNOTE")
		for k := range p.Units {
			r := planUnitRow(&p.Units[k])
			d.Units = append(d.Units, r)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Key, r.Start, r.End, symbolsShort(r.Symbols), optInt(r.Rows), optInt(r.Bytes), optCost(r.CostUSD), r.Note)
		}
		fmt.Fprintf(tw, "total: %d units of %s into %s\t\t\t\t%s\t%d\t%s\n", len(d.Units), d.Stream, d.Table, optInt(d.EstimatedRows), d.EstimatedBytes, optCost(d.EstimatedCostUSD))
		docs = append(docs, d)
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	var doc bytes.Buffer
	enc := json.NewEncoder(&doc)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"plans": docs}); err != nil {
		t.Fatal(err)
	}
	for format, want := range map[string]string{"table": table.String(), "json": doc.String()} {
		var got bytes.Buffer
		if err := writePlans(context.Background(), &got, plans, format); err != nil {
			t.Fatal(err)
		}
		if got.String() != want {
			t.Errorf("%s: got\n%s\nwant\n%s", format, got.String(), want)
		}
	}
	if !strings.Contains(table.String(), "1970-01-01T00:00:00Z  1970-01-02T00:00:00Z") {
		t.Errorf("the unit that starts at the epoch shows no range:\n%s", table.String())
	}
}

// TestDryRunPrinterStopsWhenCancelled: a cancelled context stops the
// printer before it writes a unit.
func TestDryRunPrinterStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, format := range []string{"table", "json"} {
		var out bytes.Buffer
		if err := writePlans(ctx, &out, samplePlans(), format); err != context.Canceled || strings.Contains(out.String(), "k:0") {
			t.Errorf("%s: %v, wrote %q", format, err, out.String())
		}
	}
}
