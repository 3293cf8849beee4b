package jobspec

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/hdi-dev/hdi/internal/suggest"
)

// maxNodes bounds the nodes one file may expand to (aliases can multiply them).
const maxNodes = 100_000

// decoder walks a yaml.Node tree into the job structs, strictly: every key
// must be known, every value of the right type. It records each key's line
// by its path (source.schema, rules[1].min) for later messages.
type decoder struct {
	file   string
	errs   Errors
	pos    map[string]int
	budget int
	interp func(path, value string, line int) string
}

func (d *decoder) errorf(line int, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return strconv.Quote(truncate(n.Value))
		}
		return truncate(n.Value)
	}
	return "an unexpected node"
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// resolve follows aliases and charges the node budget; false stops the walk.
func (d *decoder) resolve(n *yaml.Node) (*yaml.Node, bool) {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	d.budget--
	if d.budget == 0 {
		d.errorf(n.Line, "the file expands to more than %d values (aliases?)", maxNodes)
	}
	return n, d.budget > 0
}

// isNull reports an explicit or implicit null (key: with nothing after it).
func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

type fieldInfo struct {
	index int
	key   string
}

var structKeys sync.Map // reflect.Type -> []fieldInfo

func keysOf(t reflect.Type) []fieldInfo {
	if v, ok := structKeys.Load(t); ok {
		return v.([]fieldInfo)
	}
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || key == "-" || key == "" {
			continue
		}
		out = append(out, fieldInfo{index: i, key: key})
	}
	structKeys.Store(t, out)
	return out
}

// KnownKeys lists the keys a job file may use at the level of v's type
// (a struct such as Job, Source or RuleSpec), in declaration order.
func KnownKeys(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for _, f := range keysOf(t) {
		out = append(out, f.key)
	}
	return out
}

// decode fills v (addressable) from n. path is the dotted key path of n.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, inConfig bool) {
	n, ok := d.resolve(n)
	if !ok {
		return
	}
	if isNull(n) {
		return // leave the zero value: "key:" with nothing is "not set"
	}
	if tu, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok && v.Kind() != reflect.Pointer {
		// A typed value parsed by its own type (a chunk length, a number, a
		// column in NAME:TYPE form): the same code reads flags and the SDK.
		switch {
		case n.Kind == yaml.ScalarNode:
			if strings.Contains(n.Value, "${") {
				d.errorf(n.Line, "%s: ${...} interpolation is only allowed in provider.config values (for secrets)", path)
				return
			}
			if err := tu.UnmarshalText([]byte(n.Value)); err != nil {
				d.errorf(n.Line, "%s: %v", path, err)
			}
			return
		case v.Kind() != reflect.Struct || len(keysOf(v.Type())) == 0:
			d.errorf(n.Line, "%s: expected a single value, got %s", path, kindName(n))
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		nv := reflect.New(v.Type().Elem())
		before := len(d.errs)
		d.decode(n, nv.Elem(), path, inConfig)
		if len(d.errs) == before {
			v.Set(nv)
		}
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.errorf(n.Line, "%s: expected a list, got %s (write [a, b] or one \"- item\" per line)", path, kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			d.pos[ip] = item.Line
			d.decode(item, s.Index(i), ip, inConfig)
			if d.budget <= 0 {
				return
			}
		}
		v.Set(s)
	case reflect.Map:
		d.decodeMap(n, v, path, inConfig)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n.Line, "%s: expected a string, got %s", path, kindName(n))
			return
		}
		s := n.Value
		if inConfig {
			s = d.interp(path, s, n.Line)
		} else if strings.Contains(s, "${") {
			d.errorf(n.Line, "%s: ${...} interpolation is only allowed in provider.config values (for secrets)", path)
			return
		}
		v.SetString(s)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
			d.errorf(n.Line, "%s: expected true or false, got %s", path, kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
			d.errorf(n.Line, "%s: expected an integer, got %s", path, kindName(n))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		var f float64
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n.Line, "%s: expected a number, got %s", path, kindName(n))
			return
		}
		v.SetFloat(f)
	default:
		panic("jobspec: cannot decode into " + v.Type().String())
	}
}

// mapPairs checks n is a mapping with unique scalar keys and calls fn for each.
func (d *decoder) mapPairs(n *yaml.Node, path string, fn func(key string, k, val *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		what := path
		if what == "" {
			what = "the job"
		}
		d.errorf(n.Line, "%s: expected a mapping (key: value lines), got %s", what, kindName(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k.Line, "%s: keys must be plain strings", orTop(path))
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			d.errorf(k.Line, "%s: merge keys (<<) are not supported", orTop(path))
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.errorf(k.Line, "%s: key %q is repeated (first at line %d)", join(path, k.Value), k.Value, prev)
			continue
		}
		seen[k.Value] = k.Line
		fn(k.Value, k, val)
		if d.budget <= 0 {
			return
		}
	}
}

func orTop(path string) string {
	if path == "" {
		return "the job"
	}
	return path
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	fields := keysOf(v.Type())
	d.mapPairs(n, path, func(key string, k, val *yaml.Node) {
		for _, f := range fields {
			if f.key == key {
				p := join(path, key)
				d.pos[p] = k.Line
				d.decode(val, v.Field(f.index), p, p == "provider.config")
				return
			}
		}
		names := make([]string, len(fields))
		for i, f := range fields {
			names[i] = f.key
		}
		msg := fmt.Sprintf("%s: unknown key %q", orTop(path), key)
		if s := suggest.Closest(key, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		d.errorf(k.Line, "%s; known keys: %s", msg, strings.Join(names, ", "))
	})
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, inConfig bool) {
	m := reflect.MakeMap(v.Type())
	d.mapPairs(n, path, func(key string, k, val *yaml.Node) {
		p := join(path, key)
		d.pos[p] = k.Line
		ev := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, ev, p, inConfig)
		m.SetMapIndex(reflect.ValueOf(key), ev)
	})
	v.Set(m)
}
