package timerange

import (
	"testing"
	"time"
)

// FuzzParseDate checks that ParsePoint and Parse never panic, that what they
// accept is UTC within the supported bounds, and that a parsed range is
// non-empty and ends no later than now.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-01-31", "2024-02-30", "2024-01-31T15:30:00Z", "2024-01-31T15:30", "1704067200000000000", "today", "-6mo", "-12h", "now", ""} {
		f.Add(s, "2024-03-01")
	}
	f.Fuzz(func(t *testing.T, start, end string) {
		p, err := ParsePoint("start", start, clock)
		if err == nil {
			if p.Time.Location() != time.UTC || p.Time.Before(minTime) {
				t.Fatalf("ParsePoint(%q) = %v", start, p.Time)
			}
			if p.DateOnly && !p.Time.Equal(truncDay(p.Time)) {
				t.Fatalf("ParsePoint(%q): date not at midnight: %v", start, p.Time)
			}
		}
		r, _, err := Parse(start, end, Options{Now: fixed})
		if err != nil || r.IsZero() {
			return
		}
		if !r.End.After(r.Start) || r.End.After(clock) || r.Start.Location() != time.UTC {
			t.Fatalf("Parse(%q, %q) = %s", start, end, r)
		}
	})
}
