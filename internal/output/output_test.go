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
