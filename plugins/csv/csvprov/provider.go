// Package csvprov is the logic of hdi-provider-csv: it reads delimited text
// files (plain, gzip or zstd, detected by magic bytes) into Arrow record
// batches.
//
// Columns. The job declares them (source.columns, --columns); with none
// declared, hdi declares the target table's columns (their types from the
// table). With a header line (the default) columns are matched by name: the
// stream holds the declared columns the header names, in header order, and
// header columns that are not declared as strings (map or drop them). A
// declared column the header lacks is left out (the table's NULL or
// default). Without a header the declared columns are positional.
//
// Work units: one per file. A unit's key is
//
//	csv:<absolute path>@<size in bytes>:<modification time, ns since the epoch>
//
// so the same unchanged file always gets the same key (the host's ledger skips
// it on a re-run), while a file replaced or appended to gets a new key and is
// loaded again. Renaming or moving a file also changes its key.
//
// NULL: an empty field, or the null text, is NULL in every column, but a
// quoted one is text in a string column ("" is the empty string), as in
// PostgreSQL's CSV COPY.
//
// Rows go to the stream "rows". A record that cannot be converted (more or
// fewer fields than the header, a value that does not parse or that the
// declared column cannot hold, NULL for a NOT NULL column, a CSV syntax
// error) is sent as a row error "file:line:column: message" with the raw
// record text, and the fetch goes on; the host quarantines it.
package csvprov

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sort"
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

// options declares the parsing options: provider config keys, which a
// job's params override.
var optionParams = []sdk.Param{
	{Name: "delimiter", Type: sdk.ParamString, Default: ",", HasDefault: true,
		Description: `field delimiter: one character, or "tab"`},
	{Name: "header", Type: sdk.ParamBool, Default: "true", HasDefault: true,
		Description: "the first line names the columns; columns are matched by name (else by position)"},
	{Name: "null", Type: sdk.ParamString, Default: "", HasDefault: true,
		Description: "text that means NULL (an empty field always does); quoted, it is text in a string column"},
	{Name: "comment", Type: sdk.ParamString,
		Description: "lines starting with this character are skipped"},
}

// Describe implements sdk.Provider.
func (*Provider) Describe(context.Context) (*sdk.Description, error) {
	return &sdk.Description{
		Name:        "csv",
		Version:     Version,
		Description: "delimited text files (plain, gzip or zstd); columns from the job or the target table",
		Streams: []sdk.Stream{{
			Name:        Stream,
			Description: "one row per record; schema from the declared columns and the header",
		}},
		Config: optionParams,
		Params: optionParams,
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
	merged := maps.Clone(config)
	if merged == nil {
		merged = map[string]string{}
	}
	scope := "config"
	for k, v := range params {
		merged[k], scope = v, "params"
	}
	v, err := sdk.ParseParams(scope, optionParams, merged)
	if err != nil {
		return options{}, err
	}
	field := func(name string) string {
		if _, ok := params[name]; ok {
			return "params." + name
		}
		return "config." + name
	}
	o := options{delim: ',', header: v.Bool("header"), null: v.String("null")}
	switch d := merged["delimiter"]; {
	case d == "":
	case d == "tab" || d == `\t`:
		o.delim = '\t'
	case len([]rune(d)) == 1 && d != "\n" && d != "\r" && d != `"`:
		o.delim = []rune(d)[0]
	default:
		return o, sdk.FieldError(field("delimiter"), "%q: want one character (not a quote or newline), or \"tab\"", d)
	}
	if c := merged["comment"]; c != "" {
		r := []rune(c)
		if len(r) != 1 || r[0] == o.delim {
			return o, sdk.FieldError(field("comment"), "%q: want one character other than the delimiter", c)
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

// arrowField is the Arrow field of a declared column: int64, float64,
// string, bool; timestamp as timestamp[ns, UTC]; decimal as int64 in units
// of 1e-9 (field metadata hdi.scale=9); numeric as decimal128(38, scale).
func arrowField(c sdk.Column) (arrow.Field, error) {
	if err := c.Check(); err != nil {
		return arrow.Field{}, err
	}
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
		if _, err := newTimeParser(c); err != nil {
			return f, err
		}
	case sdk.ColumnDecimal:
		f.Type = arrow.PrimitiveTypes.Int64
		f.Metadata = arrow.NewMetadata([]string{"hdi.scale"}, []string{"9"})
	case sdk.ColumnNumeric:
		f.Type = &arrow.Decimal128Type{Precision: 38, Scale: int32(c.Scale)}
	}
	return f, nil
}

// Schema returns the Arrow schema of the columns, in order.
func Schema(cols []sdk.Column) (*arrow.Schema, error) {
	seen := map[string]bool{}
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		if seen[c.Name] {
			return nil, sdk.FieldError("columns", "column %q is declared twice", c.Name)
		}
		seen[c.Name] = true
		f, err := arrowField(c)
		if err != nil {
			return nil, sdk.FieldError("columns", "%v", err)
		}
		fields[i] = f
	}
	return arrow.NewSchema(fields, nil), nil
}

// resolve matches the declared columns with a file's header: the columns
// of the stream, each with its field index. With a header the stream holds
// the declared columns the header names, in declared order (so files whose
// headers order them differently load alike), then the header's undeclared
// columns as strings, in header order. Without a header the declared
// columns are the stream, by position.
func resolve(declared []sdk.Column, head []string, hasHeader bool) ([]column, error) {
	if !hasHeader {
		if len(declared) == 0 {
			return nil, sdk.FieldError("columns", "a file without a header needs its columns declared: source.columns in the job, or --columns NAME:TYPE,...")
		}
		out := make([]column, len(declared))
		for i, c := range declared {
			out[i] = column{Column: c, index: i}
		}
		return out, nil
	}
	pos := map[string]int{}
	for i, h := range head {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // UTF-8 byte order mark
		}
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, fmt.Errorf("column %d has an empty name in the header", i+1)
		}
		if _, dup := pos[h]; dup {
			return nil, fmt.Errorf("column %d: %q is named twice in the header", i+1, h)
		}
		pos[h] = i
		head[i] = h
	}
	var out []column
	taken := map[int]bool{}
	for _, c := range declared {
		src := c.Source
		if src == "" {
			src = c.Name
		}
		if i, ok := pos[src]; ok {
			out = append(out, column{Column: c, index: i})
			taken[i] = true
		}
	}
	for i, h := range head {
		if !taken[i] {
			out = append(out, column{Column: sdk.Column{Name: h, Type: sdk.ColumnString, Nullable: true}, index: i, extra: true})
		}
	}
	return out, nil
}

func columnsOf(cs []column) []sdk.Column {
	out := make([]sdk.Column, len(cs))
	for i, c := range cs {
		out[i] = c.Column
	}
	return out
}

// Plan implements sdk.Provider: one unit per file matched by the job's files
// and globs, in path order. With a header, it reads each file's first line:
// the files of one job must name the same columns.
func (*Provider) Plan(_ context.Context, job *sdk.Job) (*sdk.Plan, error) {
	opts, err := parseOptions(job.Config, job.Params)
	if err != nil {
		return nil, err
	}
	for _, c := range job.Columns {
		if err := c.Check(); err != nil {
			return nil, sdk.FieldError("columns", "%v", err)
		}
	}
	files, err := expand(job.Files)
	if err != nil {
		return nil, err
	}
	var schema *arrow.Schema
	var first string
	p := &sdk.Plan{}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, sdk.FieldError("files", "%v", err)
		}
		cols, err := fileColumns(f, opts, job.Columns)
		if err != nil {
			return nil, err
		}
		s, err := Schema(columnsOf(cols))
		if err != nil {
			return nil, err
		}
		switch {
		case schema == nil:
			schema, first = s, f
		case !schema.Equal(s):
			return nil, sdk.FieldError("files", "%s has the columns %s but %s has %s: load files with different headers in separate runs", f, fieldNames(s), first, fieldNames(schema))
		}
		p.Units = append(p.Units, sdk.Unit{
			Key:              UnitKey(f, st),
			Stream:           Stream,
			Files:            []string{f},
			EstimatedBytes:   sdk.Int64(st.Size()),
			EstimatedCostUSD: sdk.Float64(0),
		})
	}
	p.Streams = []sdk.Stream{{Name: Stream, Schema: schema}}
	return p, nil
}

func fieldNames(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// fileColumns reads the file's header (when it has one) and resolves its
// columns.
func fileColumns(path string, opts options, declared []sdk.Column) ([]column, error) {
	if !opts.header {
		return resolve(declared, nil, false)
	}
	var n sdk.CountingReader
	src, closeFn, err := openDecompressed(path, &n)
	if err != nil {
		return nil, sdk.FieldError("files", "%v", err)
	}
	defer closeFn()
	cr := newCSVReader(src, opts)
	head, err := cr.Read()
	if err == io.EOF {
		return nil, sdk.FieldError("files", "%s is empty: it has no header line (set header: false and declare the columns for files without one)", path)
	}
	if err != nil {
		return nil, sdk.FieldError("files", "%s:1: header: %v", path, err)
	}
	cols, err := resolve(declared, head, true)
	if err != nil {
		return nil, sdk.FieldError("files", "%s:1: %v", path, err)
	}
	return cols, nil
}

// UnitKey is the stable key of the unit for file path (absolute) with info st.
func UnitKey(path string, st os.FileInfo) string {
	return fmt.Sprintf("csv:%s@%d:%d", path, st.Size(), st.ModTime().UnixNano())
}

// expand resolves files and globs to absolute paths of regular files, sorted
// and without duplicates. A pattern that matches nothing is an error.
func expand(patterns []string) ([]string, error) {
	if len(patterns) == 0 {
		return nil, sdk.FieldError("files", "none given: give the csv provider files or globs (e.g. --file data/*.csv.gz)")
	}
	seen := map[string]bool{}
	var out []string
	for _, pat := range patterns {
		matches, err := filepath.Glob(pat)
		if err != nil {
			return nil, sdk.FieldError("files", "pattern %q: %v", pat, err)
		}
		if len(matches) == 0 {
			return nil, sdk.FieldError("files", "%q matches no file: check the path (relative paths start from %s)", pat, cwd())
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
		return nil, sdk.FieldError("files", "%s match only directories", strings.Join(patterns, ", "))
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
	files := req.Unit.Files
	if len(files) == 0 {
		return fmt.Errorf("unit %q lists no file", req.Unit.Key)
	}
	for _, f := range files {
		r := &fileReader{path: f, opts: opts, declared: req.Job.Columns, limit: req.Job.Limit}
		if err := r.read(ctx, out, req.BatchRows); err != nil {
			return err
		}
	}
	return nil
}
