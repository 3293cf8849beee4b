package pluginhost

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

const csvText = "ts,symbol,price,size,ok\n" +
	"2024-01-02 09:30:00.000000001,ESH4,4750.25,3,true\n" +
	"2024-01-02 09:30:01,ESH4,not-a-price,1,false\n" +
	"2024-01-02 09:30:02,\"NQ,H4\",17000.5,,true\n"

func compress(t *testing.T, kind string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	switch kind {
	case "gzip":
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case "zstd":
		w, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(data)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		return data
	}
	return buf.Bytes()
}

func TestCSVProvider(t *testing.T) {
	dir := t.TempDir()
	// Names say nothing about compression: detection is by magic bytes.
	for _, kind := range []string{"gzip", "zstd", "plain"} {
		if err := os.WriteFile(filepath.Join(dir, kind+".dat"), compress(t, kind, []byte(csvText)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := setup(t, Options{})
	p := b.open(t, "csv")
	if s, ok := p.Description().Stream("rows"); !ok || s.Schema != nil {
		t.Fatalf("rows stream %+v: want a job-declared schema", s)
	}
	j := &sdk.Job{
		Files: []string{filepath.Join(dir, "*.dat")},
		Columns: []sdk.Column{
			{Name: "ts", Type: sdk.ColumnTimestamp, Format: "2006-01-02 15:04:05.999999999", Timezone: "America/New_York"},
			{Name: "symbol", Type: sdk.ColumnString},
			{Name: "price", Type: sdk.ColumnDecimal},
			{Name: "size", Type: sdk.ColumnInt64, Nullable: true},
			{Name: "ok", Type: sdk.ColumnBool},
		},
	}
	ctx := context.Background()
	plan, err := p.Plan(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Units) != 3 || len(plan.Streams) != 1 || plan.Streams[0].Schema.NumFields() != 5 {
		t.Fatalf("plan %+v", plan)
	}
	for i, kind := range []string{"gzip", "plain", "zstd"} {
		u := plan.Units[i]
		path := filepath.Join(dir, kind+".dat")
		if !strings.HasPrefix(u.Key, "csv:"+path+"@") || u.EstimatedRows != nil || u.EstimatedBytes == nil {
			t.Errorf("unit %d: %+v", i, u)
		}
		var c sdk.Collector
		if err := p.Fetch(ctx, &sdk.FetchRequest{Job: j, Unit: u}, &c); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if c.Rows["rows"] != 2 {
			t.Errorf("%s: %d rows, want 2", kind, c.Rows["rows"])
		}
		if len(c.RowErrors) != 1 {
			t.Fatalf("%s: row errors %+v, want 1", kind, c.RowErrors)
		}
		re := c.RowErrors[0]
		wantPrefix := path + ":3:3: column \"price\": \"not-a-price\" is not a decimal number with at most 9 places"
		if !strings.HasPrefix(re.Error(), wantPrefix) || re.Raw != "2024-01-02 09:30:01,ESH4,not-a-price,1,false" {
			t.Errorf("%s: row error %q raw %q, want %q...", kind, re.Error(), re.Raw, wantPrefix)
		}
		rec := c.Batches["rows"][0]
		ts := rec.Column(0).(*array.Timestamp).Value(0)
		if want := arrow.Timestamp(1704205800000000001); ts != want { // 09:30 New York = 14:30 UTC
			t.Errorf("%s: ts %d, want %d", kind, ts, want)
		}
		if px := rec.Column(2).(*array.Int64).Value(1); px != 17000_500_000_000 {
			t.Errorf("%s: price %d", kind, px)
		}
		if sym := rec.Column(1).(*array.String).Value(1); sym != "NQ,H4" {
			t.Errorf("%s: symbol %q", kind, sym)
		}
		if !rec.Column(3).IsNull(1) {
			t.Errorf("%s: empty size should be NULL", kind)
		}
		c.Release()
	}
	// Planning again gives the same keys.
	again, err := p.Plan(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	for i := range again.Units {
		if again.Units[i].Key != plan.Units[i].Key {
			t.Errorf("unstable key %q vs %q", again.Units[i].Key, plan.Units[i].Key)
		}
	}
	// A pattern that matches nothing is a plan error that names it.
	j.Files = []string{filepath.Join(dir, "nothing-*.csv")}
	if _, err := p.Plan(ctx, j); err == nil || !strings.Contains(err.Error(), "matches no file") {
		t.Errorf("plan with no files: %v", err)
	}
}
