package jobspec

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hdi-dev/hdi/jobs"
)

// BuiltinPrefix starts the File of a built-in job: "<builtin>/NAME.yaml".
const BuiltinPrefix = "<builtin>/"

// Entry is one job file found by List.
type Entry struct {
	// Name is the file name without .yaml or .yml: what Find takes.
	Name string
	// File is the path, or BuiltinPrefix + the file name for a built-in.
	File string
	// Builtin is true for a built-in job, also when the jobs directory holds
	// an identical copy (as it does in hdi's own repository).
	Builtin bool
	// Overrides is true for a jobs-directory file that replaces a built-in
	// job of the same name with different contents.
	Overrides bool
	// Job is the parsed job; nil when Err is set.
	Job *Job
	// Err is why the file did not parse (an Errors, usually).
	Err error
}

func stem(name string) (string, bool) {
	for _, ext := range []string{".yaml", ".yml"} {
		if strings.HasSuffix(name, ext) && len(name) > len(ext) {
			return strings.TrimSuffix(name, ext), true
		}
	}
	return "", false
}

type source struct {
	name, file string
	data       []byte
	builtin    bool
	overrides  bool
}

// parse reads the source; a built-in job's relative files start from the
// jobs directory.
func (s source) parse(jobsDir string, opts Options) (*Job, error) {
	opts.builtinDir = jobsDir
	return ParseWith(s.file, s.data, opts)
}

// sources lists the job files: the jobs directory first, then the built-ins
// it does not override. A missing jobs directory is not an error.
func sources(jobsDir string) ([]source, error) {
	byName := map[string]*source{}
	var order []string
	if jobsDir != "" {
		ents, err := os.ReadDir(jobsDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		for _, e := range ents {
			name, ok := stem(e.Name())
			if !ok || e.IsDir() {
				continue
			}
			file := filepath.Join(jobsDir, e.Name())
			if prev, dup := byName[name]; dup {
				return nil, fmt.Errorf("job %q is defined twice: %s and %s", name, prev.file, file)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return nil, err
			}
			byName[name] = &source{name: name, file: file, data: data}
			order = append(order, name)
		}
	}
	ents, err := fs.ReadDir(jobs.FS, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		name, ok := stem(e.Name())
		if !ok {
			continue
		}
		data, err := fs.ReadFile(jobs.FS, e.Name())
		if err != nil {
			return nil, err
		}
		if s, ok := byName[name]; ok {
			if bytes.Equal(s.data, data) {
				s.builtin = true
			} else {
				s.overrides = true
			}
			continue
		}
		byName[name] = &source{name: name, file: BuiltinPrefix + e.Name(), data: data, builtin: true}
		order = append(order, name)
	}
	sort.Strings(order)
	out := make([]source, len(order))
	for i, n := range order {
		out[i] = *byName[n]
	}
	return out, nil
}

// List parses every job of the jobs directory and every built-in job not
// overridden by a file of the same name there, sorted by name. A file that
// does not parse is listed with its Err.
func List(jobsDir string, opts Options) ([]Entry, error) {
	srcs, err := sources(jobsDir)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(srcs))
	for i, s := range srcs {
		job, err := s.parse(jobsDir, opts)
		out[i] = Entry{Name: s.name, File: s.file, Builtin: s.builtin, Overrides: s.overrides, Job: job, Err: err}
	}
	return out, nil
}

// Find loads a job by path or by name, with the default Options.
func Find(jobsDir, nameOrPath string) (*Job, error) { return FindWith(jobsDir, nameOrPath, Options{}) }

// FindWith loads a job by path or by name. nameOrPath is read as a path when
// it names an existing file, contains a path separator, or ends in .yaml or
// .yml. Otherwise it is a name (see FindName).
func FindWith(jobsDir, nameOrPath string, opts Options) (*Job, error) {
	if nameOrPath == "" {
		return nil, errors.New("no job given: pass a job name or a file")
	}
	_, hasExt := stem(nameOrPath)
	if st, err := os.Stat(nameOrPath); (err == nil && !st.IsDir()) || hasExt || strings.ContainsRune(nameOrPath, os.PathSeparator) || strings.Contains(nameOrPath, "/") {
		return LoadWith(nameOrPath, opts)
	}
	job, err := FindName(jobsDir, nameOrPath, opts)
	if errors.Is(err, ErrNoJob) {
		err = fmt.Errorf("%w; pass a file path to load another", err)
	}
	return job, err
}

// ErrNoJob is FindName's error for a name no job has (a *NoJobError).
var ErrNoJob = errors.New("no such job")

// FindName loads a job by name only, never a path (for names that come
// over the network): jobsDir/NAME.yaml, jobsDir/NAME.yml, the built-in
// NAME.yaml (so a file in the jobs directory overrides a built-in job), and
// last a job whose name: is name.
func FindName(jobsDir, name string, opts Options) (*Job, error) {
	if name == "" {
		return nil, errors.New("no job given: pass a job name")
	}
	srcs, err := sources(jobsDir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range srcs {
		if s.name == name {
			return s.parse(jobsDir, opts)
		}
		names = append(names, s.name)
	}
	// Last, a job whose name: differs from its file name.
	for _, s := range srcs {
		job, err := s.parse(jobsDir, Options{KeepUnsetEnv: true, LookupEnv: opts.LookupEnv, Now: opts.Now})
		if err == nil && job.Name == name {
			return s.parse(jobsDir, opts)
		}
	}
	return nil, &NoJobError{Name: name, JobsDir: jobsDir, Known: names}
}

// NoJobError is FindName's error for a name that names no job.
type NoJobError struct {
	Name    string
	JobsDir string
	Known   []string // the names there are
}

func (e *NoJobError) Error() string {
	where := "the built-in jobs"
	if e.JobsDir != "" {
		where = e.JobsDir + " or " + where
	}
	return fmt.Sprintf("no job %q in %s (known: %s)", e.Name, where, strings.Join(e.Known, ", "))
}

// Is makes a NoJobError an ErrNoJob.
func (e *NoJobError) Is(target error) bool { return target == ErrNoJob }
