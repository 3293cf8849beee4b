// Package csvprov is the logic of hdi-provider-csv: it reads delimited text
// files (plain, gzip or zstd, detected by magic bytes) into Arrow record
// batches whose schema the job declares.
//
// Work units: one per file. A unit's key is
//
//	csv:<absolute path>@<size in bytes>:<modification time, ns since the epoch>
//
// so the same unchanged file always gets the same key (the host's ledger skips
// it on a re-run), while a file replaced or appended to gets a new key and is
// loaded again. Renaming or moving a file also changes its key.
//
// Rows go to the stream "rows". A record that cannot be converted (wrong
// field count, a value that does not parse, a CSV syntax error) is sent as a
// row error "file:line: message" with the raw record text, and the fetch goes
// on; the host quarantines it.
package csvprov

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Stream is the name of the one stream the provider produces.
const Stream = "rows"

// Version of the csv provider.
const Version = "1.0.0"

// Provider implements sdk.Provider for delimited files.
type Provider struct{}

// New returns the csv provider.
func New() *Provider { return &Provider{} }

var configKeys = []sdk.ConfigKey{
	{Name: "delimiter", Type: sdk.ConfigString, Default: ",", HasDefault: true,
		Description: `field delimiter: one character, or "tab"`},
	{Name: "header", Type: sdk.ConfigBool, Default: "true", HasDefault: true,
		Description: "the first line names the columns; columns are matched by name (else by position)"},
	{Name: "null", Type: sdk.ConfigString, Default: "", HasDefault: true,
		Description: "text that means NULL in nullable columns (an empty field always does)"},
	{Name: "comment", Type: sdk.ConfigString,
		Description: "lines starting with this character are skipped"},
}

// Describe implements sdk.Provider.
func (*Provider) Describe(context.Context) (*sdk.Description, error) {
	return &sdk.Description{
		Name:        "csv",
		Version:     Version,
		Description: "delimited text files (plain, gzip or zstd); the job declares the columns",
		Streams: []sdk.Stream{{
			Name:        Stream,
			Description: "one row per record; schema from the job's columns",
		}},
		Config: configKeys,
	}, nil
}

// options are the parsing options, from config overridden by job params.
type options struct {
	delim   rune
	header  bool
	null    string
	comment rune
}

func parseOptions(config, params map[string]string) (options, error) {
	get := func(k string) (string, bool) {
		if v, ok := params[k]; ok {
			return v, true
		}
		v, ok := config[k]
		return v, ok
	}
	o := options{delim: ',', header: true}
	if v, ok := get("delimiter"); ok {
		switch {
		case v == "tab" || v == `\t`:
			o.delim = '\t'
		case len([]rune(v)) == 1 && v != "\n" && v != "\r" && v != `"`:
			o.delim = []rune(v)[0]
		default:
			return o, fmt.Errorf("delimiter %q: want one character (not a quote or newline), or \"tab\"", v)
		}
	}
	if v, ok := get("header"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("header %q: want true or false", v)
		}
		o.header = b
	}
	if v, ok := get("null"); ok {
		o.null = v
	}
	if v, ok := get("comment"); ok && v != "" {
		r := []rune(v)
		if len(r) != 1 || r[0] == o.delim {
			return o, fmt.Errorf("comment %q: want one character other than the delimiter", v)
		}
		o.comment = r[0]
	}
	return o, nil
}

// Check implements sdk.Provider: it validates the parsing options.
func (*Provider) Check(_ context.Context, config map[string]string) (*sdk.CheckResult, error) {
	if _, err := parseOptions(config, nil); err != nil {
		return nil, err
	}
	return &sdk.CheckResult{}, nil
}

// Schema returns the Arrow schema for job-declared columns: int64, float64,
// string, bool; timestamp as timestamp[ns, UTC]; decimal as int64 in units of
// 1e-9 (field metadata hdi.scale=9).
func Schema(cols []sdk.Column) (*arrow.Schema, error) {
	if len(cols) == 0 {
		return nil, errors.New("the job declares no columns: the csv provider needs the column schema (name and type of each column)")
	}
	seen := map[string]bool{}
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		if c.Name == "" {
			return nil, fmt.Errorf("column %d has no name", i+1)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("column %q is declared twice", c.Name)
		}
		seen[c.Name] = true
		f := arrow.Field{Name: c.Name, Nullable: c.Nullable}
		switch c.Type {
		case sdk.ColumnInt64:
			f.Type = arrow.PrimitiveTypes.Int64
		case sdk.ColumnFloat64:
			f.Type = arrow.PrimitiveTypes.Float64
		case sdk.ColumnString:
			f.Type = arrow.BinaryTypes.String
		case sdk.ColumnBool:
			f.Type = arrow.FixedWidthTypes.Boolean
		case sdk.ColumnTimestamp:
			f.Type = &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
		case sdk.ColumnDecimal:
			f.Type = arrow.PrimitiveTypes.Int64
			f.Metadata = arrow.NewMetadata([]string{"hdi.scale"}, []string{"9"})
		default:
			return nil, fmt.Errorf("column %q: unknown type %d (want int64, float64, string, bool, timestamp or decimal)", c.Name, c.Type)
		}
		if c.Type == sdk.ColumnTimestamp {
			if _, err := newTimeParser(c); err != nil {
				return nil, err
			}
		}
		fields[i] = f
	}
	return arrow.NewSchema(fields, nil), nil
}

// Plan implements sdk.Provider: one unit per file matched by the job's files
// and globs, in path order.
func (*Provider) Plan(_ context.Context, job *sdk.Job) (*sdk.Plan, error) {
	if _, err := parseOptions(job.Config, job.Params); err != nil {
		return nil, err
	}
	schema, err := Schema(job.Columns)
	if err != nil {
		return nil, err
	}
	files, err := expand(job.Files)
	if err != nil {
		return nil, err
	}
	p := &sdk.Plan{Streams: []sdk.Stream{{Name: Stream, Schema: schema}}}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, fmt.Errorf("plan: %w", err)
		}
		p.Units = append(p.Units, sdk.Unit{
			Key:              UnitKey(f, st),
			Stream:           Stream,
			Files:            []string{f},
			EstimatedBytes:   sdk.Int64(st.Size()),
			EstimatedCostUSD: sdk.Float64(0),
		})
	}
	return p, nil
}

// UnitKey is the stable key of the unit for file path (absolute) with info st.
func UnitKey(path string, st os.FileInfo) string {
	return fmt.Sprintf("csv:%s@%d:%d", path, st.Size(), st.ModTime().UnixNano())
}

// expand resolves files and globs to absolute paths of regular files, sorted
// and without duplicates. A pattern that matches nothing is an error.
func expand(patterns []string) ([]string, error) {
	if len(patterns) == 0 {
		return nil, errors.New("the job lists no files: give the csv provider files or globs (e.g. data/*.csv.gz)")
	}
	seen := map[string]bool{}
	var out []string
	for _, pat := range patterns {
		matches, err := filepath.Glob(pat)
		if err != nil {
			return nil, fmt.Errorf("file pattern %q: %w", pat, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("file pattern %q matches no file: check the path (relative paths start from %s)", pat, cwd())
		}
		for _, m := range matches {
			abs, err := filepath.Abs(m)
			if err != nil {
				return nil, err
			}
			st, err := os.Stat(abs)
			if err != nil {
				return nil, err
			}
			if st.IsDir() || seen[abs] {
				continue
			}
			seen[abs] = true
			out = append(out, abs)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("files %s match only directories", strings.Join(patterns, ", "))
	}
	sort.Strings(out)
	return out, nil
}

func cwd() string {
	d, err := os.Getwd()
	if err != nil {
		return "the working directory"
	}
	return d
}

// Fetch implements sdk.Provider: it reads the unit's file(s).
func (*Provider) Fetch(ctx context.Context, req *sdk.FetchRequest, out sdk.Sender) error {
	opts, err := parseOptions(req.Job.Config, req.Job.Params)
	if err != nil {
		return err
	}
	schema, err := Schema(req.Job.Columns)
	if err != nil {
		return err
	}
	files := req.Unit.Files
	if len(files) == 0 {
		return fmt.Errorf("unit %q lists no file", req.Unit.Key)
	}
	for _, f := range files {
		r := &fileReader{
			path:   f,
			opts:   opts,
			cols:   req.Job.Columns,
			schema: schema,
			limit:  req.Job.Limit,
		}
		if err := r.read(ctx, out, req.BatchRows); err != nil {
			return err
		}
	}
	return nil
}
