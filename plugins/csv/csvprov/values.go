package csvprov

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// parseDecimal parses a decimal number into fixed-point int64 units of 1e-9,
// exactly (no floating point). It accepts an optional sign, digits, and up to
// nine decimal places ("1.5", "-0.000000001", "+42"); more places than nine
// are accepted only when the extra digits are zeros.
func parseDecimal(s string) (int64, error) {
	neg, intPart, frac, err := splitDecimal(s, 9)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range intPart {
		if c < '0' || c > '9' {
			return 0, errors.New("not a decimal number")
		}
		if v > (math.MaxUint64-9)/10 {
			return 0, errors.New("out of range")
		}
		v = v*10 + uint64(c-'0')
	}
	const scale = 1_000_000_000
	if v > math.MaxUint64/scale {
		return 0, errors.New("out of range")
	}
	v *= scale
	var f uint64
	for i := range 9 {
		f *= 10
		if i < len(frac) {
			c := frac[i]
			if c < '0' || c > '9' {
				return 0, errors.New("not a decimal number")
			}
			f += uint64(c - '0')
		}
	}
	v += f
	if neg {
		if v > 1<<63 {
			return 0, errors.New("out of range")
		}
		return -int64(v), nil
	}
	if v > math.MaxInt64 {
		return 0, errors.New("out of range")
	}
	return int64(v), nil
}

// splitDecimal splits a decimal number into its sign, integer digits and at
// most places fraction digits (more only when the extra digits are zeros,
// which it drops). The digits are not checked yet.
func splitDecimal(s string, places int) (neg bool, intPart, frac string, err error) {
	s = strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && (!hasDot || frac == "") {
		return false, "", "", errors.New("not a decimal number")
	}
	if len(frac) > places {
		if strings.Trim(frac[places:], "0") != "" {
			return false, "", "", fmt.Errorf("more than %d decimal places", places)
		}
		frac = frac[:places]
	}
	return neg, intPart, frac, nil
}

// parseNumeric parses a decimal number exactly into a decimal128 with the
// given scale: an optional sign, digits, and at most scale decimal places
// (more only when the extra digits are zeros), 38 digits in all, or
// precision when it is not 0 (a numeric(precision, scale) column).
func parseNumeric(s string, scale, precision int) (decimal128.Num, error) {
	neg, intPart, frac, err := splitDecimal(s, scale)
	if err != nil {
		return decimal128.Num{}, err
	}
	digits := intPart + frac + strings.Repeat("0", scale-len(frac))
	if strings.TrimLeft(digits, "0") == "" {
		return decimal128.Num{}, nil
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return decimal128.Num{}, errors.New("not a decimal number")
		}
	}
	if n := len(strings.TrimLeft(digits, "0")); precision > 0 && n > precision {
		if precision > scale {
			return decimal128.Num{}, fmt.Errorf("%d digits before the decimal point", n-scale)
		}
		return decimal128.Num{}, errors.New("too large")
	} else if n > 38 {
		return decimal128.Num{}, errors.New("more than 38 digits")
	}
	n, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return decimal128.Num{}, errors.New("not a decimal number")
	}
	if neg {
		n.Neg(n)
	}
	return decimal128.FromBigInt(n), nil
}

// autoLayouts are the timestamp forms a column without a format reads, in
// order: RFC 3339 (a zone, or Z), then a date and time with a space or a
// T and no zone, then a date alone (midnight). Times without a zone are in
// the column's time zone (UTC by default).
var autoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
}

// timeParser parses one timestamp column's text into ns since the epoch.
type timeParser func(string) (int64, error)

func newTimeParser(c sdk.Column) (timeParser, error) {
	loc := time.UTC
	if c.Timezone != "" {
		l, err := time.LoadLocation(c.Timezone)
		if err != nil {
			return nil, fmt.Errorf("column %q: time zone %q: %w (use an IANA name like America/New_York)", c.Name, c.Timezone, err)
		}
		loc = l
	}
	unit := func(mul int64) timeParser {
		return func(s string) (int64, error) {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return 0, errors.New("not an integer")
			}
			if mul > 1 && (n > math.MaxInt64/mul || n < math.MinInt64/mul) {
				return 0, errors.New("out of range")
			}
			return n * mul, nil
		}
	}
	switch c.Format {
	case "unix":
		// Seconds, with optional decimal places: exact through parseDecimal.
		return func(s string) (int64, error) { return parseDecimal(s) }, nil
	case "unix_ms":
		return unit(1_000_000), nil
	case "unix_us":
		return unit(1_000), nil
	case "unix_ns":
		return unit(1), nil
	case "", "auto":
		return func(s string) (int64, error) {
			s = strings.TrimSpace(s)
			for _, l := range autoLayouts {
				if t, err := time.ParseInLocation(l, s, loc); err == nil {
					return t.UnixNano(), nil
				}
			}
			return 0, errors.New("want 2024-03-01T14:30:00Z, 2024-03-01 14:30:00 or 2024-03-01 (a format: declares others)")
		}, nil
	case "rfc3339":
		return func(s string) (int64, error) {
			t, err := time.ParseInLocation(time.RFC3339Nano, strings.TrimSpace(s), loc)
			if err != nil {
				return 0, errors.New("not an RFC 3339 time")
			}
			return t.UnixNano(), nil
		}, nil
	}
	layout := c.Format
	return func(s string) (int64, error) {
		t, err := time.ParseInLocation(layout, strings.TrimSpace(s), loc)
		if err != nil {
			return 0, fmt.Errorf("does not match the time format %q", layout)
		}
		return t.UnixNano(), nil
	}, nil
}

// checkText reports text PostgreSQL cannot store in a text column: a NUL
// byte, invalid UTF-8, or more than length characters (length 0: any)
// unless the excess is spaces, which PostgreSQL cuts.
func checkText(s string, length int) error {
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("it holds a NUL byte (0x00), which PostgreSQL text cannot store")
	}
	if !utf8.ValidString(s) {
		return errors.New("it is not valid UTF-8")
	}
	if length > 0 && len(s) > length {
		if n := utf8.RuneCountInString(s); n > length {
			cut := 0
			for range length {
				_, size := utf8.DecodeRuneInString(s[cut:])
				cut += size
			}
			if strings.TrimLeft(s[cut:], " ") != "" {
				return fmt.Errorf("it has %d", n)
			}
		}
	}
	return nil
}
