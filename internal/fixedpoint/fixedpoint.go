// Package fixedpoint formats and parses Databento's fixed-point prices
// (int64 in units of 1e-9) exactly, without floating point, and formats
// nanosecond UNIX timestamps as RFC 3339 with nine fractional digits.
package fixedpoint

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Scale is the number of units per whole: 1 unit = 1e-9.
const Scale = 1_000_000_000

// Decimals is the number of fractional digits in formatted prices.
const Decimals = 9

// Format returns v/1e9 as a decimal string with exactly nine fractional
// digits, e.g. 372025000000000 -> "372025.000000000", -5 -> "-0.000000005".
func Format(v int64) string { return string(Append(nil, v)) }

// Append appends Format(v) to dst. It writes the digits into one buffer,
// two at a time (a server streams four prices a bar).
func Append(dst []byte, v int64) []byte {
	// Work on the magnitude as uint64 so math.MinInt64 is safe.
	u := uint64(v)
	if v < 0 {
		u = -u
	}
	// A sign, up to 11 digits of the whole part (2^64/1e9 < 1.9e10), and
	// the point with nine digits.
	var b [1 + 11 + 1 + Decimals]byte
	putFraction(b[12:], u%Scale)
	i := 12
	for w := u / Scale; ; {
		if w < 10 {
			i--
			b[i] = byte('0' + w)
			break
		}
		i -= 2
		put2(b[i:], w%100)
		if w /= 100; w == 0 {
			break
		}
	}
	if v < 0 {
		i--
		b[i] = '-'
	}
	return append(dst, b[i:]...)
}

// ErrSyntax and ErrRange are returned (wrapped) by Parse.
var (
	ErrSyntax = errors.New("invalid decimal")
	ErrRange  = errors.New("decimal out of range")
)

// Parse converts a decimal string such as "372025.5", "-0.000000005" or "+3"
// into int64 units of 1e-9, exactly. More than nine fractional digits are an
// error unless the extra digits are zeros; values outside int64 are ErrRange.
func Parse(s string) (int64, error) {
	if s == "" {
		return 0, fmt.Errorf("fixedpoint: %q: %w", s, ErrSyntax)
	}
	neg := false
	i := 0
	switch s[0] {
	case '-':
		neg, i = true, 1
	case '+':
		i = 1
	}
	var mag uint64 // magnitude in 1e-9 units, checked against 2^63
	const limit = uint64(math.MaxInt64) + 1
	digits := 0
	for ; i < len(s) && s[i] != '.'; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("fixedpoint: %q: %w", s, ErrSyntax)
		}
		if mag > (limit-uint64(c-'0'))/10 {
			return 0, fmt.Errorf("fixedpoint: %q: %w", s, ErrRange)
		}
		mag = mag*10 + uint64(c-'0')
		digits++
	}
	if mag > limit/Scale {
		return 0, fmt.Errorf("fixedpoint: %q: %w", s, ErrRange)
	}
	mag *= Scale
	var frac uint64
	fd := 0
	if i < len(s) {
		i++ // '.'
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("fixedpoint: %q: %w", s, ErrSyntax)
			}
			digits++
			if fd < Decimals {
				frac = frac*10 + uint64(c-'0')
				fd++
			} else if c != '0' {
				return 0, fmt.Errorf("fixedpoint: %q: more than %d significant fractional digits: %w", s, Decimals, ErrSyntax)
			}
		}
	}
	if digits == 0 {
		return 0, fmt.Errorf("fixedpoint: %q: %w", s, ErrSyntax)
	}
	for ; fd < Decimals; fd++ {
		frac *= 10
	}
	if mag > limit-frac {
		return 0, fmt.Errorf("fixedpoint: %q: %w", s, ErrRange)
	}
	mag += frac
	if neg {
		return int64(-mag), nil // -2^63 wraps to MinInt64 correctly
	}
	if mag == limit {
		return 0, fmt.Errorf("fixedpoint: %q: %w", s, ErrRange)
	}
	return int64(mag), nil
}

// pairs holds the two digits of 0..99.
const pairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

// put2 writes v (0..99) as two digits.
func put2(b []byte, v uint64) { b[0], b[1] = pairs[2*v], pairs[2*v+1] }

// putFraction writes a point and frac (< Scale) as nine digits.
func putFraction(b []byte, frac uint64) {
	b[0] = '.'
	b[1] = byte('0' + frac/1e8)
	frac %= 1e8
	put2(b[2:], frac/1e6)
	put2(b[4:], frac/1e4%100)
	put2(b[6:], frac/100%100)
	put2(b[8:], frac%100)
}

// rfc3339Nano always prints nine fractional digits.
const rfc3339Nano = "2006-01-02T15:04:05.000000000Z07:00"

// Time converts nanoseconds since the UNIX epoch to a UTC time.Time; values
// beyond int64 are handled.
func Time(ns uint64) time.Time {
	return time.Unix(int64(ns/Scale), int64(ns%Scale)).UTC()
}

// FormatTimestamp formats nanoseconds since the UNIX epoch as RFC 3339 in
// UTC with nine fractional digits, e.g. "2020-12-28T13:00:00.000000000Z".
func FormatTimestamp(ns uint64) string { return string(AppendTimestamp(nil, ns)) }

// AppendTimestamp appends FormatTimestamp(ns) to dst. It computes the
// civil date itself (Howard Hinnant's days-to-civil) and writes fixed-width
// digits: a server streaming bars formats one of these a row, and
// time.AppendFormat's layout interpretation cost more than the rest of the
// row. Every uint64 falls in the years 1970..2554, so the year has four digits.
func AppendTimestamp(dst []byte, ns uint64) []byte {
	var t Timestamps
	return t.Append(dst, ns)
}

// Timestamps is AppendTimestamp for a stream of values, keeping the date of
// the last one: the bars of a response fall on a few days, and the date is
// half the cost. The zero value is ready.
type Timestamps struct {
	days uint64
	date [11]byte // 2006-01-02T
	set  bool
}

// Append appends FormatTimestamp(ns) to dst.
func (t *Timestamps) Append(dst []byte, ns uint64) []byte {
	secs, frac := ns/Scale, ns%Scale
	if days := secs / 86400; !t.set || days != t.days {
		putDate(t.date[:], days)
		t.days, t.set = days, true
	}
	sod := secs % 86400
	var b [30]byte
	copy(b[:], t.date[:])
	put2(b[11:], sod/3600)
	b[13] = ':'
	put2(b[14:], sod/60%60)
	b[16] = ':'
	put2(b[17:], sod%60)
	putFraction(b[19:], frac)
	b[29] = 'Z'
	return append(dst, b[:]...)
}

// putDate writes the civil date of days since the UNIX epoch and a T:
// 2006-01-02T (11 bytes).
func putDate(b []byte, days uint64) {
	// Shift the epoch to 0000-03-01 so leap days end a 400-year era.
	z := days + 719468
	era := z / 146097
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	doy := doe - (365*yoe + yoe/4 - yoe/100)               // [0, 365]
	mp := (5*doy + 2) / 153                                // [0, 11], from March
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	year := yoe + era*400
	if month > 12 {
		month -= 12
		year++
	}
	put2(b[0:], year/100)
	put2(b[2:], year%100)
	b[4] = '-'
	put2(b[5:], month)
	b[7] = '-'
	put2(b[8:], day)
	b[10] = 'T'
}
