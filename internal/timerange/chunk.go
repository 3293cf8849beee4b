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
type Chunk struct {
	unit string // "d", "w", "mo", "y" or "" (fixed)
	n    int
	d    time.Duration
}

// IsZero reports whether the chunk is unset: Split then returns the range whole.
func (c Chunk) IsZero() bool { return c.n == 0 && c.d == 0 }

// String is the canonical form: 1d, 1w, 3mo, 1y, or a Go duration (6h0m0s).
func (c Chunk) String() string {
	switch {
	case c.IsZero():
		return ""
	case c.unit == "":
		return c.d.String()
	}
	return strconv.Itoa(c.n) + c.unit
}

// ParseChunk parses a chunk size: Nd (N days; 7d is 1w), Nw (weeks starting
// Monday), Nmo (months), Ny (years), or a Go duration of at least a minute
// (6h, 30m, 1h30m). The empty string is the zero Chunk.
func ParseChunk(s string) (Chunk, error) {
	v := strings.TrimSpace(strings.ToLower(s))
	if v == "" {
		return Chunk{}, nil
	}
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i > 0 && i < len(v) {
		switch unit := v[i:]; unit {
		case "d", "w", "mo", "y":
			n, err := strconv.Atoi(v[:i])
			if err != nil || n <= 0 || n > 10000 {
				return Chunk{}, fmt.Errorf("chunk size %q: the count must be 1..10000", s)
			}
			if unit == "d" && n%7 == 0 {
				unit, n = "w", n/7
			}
			return Chunk{unit: unit, n: n}, nil
		}
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return Chunk{}, fmt.Errorf("chunk size %q: use 1d, 7d (or 1w), 1mo, 1y, or a duration such as 6h", s)
	}
	if d < MinChunk {
		return Chunk{}, fmt.Errorf("chunk size %q: must be at least %s", s, MinChunk)
	}
	if d%(24*time.Hour) == 0 {
		return ParseChunk(strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d")
	}
	return Chunk{d: d}, nil
}

// epochMonday is the first Monday after the Unix epoch: week chunks count from it.
var epochMonday = time.Date(1970, 1, 5, 0, 0, 0, 0, time.UTC)

// next returns the first chunk boundary strictly after t.
func (c Chunk) next(t time.Time) time.Time {
	t = t.UTC()
	switch c.unit {
	case "d":
		days := floorDiv(int64(truncDay(t).Sub(minTime)/(24*time.Hour)), int64(c.n))
		return minTime.AddDate(0, 0, int((days+1)*int64(c.n)))
	case "w":
		days := int64(truncDay(t).Sub(epochMonday) / (24 * time.Hour))
		weeks := floorDiv(floorDiv(days, 7), int64(c.n))
		return epochMonday.AddDate(0, 0, int((weeks+1)*int64(c.n)*7))
	case "mo", "y":
		step := c.n
		if c.unit == "y" {
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
// gaps or overlaps, and is the same for the same input. A zero chunk or an
// empty range gives r as the only element (nil for an empty range).
func Split(r Range, c Chunk) []Range {
	if !r.End.After(r.Start) {
		return nil
	}
	if c.IsZero() {
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
