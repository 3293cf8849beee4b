// Package output writes query results (pgx rows) as a table for people, CSV,
// TSV, a JSON array, NDJSON or Parquet, streaming: CSV, TSV, NDJSON, JSON and
// Parquet hold one row (Parquet: one row group) at a time, so memory stays
// constant however many rows come; the table format buffers its first
// Options.TableSample rows to size its columns.
//
// Values are exact. Bigint columns that hold Databento fixed-point prices
// (1 unit = 1e-9; named price, open, high, low, close, bid_px_00, strike_price,
// settlement, ... see FixedPointColumn) are written as exact decimals, and
// bigint nanosecond timestamps (ts_recv, ts_event, ts_ref, expiration, ...;
// see NanosColumn) as RFC 3339 times with nine fractional digits, in UTC or
// in Options.Location. numeric comes as PostgreSQL's own decimal text; floats
// only from float columns. Options.Raw turns the name-based conversions off.
package output

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hdi-dev/hdi/internal/fixedpoint"
)

// Format is an output format.
type Format string

// The output formats.
const (
	Table   Format = "table"
	CSV     Format = "csv"
	TSV     Format = "tsv"
	JSON    Format = "json"
	NDJSON  Format = "ndjson"
	Parquet Format = "parquet"
)

// Formats lists every format, for help texts.
var Formats = []Format{Table, CSV, TSV, JSON, NDJSON, Parquet}

// ParseFormat checks a format name ("" means table).
func ParseFormat(s string) (Format, error) {
	if s == "" {
		return Table, nil
	}
	for _, f := range Formats {
		if string(f) == strings.ToLower(s) {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q (want one of %s)", s, formatList())
}

func formatList() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// Options configure a writer.
type Options struct {
	// Format is the output format (default Table).
	Format Format
	// Location is the zone times are shown in (default UTC).
	Location *time.Location
	// Raw writes bigint columns as plain integers (no fixed-point decimals
	// nor nanosecond times by column name).
	Raw bool
	// TableSample is the number of rows the table format reads to size its
	// columns (default 1000); later rows are truncated to those widths.
	TableSample int
	// MaxWidth caps a table column's width (default 40); longer values end in "…".
	MaxWidth int
	// RowGroupRows is the number of rows per Parquet row group (default 65536).
	RowGroupRows int
}

// Kind is how a column's values are written.
type Kind int

// Column kinds.
const (
	KindText    Kind = iota // text as is
	KindInt                 // integer
	KindFloat               // float4/float8
	KindBool                // boolean
	KindFixed               // bigint fixed-point, 1 unit = 1e-9: an exact decimal
	KindNanos               // bigint ns since the UNIX epoch: an RFC 3339 time
	KindTime                // timestamptz/timestamp (µs): an RFC 3339 time
	KindDate                // date: YYYY-MM-DD
	KindDecimal             // numeric: PostgreSQL's exact decimal text
	KindJSON                // json/jsonb: raw JSON
)

// Column is one result column.
type Column struct {
	Name string
	Kind Kind
	oid  uint32
}

var fixedNames = map[string]bool{
	"price": true, "open": true, "high": true, "low": true, "close": true,
	"old_close": true, "new_close": true, "from_close": true, "to_close": true, "price_gap": true,
	"settlement": true, "strike_price": true, "min_price_increment": true,
	"high_limit_price": true, "low_limit_price": true, "max_price_variation": true,
	"min_price_increment_amount": true, "trading_reference_price": true,
	"leg_price": true, "leg_delta": true, "display_factor": true,
	"unit_of_measure_qty": true, "price_ratio": true, "ref_price": true,
	"cont_book_clr_price": true, "auct_interest_clr_price": true,
	"ssr_filling_price": true, "ind_match_price": true, "upper_collar": true,
	"lower_collar": true,
}

var levelPrice = regexp.MustCompile(`^(bid|ask)_px_[0-9]{2}$`)

// FixedPointColumn reports whether a bigint column of this name holds a
// fixed-point value (1e-9 units) in hdi's schema.
func FixedPointColumn(name string) bool { return fixedNames[name] || levelPrice.MatchString(name) }

var nanosNames = map[string]bool{
	"ts_recv": true, "ts_event": true, "ts_ref": true, "ts_out": true,
	"expiration": true, "activation": true, "auction_time": true,
}

// NanosColumn reports whether a bigint column of this name holds
// nanoseconds since the UNIX epoch in hdi's schema.
func NanosColumn(name string) bool { return nanosNames[name] }

// Columns derives the output columns from a result's field descriptions.
func Columns(fds []pgconn.FieldDescription, raw bool) []Column {
	cols := make([]Column, len(fds))
	for i, fd := range fds {
		c := Column{Name: fd.Name, oid: fd.DataTypeOID}
		switch fd.DataTypeOID {
		case pgtype.Int8OID:
			c.Kind = KindInt
			if !raw && FixedPointColumn(fd.Name) {
				c.Kind = KindFixed
			} else if !raw && NanosColumn(fd.Name) {
				c.Kind = KindNanos
			}
		case pgtype.Int2OID, pgtype.Int4OID, pgtype.OIDOID:
			c.Kind = KindInt
		case pgtype.Float4OID, pgtype.Float8OID:
			c.Kind = KindFloat
		case pgtype.BoolOID:
			c.Kind = KindBool
		case pgtype.TimestamptzOID, pgtype.TimestampOID:
			c.Kind = KindTime
		case pgtype.DateOID:
			c.Kind = KindDate
		case pgtype.NumericOID:
			c.Kind = KindDecimal
		case pgtype.JSONOID, pgtype.JSONBOID:
			c.Kind = KindJSON
		default:
			c.Kind = KindText
		}
		cols[i] = c
	}
	return cols
}

// ResultFormats asks PostgreSQL for binary integers, floats, booleans,
// times and dates (decoded here without allocating) and text for everything
// else (numeric keeps its exact decimal text). Pass it as the first argument
// of pgx's Query before the query's own arguments.
var ResultFormats = pgx.QueryResultFormatsByOID{
	pgtype.Int2OID: pgx.BinaryFormatCode, pgtype.Int4OID: pgx.BinaryFormatCode,
	pgtype.Int8OID: pgx.BinaryFormatCode, pgtype.OIDOID: pgx.BinaryFormatCode,
	pgtype.Float4OID: pgx.BinaryFormatCode, pgtype.Float8OID: pgx.BinaryFormatCode,
	pgtype.BoolOID: pgx.BinaryFormatCode, pgtype.TimestamptzOID: pgx.BinaryFormatCode,
	pgtype.TimestampOID: pgx.BinaryFormatCode, pgtype.DateOID: pgx.BinaryFormatCode,
}

// cell is one decoded value. Text-like values alias the row buffer and are
// valid only until the next row.
type cell struct {
	null bool
	i    int64 // ints, fixed, nanos, µs since the epoch (time), days since the epoch (date), bool 0/1
	f    float64
	b    []byte // text, decimal, json, and text-format fallbacks
	text bool   // the value came in text format: write b as is
}

const (
	pgEpochMicros = 946684800 * 1000000 // 2000-01-01 in µs since the UNIX epoch
	pgEpochDays   = 10957               // 2000-01-01 in days since the UNIX epoch
)

func decode(c *Column, format int16, raw []byte, out *cell) error {
	*out = cell{}
	if raw == nil {
		out.null = true
		return nil
	}
	if format == pgx.TextFormatCode {
		out.b = raw
		switch c.Kind {
		case KindInt, KindFixed, KindNanos:
			v, err := strconv.ParseInt(string(raw), 10, 64)
			if err != nil {
				return fmt.Errorf("column %s: %w", c.Name, err)
			}
			out.i = v
		default:
			out.text = c.Kind != KindText && c.Kind != KindDecimal && c.Kind != KindJSON
		}
		return nil
	}
	switch c.oid {
	case pgtype.Int2OID:
		out.i = int64(int16(binary.BigEndian.Uint16(raw)))
	case pgtype.Int4OID:
		out.i = int64(int32(binary.BigEndian.Uint32(raw)))
	case pgtype.OIDOID:
		out.i = int64(binary.BigEndian.Uint32(raw))
	case pgtype.Int8OID:
		out.i = int64(binary.BigEndian.Uint64(raw))
	case pgtype.Float4OID:
		out.f = float64(math.Float32frombits(binary.BigEndian.Uint32(raw)))
	case pgtype.Float8OID:
		out.f = math.Float64frombits(binary.BigEndian.Uint64(raw))
	case pgtype.BoolOID:
		if raw[0] != 0 {
			out.i = 1
		}
	case pgtype.TimestamptzOID, pgtype.TimestampOID:
		us := int64(binary.BigEndian.Uint64(raw))
		switch us {
		case math.MaxInt64:
			out.b, out.text = []byte("infinity"), true
		case math.MinInt64:
			out.b, out.text = []byte("-infinity"), true
		default:
			out.i = us + pgEpochMicros
		}
	case pgtype.DateOID:
		d := int32(binary.BigEndian.Uint32(raw))
		switch d {
		case math.MaxInt32:
			out.b, out.text = []byte("infinity"), true
		case math.MinInt32:
			out.b, out.text = []byte("-infinity"), true
		default:
			out.i = int64(d) + pgEpochDays
		}
	default:
		out.b = raw
	}
	return nil
}

const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// appendText appends the value's text form (no quoting); nulls append nothing.
func appendText(dst []byte, c *Column, v *cell, loc *time.Location) []byte {
	if v.null {
		return dst
	}
	if v.text {
		return append(dst, v.b...)
	}
	switch c.Kind {
	case KindInt:
		return strconv.AppendInt(dst, v.i, 10)
	case KindFixed:
		return fixedpoint.Append(dst, v.i)
	case KindNanos:
		if loc == nil || loc == time.UTC {
			if v.i >= 0 {
				return fixedpoint.AppendTimestamp(dst, uint64(v.i))
			}
			loc = time.UTC
		}
		return time.Unix(0, v.i).In(loc).AppendFormat(dst, timeLayout)
	case KindTime:
		if loc == nil || loc == time.UTC {
			if v.i >= 0 && v.i <= math.MaxUint64/1000 {
				return fixedpoint.AppendTimestamp(dst, uint64(v.i)*1000)
			}
			loc = time.UTC
		}
		return time.UnixMicro(v.i).In(loc).AppendFormat(dst, timeLayout)
	case KindDate:
		return time.Unix(v.i*86400, 0).UTC().AppendFormat(dst, "2006-01-02")
	case KindFloat:
		return strconv.AppendFloat(dst, v.f, 'g', -1, 64)
	case KindBool:
		if v.i != 0 {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	}
	return append(dst, v.b...)
}

// rowWriter is one format's writer.
type rowWriter interface {
	begin(cols []Column) error
	row(cells []cell) error
	end() error
}

// Write streams rows to w in opts.Format and returns the number of rows
// written. It closes rows. Nothing but the data goes to w.
func Write(w io.Writer, rows pgx.Rows, opts Options) (int64, error) {
	defer rows.Close()
	cols := Columns(rows.FieldDescriptions(), opts.Raw)
	rw, err := newRowWriter(w, opts)
	if err != nil {
		return 0, err
	}
	return writeRows(rw, cols, rows)
}

func newRowWriter(w io.Writer, opts Options) (rowWriter, error) {
	if opts.TableSample <= 0 {
		opts.TableSample = 1000
	}
	if opts.MaxWidth <= 0 {
		opts.MaxWidth = 40
	}
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = 65536
	}
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	switch opts.Format {
	case Table, "":
		return newTableWriter(w, opts), nil
	case CSV:
		return newDelimWriter(w, opts, ','), nil
	case TSV:
		return newDelimWriter(w, opts, '\t'), nil
	case JSON:
		return newJSONWriter(w, opts, true), nil
	case NDJSON:
		return newJSONWriter(w, opts, false), nil
	case Parquet:
		return newParquetWriter(w, opts), nil
	}
	return nil, fmt.Errorf("unknown format %q (want one of %s)", opts.Format, formatList())
}

func writeRows(rw rowWriter, cols []Column, rows pgx.Rows) (int64, error) {
	if err := rw.begin(cols); err != nil {
		return 0, err
	}
	fds := rows.FieldDescriptions()
	cells := make([]cell, len(cols))
	var n int64
	for rows.Next() {
		raw := rows.RawValues()
		for i := range cols {
			if err := decode(&cols[i], fds[i].Format, raw[i], &cells[i]); err != nil {
				return n, err
			}
		}
		if err := rw.row(cells); err != nil {
			return n, fmt.Errorf("write row %d: %w", n+1, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, rw.end()
}

// AtomicFile is a file written under a temporary name in the target's
// directory and renamed over the target by Commit, so readers never see a
// half-written result.
type AtomicFile struct {
	*os.File
	path string
	done bool
}

// CreateAtomic starts writing path.
func CreateAtomic(path string) (*AtomicFile, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create output file in %s: %w (check that the directory exists and is writable)", dir, err)
	}
	return &AtomicFile{File: f, path: path}, nil
}

// Commit flushes the file to disk and renames it over the target.
func (a *AtomicFile) Commit() error {
	if a.done {
		return errors.New("output file already committed or aborted")
	}
	a.done = true
	if err := a.File.Sync(); err != nil {
		a.File.Close()
		os.Remove(a.File.Name())
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	if err := a.File.Close(); err != nil {
		os.Remove(a.File.Name())
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	if err := os.Chmod(a.File.Name(), 0o644); err != nil {
		os.Remove(a.File.Name())
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	if err := os.Rename(a.File.Name(), a.path); err != nil {
		os.Remove(a.File.Name())
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	return nil
}

// Abort removes the temporary file; the target is left as it was. It does
// nothing after Commit.
func (a *AtomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.File.Close()
	os.Remove(a.File.Name())
}
