package query

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hdi-dev/hdi/internal/fixedpoint"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// EndParam reports whether a timestamptz parameter of this name is an
// inclusive end date when given as a date only (DESIGN.md decision 7):
// end, end_ts, end_time and names ending in _end. `end=2024-01-31` binds
// 2024-02-01T00:00:00Z, for use as `ts < @end`.
func EndParam(name string) bool {
	return name == "end" || name == "end_ts" || name == "end_time" || strings.HasSuffix(name, "_end")
}

var numericText = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// ParseValue converts the command-line text of a parameter to the Go value
// bound for a PostgreSQL type (by OID; typeName is for messages). Arrays take
// comma-separated elements. The error is one line naming the parameter and
// the form wanted.
func ParseValue(name, typeName string, oid uint32, text string) (any, error) {
	bad := func(what string) error {
		return &BindError{Param: name, Value: text, Msg: what}
	}
	switch oid {
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID, pgtype.UnknownOID:
		return text, nil
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID:
		bits := map[uint32]int{pgtype.Int2OID: 16, pgtype.Int4OID: 32, pgtype.Int8OID: 64}[oid]
		v, err := strconv.ParseInt(strings.TrimSpace(text), 10, bits)
		if err != nil {
			return nil, bad(fmt.Sprintf("not an integer (%s)", typeName))
		}
		return v, nil
	case pgtype.Float4OID, pgtype.Float8OID:
		v, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return nil, bad("not a number")
		}
		return v, nil
	case pgtype.NumericOID:
		t := strings.TrimSpace(text)
		if !numericText.MatchString(t) {
			return nil, bad("not a decimal number")
		}
		var n pgtype.Numeric
		if err := n.Scan(t); err != nil {
			return nil, bad("not a decimal number")
		}
		return n, nil
	case pgtype.BoolOID:
		v, err := strconv.ParseBool(strings.TrimSpace(text))
		if err != nil {
			return nil, bad("not a boolean (want true or false)")
		}
		return v, nil
	case pgtype.DateOID:
		p, err := timerange.ParsePoint(name, text, Now())
		if err != nil || !p.DateOnly {
			return nil, bad("not a date (want YYYY-MM-DD, today, yesterday or -Nd/-Nw/-Nmo/-Ny)")
		}
		return p.Time, nil
	case pgtype.TimestamptzOID, pgtype.TimestampOID:
		p, err := timerange.ParsePoint(name, text, Now())
		if err != nil {
			return nil, bad("not a time (want YYYY-MM-DD, RFC 3339, today, yesterday, now, or -30d, -2w, -6mo, -1y, -12h)")
		}
		t := p.Time
		if p.DateOnly && EndParam(name) {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	case pgtype.JSONOID, pgtype.JSONBOID:
		if !json.Valid([]byte(text)) {
			return nil, bad("not valid JSON")
		}
		return text, nil
	case pgtype.TextArrayOID, pgtype.VarcharArrayOID:
		return SplitList(text), nil
	case pgtype.Int2ArrayOID, pgtype.Int4ArrayOID, pgtype.Int8ArrayOID:
		var out []int64
		for _, s := range SplitList(text) {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, bad(fmt.Sprintf("%q is not an integer (want a comma-separated list)", s))
			}
			out = append(out, v)
		}
		return out, nil
	}
	// Any other type: PostgreSQL parses the text (still bound, never spliced).
	return text, nil
}

// BindError is a parameter a query cannot take: a value that does not
// parse for its type, a name the query does not have, or a required one
// missing. The CLI prints Error(); hdi serve reports Param and Msg.
type BindError struct {
	Param, Value, Msg string
	text              string // the whole message, when not about one value
}

func (e *BindError) Error() string {
	if e.text != "" {
		return e.text
	}
	return fmt.Sprintf("--param %s=%s: %s", e.Param, e.Value, e.Msg)
}

// Now is the clock relative dates (today, -7d) resolve against.
var Now = time.Now

// SplitList splits a comma-separated list, trimming spaces and dropping
// empty items.
func SplitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// FormatFixed is fixedpoint.Format, re-exported for callers formatting a
// price parameter back.
func FormatFixed(v int64) string { return fixedpoint.Format(v) }
