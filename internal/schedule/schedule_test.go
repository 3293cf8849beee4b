package schedule

import (
	"strings"
	"testing"
	"time"
)

func TestNextInTheJobsTimeZone(t *testing.T) {
	s, err := Parse("0 6 * * 1-5", "America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// Friday 2024-03-08 12:00 UTC: the next weekday 06:00 in New York is
	// Monday 2024-03-11, after the switch to daylight time (UTC-4).
	from := time.Date(2024, 3, 8, 12, 0, 0, 0, time.UTC)
	if got, want := s.Next(from), time.Date(2024, 3, 11, 10, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next %v, want %v", got, want)
	}
	if got := s.String(); got != "0 6 * * 1-5 (America/New_York)" {
		t.Errorf("string %q", got)
	}
}

func TestSecondsAndDescriptors(t *testing.T) {
	s, err := Parse("*/2 * * * * *", "")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2024, 1, 1, 0, 0, 1, 500, time.UTC)
	if got := s.Next(from); !got.Equal(time.Date(2024, 1, 1, 0, 0, 2, 0, time.UTC)) {
		t.Errorf("every 2 s: %v", got)
	}
	if _, err := Parse("@daily", "UTC"); err != nil {
		t.Error(err)
	}
}

func TestTick(t *testing.T) {
	s, _ := Parse("*/10 * * * * *", "")
	at := time.Date(2024, 1, 1, 0, 0, 20, 300_000_000, time.UTC) // fired 300 ms late
	if got := s.Tick(at); !got.Equal(time.Date(2024, 1, 1, 0, 0, 20, 0, time.UTC)) {
		t.Errorf("tick %v", got)
	}
	d, _ := Parse("0 6 * * *", "")
	at = time.Date(2024, 1, 1, 6, 0, 0, 200_000_000, time.UTC)
	if got := d.Tick(at); !got.Equal(time.Date(2024, 1, 1, 6, 0, 0, 0, time.UTC)) {
		t.Errorf("daily tick %v", got)
	}
}

func TestErrorsSayWhatIsWrong(t *testing.T) {
	for _, tc := range []struct{ spec, tz, want string }{
		{"0 6 * *", "", `"0 6 * *": expected 5 to 6 fields, found 4`},
		{"0 25 * * *", "", `end of range (25) above maximum (23)`},
		{"", "", "is empty"},
		{"0 6 * * *", "Mars/Olympus", `unknown time zone "Mars/Olympus"`},
		{"TZ=UTC 0 6 * * *", "", "under timezone:"},
	} {
		_, err := Parse(tc.spec, tc.tz)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q %q: %v, want one line with %q", tc.spec, tc.tz, err, tc.want)
		}
	}
}
