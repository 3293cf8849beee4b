// Package timerange turns the dates people write into the half-open time
// ranges hdi works with, and cuts ranges into deterministic chunks.
//
// A range is always half-open, [Start, End), in UTC with nanosecond precision.
// How a point is written decides how an end is read:
//
//   - A date (2024-01-31) is a whole day. As an end it is INCLUDED: end
//     2024-01-31 gives End = 2024-02-01T00:00:00Z. So start 2024-01-05 with
//     end 2024-01-05 is one day, and valid.
//   - A timestamp (2024-01-31T15:30:00Z, 2024-01-31T15:30:00.5+01:00,
//     2024-01-31T15:30 read as UTC, or an integer of nanoseconds since the
//     Unix epoch) is an instant. As an end it is EXCLUDED.
//   - Relative forms are resolved against an injected clock. today,
//     yesterday, -30d, -2w, -6mo (also -6m: months), -1y are dates (midnight
//     UTC of that day; as an end the day is included). now and -12h are
//     timestamps.
//
// A start in the future is an error. An end in the future is clamped to now,
// with a warning for the caller unless the end asked for "through today"
// (today, or today's date): historical data cannot go beyond now.
package timerange

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Range is the half-open interval [Start, End) in UTC.
type Range struct {
	Start time.Time
	End   time.Time
}

// IsZero reports whether the range is unset (no start and no end given).
func (r Range) IsZero() bool { return r.Start.IsZero() && r.End.IsZero() }

// Duration is End - Start.
func (r Range) Duration() time.Duration { return r.End.Sub(r.Start) }

// Contains reports whether Start <= t < End.
func (r Range) Contains(t time.Time) bool { return !t.Before(r.Start) && t.Before(r.End) }

// String formats the range as [start, end) in RFC 3339 with nanoseconds.
func (r Range) String() string {
	if r.IsZero() {
		return "[unbounded)"
	}
	return "[" + Format(r.Start) + ", " + Format(r.End) + ")"
}

// Format writes t in UTC as RFC 3339 with as many fractional digits as needed.
func Format(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Error is a problem with one field's value. Its message is one line.
type Error struct {
	// Field names the input, e.g. "end", "--end" or "source.end".
	Field string
	// Value is the text as given.
	Value string
	// Msg says what is wrong.
	Msg string
}

func (e *Error) Error() string {
	if e.Value == "" {
		return e.Field + ": " + e.Msg
	}
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Msg)
}

// Point is one parsed start or end.
type Point struct {
	// Time is the instant; for a date, midnight UTC at the start of the day.
	Time time.Time
	// DateOnly is true for dates (also today, yesterday, -30d, ...): as an end
	// the whole day is included.
	DateOnly bool
	// Relative is true when the point was resolved against the clock.
	Relative bool
}

// Bounds of what hdi accepts: nanoseconds since the epoch must fit an int64.
var (
	minTime = time.Unix(0, 0).UTC()
	maxTime = time.Unix(0, 1<<63-1).UTC()
)

// minEpochNanos rejects integers too small to be nanoseconds since the epoch
// (they are usually seconds, milliseconds or a date without dashes).
const minEpochNanos = 100_000_000_000_000_000 // 1973-03-03T09:46:40Z

// ParsePoint parses one start or end value. field names it in errors.
func ParsePoint(field, s string, now time.Time) (Point, error) {
	fail := func(format string, args ...any) (Point, error) {
		return Point{}, &Error{Field: field, Value: s, Msg: fmt.Sprintf(format, args...)}
	}
	v := strings.TrimSpace(s)
	if v == "" {
		return fail("is empty")
	}
	now = now.UTC()
	today := truncDay(now)
	switch strings.ToLower(v) {
	case "now":
		return Point{Time: now, Relative: true}, nil
	case "today":
		return Point{Time: today, DateOnly: true, Relative: true}, nil
	case "yesterday":
		return Point{Time: today.AddDate(0, 0, -1), DateOnly: true, Relative: true}, nil
	}
	if v[0] == '-' && len(v) > 1 && !isDigits(v[1:]) {
		return parseRelative(field, s, v, now)
	}
	if isDigits(v) || (v[0] == '-' && isDigits(v[1:])) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fail("is not nanoseconds since the epoch (too large)")
		}
		if n < minEpochNanos {
			if len(v) == 8 {
				return fail("integers are nanoseconds since the epoch; write a date as YYYY-MM-DD")
			}
			return fail("integers are nanoseconds since the epoch and this is before 1973-03-03 (seconds or milliseconds?)")
		}
		return Point{Time: time.Unix(0, n).UTC()}, nil
	}
	if len(v) == len("2006-01-02") {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return fail("%s", dateErr(err))
		}
		if t.Before(minTime) {
			return fail("is before 1970-01-01")
		}
		return Point{Time: t, DateOnly: true}, nil
	}
	t, err := parseTimestamp(v)
	if err != nil {
		return fail("%s", dateErr(err))
	}
	if t.Before(minTime) || t.After(maxTime) {
		return fail("is outside 1970-01-01 .. 2262-04-11")
	}
	return Point{Time: t}, nil
}

// timestamp layouts: with a zone (RFC 3339, fractional seconds optional) or
// without one (read as UTC).
var (
	zonedLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"}
	localLayouts = []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04"}
)

func parseTimestamp(v string) (time.Time, error) {
	if len(v) > 10 && (v[10] == ' ' || v[10] == 't') {
		v = v[:10] + "T" + v[11:]
	}
	if strings.HasSuffix(v, "z") {
		v = v[:len(v)-1] + "Z"
	}
	var first error
	for _, l := range zonedLayouts {
		t, err := time.Parse(l, v)
		if err == nil {
			return t.UTC(), nil
		}
		if first == nil {
			first = err
		}
	}
	for _, l := range localLayouts {
		t, err := time.ParseInLocation(l, v, time.UTC)
		if err == nil {
			return t, nil
		}
	}
	return time.Time{}, first
}

// dateErr turns a time.Parse error into a short sentence.
func dateErr(err error) string {
	if strings.Contains(err.Error(), "out of range") {
		msg := err.Error()
		var pe *time.ParseError
		if errors.As(err, &pe) && pe.Message != "" {
			msg = strings.TrimPrefix(pe.Message, ": ")
		}
		return "is not a real date or time (" + msg + ")"
	}
	return "is not a date (YYYY-MM-DD), a timestamp (2024-01-31T15:30:00Z), nanoseconds since the epoch, or a relative form (today, yesterday, now, -30d, -2w, -6mo, -1y, -12h)"
}

// parseRelative handles -N followed by a unit: h (hours, a timestamp), d, w,
// mo or m (months), y (dates).
func parseRelative(field, s, v string, now time.Time) (Point, error) {
	body := strings.ToLower(v[1:])
	i := 0
	for i < len(body) && body[i] >= '0' && body[i] <= '9' {
		i++
	}
	unit := body[i:]
	if i == 0 {
		return Point{}, &Error{Field: field, Value: s, Msg: "is not a relative form: write -N followed by h, d, w, mo (or m) or y, e.g. -30d"}
	}
	// 2,000,000 of any unit (228 years of hours) is before 1970, which
	// the check below says; more, or too many digits for an int, could
	// overflow on the way.
	n, err := strconv.Atoi(body[:i])
	if err != nil || n > 2_000_000 {
		n = 2_000_000
	}
	today := truncDay(now)
	var t time.Time
	switch unit {
	case "h":
		t = now.Add(-time.Duration(n) * time.Hour)
		if t.Before(minTime) {
			return Point{}, &Error{Field: field, Value: s, Msg: "is before 1970-01-01"}
		}
		return Point{Time: t, Relative: true}, nil
	case "d":
		t = today.AddDate(0, 0, -n)
	case "w":
		t = today.AddDate(0, 0, -7*n)
	case "mo", "m":
		t = addMonths(today, -n)
	case "y":
		t = addMonths(today, -12*n)
	default:
		return Point{}, &Error{Field: field, Value: s, Msg: fmt.Sprintf("unknown unit %q: use h, d, w, mo (or m) or y", unit)}
	}
	if t.Before(minTime) {
		return Point{}, &Error{Field: field, Value: s, Msg: "is before 1970-01-01"}
	}
	return Point{Time: t, DateOnly: true, Relative: true}, nil
}

// addMonths moves a midnight date by n months, clamping the day to the last
// day of the target month (2024-03-31 - 1 month = 2024-02-29).
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).AddDate(0, n, 0)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, 0, 0, 0, 0, time.UTC)
}

func truncDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Options configure Parse.
type Options struct {
	// Now is the clock relative forms and the future checks use (default time.Now).
	Now func() time.Time
	// StartField and EndField name the inputs in errors (default "start", "end").
	StartField, EndField string
}

// Parse resolves start and end into a half-open range.
//
// Both empty gives the zero Range (the caller decides what unbounded means).
// An empty end means now. A date-only end is included. An end after now is
// clamped to now; warnings says so when the clamp was not simply "through
// today". Errors are *Error values with one-line messages naming the field.
func Parse(start, end string, opts Options) (r Range, warnings []string, err error) {
	nowFn := opts.Now
	if nowFn == nil {
		nowFn = time.Now
	}
	now := nowFn().UTC()
	sf, ef := opts.StartField, opts.EndField
	if sf == "" {
		sf = "start"
	}
	if ef == "" {
		ef = "end"
	}
	start, end = strings.TrimSpace(start), strings.TrimSpace(end)
	if start == "" && end == "" {
		return Range{}, nil, nil
	}
	if start == "" {
		return Range{}, nil, &Error{Field: sf, Msg: fmt.Sprintf("is required when %s is set", ef)}
	}
	sp, err := ParsePoint(sf, start, now)
	if err != nil {
		return Range{}, nil, err
	}
	if !sp.Time.Before(now) {
		return Range{}, nil, &Error{Field: sf, Value: start, Msg: fmt.Sprintf("is in the future (now is %s)", Format(now))}
	}
	r.Start = sp.Time
	if end == "" {
		r.End = now
		return r, nil, nil
	}
	ep, err := ParsePoint(ef, end, now)
	if err != nil {
		return Range{}, nil, err
	}
	r.End = ep.Time
	if ep.DateOnly {
		r.End = ep.Time.AddDate(0, 0, 1)
	}
	if !r.End.After(r.Start) {
		msg := fmt.Sprintf("is not after %s %q", sf, start)
		if ep.DateOnly {
			msg += fmt.Sprintf(" (a date-only end is included, so it is the range [%s, %s); end = start as dates is one day and valid)", Format(r.Start), Format(r.End))
		} else {
			msg += fmt.Sprintf(" (the range [%s, %s) is empty; a timestamp end is excluded)", Format(r.Start), Format(r.End))
		}
		return Range{}, nil, &Error{Field: ef, Value: end, Msg: msg}
	}
	if r.End.After(now) {
		throughToday := ep.DateOnly && ep.Time.Equal(truncDay(now))
		if !throughToday && !(ep.Relative && ep.DateOnly) {
			warnings = append(warnings, fmt.Sprintf("%s %q is in the future; clamped to now (%s)", ef, end, Format(now)))
		}
		r.End = now
	}
	return r, warnings, nil
}
