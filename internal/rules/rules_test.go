package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/hdi-dev/hdi/internal/jobspec"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

var trades = arrow.NewSchema([]arrow.Field{
	{Name: "ts_recv", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "instrument_id", Type: arrow.PrimitiveTypes.Uint32},
	{Name: "side", Type: arrow.PrimitiveTypes.Uint8, Metadata: arrow.NewMetadata([]string{"hdi.kind"}, []string{"char"})},
	{Name: "price", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "size", Type: arrow.PrimitiveTypes.Uint32},
	{Name: "symbol", Type: arrow.BinaryTypes.String},
}, nil)

type row struct {
	ts    int64
	inst  uint32
	side  byte
	price *int64
	size  uint32
	sym   string
}

func p(v int64) *int64 { return &v }

// tradeDefaults and barDefaults are default rules as a provider declares them.
var (
	tradeDefaults = []sdk.Rule{
		{Type: "not_null", Fields: []string{"ts_recv"}},
		{Type: "not_null", Fields: []string{"price"}},
		{Type: "min", Fields: []string{"price"}, Min: "0", Severity: "warn"},
		{Type: "non_negative", Fields: []string{"size"}},
		{Type: "one_of", Fields: []string{"side"}, Values: []string{"A", "B", "N"}},
		{Type: "monotonic", Fields: []string{"ts_recv"}, Severity: "warn"},
	}
	barDefaults = []sdk.Rule{
		{Type: "not_null", Fields: []string{"ts_event"}},
		{Type: "ohlc_consistent"},
		{Type: "non_negative", Fields: []string{"volume"}},
	}
)

func batch(rows []row) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, trades)
	defer b.Release()
	for _, r := range rows {
		if r.ts == 0 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.Int64Builder).Append(r.ts)
		}
		b.Field(1).(*array.Uint32Builder).Append(r.inst)
		b.Field(2).(*array.Uint8Builder).Append(r.side)
		if r.price == nil {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.Int64Builder).Append(*r.price)
		}
		b.Field(4).(*array.Uint32Builder).Append(r.size)
		b.Field(5).(*array.StringBuilder).Append(r.sym)
	}
	return b.NewRecordBatch()
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		spec jobspec.RuleSpec
		want string
	}{
		{jobspec.RuleSpec{Name: "x", Type: "not_null", Field: "foo", Line: 12}, `rule "x" (job.yaml:12): field "foo" not in stream trades (fields: ts_recv, instrument_id, side, price, size, symbol)`},
		{jobspec.RuleSpec{Type: "regex", Field: "price", Pattern: "a"}, `field "price" is int64, regex needs a string field`},
		{jobspec.RuleSpec{Type: "min", Field: "symbol", Min: jobspec.NumberOf("0")}, `min needs a numeric field`},
		{jobspec.RuleSpec{Type: "bogus"}, `unknown rule type "bogus"`},
		{jobspec.RuleSpec{Type: "expr", Expr: "price >"}, `expr "price >"`},
		{jobspec.RuleSpec{Type: "one_of", Field: "side", Values: []string{"AB"}}, `value "AB" is not one`},
	} {
		_, err := Compile([]jobspec.RuleSpec{tc.spec}, trades, Options{File: "job.yaml", Stream: "trades"})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.spec, err, tc.want)
		}
	}
	// defaults naming missing fields are skipped
	set, err := Compile(nil, trades, Options{Defaults: FromSDK(barDefaults)})
	if err != nil || len(set.Rules()) != 0 {
		t.Fatalf("ohlcv defaults on trades: %v %v", set.Rules(), err)
	}
}

func TestCheck(t *testing.T) {
	specs := []jobspec.RuleSpec{
		{Type: "expr", Name: "big", Expr: `size < 1000 || side == "N"`, Severity: "warn"},
		{Type: "regex", Field: "symbol", Pattern: "^[A-Z]+$"},
		{Type: "unique", Fields: []string{"instrument_id", "ts_recv"}},
		{Type: "time_in_range", Field: "ts_recv"},
	}
	set, err := Compile(specs, trades, Options{Stream: "trades", Defaults: FromSDK(tradeDefaults)})
	if err != nil {
		t.Fatal(err)
	}
	c := set.NewUnit(time.Unix(0, 100), time.Unix(0, 1000))
	res, err := c.Check(batch([]row{
		{ts: 100, inst: 1, side: 'A', price: p(5), size: 1, sym: "AAPL"},     // ok
		{ts: 0, inst: 1, side: 'X', price: nil, size: 1, sym: "AAPL"},        // ts null, side, price null
		{ts: 150, inst: 1, side: 'B', price: p(-1), size: 5000, sym: "aapl"}, // warn price<0, warn big, regex
		{ts: 120, inst: 1, side: 'B', price: p(7), size: 1, sym: "MSFT"},     // warn monotonic
		{ts: 120, inst: 1, side: 'N', price: p(7), size: 5000, sym: "MSFT"},  // unique
		{ts: 2000, inst: 2, side: 'A', price: p(7), size: 1, sym: "MSFT"},    // out of range
	}))
	if err != nil {
		t.Fatal(err)
	}
	var rejected []int
	for _, rj := range res.Rejections {
		rejected = append(rejected, rj.Row)
	}
	if want := []int{1, 2, 4, 5}; !equal(rejected, want) {
		t.Fatalf("rejected %v, want %v (%+v)", rejected, want, res.Rejections)
	}
	r1 := res.Rejections[0]
	if strings.Join(r1.Rules, ",") != "not_null_ts_recv,not_null_price,one_of_side" {
		t.Fatalf("row 1 rules = %v", r1.Rules)
	}
	if !strings.Contains(strings.Join(r1.Messages, "; "), `side = "X" not one of`) {
		t.Fatalf("row 1 messages = %v", r1.Messages)
	}
	counts := map[string]int{}
	for _, rc := range res.Rules {
		counts[rc.Name] = rc.Failed
		if len(rc.Examples) == 0 || rc.Examples[0].Message == "" {
			t.Errorf("rule %s: no example", rc.Name)
		}
	}
	want := map[string]int{"not_null_ts_recv": 1, "not_null_price": 1, "min_price": 1, "one_of_side": 1, "monotonic_ts_recv": 2,
		"big": 1, "regex_symbol": 1, "unique_instrument_id_ts_recv": 1, "time_in_range_ts_recv": 1}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%s failed %d, want %d (all: %v)", k, counts[k], v, counts)
		}
	}
	if res.WarnedRows != 1 { // row 3 (row 2 is rejected)
		t.Errorf("warned rows = %d, want 1", res.WarnedRows)
	}
	// monotonic state carries over to the next batch of the unit
	res, _ = c.Check(batch([]row{{ts: 110, inst: 1, side: 'A', price: p(1), size: 1, sym: "A"}, {ts: 110, inst: 3, side: 'A', price: p(1), size: 1, sym: "A"}}))
	if len(res.Rules) != 1 || res.Rules[0].Name != "monotonic_ts_recv" || res.Rules[0].Examples[0].Row != 0 {
		t.Fatalf("second batch: %+v", res.Rules)
	}
}

func TestOHLC(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{
		{Name: "ts_event", Type: arrow.PrimitiveTypes.Int64}, {Name: "open", Type: arrow.PrimitiveTypes.Int64},
		{Name: "high", Type: arrow.PrimitiveTypes.Int64}, {Name: "low", Type: arrow.PrimitiveTypes.Int64},
		{Name: "close", Type: arrow.PrimitiveTypes.Int64}, {Name: "volume", Type: arrow.PrimitiveTypes.Uint64},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	for _, r := range [][5]int64{{1, 10, 12, 9, 11}, {2, 10, 9, 8, 9}, {3, 10, 12, 11, 11}} {
		for k := 0; k < 5; k++ {
			b.Field(k).(*array.Int64Builder).Append(r[k])
		}
		b.Field(5).(*array.Uint64Builder).Append(1)
	}
	set, err := Compile(nil, s, Options{Defaults: FromSDK(barDefaults)})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := set.NewUnit(time.Time{}, time.Time{}).Check(b.NewRecordBatch())
	if res.RejectedCount() != 2 || res.Rejections[0].Row != 1 || res.Rejections[1].Row != 2 {
		t.Fatalf("%+v", res.Rejections)
	}
}

func TestRowJSON(t *testing.T) {
	rec := batch([]row{{ts: 1704205800000000123, inst: 7, side: 'A', price: nil, size: 3, sym: "A\"B"}})
	got, err := RowJSON(rec, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ts_recv":1704205800000000123,"instrument_id":7,"side":"A","price":null,"size":3,"symbol":"A\"B"}`
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRuleNames: a job rule named like a default replaces it (writing a
// default out again is no conflict), unnamed repeats get suffixes, and a
// per-field rule over several fields is one rule per field.
func TestRuleNames(t *testing.T) {
	specs := []jobspec.RuleSpec{
		{Type: "min", Field: "price", Min: jobspec.NumberOf("0")},                // the default min_price, now an error rule
		{Type: "min", Field: "price", Min: jobspec.NumberOf("100")},              // a second unnamed min on price
		{Type: "not_null", Fields: []string{"instrument_id", "symbol"}},          // two rules
		{Name: "pos", Type: "non_negative", Fields: []string{"size", "ts_recv"}}, // pos.size, pos.ts_recv
	}
	set, err := Compile(specs, trades, Options{Stream: "trades", Defaults: FromSDK(tradeDefaults)})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	sev := map[string]string{}
	for _, r := range set.Rules() {
		names = append(names, r.Name)
		sev[r.Name] = r.Severity
	}
	want := "not_null_ts_recv,not_null_price,non_negative_size,one_of_side,monotonic_ts_recv,min_price,min_price_2,not_null_instrument_id,not_null_symbol,pos.size,pos.ts_recv"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("rules\n got %s\nwant %s", got, want)
	}
	if sev["min_price"] != "error" {
		t.Errorf("the job's min_price (severity error) must replace the default (warn): %s", sev["min_price"])
	}
	res, err := set.NewUnit(time.Time{}, time.Time{}).Check(batch([]row{{ts: 1, inst: 1, side: 'A', price: p(50), size: 1, sym: "A"}}))
	if err != nil || len(res.Rejections) != 1 || strings.Join(res.Rejections[0].Rules, ",") != "min_price_2" {
		t.Fatalf("price 50 must fail min_price_2 only: %+v %v", res.Rejections, err)
	}
	if _, err := Compile([]jobspec.RuleSpec{{Name: "x", Type: "unique", Field: "size"}, {Name: "x", Type: "unique", Field: "price"}}, trades, Options{}); err == nil || !strings.Contains(err.Error(), `duplicate rule name "x"`) {
		t.Errorf("named duplicates: %v", err)
	}
}

// TestExactBounds: bounds compare exactly and print as written.
func TestExactBounds(t *testing.T) {
	for _, tc := range []struct {
		min, max string
		price    int64
		fail     bool
	}{
		{"5130000000000", "", 5130000000000, false},
		{"5130000000000", "", 5129999999999, true},
		{"", "9007199254740993", 9007199254740993, false}, // 2^53+1: a float would round it
		{"", "9007199254740993", 9007199254740994, true},
		{"-1.5", "", -1, false},
		{"-1.5", "", -2, true},
		{"", "2.5", 2, false},
		{"", "2.5", 3, true},
	} {
		spec := jobspec.RuleSpec{Name: "r", Type: "range", Field: "price"}
		if tc.min != "" {
			spec.Min = jobspec.NumberOf(tc.min)
		}
		if tc.max != "" {
			spec.Max = jobspec.NumberOf(tc.max)
		}
		set, err := Compile([]jobspec.RuleSpec{spec}, trades, Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, _ := set.NewUnit(time.Time{}, time.Time{}).Check(batch([]row{{ts: 1, price: p(tc.price), side: 'A'}}))
		if failed := res.RejectedCount() == 1; failed != tc.fail {
			t.Errorf("min %s max %s price %d: failed %v, want %v", tc.min, tc.max, tc.price, failed, tc.fail)
		}
		if tc.fail {
			bound := tc.min
			if bound == "" {
				bound = tc.max
			}
			if msg := res.Rejections[0].Messages[0]; !strings.Contains(msg, bound) || strings.Contains(msg, "e+") {
				t.Errorf("message %q must show the bound %s as written", msg, bound)
			}
		}
	}
}

// TestDecimalBounds: range rules check exact decimals (csv numeric columns).
func TestDecimalBounds(t *testing.T) {
	s := arrow.NewSchema([]arrow.Field{{Name: "close", Type: &arrow.Decimal128Type{Precision: 38, Scale: 4}, Nullable: true}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	d := b.Field(0).(*array.Decimal128Builder)
	d.Append(decimal128.FromI64(51002500)) // 5100.25
	d.Append(decimal128.FromI64(-1))       // -0.0001
	d.AppendNull()
	d.Append(decimal128.FromI64(51002501)) // 5100.2501
	set, err := Compile([]jobspec.RuleSpec{{Name: "r", Type: "range", Field: "close", Min: jobspec.NumberOf("0"), Max: jobspec.NumberOf("5100.25")}}, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := set.NewUnit(time.Time{}, time.Time{}).Check(b.NewRecordBatch())
	var rows []int
	for _, rj := range res.Rejections {
		rows = append(rows, rj.Row)
	}
	if !equal(rows, []int{1, 3}) {
		t.Fatalf("rejected rows %v, want [1 3]", rows)
	}
	// Bounds beyond 38 digits: a min above every value rejects every value
	// (a max below every value too); a max above every value rejects none.
	d.Append(decimal128.FromI64(1))
	one := b.NewRecordBatch()
	defer one.Release()
	for _, c := range []struct {
		min, max string
		want     int
	}{{"1e40", "", 1}, {"", "-1e40", 1}, {"-1e40", "1e40", 0}} {
		spec := jobspec.RuleSpec{Name: "r", Type: "range", Field: "close"}
		if c.min != "" {
			spec.Min = jobspec.NumberOf(c.min)
		}
		if c.max != "" {
			spec.Max = jobspec.NumberOf(c.max)
		}
		set, err := Compile([]jobspec.RuleSpec{spec}, s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, _ := set.NewUnit(time.Time{}, time.Time{}).Check(one)
		if len(res.Rejections) != c.want {
			t.Errorf("min %q max %q: %d of 1 rejected, want %d", c.min, c.max, len(res.Rejections), c.want)
		}
	}
}
