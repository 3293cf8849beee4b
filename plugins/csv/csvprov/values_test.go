package csvprov

import (
	"testing"

	"github.com/hdi-dev/hdi/plugins/sdk"
)

func TestParseDecimal(t *testing.T) {
	good := map[string]int64{
		"1.5":                   1_500_000_000,
		"-0.000000001":          -1,
		"+42":                   42_000_000_000,
		".25":                   250_000_000,
		"7.":                    7_000_000_000,
		"1.1000000000":          1_100_000_000,
		"9223372036.854775807":  9223372036854775807,
		"-9223372036.854775808": -9223372036854775808,
	}
	for s, want := range good {
		got, err := parseDecimal(s)
		if err != nil || got != want {
			t.Errorf("parseDecimal(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", ".", "-", "1.0000000001", "abc", "1e3", "9223372036.854775808", "1..2"} {
		if got, err := parseDecimal(s); err == nil {
			t.Errorf("parseDecimal(%q) = %d, want an error", s, got)
		}
	}
}

func TestTimeParsers(t *testing.T) {
	cases := []struct {
		col  sdk.Column
		in   string
		want int64
	}{
		{sdk.Column{Name: "t"}, "2024-01-02T14:30:00.5Z", 1704205800500000000},
		{sdk.Column{Name: "t", Format: "unix"}, "1704205800.5", 1704205800500000000},
		{sdk.Column{Name: "t", Format: "unix_ms"}, "1704205800500", 1704205800500000000},
		{sdk.Column{Name: "t", Format: "unix_ns"}, "1704205800500000000", 1704205800500000000},
		{sdk.Column{Name: "t", Format: "2006-01-02 15:04", Timezone: "America/New_York"}, "2024-01-02 09:30", 1704205800000000000},
	}
	for _, c := range cases {
		p, err := newTimeParser(c.col)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p(c.in)
		if err != nil || got != c.want {
			t.Errorf("%+v %q = %d, %v; want %d", c.col, c.in, got, err, c.want)
		}
	}
	if _, err := newTimeParser(sdk.Column{Name: "t", Timezone: "Mars/Olympus"}); err == nil {
		t.Error("unknown time zone accepted")
	}
}

func TestOptions(t *testing.T) {
	o, err := parseOptions(map[string]string{"delimiter": ";", "header": "true"}, map[string]string{"delimiter": "tab", "header": "false"})
	if err != nil || o.delim != '\t' || o.header {
		t.Fatalf("params should override config: %+v %v", o, err)
	}
	if _, err := parseOptions(map[string]string{"delimiter": "ab"}, nil); err == nil {
		t.Error("two-character delimiter accepted")
	}
}
