package sdk

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ColumnSyntax says how a column is declared in text, for messages and help.
const ColumnSyntax = "NAME:TYPE, TYPE one of int64, float64, string, bool, timestamp, timestamp(FORMAT), decimal, numeric(SCALE); a trailing ! makes it NOT NULL"

// TimestampFormats are the named timestamp formats a column may declare;
// anything else is a Go time layout.
var TimestampFormats = []string{"auto", "rfc3339", "unix", "unix_ms", "unix_us", "unix_ns"}

// ParseColumns parses a comma-separated list of column declarations
// (ParseColumn), as the --columns flag takes them.
func ParseColumns(s string) ([]Column, error) {
	var out []Column
	for _, part := range splitTop(s) {
		c, err := ParseColumn(part)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no columns in %q: want %s", s, ColumnSyntax)
	}
	return out, nil
}

// splitTop splits s at commas outside parentheses (a timestamp layout may
// hold a comma).
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(s[start:]); rest != "" || len(out) > 0 {
		out = append(out, rest)
	}
	return out
}

// ParseColumn parses one column declaration in text: NAME:TYPE, where TYPE
// is int64, float64, string, bool, decimal (fixed-point 1e-9), timestamp,
// timestamp(FORMAT) (FORMAT: auto, rfc3339, unix, unix_ms, unix_us,
// unix_ns or a Go layout) or numeric(SCALE). A column is nullable (an empty
// field is NULL) unless the declaration ends with "!". The result is
// checked with Column.Check.
func ParseColumn(s string) (Column, error) {
	text := strings.TrimSpace(s)
	name, typ, ok := strings.Cut(text, ":")
	if !ok || strings.TrimSpace(name) == "" || strings.TrimSpace(typ) == "" {
		return Column{}, fmt.Errorf("column %q: want %s", s, ColumnSyntax)
	}
	c := Column{Name: strings.TrimSpace(name), Nullable: true}
	typ = strings.TrimSpace(typ)
	if strings.HasSuffix(typ, "!") {
		c.Nullable = false
		typ = strings.TrimSpace(strings.TrimSuffix(typ, "!"))
	}
	arg := ""
	if i := strings.IndexByte(typ, '('); i >= 0 {
		if !strings.HasSuffix(typ, ")") {
			return Column{}, fmt.Errorf("column %q: unclosed parenthesis in type %q", c.Name, typ)
		}
		typ, arg = strings.TrimSpace(typ[:i]), strings.TrimSpace(typ[i+1:len(typ)-1])
	}
	t, ok := ParseColumnType(typ)
	if !ok {
		return Column{}, fmt.Errorf("column %q: unknown type %q: want %s", c.Name, typ, ColumnSyntax)
	}
	c.Type = t
	switch {
	case arg == "":
	case t == ColumnTimestamp:
		c.Format = arg
	case t == ColumnNumeric:
		n, err := strconv.Atoi(arg)
		if err != nil {
			return Column{}, fmt.Errorf("column %q: numeric(%s): the scale must be a whole number 0..38", c.Name, arg)
		}
		c.Scale = n
	default:
		return Column{}, fmt.Errorf("column %q: type %s takes no argument (%s)", c.Name, t, arg)
	}
	return c, c.Check()
}

// Check reports whether the declaration is usable: a name, a known type, a
// scale in range, a loadable time zone.
func (c Column) Check() error {
	if strings.TrimSpace(c.Name) == "" {
		return fmt.Errorf("a column has no name")
	}
	if c.Type.String() == "unspecified" {
		return fmt.Errorf("column %q: unknown type %d", c.Name, c.Type)
	}
	if c.Type == ColumnNumeric && (c.Scale < 0 || c.Scale > 38) {
		return fmt.Errorf("column %q: numeric scale %d: want 0..38", c.Name, c.Scale)
	}
	if c.Type != ColumnNumeric && (c.Scale != 0 || c.Precision != 0) {
		return fmt.Errorf("column %q: only numeric columns take a scale or a precision", c.Name)
	}
	if c.Precision < 0 || c.Precision > 1000 {
		return fmt.Errorf("column %q: numeric precision %d: want 1..1000", c.Name, c.Precision)
	}
	if c.Length < 0 || (c.Length != 0 && c.Type != ColumnString) {
		return fmt.Errorf("column %q: only string columns take a length", c.Name)
	}
	if c.Bits != 0 && (c.Type != ColumnInt64 || (c.Bits != 16 && c.Bits != 32 && c.Bits != 64)) {
		return fmt.Errorf("column %q: bits %d: want 16, 32 or 64, for int64 columns", c.Name, c.Bits)
	}
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil {
			return fmt.Errorf("column %q: time zone %q: use an IANA name such as America/New_York", c.Name, c.Timezone)
		}
	}
	if c.Type != ColumnTimestamp && (c.Format != "" || c.Timezone != "") {
		return fmt.Errorf("column %q: only timestamp columns take a format or a time zone", c.Name)
	}
	return nil
}

// String writes the declaration in the text form ParseColumn reads.
func (c Column) String() string {
	s := c.Name + ":" + c.Type.String()
	switch {
	case c.Type == ColumnTimestamp && c.Format != "":
		s += "(" + c.Format + ")"
	case c.Type == ColumnNumeric:
		s += "(" + strconv.Itoa(c.Scale) + ")"
	}
	if !c.Nullable {
		s += "!"
	}
	return s
}
