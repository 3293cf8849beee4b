package runner_test

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/internal/pgtest"
	"github.com/hdi-dev/hdi/internal/runner"
	"github.com/hdi-dev/hdi/plugins/csv/csvprov"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// fuzzTable has a column of each kind a CSV value can overflow or break:
// a timestamp, a varchar, a numeric(p,s), a smallint, a CHECK on text (which
// only the server knows), a boolean; two NOT NULL.
const fuzzTable = `CREATE TABLE fz (ts timestamptz NOT NULL, sym varchar(6) NOT NULL, px numeric(8,2),
	qty smallint, note text CHECK (note IS DISTINCT FROM 'bad'), flag boolean)`

const fuzzHeader = "ts,sym,px,qty,note,flag\n"

// csvRecords counts the records of a CSV text after its header, as the
// csv provider reads them: a record, or a syntax error the reader gets past
// (both one record for the provider: a row, or a row error).
func csvRecords(text string) (int64, bool) {
	cr := csv.NewReader(strings.NewReader(text))
	cr.FieldsPerRecord = -1
	if _, err := cr.Read(); err != nil {
		return 0, false
	}
	var n int64
	for {
		before := cr.InputOffset()
		_, err := cr.Read()
		if err == io.EOF {
			return n, true
		}
		var pe *csv.ParseError
		if err != nil && (!errors.As(err, &pe) || cr.InputOffset() == before) {
			return n, false
		}
		n++
	}
}

// FuzzCSVRecordsLoadOrQuarantine: whatever the records of a CSV file hold,
// each is loaded or quarantined, none is dropped, and the unit never fails;
// the table holds exactly the rows counted loaded. It loads through the
// runner, the csv provider (in process) and a real PostgreSQL.
func FuzzCSVRecordsLoadOrQuarantine(f *testing.F) {
	for _, s := range []string{
		"2024-03-01 14:30:00,ESH4,5100.25,12,ok,true\n",
		"2024-03-01 14:30:00,ESH4,999999.99,1,,\n2024-03-01 14:31:00,ESH4,1000000,1,,\n",
		"2024-03-01 14:41:00,ESH4,1,1,x,true,extra\n2024-03-01 14:42:00,ESH4\n",
		"2024-03-01 14:42:00,,1,1,,\n2024-03-01 14:43:00,\"\",1,1,\"\",\n",
		"2024-03-01 14:43:00,ESH4XXX,1,1,,\n2024-03-01 14:43:00,\"ESH4  \",1,1,,\n",
		"2024-03-01 14:44:00,ESH4,1,32768,,\n2024-03-01 14:44:00,ESH4,1,-32768,,\n",
		"2024-03-01 14:45:00,ESH4,1,1,bad,\n2024-03-01 14:45:00,ESH4,1,1,\"bad\",false\n",
		"2024-03-01 14:46:00,a\x00b,1,1,\xff,\n2024-03-01 14:46:00,ÉÉÉÉÉÉ,1.005,1,\"multi\nline\",\n",
		"\"unterminated,ESH4,1,1,,\n2024-03-01 14:47:00,E\"S,1,1,,\n",
		"2024-03-01 14:48:00,ESH4,-999999.994,1,,\n2024-03-01 14:48:00,ESH4,-999999.995,1,,\n\n\n",
	} {
		f.Add(s)
	}
	ctx := context.Background()
	pool := pgtest.Connect(f, pgtest.NewMigratedDB(f))
	if _, err := pool.Exec(ctx, fuzzTable); err != nil {
		f.Fatal(err)
	}
	r := runner.New(runner.Options{Pool: pool, MaxAttempts: 1,
		Open: func(context.Context, string) (sdk.Provider, error) { return csvprov.New(), nil }})
	count := func(t *testing.T, sql string) int64 { return pgtest.Scalar[int64](t, pool, sql) }
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > 4096 {
			return
		}
		text := fuzzHeader + body
		records, ok := csvRecords(text)
		path := filepath.Join(t.TempDir(), "f.csv")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		job := &jobspec.Job{Name: "fuzz", Provider: jobspec.Provider{Name: "csv"},
			Source: jobspec.Source{Files: []string{path}}, Target: jobspec.Target{Table: "fz"}}
		job.ApplyDefaults()
		p, err := r.Plan(ctx, job)
		if err != nil {
			t.Fatalf("plan: %v", err)
		}
		rows, quarantined := count(t, `SELECT count(*) FROM fz`), count(t, `SELECT count(*) FROM quarantine`)
		s, err := r.Run(ctx, p)
		if err != nil || s.UnitsFailed != 0 || s.UnitsDone != 1 {
			t.Fatalf("the unit failed: %v (summary %+v)\n%q", err, s, body)
		}
		if !ok {
			t.Fatalf("the provider went on where encoding/csv could not:\n%q", body)
		}
		if got := s.Rows.Inserted + s.Rows.Quarantined; got != records || s.Rows.Deduplicated != 0 {
			t.Fatalf("%d records, but %d loaded and %d quarantined (%d deduplicated)\n%q", records, s.Rows.Inserted, s.Rows.Quarantined, s.Rows.Deduplicated, body)
		}
		if d := count(t, `SELECT count(*) FROM fz`) - rows; d != s.Rows.Inserted {
			t.Fatalf("the table gained %d rows, the run says %d", d, s.Rows.Inserted)
		}
		if d := count(t, `SELECT count(*) FROM quarantine`) - quarantined; d != s.Rows.Quarantined {
			t.Fatalf("the quarantine gained %d rows, the run says %d", d, s.Rows.Quarantined)
		}
	})
}
