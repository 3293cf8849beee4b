package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/synth"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// TestSampleFiles loads every real Databento sample file through the file
// source and checks counts and values against the codec.
func TestSampleFiles(t *testing.T) {
	b := setup(t)
	paths, _ := filepath.Glob(filepath.Join(sharedDir(t), "*.dbn*"))
	if len(paths) < 10 {
		t.Fatalf("want the sample files, found %d", len(paths))
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			rd, err := dbn.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			meta := rd.Metadata()
			want := 0
			var firstTs uint64
			rtype, _ := meta.Schema.RType()
			for rd.Next() {
				if rd.RType() == rtype {
					if want == 0 {
						firstTs = rd.TsEvent()
					}
					want++
				}
			}
			_ = rd.Close()
			job := &sdk.Job{Files: []string{p}}
			plan, col, err := b.run(t, job, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Units) != 1 || plan.Units[0].Stream != meta.Schema.String() || !strings.HasPrefix(plan.Units[0].Key, "databento:file:") {
				t.Fatalf("plan = %+v", plan.Units)
			}
			stream := meta.Schema.String()
			if got := col.Rows[stream]; got != int64(want) {
				t.Errorf("rows on %s = %d, codec says %d", stream, got, want)
			}
			if want > 0 {
				rec := col.Batches[stream][0]
				idx := rec.Schema().FieldIndices("ts_event")[0]
				if got := rec.Column(idx).(*array.Int64).Value(0); uint64(got) != firstTs {
					t.Errorf("ts_event = %d, want %d", got, firstTs)
				}
				f, _ := rec.Schema().FieldsByName("ts_event")
				if k, _ := f[0].Metadata.GetValue("hdi.kind"); k != "ts" {
					t.Errorf("ts_event hdi.kind = %q", k)
				}
			}
			if len(meta.Mappings) > 0 && len(col.Maps) == 0 {
				t.Errorf("no symbol mappings arrived")
			}
			// The fetch reports how far through the file it is, in bytes.
			if want > 0 {
				st, _ := os.Stat(p)
				last := col.Progs[len(col.Progs)-1]
				if last.Unit != sdk.ProgressBytes || !last.HasTotal || last.Total != st.Size() || last.Done != st.Size() {
					t.Errorf("last progress %+v, want the file's %d bytes read", last, st.Size())
				}
			}
			for _, m := range col.Maps {
				if m.Dataset != meta.Dataset || m.StartDate >= m.EndDate || m.InSymbol == "" {
					t.Errorf("bad mapping %+v", m)
				}
			}
		})
	}
}

// TestSampleTradeValues checks decoded trade values against the typed codec.
func TestSampleTradeValues(t *testing.T) {
	b := setup(t)
	for _, v := range []string{"v1", "v2", "v3"} {
		p := filepath.Join(sharedDir(t), "test_data.trades."+v+".dbn.zst")
		rd, err := dbn.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var trades []dbn.TradeMsg
		for rd.Next() {
			var m dbn.TradeMsg
			if err := rd.DecodeInto(&m); err != nil {
				t.Fatal(err)
			}
			trades = append(trades, m)
		}
		_ = rd.Close()
		_, col, err := b.run(t, &sdk.Job{Files: []string{p}, Stream: "trades"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		rec := col.Batches["trades"][0]
		column := func(name string) any { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
		for i, tr := range trades {
			if got := column("price").(*array.Int64).Value(i); got != tr.Price {
				t.Errorf("%s row %d price = %d, want %d", v, i, got, tr.Price)
			}
			if got := column("size").(*array.Uint32).Value(i); got != tr.Size {
				t.Errorf("%s row %d size = %d, want %d", v, i, got, tr.Size)
			}
			if got := column("side").(*array.Uint8).Value(i); got != uint8(tr.Side) {
				t.Errorf("%s row %d side = %d, want %d", v, i, got, tr.Side)
			}
			if got := column("instrument_id").(*array.Uint32).Value(i); got != tr.InstrumentID {
				t.Errorf("%s row %d instrument_id = %d, want %d", v, i, got, tr.InstrumentID)
			}
			if !column("ts_out").(*array.Int64).IsNull(i) {
				t.Errorf("ts_out not null")
			}
		}
	}
}

func TestFileErrors(t *testing.T) {
	b := setup(t)
	dir := sharedDir(t)
	trades := filepath.Join(dir, "test_data.trades.v3.dbn.zst")
	cases := []struct {
		name string
		job  *sdk.Job
		want []string
	}{
		{"schema mismatch", &sdk.Job{Files: []string{trades}, Stream: "mbo"}, []string{"trades", "mbo", trades}},
		{"dataset mismatch", &sdk.Job{Files: []string{trades}, Dataset: "XNAS.ITCH"}, []string{"GLBX.MDP3", "XNAS.ITCH"}},
		{"missing", &sdk.Job{Files: []string{filepath.Join(dir, "nope.dbn")}}, []string{"nope.dbn"}},
		{"empty glob", &sdk.Job{Files: []string{filepath.Join(dir, "*.nothing")}}, []string{"matches no file"}},
		{"not dbn", &sdk.Job{Files: []string{filepath.Join(dir, "test_data.ohlcv-1s.json")}}, []string{"not a readable DBN file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := b.p.Plan(context.Background(), c.job)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// TestFileDirAndGlob: a directory and a glob expand to sorted, deduplicated
// units whose keys are stable.
func TestFileDirAndGlob(t *testing.T) {
	b := setup(t)
	dir := sharedDir(t)
	job := &sdk.Job{Files: []string{dir, filepath.Join(dir, "test_data.trades.*.dbn.zst")}, Stream: "trades"}
	_, err := b.p.Plan(context.Background(), job)
	if err == nil || !strings.Contains(err.Error(), "holds bbo-1s: give its schema") || sdk.FieldOf(err) != "schema" {
		t.Fatalf("a directory of mixed schemas with stream trades: err = %v", err)
	}
	job = &sdk.Job{Files: []string{filepath.Join(dir, "test_data.trades.*.dbn.zst")}}
	p1, err := b.p.Plan(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := b.p.Plan(context.Background(), job)
	if len(p1.Units) != 3 {
		t.Fatalf("units = %d", len(p1.Units))
	}
	for i := range p1.Units {
		if p1.Units[i].Key != p2.Units[i].Key {
			t.Errorf("key changed: %s vs %s", p1.Units[i].Key, p2.Units[i].Key)
		}
	}
}

// TestFileParts: a big file is planned as parts that split its records
// exactly, each part in file order and about the same size; only the first
// part carries the symbol mappings; a small file, a limit and replace stay
// one unit per file.
func TestFileParts(t *testing.T) {
	b := setup(t)
	const n = 200_000
	path := filepath.Join(t.TempDir(), "trades.dbn")
	if err := synth.WriteBench(path, dbn.SchemaTrades, n, false); err != nil {
		t.Fatal(err)
	}
	rd, err := dbn.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var all []uint64 // ts_event of every record, in file order (distinct in this file)
	for rd.Next() {
		all = append(all, rd.TsEvent())
	}
	_ = rd.Close()

	job := &sdk.Job{Files: []string{path}, Params: map[string]string{"parts": "3"}}
	ctx := context.Background()
	plan, err := b.p.Plan(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Units) != 3 {
		t.Fatalf("units = %d, want 3", len(plan.Units))
	}
	var union []uint64
	for k, u := range plan.Units {
		if suffix := fmt.Sprintf(":part=%d/3", k+1); !strings.HasSuffix(u.Key, suffix) {
			t.Errorf("unit %d key %s, want suffix %s", k, u.Key, suffix)
		}
		col := &sdk.Collector{}
		if err := b.p.Fetch(ctx, &sdk.FetchRequest{Job: job, Unit: u}, col); err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for _, rec := range col.Batches["trades"] {
			ts := rec.Column(rec.Schema().FieldIndices("ts_event")[0]).(*array.Int64)
			for i := 0; i < ts.Len(); i++ {
				got = append(got, uint64(ts.Value(i)))
			}
		}
		col.Release()
		if len(got) < n/4 || len(got) > n*5/12 {
			t.Errorf("part %d has %d of %d records: unbalanced", k+1, len(got), n)
		}
		if !isSubsequence(got, all) {
			t.Errorf("part %d: records out of file order, or not from the file", k+1)
		}
		union = append(union, got...)
		if (k == 0) != (len(col.Maps) > 0) {
			t.Errorf("part %d: %d symbol mappings (only the first part sends them)", k+1, len(col.Maps))
		}
	}
	slices.Sort(union)
	if !slices.Equal(union, slices.Sorted(slices.Values(all))) {
		t.Errorf("the parts hold %d records, not exactly the file's %d", len(union), len(all))
	}

	units := func(job *sdk.Job) *sdk.Plan {
		t.Helper()
		plan, err := b.p.Plan(ctx, job)
		if err != nil {
			t.Fatal(err)
		}
		return plan
	}
	if got := len(units(&sdk.Job{Files: []string{path}}).Units); got != 2 {
		t.Errorf("a %d-byte file: %d units, want 2 by default", fileSize(t, path), got)
	}
	small := filepath.Join(sharedDir(t), "test_data.trades.v3.dbn.zst")
	if got := len(units(&sdk.Job{Files: []string{small}}).Units); got != 1 {
		t.Errorf("a small file: %d units, want 1", got)
	}
	if got := len(units(&sdk.Job{Files: []string{path}, Limit: 10}).Units); got != 1 {
		t.Errorf("with a limit: %d units, want 1", got)
	}
	p := units(&sdk.Job{Files: []string{path}, Replace: true, Params: map[string]string{"parts": "3"}})
	if len(p.Units) != 1 || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "parts 3 not used") {
		t.Errorf("replace: %d units, warnings %q; want 1 unit and a warning", len(p.Units), p.Warnings)
	}
	for params, msg := range map[string]string{"0": "want a whole number from 1 to 64", "x": "want a whole number", "65": "from 1 to 64"} {
		_, err := b.p.Plan(ctx, &sdk.Job{Files: []string{path}, Params: map[string]string{"parts": params}})
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("parts %s: err = %v, want %q", params, err, msg)
		}
	}
}

// isSubsequence reports whether sub appears in all in order.
func isSubsequence(sub, all []uint64) bool {
	i := 0
	for _, v := range all {
		if i < len(sub) && sub[i] == v {
			i++
		}
	}
	return i == len(sub)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestFileUnitNarrowedByRangeAndLimit: a job range inside a file narrows the
// unit (what replace-range deletes) and marks its key, and so does a limit;
// a range that covers the file leaves the unit as the file.
func TestFileUnitNarrowedByRangeAndLimit(t *testing.T) {
	b := setup(t)
	path := filepath.Join(t.TempDir(), "trades.dbn")
	if err := synth.WriteTrades(path, 1000, false); err != nil {
		t.Fatal(err)
	}
	rd, err := dbn.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	meta := rd.Metadata()
	_ = rd.Close()
	fileStart, fileEnd := int64(meta.Start), int64(meta.End)
	plan := func(job *sdk.Job) sdk.Unit {
		t.Helper()
		job.Files = []string{path}
		p, err := b.p.Plan(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Units) != 1 {
			t.Fatalf("units = %d", len(p.Units))
		}
		return p.Units[0]
	}
	whole := plan(&sdk.Job{})
	if strings.Contains(whole.Key, ":range=") || whole.Start != fileStart || whole.End != fileEnd {
		t.Fatalf("no range: %+v", whole)
	}
	if u := plan(&sdk.Job{Start: day("2024-01-02"), End: day("2024-01-03")}); u.Key != whole.Key || u.Start != fileStart || u.End != fileEnd {
		t.Errorf("a range covering the file must leave the unit alone: %s [%d, %d)", u.Key, u.Start, u.End)
	}
	mid := fileStart + (fileEnd-fileStart)/2
	u := plan(&sdk.Job{Start: fileStart, End: mid})
	if u.Start != fileStart || u.End != mid || !strings.HasPrefix(u.Key, whole.Key+":range=") {
		t.Errorf("a range inside the file: %s [%d, %d), want [%d, %d) and a :range= key", u.Key, u.Start, u.End, fileStart, mid)
	}
	if u := plan(&sdk.Job{Limit: 10}); u.Key != whole.Key+":limit=10" {
		t.Errorf("limit: key %s", u.Key)
	}
}

// TestNulCharIsNullEmptyStringIsEmpty: a char field holding NUL is not set,
// so it arrives null (and loads as NULL), as Databento's decoder writes it;
// an empty c-string field is an empty string, not null.
func TestNulCharIsNullEmptyStringIsEmpty(t *testing.T) {
	b := setup(t)
	_, col, err := b.run(t, &sdk.Job{Files: []string{filepath.Join(sharedDir(t), "test_data.definition.v3.dbn.zst")}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec := col.Batches["definition"][0]
	class := rec.Column(rec.Schema().FieldIndices("leg_instrument_class")[0])
	leg := rec.Column(rec.Schema().FieldIndices("leg_raw_symbol")[0]).(*array.String)
	if !class.IsNull(0) || leg.IsNull(0) || leg.Value(0) != "" {
		t.Fatalf("leg_instrument_class null %v; leg_raw_symbol null %v %q", class.IsNull(0), leg.IsNull(0), leg.Value(0))
	}
}
