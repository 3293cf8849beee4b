package fixedpoint

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestFormat(t *testing.T) {
	cases := []struct {
		v    int64
		want string
	}{
		{0, "0.000000000"},
		{1, "0.000000001"},
		{-1, "-0.000000001"},
		{372025000000000, "372025.000000000"},
		{-372025500000001, "-372025.500000001"},
		{1_000_000_000, "1.000000000"},
		{5100_250_000_000, "5100.250000000"},
		{1_000_000, "0.001000000"},
		{999_999, "0.000999999"},
		{1_001_000, "0.001001000"},
		{-7_123_000_000, "-7.123000000"},
		{math.MaxInt64, "9223372036.854775807"},
		{math.MinInt64, "-9223372036.854775808"},
	}
	for _, c := range cases {
		if got := Format(c.v); got != c.want {
			t.Errorf("Format(%d) = %q, want %q", c.v, got, c.want)
		}
		back, err := Parse(c.want)
		if err != nil || back != c.v {
			t.Errorf("Parse(%q) = %d, %v; want %d", c.want, back, err, c.v)
		}
	}
}

func TestParse(t *testing.T) {
	ok := []struct {
		s    string
		want int64
	}{
		{"1", 1_000_000_000},
		{"+1.5", 1_500_000_000},
		{"-0.5", -500_000_000},
		{".25", 250_000_000},
		{"3.", 3_000_000_000},
		{"0.1234567890000", 123_456_789},
		{"372025", 372025_000_000_000},
		{"9223372036.854775807", math.MaxInt64},
		{"-9223372036.854775808", math.MinInt64},
	}
	for _, c := range ok {
		got, err := Parse(c.s)
		if err != nil || got != c.want {
			t.Errorf("Parse(%q) = %d, %v; want %d", c.s, got, err, c.want)
		}
	}
	bad := []struct {
		s   string
		err error
	}{
		{"", ErrSyntax}, {"-", ErrSyntax}, {".", ErrSyntax}, {"1e5", ErrSyntax}, {"1.2.3", ErrSyntax},
		{"0.0000000001", ErrSyntax}, {" 1", ErrSyntax},
		{"9223372036.854775808", ErrRange}, {"-9223372036.854775809", ErrRange},
		{"99999999999999999999999", ErrRange}, {"9223372037", ErrRange},
	}
	for _, c := range bad {
		if _, err := Parse(c.s); !errors.Is(err, c.err) {
			t.Errorf("Parse(%q) error = %v, want %v", c.s, err, c.err)
		}
	}
}

func TestFormatTimestamp(t *testing.T) {
	cases := map[uint64]string{
		0:                   "1970-01-01T00:00:00.000000000Z",
		1609160400000000000: "2020-12-28T13:00:00.000000000Z",
		1609160400098821953: "2020-12-28T13:00:00.098821953Z",
		math.MaxUint64 - 1:  "2554-07-21T23:34:33.709551614Z",
	}
	for ns, want := range cases {
		if got := FormatTimestamp(ns); got != want {
			t.Errorf("FormatTimestamp(%d) = %q, want %q", ns, got, want)
		}
	}
}

// TestAppendTimestampMatchesTime checks the hand-made calendar against the
// time package's on the edges (leap days, centuries, the ends of uint64)
// and on random instants.
func TestAppendTimestampMatchesTime(t *testing.T) {
	ns := []uint64{0, 1, Scale - 1, 86400*Scale - 1, 951782400 * Scale, 951868800 * Scale, 4107542400 * Scale,
		1709164800*Scale + 123456789, 4102444800*Scale - 1, math.MaxUint64, math.MaxUint64 - Scale}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		ns = append(ns, r.Uint64())
	}
	for d := uint64(0); d < 213503; d++ { // every day to 2554, at a second before midnight
		ns = append(ns, (d*86400+86399)*Scale+d)
	}
	for _, v := range ns {
		want := Time(v).AppendFormat(nil, rfc3339Nano)
		if got := AppendTimestamp([]byte("x"), v); string(got) != "x"+string(want) {
			t.Fatalf("AppendTimestamp(%d) = %q, want %q", v, got[1:], want)
		}
	}
}

// TestTimestampsMatchAppendTimestamp: the date-keeping writer gives
// AppendTimestamp's text for a stream that stays on one day, crosses
// midnight, goes back in time and jumps about.
func TestTimestampsMatchAppendTimestamp(t *testing.T) {
	var ns []uint64
	day := uint64(1710374400) * Scale        // 2024-03-14
	for m := uint64(0); m < 3*1440; m += 7 { // one-minute-ish bars over three days
		ns = append(ns, day+m*60*Scale+m)
	}
	ns = append(ns, day, day-1, day+86400*Scale-1, day+86400*Scale, 0, math.MaxUint64, 1)
	r := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		ns = append(ns, r.Uint64())
		if r.IntN(2) == 0 { // the same day again
			ns = append(ns, ns[len(ns)-1]-ns[len(ns)-1]%(86400*Scale)+r.Uint64N(86400*Scale))
		}
	}
	var ts Timestamps
	for _, v := range ns {
		if got, want := ts.Append([]byte("x"), v), AppendTimestamp([]byte("x"), v); string(got) != string(want) {
			t.Fatalf("Timestamps.Append(%d) = %q, want %q", v, got[1:], want[1:])
		}
	}
}

// TestFormatMatchesDivision checks Format against integer division and
// fmt on random values and the ends of int64.
func TestFormatMatchesDivision(t *testing.T) {
	vs := []int64{math.MinInt64, math.MaxInt64, -1, 1, Scale, -Scale, Scale - 1}
	r := rand.New(rand.NewPCG(3, 4))
	for range 200000 {
		vs = append(vs, int64(r.Uint64()), r.Int64N(1e15)-5e14, (r.Int64N(2e9)-1e9)*1e6)
	}
	for _, v := range vs {
		u, sign := uint64(v), ""
		if v < 0 {
			u, sign = -u, "-"
		}
		if want := fmt.Sprintf("%s%d.%09d", sign, u/Scale, u%Scale); Format(v) != want {
			t.Fatalf("Format(%d) = %q, want %q", v, Format(v), want)
		}
	}
}

func BenchmarkAppendTimestamp(b *testing.B) {
	buf := make([]byte, 0, 64)
	for i := range b.N {
		buf = AppendTimestamp(buf[:0], 1709164800123456789+uint64(i)*60*Scale)
	}
}

// BenchmarkTimestamps is BenchmarkAppendTimestamp keeping the date, on
// one-minute bars (a day in 1,440 values).
func BenchmarkTimestamps(b *testing.B) {
	buf := make([]byte, 0, 64)
	var ts Timestamps
	for i := range b.N {
		buf = ts.Append(buf[:0], 1709164800000000000+uint64(i%1440)*60*Scale)
	}
}

func FuzzRoundTrip(f *testing.F) {
	f.Add(int64(0))
	f.Add(int64(math.MinInt64))
	f.Add(int64(372025000000000))
	f.Fuzz(func(t *testing.T, v int64) {
		got, err := Parse(Format(v))
		if err != nil || got != v {
			t.Fatalf("round trip %d -> %q -> %d, %v", v, Format(v), got, err)
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	buf := make([]byte, 0, 64)
	for i := range b.N {
		buf = Append(buf[:0], 5120750000000+int64(i%64)*250000000)
	}
}
