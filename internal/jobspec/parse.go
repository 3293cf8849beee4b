package jobspec

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Options change how a job file is read. The zero value reads the process
// environment and the real clock, and treats an unset variable as an error.
type Options struct {
	// LookupEnv resolves ${VAR} in provider.config (default os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// KeepUnsetEnv leaves ${VAR} of unset variables as written, recording
	// where each is used in Job.UnsetEnv, instead of failing. For listing,
	// showing and validating jobs on machines without the secrets.
	KeepUnsetEnv bool
	// Now is the clock for relative dates and the future checks (default time.Now).
	Now func() time.Time

	// builtinDir is where the relative files of a built-in job start: the
	// jobs directory (see filesDir).
	builtinDir string
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Parse reads one job file's contents strictly and validates it, with the
// default Options. path names the file in messages. The job returned has its
// defaults filled (see ApplyDefaults). On failure the error is an Errors with
// one "file:line: message" per problem.
func Parse(path string, data []byte) (*Job, error) { return ParseWith(path, data, Options{}) }

// Load reads and parses the job file at path with the default Options.
func Load(path string) (*Job, error) { return LoadWith(path, Options{}) }

// LoadWith reads and parses the job file at path.
func LoadWith(path string, opts Options) (*Job, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseWith(path, data, opts)
}

// yamlLine matches the position yaml.v3 puts in its messages.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// ParseWith is Parse with options.
func ParseWith(path string, data []byte, opts Options) (*Job, error) {
	if !utf8.Valid(data) {
		i := 0
		for i < len(data) {
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			i += size
		}
		return nil, Errors{{File: path, Line: 1 + bytes.Count(data[:i], []byte("\n")), Msg: "the file is not valid UTF-8"}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: path, Line: 1, Msg: "the file is empty; a job needs at least name, provider.name and source.schema"}}
		}
		return nil, Errors{yamlError(path, err)}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, Errors{{File: path, Line: extra.Line, Msg: "a job file holds one YAML document; found a second one (---)"}}
	} else if !errors.Is(err, io.EOF) {
		return nil, Errors{yamlError(path, err)}
	}
	lookup := opts.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	job := &Job{File: path}
	d := &decoder{file: path, pos: map[string]int{}, budget: maxNodes}
	d.interp = func(p, v string, line int) string {
		out, missing, err := interpolate(v, lookup)
		if err != nil {
			d.errorf(line, "%s: %v", p, err)
			return ""
		}
		for _, name := range missing {
			e := &Error{File: path, Line: line, Msg: fmt.Sprintf("%s: environment variable %s is not set (set it, or write ${%s:-default})", p, name, name)}
			if opts.KeepUnsetEnv {
				job.UnsetEnv = append(job.UnsetEnv, e)
			} else {
				d.errs = append(d.errs, e)
			}
		}
		return out
	}
	n := &root
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil, Errors{{File: path, Line: 1, Msg: "the file is empty; a job needs at least name, provider.name and source.schema"}}
		}
		n = n.Content[0]
	}
	d.decode(n, reflect.ValueOf(job).Elem(), "", false)
	if len(d.errs) > 0 {
		return nil, d.errs.err()
	}
	job.UnsetEnv = job.UnsetEnv.sorted()
	job.pos = d.pos
	job.resolveFiles(opts.filesDir(path))
	for i := range job.Rules {
		job.Rules[i].Line = d.pos[fmt.Sprintf("rules[%d]", i)]
	}
	for i := range job.Mapping.Columns {
		job.Mapping.Columns[i].Line = d.pos[fmt.Sprintf("mapping.columns[%d]", i)]
	}
	if err := job.Validate(opts.now()); err != nil {
		return nil, err
	}
	job.ApplyDefaults()
	return job, nil
}

// filesDir is where the relative source.files of the job file at path
// start: the file's own directory, or for a built-in job the jobs directory
// (where a copy of it would be).
func (o Options) filesDir(path string) string {
	if strings.HasPrefix(path, BuiltinPrefix) {
		return cmp.Or(o.builtinDir, ".")
	}
	return filepath.Dir(path)
}

// resolveFiles makes the job's relative source.files absolute, from dir: a
// job reads the same files from any working directory, and a queued run
// holds paths a worker elsewhere can open.
func (j *Job) resolveFiles(dir string) {
	for i, f := range j.Source.Files {
		if f == "" || filepath.IsAbs(f) {
			continue
		}
		p := filepath.Join(dir, f)
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		j.Source.Files[i] = p
	}
}

// yamlError rewrites a yaml.v3 syntax error as "file:line: message".
func yamlError(path string, err error) *Error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: path, Line: line, Msg: "invalid YAML: " + m[2]}
	}
	msg = strings.ReplaceAll(strings.TrimPrefix(msg, "yaml: "), "\n", " ")
	return &Error{File: path, Line: 1, Msg: "invalid YAML: " + msg}
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// interpolate replaces ${VAR} and ${VAR:-default} in s; $${ is a literal ${.
// It returns the names of unset variables without a default (left as
// written). Errors never include a variable's value.
func interpolate(s string, lookup func(string) (string, bool)) (string, []string, error) {
	var b strings.Builder
	var missing []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), missing, nil
		}
		if i > 0 && s[i-1] == '$' { // $${ escapes
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", nil, fmt.Errorf("unterminated ${ (write ${NAME} or ${NAME:-default})")
		}
		body := s[i+2 : i+end]
		name, def, hasDef := strings.Cut(body, ":-")
		if !envName.MatchString(name) {
			return "", nil, fmt.Errorf("${%s}: %q is not a variable name (letters, digits, _)", truncate(body), truncate(name))
		}
		if v, ok := lookup(name); ok && v != "" {
			b.WriteString(v)
		} else if hasDef {
			b.WriteString(def)
		} else if ok {
			b.WriteString(v) // set but empty: keep it empty
		} else {
			missing = append(missing, name)
			b.WriteString(s[i : i+end+1])
		}
		s = s[i+end+1:]
	}
}

// Defaults filled by ApplyDefaults.
const (
	DefaultConcurrency = 2
	DefaultMaxUnits    = 10_000
	DefaultMode        = ModeDedupeAppend
	DefaultSeverity    = SeverityError
)

// ApplyDefaults fills what the file left out: concurrency 2, max_units
// 10000, mode dedupe-append, default_rules and mapping.defaults true, rule
// severity error. The stream, target table, chunking and symbology stay
// empty: the provider decides.
func (j *Job) ApplyDefaults() {
	if j.Concurrency == 0 {
		j.Concurrency = DefaultConcurrency
	}
	if j.MaxUnits == 0 {
		j.MaxUnits = DefaultMaxUnits
	}
	if j.Target.Mode == "" {
		j.Target.Mode = DefaultMode
	}
	t := true
	if j.DefaultRules == nil {
		j.DefaultRules = &t
	}
	if j.Mapping.Defaults == nil {
		j.Mapping.Defaults = &t
	}
	for i := range j.Rules {
		if j.Rules[i].Severity == "" {
			j.Rules[i].Severity = DefaultSeverity
		}
	}
}
