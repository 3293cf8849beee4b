package fixedpoint

import (
	"errors"
	"math"
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
