package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hdi-dev/hdi/internal/suggest"
)

type fileEntry struct {
	value  string
	source string // "file PATH:LINE"
	line   int
}

type fileValues struct {
	scalars map[string]fileEntry
	maps    map[string]map[string]fileEntry
	nested  map[string]map[string]fileEntry
	// named is where each provider's section starts.
	named map[string]fileEntry
}

// parseFile reads the YAML config strictly: an unknown key or a value of the
// wrong shape is an error naming the file, the line and the key.
func parseFile(path string, data []byte) (*fileValues, error) {
	fv := &fileValues{scalars: map[string]fileEntry{}, maps: map[string]map[string]fileEntry{}, nested: map[string]map[string]fileEntry{}, named: map[string]fileEntry{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return fv, nil // empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the config file must be a mapping of keys to values", path, root.Line)
	}
	at := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d", path, n.Line) }
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if seen[k.Value] {
			return nil, fmt.Errorf("%s: key %q is given twice", at(k), k.Value)
		}
		seen[k.Value] = true
		if isGroup(k.Value) {
			// A group of settings (worker: {rescue_after: 30s}) is read as
			// its dotted keys (worker.rescue_after).
			if v.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("%s: key %q must be a mapping, not %s", at(v), k.Value, nodeKind(v))
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				gk, gv := v.Content[j], v.Content[j+1]
				full := k.Value + "." + gk.Value
				d, ok := defByKey(full)
				if !ok {
					return nil, unknownKey(at(gk), full)
				}
				if err := fv.scalar(d, gv, at); err != nil {
					return nil, err
				}
			}
			continue
		}
		d, ok := defByKey(k.Value)
		if !ok {
			return nil, unknownKey(at(k), k.Value)
		}
		switch d.Kind {
		case KindMap:
			m, err := stringMap(v, at, k.Value)
			if err != nil {
				return nil, err
			}
			fv.maps[d.Key] = m
		case KindNested:
			if v.Kind != yaml.MappingNode {
				return nil, fmt.Errorf("%s: key %q must be a mapping of provider names to settings", at(v), k.Value)
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				pk, pv := v.Content[j], v.Content[j+1]
				m, err := stringMap(pv, at, k.Value+"."+pk.Value)
				if err != nil {
					return nil, err
				}
				fv.nested[pk.Value] = m
				fv.named[pk.Value] = fileEntry{source: "file " + at(pk), line: pk.Line}
			}
		default:
			if err := fv.scalar(d, v, at); err != nil {
				return nil, err
			}
		}
	}
	return fv, nil
}

// scalar reads the single value of setting d.
func (fv *fileValues) scalar(d Def, v *yaml.Node, at func(*yaml.Node) string) error {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		return fmt.Errorf("%s: key %q must be a single value, not %s", at(v), d.Key, nodeKind(v))
	}
	if err := checkValue(d, v.Value); err != nil {
		return fmt.Errorf("%s: key %q: %w", at(v), d.Key, err)
	}
	fv.scalars[d.Key] = fileEntry{value: v.Value, source: "file " + at(v)}
	return nil
}

// isGroup reports whether key groups settings (worker: for worker.*).
func isGroup(key string) bool {
	for _, d := range Defs {
		if strings.HasPrefix(d.Key, key+".") {
			return true
		}
	}
	return false
}

func stringMap(n *yaml.Node, at func(*yaml.Node) string, key string) (map[string]fileEntry, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: key %q must be a mapping, not %s", at(n), key, nodeKind(n))
	}
	out := map[string]fileEntry{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s: key %q must be a single value, not %s", at(v), key+"."+k.Value, nodeKind(v))
		}
		out[k.Value] = fileEntry{value: v.Value, source: "file " + at(v), line: v.Line}
	}
	return out, nil
}

func nodeKind(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Tag == "!!null":
		return "empty"
	default:
		return "a single value"
	}
}

// unknownKey is the error for a key hdi does not know, at "PATH:LINE".
func unknownKey(at, key string) error {
	keys := make([]string, len(Defs))
	for i, d := range Defs {
		keys[i] = d.Key
	}
	return fmt.Errorf("%s: unknown key %q%s; known keys: %s", at, key, didYouMean(key, keys), strings.Join(keys, ", "))
}

// didYouMean is " (did you mean "X"?)" for the candidate nearest to s, or "".
func didYouMean(s string, candidates []string) string {
	if c := suggest.Closest(s, candidates); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return ""
}
