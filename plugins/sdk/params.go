package sdk

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hdi-dev/hdi/internal/suggest"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// Values are configuration keys or job parameters checked against their
// declarations (ParseParams): typed getters return the value given or the
// declared default.
type Values struct {
	decls map[string]Param
	set   map[string]string
}

// ParseParams checks values against decls: every name must be declared,
// every value must parse as its type and be one of Allowed when that is
// set, and every Required one must be there. scope names the map in errors
// and fields: "params" (job parameters) or "config" (provider config); an
// error is an *Error whose Field is "scope.NAME". The host and providers
// both call it, so a value is read the same way on both sides.
func ParseParams(scope string, decls []Param, values map[string]string) (Values, error) {
	v := Values{decls: make(map[string]Param, len(decls)), set: map[string]string{}}
	for _, d := range decls {
		v.decls[d.Name] = d
	}
	for _, name := range slices.Sorted(maps.Keys(values)) {
		val := values[name]
		d, ok := v.decls[name]
		if !ok {
			known := slices.Sorted(maps.Keys(v.decls))
			msg := fmt.Sprintf("unknown %s %q", scopeNoun(scope), name)
			if s := suggest.Closest(name, known); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			if len(known) == 0 {
				msg += ": this provider takes none"
			} else {
				msg += "; known: " + strings.Join(known, ", ")
			}
			return Values{}, &Error{Kind: ErrorPermanent, Field: scope + "." + name, Msg: msg}
		}
		if err := d.Check(val); err != nil {
			return Values{}, &Error{Kind: ErrorPermanent, Field: scope + "." + name, Msg: err.Error()}
		}
		v.set[name] = val
	}
	for _, d := range decls {
		if _, ok := v.set[d.Name]; d.Required && !ok {
			msg := fmt.Sprintf("%s is required", d.Name)
			if d.Env != "" {
				msg += fmt.Sprintf(" (or set $%s)", d.Env)
			}
			return Values{}, &Error{Kind: ErrorPermanent, Field: scope + "." + d.Name, Msg: msg}
		}
	}
	return v, nil
}

func scopeNoun(scope string) string {
	if scope == "config" {
		return "config key"
	}
	return "parameter"
}

// Check reports whether s is a valid value of the parameter: one line that
// quotes the value and says what is expected.
func (p Param) Check(s string) error {
	if len(p.Allowed) > 0 && !slices.Contains(p.Allowed, s) {
		return fmt.Errorf("%q: want one of %s", s, strings.Join(p.Allowed, ", "))
	}
	switch p.Type {
	case ParamInt:
		if _, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err != nil {
			return fmt.Errorf("%q: want a whole number", s)
		}
	case ParamFloat:
		if _, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			return fmt.Errorf("%q: want a number", s)
		}
	case ParamBool:
		if _, err := strconv.ParseBool(strings.TrimSpace(s)); err != nil {
			return fmt.Errorf("%q: want true or false", s)
		}
	case ParamDuration:
		if _, err := time.ParseDuration(strings.TrimSpace(s)); err != nil {
			return fmt.Errorf("%q: want a duration such as 30s or 5m", s)
		}
	case ParamChunk:
		if _, err := timerange.ParseChunk(s); err != nil {
			return fmt.Errorf("%q: want %s", s, timerange.ChunkSyntax)
		}
	}
	return nil
}

// Has reports whether the value was given (not defaulted).
func (v Values) Has(name string) bool { _, ok := v.set[name]; return ok }

// String returns the value given, else the declared default, else "".
func (v Values) String(name string) string {
	if s, ok := v.set[name]; ok {
		return strings.TrimSpace(s)
	}
	if d, ok := v.decls[name]; ok && d.HasDefault {
		return d.Default
	}
	return ""
}

// Int returns an int parameter (0 when neither given nor defaulted).
func (v Values) Int(name string) int64 {
	n, _ := strconv.ParseInt(v.String(name), 10, 64)
	return n
}

// Float returns a float parameter.
func (v Values) Float(name string) float64 {
	f, _ := strconv.ParseFloat(v.String(name), 64)
	return f
}

// Bool returns a bool parameter (false when neither given nor defaulted).
func (v Values) Bool(name string) bool {
	b, _ := strconv.ParseBool(v.String(name))
	return b
}

// Duration returns a duration parameter.
func (v Values) Duration(name string) time.Duration {
	d, _ := time.ParseDuration(v.String(name))
	return d
}

// Chunk returns a chunk parameter (the zero Chunk when unset).
func (v Values) Chunk(name string) timerange.Chunk {
	c, _ := timerange.ParseChunk(v.String(name))
	return c
}
