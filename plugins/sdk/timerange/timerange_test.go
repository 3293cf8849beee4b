package timerange

import (
	"strings"
	"testing"
	"time"
)

var clock = time.Date(2024, 3, 31, 15, 30, 45, 123456789, time.UTC)

func fixed() time.Time { return clock }

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParseRanges(t *testing.T) {
	cases := []struct {
		start, end string
		want       Range
		warn       bool
	}{
		{"2024-01-01", "2024-01-31", Range{ts("2024-01-01T00:00:00Z"), ts("2024-02-01T00:00:00Z")}, false},
		// The old tool rejected this: a date-only end is included, so it is one day.
		{"2024-01-05", "2024-01-05", Range{ts("2024-01-05T00:00:00Z"), ts("2024-01-06T00:00:00Z")}, false},
		{"2024-01-31T15:30:00Z", "2024-01-31T16:00:00Z", Range{ts("2024-01-31T15:30:00Z"), ts("2024-01-31T16:00:00Z")}, false},
		{"2024-01-31T15:30", "2024-01-31T15:30:00.000000001Z", Range{ts("2024-01-31T15:30:00Z"), ts("2024-01-31T15:30:00.000000001Z")}, false},
		{"2024-01-31T16:30:00+01:00", "2024-01-31 16:00:00Z", Range{ts("2024-01-31T15:30:00Z"), ts("2024-01-31T16:00:00Z")}, false},
		{"2024-01-31t15:30:00.5z", "2024-02-01", Range{ts("2024-01-31T15:30:00.5Z"), ts("2024-02-02T00:00:00Z")}, false},
		{"1704067200000000000", "1704067200000000001", Range{ts("2024-01-01T00:00:00Z"), ts("2024-01-01T00:00:00.000000001Z")}, false},
		{"2024-02-29", "", Range{ts("2024-02-29T00:00:00Z"), clock}, false},
		{"-30d", "yesterday", Range{ts("2024-03-01T00:00:00Z"), ts("2024-03-31T00:00:00Z")}, false},
		{"-2w", "today", Range{ts("2024-03-17T00:00:00Z"), clock}, false},
		{"-1mo", "now", Range{ts("2024-02-29T00:00:00Z"), clock}, false}, // clamped to Feb's last day
		{"-6m", "-1d", Range{ts("2023-09-30T00:00:00Z"), ts("2024-03-31T00:00:00Z")}, false},
		{"-1y", "", Range{ts("2023-03-31T00:00:00Z"), clock}, false},
		{"-12h", "NOW", Range{ts("2024-03-31T03:30:45.123456789Z"), clock}, false},
		{"-200000h", "NOW", Range{ts("2001-06-07T07:30:45.123456789Z"), clock}, false},
		{"2024-03-01", "2024-03-31", Range{ts("2024-03-01T00:00:00Z"), clock}, false}, // through today: no warning
		{"2024-03-01", "2024-04-30", Range{ts("2024-03-01T00:00:00Z"), clock}, true},
		{"2024-03-01", "2030-01-01T00:00:00Z", Range{ts("2024-03-01T00:00:00Z"), clock}, true},
		{"", "", Range{}, false},
	}
	for _, c := range cases {
		r, warns, err := Parse(c.start, c.end, Options{Now: fixed})
		if err != nil {
			t.Errorf("Parse(%q, %q): %v", c.start, c.end, err)
			continue
		}
		if !r.Start.Equal(c.want.Start) || !r.End.Equal(c.want.End) {
			t.Errorf("Parse(%q, %q) = %s, want %s", c.start, c.end, r, c.want)
		}
		if (len(warns) > 0) != c.warn {
			t.Errorf("Parse(%q, %q) warnings %q, want warning: %v", c.start, c.end, warns, c.warn)
		}
		if c.warn && !strings.Contains(warns[0], "clamped to now") {
			t.Errorf("warning %q", warns[0])
		}
		if r.Start.Location() != time.UTC || r.End.Location() != time.UTC {
			t.Errorf("Parse(%q, %q) not UTC", c.start, c.end)
		}
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ start, end, want string }{
		{"2024-02-30", "2024-03-01", `--start "2024-02-30": is not a real date or time (day out of range)`},
		{"2024-01-01", "2023-02-29", `--end "2023-02-29": is not a real date or time`},
		{"2024-13-01", "", `--start "2024-13-01": is not a real date or time (month out of range)`},
		{"2024-01-05", "2024-01-04", `--end "2024-01-04": is not after --start "2024-01-05" (a date-only end is included`},
		{"2024-01-05T10:00:00Z", "2024-01-05T10:00:00Z", `--end "2024-01-05T10:00:00Z": is not after --start "2024-01-05T10:00:00Z" (the range [2024-01-05T10:00:00Z, 2024-01-05T10:00:00Z) is empty`},
		{"2024-04-01", "", `--start "2024-04-01": is in the future (now is 2024-03-31T15:30:45.123456789Z)`},
		{"now", "", `--start "now": is in the future`},
		{"", "2024-01-01", `--start: is required when --end is set`},
		{"01/02/2024", "", `--start "01/02/2024": is not a date (YYYY-MM-DD)`},
		{"20240101", "", `--start "20240101": integers are nanoseconds since the epoch; write a date as YYYY-MM-DD`},
		{"1704067200", "", `--start "1704067200": integers are nanoseconds since the epoch and this is before 1973`},
		{"-3x", "", `--start "-3x": unknown unit "x"`},
		{"-d", "", `--start "-d": is not a relative form`},
		{"-1000000d", "", `--start "-1000000d": is before 1970-01-01`},
		{"-99999999999999999999y", "", `--start "-99999999999999999999y": is before 1970-01-01`},
		{"-60y", "", `--start "-60y": is before 1970-01-01`},
		{"-99999999999999999999x", "", `unknown unit "x"`},
		{"1960-01-01", "", `--start "1960-01-01": is before 1970-01-01`},
		{"99999999999999999999", "", `too large`},
	}
	for _, c := range cases {
		_, _, err := Parse(c.start, c.end, Options{Now: fixed, StartField: "--start", EndField: "--end"})
		if err == nil {
			t.Errorf("Parse(%q, %q): no error, want %q", c.start, c.end, c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q, %q):\n got %q\nwant %q", c.start, c.end, err, c.want)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q, %q): multi-line error %q", c.start, c.end, err)
		}
	}
}

func TestDefaultFieldNames(t *testing.T) {
	_, _, err := Parse("x", "", Options{Now: fixed})
	if err == nil || !strings.HasPrefix(err.Error(), `start "x": `) {
		t.Fatalf("got %v", err)
	}
}

func TestParseChunk(t *testing.T) {
	ok := map[string]string{
		"1d": "1d", "7d": "1w", "1w": "1w", "14d": "2w", "1mo": "1mo", "3MO": "3mo", "1y": "1y",
		"6h": "6h", "30m": "30m", "1h30m": "1h30m", "none": "none", "NONE": "none", "24h": "1d", "168h": "1w", "": "",
	}
	for in, want := range ok {
		c, err := ParseChunk(in)
		if err != nil {
			t.Errorf("ParseChunk(%q): %v", in, err)
			continue
		}
		if c.String() != want {
			t.Errorf("ParseChunk(%q) = %q, want %q", in, c.String(), want)
		}
	}
	for _, in := range []string{"0d", "-1d", "1s", "5", "abc", "1m2mo", "99999d"} {
		if _, err := ParseChunk(in); err == nil {
			t.Errorf("ParseChunk(%q): no error", in)
		}
	}
}

func TestSplitAligned(t *testing.T) {
	r := Range{ts("2024-01-30T12:00:00Z"), ts("2024-03-02T06:00:00Z")}
	check := func(chunk string, want ...string) {
		t.Helper()
		c, err := ParseChunk(chunk)
		if err != nil {
			t.Fatal(err)
		}
		got := Split(r, c)
		var starts []string
		for _, g := range got {
			starts = append(starts, Format(g.Start))
		}
		if strings.Join(starts, " ") != strings.Join(want, " ") {
			t.Errorf("Split %s starts:\n got %v\nwant %v", chunk, starts, want)
		}
	}
	check("1mo", "2024-01-30T12:00:00Z", "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z")
	check("1y", "2024-01-30T12:00:00Z")
	check("1w", "2024-01-30T12:00:00Z", "2024-02-05T00:00:00Z", "2024-02-12T00:00:00Z", "2024-02-19T00:00:00Z", "2024-02-26T00:00:00Z")
	check("3mo", "2024-01-30T12:00:00Z")
	c, _ := ParseChunk("1d")
	days := Split(r, c)
	if len(days) != 33 || !days[1].Start.Equal(ts("2024-01-31T00:00:00Z")) || !days[32].End.Equal(r.End) {
		t.Errorf("1d split: %d chunks, %v", len(days), days[:2])
	}
	c, _ = ParseChunk("6h")
	six := Split(Range{ts("2024-01-01T05:00:00Z"), ts("2024-01-01T13:00:00Z")}, c)
	if len(six) != 3 || !six[1].Start.Equal(ts("2024-01-01T06:00:00Z")) || !six[2].Start.Equal(ts("2024-01-01T12:00:00Z")) {
		t.Errorf("6h split: %v", six)
	}
}

// xorshift returns a deterministic pseudo-random source: rnd(n) is in [0, n).
func xorshift(seed uint64) func(n int64) int64 {
	return func(n int64) int64 {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return int64(seed % uint64(n))
	}
}

// TestSplitProperties checks, over many ranges and chunk sizes, that Split
// covers the range exactly, that inner boundaries sit on the chunk's grid
// (the same wherever the range starts), and that it is deterministic.
func TestSplitProperties(t *testing.T) {
	chunks := []string{"1d", "3d", "1w", "2w", "1mo", "3mo", "1y", "2y", "6h", "1h", "45m", "90m"}
	rnd := xorshift(42)
	base := ts("2020-01-01T00:00:00Z").UnixNano()
	for i := 0; i < 400; i++ {
		start := time.Unix(0, base+rnd(int64(4*365*24*time.Hour))).UTC()
		end := start.Add(time.Duration(1 + rnd(int64(120*24*time.Hour))))
		r := Range{start, end}
		for _, cs := range chunks {
			c, err := ParseChunk(cs)
			if err != nil {
				t.Fatal(err)
			}
			parts := Split(r, c)
			if len(parts) == 0 || !parts[0].Start.Equal(r.Start) || !parts[len(parts)-1].End.Equal(r.End) {
				t.Fatalf("%s %s: does not cover: %v", cs, r, parts)
			}
			for j, p := range parts {
				if !p.End.After(p.Start) {
					t.Fatalf("%s %s: empty part %v", cs, r, p)
				}
				if j > 0 && !parts[j-1].End.Equal(p.Start) {
					t.Fatalf("%s %s: gap/overlap at %d", cs, r, j)
				}
				if j > 0 {
					// An inner boundary is its own grid point: splitting a range
					// that starts just before it yields it again.
					again := Split(Range{p.Start.Add(-1), p.Start.Add(1)}, c)
					if len(again) != 2 || !again[1].Start.Equal(p.Start) {
						t.Fatalf("%s: boundary %s not on the grid", cs, Format(p.Start))
					}
					if c.unit != UnitFixed && !p.Start.Equal(truncDay(p.Start)) {
						t.Fatalf("%s: calendar boundary %s not at midnight", cs, Format(p.Start))
					}
					if c.unit == UnitWeek && p.Start.Weekday() != time.Monday {
						t.Fatalf("%s: week boundary %s not a Monday", cs, Format(p.Start))
					}
					if (c.unit == UnitMonth || c.unit == UnitYear) && p.Start.Day() != 1 {
						t.Fatalf("%s: month boundary %s not the 1st", cs, Format(p.Start))
					}
				}
			}
			if again := Split(r, c); len(again) != len(parts) {
				t.Fatalf("not deterministic")
			}
		}
	}
}

func TestSplitEdge(t *testing.T) {
	r := Range{ts("2024-01-01T00:00:00Z"), ts("2024-01-01T00:00:00Z")}
	if got := Split(r, Chunk{}); got != nil {
		t.Errorf("empty range: %v", got)
	}
	r.End = ts("2024-01-03T00:00:00Z")
	if got := Split(r, Chunk{}); len(got) != 1 || got[0] != r {
		t.Errorf("zero chunk: %v", got)
	}
	if got := Split(r, None); len(got) != 1 || got[0] != r {
		t.Errorf("none: %v", got)
	}
	c, _ := ParseChunk("1d")
	if got := Split(r, c); len(got) != 2 {
		t.Errorf("aligned 2 days: %v", got)
	}
}

// TestChunkRoundTrip: every text form survives unit+count (the wire) and
// text (job files) unchanged, and none/unset stay distinct.
func TestChunkRoundTrip(t *testing.T) {
	for _, s := range []string{"", "none", "1d", "3d", "1w", "2w", "1mo", "3mo", "1y", "6h", "1m", "1h30m", "1m30s"} {
		c, err := ParseChunk(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if c.String() != s {
			t.Errorf("%q: canonical form %q", s, c.String())
		}
		back, err := NewChunk(c.Unit(), c.Count())
		if err != nil || back != c {
			t.Errorf("%q: wire round trip gives %v, %v", s, back, err)
		}
		var txt Chunk
		if err := txt.UnmarshalText([]byte(s)); err != nil || txt != c {
			t.Errorf("%q: text round trip gives %v, %v", s, txt, err)
		}
	}
	if c, _ := ParseChunk("14d"); c.String() != "2w" {
		t.Errorf("14d reads as %s, want 2w", c)
	}
	if c, _ := ParseChunk("24h"); c.String() != "1d" {
		t.Errorf("24h reads as %s, want 1d", c)
	}
	if (Chunk{}).IsNone() || !None.IsNone() || None.IsZero() {
		t.Error("none and unset must differ")
	}
	for _, bad := range []string{"day", "1x", "0d", "30s", "-1d", "10001d"} {
		if _, err := ParseChunk(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		} else if !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: error %q does not quote the value", bad, err)
		}
	}
	if _, err := NewChunk(ChunkUnit(42), 1); err == nil {
		t.Error("unknown unit: want an error")
	}
}

// TestParseResultIsHalfOpenProperty: for every valid date pair the range is
// non-empty, UTC, and a date-only end lands on the midnight after it.
func TestParseDatePairsProperty(t *testing.T) {
	d0 := ts("2023-01-01T00:00:00Z")
	for i := 0; i < 400; i += 7 {
		for j := i; j < i+40; j += 3 {
			s, e := d0.AddDate(0, 0, i), d0.AddDate(0, 0, j)
			if e.After(truncDay(clock)) {
				continue
			}
			r, w, err := Parse(s.Format("2006-01-02"), e.Format("2006-01-02"), Options{Now: fixed})
			if err != nil || len(w) > 0 {
				t.Fatalf("%s..%s: %v %v", s, e, err, w)
			}
			if !r.End.Equal(e.AddDate(0, 0, 1)) || r.Duration() != time.Duration(j-i+1)*24*time.Hour {
				t.Fatalf("%s..%s: %s", s, e, r)
			}
		}
	}
}

// TestCountIsLenSplit: Count agrees with Split on many ranges, including
// ones that start at the epoch and ones that start before the week grid's
// first Monday.
func TestCountIsLenSplit(t *testing.T) {
	chunks := []string{"", "none", "1d", "3d", "1w", "2w", "1mo", "3mo", "1y", "2y", "1m", "6h", "45m", "90m"}
	rnd := xorshift(7)
	starts := []int64{0, 1, int64(3 * 24 * time.Hour), ts("2024-02-29T23:59:59Z").UnixNano()}
	for range 200 {
		starts = append(starts, rnd(int64(60*365*24*time.Hour)))
	}
	for _, s := range starts {
		r := Range{time.Unix(0, s).UTC(), time.Unix(0, s+1+rnd(int64(10*24*time.Hour))).UTC()}
		for _, cs := range chunks {
			c, err := ParseChunk(cs)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := Count(r, c), int64(len(Split(r, c))); got != want {
				t.Fatalf("Count(%s, %q) = %d, Split makes %d", r, cs, got, want)
			}
		}
	}
	for range 50 { // decades, in calendar chunks
		s := rnd(int64(10 * 365 * 24 * time.Hour))
		r := Range{time.Unix(0, s).UTC(), time.Unix(0, s+1+rnd(int64(50*365*24*time.Hour))).UTC()}
		for _, cs := range []string{"1w", "2w", "1mo", "3mo", "1y", "2y"} {
			c, _ := ParseChunk(cs)
			if got, want := Count(r, c), int64(len(Split(r, c))); got != want {
				t.Fatalf("Count(%s, %q) = %d, Split makes %d", r, cs, got, want)
			}
		}
	}
	if n := Count(Range{ts("2024-01-01T00:00:00Z"), ts("2024-01-01T00:00:00Z")}, None); n != 0 {
		t.Errorf("an empty range counts %d", n)
	}
}

// TestFitChunk: the chunk proposed is the shortest of the ladder whose
// plan fits (the one before it does not), and its unit count is Split's.
func TestFitChunk(t *testing.T) {
	decades := Range{ts("1971-01-01T00:00:00Z"), ts("2026-12-02T00:00:00Z")}
	for _, tc := range []struct {
		perChunk, max int64
		want          string
	}{
		{1, 10_000, "1w"}, // the plan: 1h makes 490,176 units, 1d 20,424
		{2, 10_000, "1w"},
		{4, 10_000, "1mo"},
		{100, 10_000, "1y"},
		{5000, 10_000, "none"},
	} {
		c, units, ok := FitChunk(decades, tc.perChunk, tc.max)
		if !ok || c.String() != tc.want {
			t.Errorf("FitChunk(%d per chunk, max %d) = %s, %v; want %s", tc.perChunk, tc.max, c, ok, tc.want)
			continue
		}
		if want := tc.perChunk * int64(len(Split(decades, c))); units != want || units > tc.max {
			t.Errorf("FitChunk(%d, %d): %d units, Split makes %d", tc.perChunk, tc.max, units, want)
		}
		for i, l := range ladder {
			if l == c && i > 0 && tc.perChunk*Count(decades, ladder[i-1]) <= tc.max { // Count is Split's (TestCountIsLenSplit)
				t.Errorf("FitChunk(%d, %d) = %s, but the shorter %s fits too", tc.perChunk, tc.max, c, ladder[i-1])
			}
		}
	}
	if _, _, ok := FitChunk(decades, 20_000, 10_000); ok {
		t.Error("20,000 units per chunk fit under 10,000")
	}
}
