package output

import (
	"strings"
	"testing"

	"github.com/hdi-dev/hdi/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestTableReadsLikeAPerson: prices drop trailing zeros and line up on the
// point in the table; csv keeps every digit.
func TestTableReadsLikeAPerson(t *testing.T) {
	pool := pgtest.NewPool(t)
	const sql = `SELECT * FROM (VALUES
		('ESH4', 5100250000000::bigint, 12.5000::numeric),
		('ESM4', 5100000000000::bigint, 7::numeric),
		('NQH4', 18123125000000::bigint, NULL::numeric)) v(symbol, price, qty)`
	run := func(f Format) string {
		rows, err := pool.Query(t.Context(), sql, ResultFormats)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if _, err := Write(&b, rows, Options{Format: f}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	table := run(Table)
	want := "symbol      price   qty\n" +
		"------  ---------  ----\n" +
		"ESH4     5100.25   12.5\n" +
		"ESM4     5100       7\n" +
		"NQH4    18123.125\n"
	if table != want {
		t.Errorf("table:\n%s\nwant:\n%s", table, want)
	}
	if csv := run(CSV); !strings.Contains(csv, "ESH4,5100.250000000,12.5000\n") {
		t.Errorf("csv must keep every digit:\n%s", csv)
	}
}

// TestTimesInUTC: timestamptz and ns columns print the same RFC 3339 text
// on the fast UTC path as in another zone's path, before the epoch included.
func TestTimesInUTC(t *testing.T) {
	pool := pgtest.NewPool(t)
	const sql = `SELECT * FROM (VALUES
		('2024-03-14 12:34:56.123456+00'::timestamptz, 1710419696123456789::bigint),
		('1969-12-31 23:59:59.5+00'::timestamptz, -1::bigint),
		('infinity'::timestamptz, 0::bigint)) v(at, ts_event)`
	rows, err := pool.Query(t.Context(), sql, ResultFormats)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if _, err := Write(&b, rows, Options{Format: NDJSON}); err != nil {
		t.Fatal(err)
	}
	want := `{"at":"2024-03-14T12:34:56.123456000Z","ts_event":"2024-03-14T12:34:56.123456789Z"}` + "\n" +
		`{"at":"1969-12-31T23:59:59.500000000Z","ts_event":"1969-12-31T23:59:59.999999999Z"}` + "\n" +
		`{"at":"infinity","ts_event":"1970-01-01T00:00:00.000000000Z"}` + "\n"
	if b.String() != want {
		t.Errorf("ndjson:\n%s\nwant:\n%s", b.String(), want)
	}
}
