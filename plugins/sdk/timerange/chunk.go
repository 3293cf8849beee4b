package timerange

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MinChunk is the shortest fixed chunk ParseChunk accepts.
const MinChunk = time.Minute

// Chunk is the length of one unit's time range. Calendar chunks (days,
// weeks, months, years) are aligned to UTC calendar boundaries; fixed
// durations are aligned to multiples of the duration since the Unix epoch.
// Either way the boundaries do not depend on where a range starts, so the
// same day always falls into the same chunk and unit keys stay stable.
//
// The zero Chunk is unset (the provider chooses); None is one chunk for the
// whole range. Chunk is the one type for chunk lengths everywhere: job
// files, flags, provider params and the wire (ChunkLength in the proto).
type Chunk struct {
	unit ChunkUnit
	n    int
	d    time.Duration
}

// ChunkUnit is the unit of a Chunk. Its values are the wire's ChunkUnit.
type ChunkUnit int

// Chunk units.
const (
	UnitUnset ChunkUnit = iota // the zero Chunk: the provider chooses
	UnitNone                   // one chunk for the whole range
	UnitDay
	UnitWeek
	UnitMonth
	UnitYear
	UnitFixed // a fixed duration, in nanoseconds
)

var unitSuffix = map[ChunkUnit]string{UnitDay: "d", UnitWeek: "w", UnitMonth: "mo", UnitYear: "y"}

// None is the chunk that keeps a range whole.
var None = Chunk{unit: UnitNone}

// NewChunk builds a chunk from its unit and count (nanoseconds for
// UnitFixed), as the wire carries it, with the same checks as ParseChunk.
func NewChunk(u ChunkUnit, count int64) (Chunk, error) {
	switch u {
	case UnitUnset:
		return Chunk{}, nil
	case UnitNone:
		return None, nil
	case UnitFixed:
		return ParseChunk(time.Duration(count).String())
	}
	sfx, ok := unitSuffix[u]
	if !ok {
		return Chunk{}, fmt.Errorf("chunk length: unknown unit %d", u)
	}
	return ParseChunk(strconv.FormatInt(count, 10) + sfx)
}

// Unit returns the chunk's unit.
func (c Chunk) Unit() ChunkUnit { return c.unit }

// Count returns how many units the chunk spans (nanoseconds for UnitFixed).
func (c Chunk) Count() int64 {
	if c.unit == UnitFixed {
		return int64(c.d)
	}
	return int64(c.n)
}

// IsZero reports whether the chunk is unset: Split then returns the range whole.
func (c Chunk) IsZero() bool { return c.unit == UnitUnset }

// IsNone reports whether the chunk keeps the range whole (none).
func (c Chunk) IsNone() bool { return c.unit == UnitNone }

// String is the canonical form: 1d, 1w, 3mo, 1y, none, or a Go duration
// (6h, 1h30m); "" for the zero Chunk.
func (c Chunk) String() string {
	switch c.unit {
	case UnitUnset:
		return ""
	case UnitNone:
		return "none"
	case UnitFixed:
		return shortDuration(c.d)
	}
	return strconv.Itoa(c.n) + unitSuffix[c.unit]
}

// shortDuration writes d as time.Duration does, without zero minutes and
// seconds at the end: 6h, 1h30m, 45m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalText writes the canonical form.
func (c Chunk) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses the text forms ParseChunk takes.
func (c *Chunk) UnmarshalText(b []byte) error {
	v, err := ParseChunk(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ChunkSyntax says how chunk lengths are written, for messages.
const ChunkSyntax = "1d, 7d (or 1w), 2w, 1mo, 3mo, 1y, a duration of at least 1m such as 6h, or none"

// ParseChunk parses a chunk length: Nd (N days; 7d is 1w), Nw (weeks
// starting Monday), Nmo (months), Ny (years), a Go duration of at least a
// minute (6h, 30m, 1h30m), or none (the whole range as one chunk). The
// empty string is the zero Chunk.
func ParseChunk(s string) (Chunk, error) {
	v := strings.TrimSpace(strings.ToLower(s))
	switch v {
	case "":
		return Chunk{}, nil
	case "none":
		return None, nil
	}
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i > 0 && i < len(v) {
		var unit ChunkUnit
		switch v[i:] {
		case "d":
			unit = UnitDay
		case "w":
			unit = UnitWeek
		case "mo":
			unit = UnitMonth
		case "y":
			unit = UnitYear
		}
		if unit != UnitUnset {
			n, err := strconv.Atoi(v[:i])
			if err != nil || n <= 0 || n > 10000 {
				return Chunk{}, fmt.Errorf("chunk length %q: the count must be 1..10000", s)
			}
			if unit == UnitDay && n%7 == 0 {
				unit, n = UnitWeek, n/7
			}
			return Chunk{unit: unit, n: n}, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return Chunk{}, fmt.Errorf("chunk length %q: use %s", s, ChunkSyntax)
	}
	if d < MinChunk {
		return Chunk{}, fmt.Errorf("chunk length %q: must be at least %s", s, MinChunk)
	}
	if d%(24*time.Hour) == 0 {
		return ParseChunk(strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d")
	}
	return Chunk{unit: UnitFixed, d: d}, nil
}

// epochMonday is the first Monday after the Unix epoch: week chunks count from it.
var epochMonday = time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC)

// index numbers the chunk that holds t on c's grid, counting from the
// chunk that holds the Unix epoch (0).
func (c Chunk) index(t time.Time) int64 {
	t = t.UTC()
	const day = 24 * 60 * 60
	switch c.unit {
	case UnitDay:
		return floorDiv(floorDiv(t.Unix(), day), int64(c.n))
	case UnitWeek:
		return floorDiv(floorDiv(floorDiv(t.Unix()-epochMonday.Unix(), day), 7), int64(c.n))
	case UnitMonth, UnitYear:
		step := int64(c.n)
		if c.unit == UnitYear {
			step *= 12
		}
		return floorDiv(int64(t.Year()-1970)*12+int64(t.Month()-1), step)
	}
	return floorDiv(t.UnixNano(), int64(c.d))
}

// Count is len(Split(r, c)), computed without cutting: how many units a
// range makes, in constant time and memory however long the range.
func Count(r Range, c Chunk) int64 {
	switch {
	case !r.End.After(r.Start):
		return 0
	case c.IsZero() || c.IsNone():
		return 1
	}
	return c.index(r.End.Add(-1)) - c.index(r.Start) + 1
}

// ladder is what FitChunk proposes, shortest first.
var ladder = func() []Chunk {
	var out []Chunk
	for _, s := range []string{"1m", "5m", "15m", "30m", "1h", "6h", "12h", "1d", "1w", "1mo", "3mo", "1y", "none"} {
		c, err := ParseChunk(s)
		if err != nil {
			panic(err)
		}
		out = append(out, c)
	}
	return out
}()

// FitChunk returns the shortest of the usual chunk lengths (1m, 5m, 15m,
// 30m, 1h, 6h, 12h, 1d, 1w, 1mo, 3mo, 1y, none) with which a plan of
// perChunk units per chunk of r stays within maxUnits, and how many units
// that plan has. ok is false when even none (one chunk) has too many.
func FitChunk(r Range, perChunk, maxUnits int64) (c Chunk, units int64, ok bool) {
	for _, c := range ladder {
		if n := perChunk * Count(r, c); n <= maxUnits {
			return c, n, true
		}
	}
	return Chunk{}, 0, false
}

// next returns the first chunk boundary strictly after t.
func (c Chunk) next(t time.Time) time.Time {
	t = t.UTC()
	switch c.unit {
	case UnitDay:
		days := floorDiv(int64(truncDay(t).Sub(minTime)/(24*time.Hour)), int64(c.n))
		return minTime.AddDate(0, 0, int((days+1)*int64(c.n)))
	case UnitWeek:
		days := int64(truncDay(t).Sub(epochMonday) / (24 * time.Hour))
		weeks := floorDiv(floorDiv(days, 7), int64(c.n))
		return epochMonday.AddDate(0, 0, int((weeks+1)*int64(c.n)*7))
	case UnitMonth, UnitYear:
		step := c.n
		if c.unit == UnitYear {
			step *= 12
		}
		months := int64(t.Year()-1970)*12 + int64(t.Month()-1)
		k := (floorDiv(months, int64(step)) + 1) * int64(step)
		return time.Date(1970+int(k/12), time.Month(k%12+1), 1, 0, 0, 0, 0, time.UTC)
	}
	ns := t.UnixNano()
	k := floorDiv(ns, int64(c.d))
	return time.Unix(0, (k+1)*int64(c.d)).UTC()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Split cuts r into consecutive chunks on c's boundaries. The first and last
// chunks are cut short by r itself. The result covers r exactly, without
// gaps or overlaps, and is the same for the same input. A zero or None
// chunk gives r as the only element (nil for an empty range).
func Split(r Range, c Chunk) []Range {
	if !r.End.After(r.Start) {
		return nil
	}
	if c.IsZero() || c.IsNone() {
		return []Range{r}
	}
	var out []Range
	for t := r.Start; t.Before(r.End); {
		n := c.next(t)
		if !n.After(t) || n.After(r.End) { // !After guards against overflow
			n = r.End
		}
		out = append(out, Range{Start: t, End: n})
		t = n
	}
	return out
}
