package jobspec

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

// ProviderJobOptions is what the host adds to a job to make the provider's.
type ProviderJobOptions struct {
	// Now resolves relative dates.
	Now time.Time
	// Config is the provider configuration: hdi's config file and the
	// environment, under the job's provider.config.
	Config map[string]string
	// Stream is the stream to load (the job's source.schema, or the
	// provider's only stream).
	Stream string
	// Columns are declared for a stream whose schema the job gives when
	// the job declares none (the target table's columns).
	Columns []sdk.Column
	// Replace: the host deletes each unit's range (replace-range, --force).
	Replace bool
	// Offline: plan without network access (validation, file dry runs).
	Offline bool
	// DryRun: the plan is shown, never run (see sdk.Job.DryRun).
	DryRun bool
}

// ProviderJob turns the job into what its provider's Plan and Fetch get. It
// is the one place the host builds an sdk.Job, for runs, dry runs and
// validation alike. The warnings are the time range's (an end clamped to now).
func (j *Job) ProviderJob(o ProviderJobOptions) (*sdk.Job, []string, error) {
	rng, warnings, err := j.TimeRange(o.Now)
	if err != nil {
		return nil, nil, err
	}
	cols := o.Columns
	if len(j.Source.Columns) > 0 {
		cols = make([]sdk.Column, len(j.Source.Columns))
		for i, c := range j.Source.Columns {
			if cols[i], err = c.SDK(); err != nil {
				return nil, nil, j.KeyError(fmt.Sprintf("source.columns[%d]", i), err.Error())
			}
		}
	}
	sj := &sdk.Job{
		Config:   o.Config,
		Stream:   o.Stream,
		Dataset:  j.Source.Dataset,
		Symbols:  j.Source.Symbols,
		StypeIn:  j.Source.StypeIn,
		StypeOut: j.Source.StypeOut,
		Limit:    j.Source.Limit,
		Chunking: sdk.Chunking{Length: j.Chunking.Time, SymbolsPerUnit: j.Chunking.SymbolsPerUnit},
		Files:    j.Source.Files,
		Columns:  cols,
		Params:   j.Source.Params,
		Replace:  o.Replace || j.Target.Mode == ModeReplaceRange,
		Offline:  o.Offline,
		DryRun:   o.DryRun,
		// The job's concurrency and unit cap (their defaults when unset).
		Parallelism: cmp.Or(j.Concurrency, DefaultConcurrency),
		MaxUnits:    cmp.Or(j.MaxUnits, DefaultMaxUnits),
	}
	if !rng.IsZero() { // a range that starts at the epoch has Start 0 and End > 0
		sj.Start, sj.End = rng.Start.UnixNano(), rng.End.UnixNano()
	}
	return sj, warnings, nil
}

// fieldKeys maps the provider contract's job fields (sdk.Error.Field) to
// the job file's keys.
var fieldKeys = map[string]string{
	"dataset": "source.dataset", "schema": "source.schema", "symbols": "source.symbols",
	"stype_in": "source.stype_in", "stype_out": "source.stype_out", "start": "source.start",
	"end": "source.end", "limit": "source.limit", "files": "source.files", "columns": "source.columns",
	"params": "source.params", "chunking": "chunking.time", "config": "provider.config",
	"streams": "source.schemas",
}

// KeyOf is the job file key of a provider field ("symbols[1]" is
// "source.symbols[1]", "params.parts" is "source.params.parts"), or "".
func KeyOf(field string) string {
	head := field
	if i := strings.IndexAny(field, ".["); i >= 0 {
		head = field[:i]
	}
	key, ok := fieldKeys[head]
	if !ok {
		return ""
	}
	return key + field[len(head):]
}

// ProviderError turns a provider's error about a job field into the job's
// own: naming the key and line of the job file, or the flag the user typed.
// Other errors come back as they are.
func (j *Job) ProviderError(err error) error {
	var pe *sdk.Error
	if !errors.As(err, &pe) || pe.Field == "" {
		return err
	}
	field, msg := pe.Field, pe.Error()
	key := KeyOf(field)
	if key == "" {
		return fmt.Errorf("%s: %s", field, msg)
	}
	if strings.HasPrefix(key, "provider.config.") && j.flagFor(key) == "" {
		if _, inJob := j.Provider.Config[strings.TrimPrefix(key, "provider.config.")]; !inJob {
			// The value came from hdi's config file or the environment.
			name := strings.TrimPrefix(key, "provider.config.")
			return &Error{Msg: fmt.Sprintf("providers.%s.%s: %s", j.Provider.Name, name, msg)}
		}
	}
	return j.KeyError(key, msg)
}

// UnitCapError refuses a plan of more units than sj.MaxUnits, in one line
// that proposes the shortest usual chunk length that fits (see
// timerange.FitChunk): "--chunk: 1h makes 490176 units, more than
// --max-units 10000 allows: use --chunk 1w (2918 units), or raise
// --max-units". tm says how the provider's plan grew.
func (j *Job) UnitCapError(tm *sdk.TooManyUnits, sj *sdk.Job) error {
	// set is how the user would give key the value: a flag or a job key.
	set := func(key, val string) string {
		if f := j.flagFor(key); f != "" {
			return f + " " + val
		}
		return key + ": " + val
	}
	maxKey := j.keyName("max_units")
	rng, ranged := sj.Range()
	if tm.UnitsPerChunk <= 0 || !ranged {
		return j.KeyError("max_units", fmt.Sprintf("the plan has %d units, more than %d: narrow the job (fewer files or symbols), or raise %s", tm.Units, sj.MaxUnits, maxKey))
	}
	used := "the provider's default chunk length"
	switch {
	case !sj.Chunking.Length.IsZero():
		used = sj.Chunking.Length.String()
	case !tm.Chunk.IsZero():
		used += " (" + tm.Chunk.String() + ")"
	}
	msg := fmt.Sprintf("%s makes %d units, more than %s %d allows: ", used, tm.Units, maxKey, sj.MaxUnits)
	if c, n, ok := timerange.FitChunk(rng, tm.UnitsPerChunk, sj.MaxUnits); ok {
		msg += fmt.Sprintf("use %s (%d units), or raise %s", set("chunking.time", c.String()), n, maxKey)
	} else {
		msg += fmt.Sprintf("even %s makes %d: narrow the symbols, or raise %s", set("chunking.time", "none"), tm.UnitsPerChunk, maxKey)
	}
	return j.KeyError("chunking.time", msg)
}

// KeyError is a problem with one key of the job: "file:line: key: msg" for
// a job file, or "--flag: msg" when the user gave the value as a flag.
func (j *Job) KeyError(key, msg string) *Error {
	if flag := j.flagFor(key); flag != "" {
		return &Error{Msg: flag + ": " + msg, Flag: flag}
	}
	return &Error{File: j.File, Line: j.line(key), Msg: key + ": " + msg}
}

// keyName is how the user wrote key: its flag, or the key itself.
func (j *Job) keyName(key string) string {
	if f := j.flagFor(key); f != "" {
		return f
	}
	return key
}

// flagFor is the flag that set key (or its nearest parent), or "".
func (j *Job) flagFor(key string) string {
	for k := key; k != ""; k = parentKey(k) {
		if f, ok := j.Flags[k]; ok {
			return f
		}
	}
	return ""
}

// line finds the line of key, or of its nearest recorded parent.
func (j *Job) line(key string) int {
	for k := key; k != ""; k = parentKey(k) {
		if l, ok := j.pos[k]; ok {
			return l
		}
	}
	if j.pos == nil {
		return 0 // a job built in code
	}
	return 1
}

func parentKey(k string) string {
	i := strings.LastIndexAny(k, ".[")
	if i < 0 {
		return ""
	}
	return k[:i]
}
