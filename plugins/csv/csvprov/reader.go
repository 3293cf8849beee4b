package csvprov

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// fileReader reads one delimited file into record batches.
type fileReader struct {
	path     string
	opts     options
	declared []sdk.Column
	limit    int64
}

// newCSVReader reads records of src with the job's options.
func newCSVReader(src io.Reader, opts options) *csv.Reader {
	cr := csv.NewReader(src)
	cr.Comma = opts.delim
	cr.Comment = opts.comment
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return cr
}

// openDecompressed opens path and, judging by its first bytes, decompresses
// gzip or zstd transparently. counted counts the bytes read from the file.
func openDecompressed(path string, counted *sdk.CountingReader) (io.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	counted.R = f
	br := bufio.NewReaderSize(counted, 256<<10)
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			_ = f.Close()
			return nil, nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
		return zr, func() { _ = zr.Close(); _ = f.Close() }, nil
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			_ = f.Close()
			return nil, nil, fmt.Errorf("%s: zstd: %w", path, err)
		}
		return zr, func() { zr.Close(); _ = f.Close() }, nil
	}
	return br, func() { _ = f.Close() }, nil
}

// recorder keeps the bytes the csv reader has read, so the raw text of a bad
// record can be reported. Bytes before a record already handled are dropped.
type recorder struct {
	r    io.Reader
	buf  []byte
	base int64 // input offset of buf[0]
}

func (rc *recorder) Read(p []byte) (int, error) {
	n, err := rc.r.Read(p)
	rc.buf = append(rc.buf, p[:n]...)
	return n, err
}

// bytes returns the input between offsets from and to (nil when it is no
// longer kept).
func (rc *recorder) bytes(from, to int64) []byte {
	if from < rc.base || to-rc.base > int64(len(rc.buf)) || from > to {
		return nil
	}
	return rc.buf[from-rc.base : to-rc.base]
}

// text returns the input between offsets from and to, without the line end.
func (rc *recorder) text(from, to int64) string {
	return strings.Trim(string(rc.bytes(from, to)), "\r\n")
}

// release drops the bytes before offset off (amortised: only when large).
func (rc *recorder) release(off int64) {
	k := off - rc.base
	if k < 1<<16 || k > int64(len(rc.buf)) {
		return
	}
	n := copy(rc.buf, rc.buf[k:])
	rc.buf = rc.buf[:n]
	rc.base = off
}

// column is a declared column with its parser and builder.
type column struct {
	sdk.Column
	index int  // field index in the record
	extra bool // a header column nothing declares (a string, to map or drop)
	parse timeParser
	// one of these, by type
	i64 *array.Int64Builder
	f64 *array.Float64Builder
	str *array.StringBuilder
	bln *array.BooleanBuilder
	ts  *array.TimestampBuilder
	dec *array.Decimal128Builder
}

func (r *fileReader) read(ctx context.Context, out sdk.Sender, batchRows int) error {
	var counted sdk.CountingReader
	src, closeFn, err := openDecompressed(r.path, &counted)
	if err != nil {
		return err
	}
	defer closeFn()
	var total int64
	if st, err := os.Stat(r.path); err == nil {
		total = st.Size()
	}
	rec := &recorder{r: src}
	cr := newCSVReader(rec, r.opts)
	var head []string
	// prevEnd is the input offset where the next record starts, at line
	// prevLine: the start of a line, so a field's line and column (from
	// cr.FieldPos) find its first byte (see quoted).
	var prevEnd int64
	prevLine := 1
	advance := func(end int64) {
		prevLine += bytes.Count(rec.bytes(prevEnd, end), []byte{'\n'})
		prevEnd = end
		rec.release(end)
	}
	if r.opts.header {
		head, err = cr.Read()
		if err == io.EOF {
			return nil // an empty file has no rows
		}
		if err != nil {
			return sdk.Permanent(fmt.Errorf("%s:1: header: %w", r.path, err))
		}
		head = slices.Clone(head) // the reader reuses its record
		advance(cr.InputOffset())
	}
	cols, err := resolve(r.declared, head, r.opts.header)
	if err != nil {
		return sdk.Permanent(fmt.Errorf("%s:1: %w", r.path, err))
	}
	// A record has as many fields as the header, or as columns are declared.
	width := len(head)
	if !r.opts.header {
		width = len(cols)
	}
	// quoted reports whether field k of the record just read is quoted
	// ("" is the empty string, not NULL).
	quoted := func(k int) bool {
		line, col := cr.FieldPos(k)
		b := rec.bytes(prevEnd, rec.base+int64(len(rec.buf)))
		for l := prevLine; l < line; l++ {
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				return false
			}
			b = b[i+1:]
		}
		return col-1 < len(b) && b[col-1] == '"'
	}
	schema, err := Schema(columnsOf(cols))
	if err != nil {
		return err
	}
	for i := range cols {
		if cols[i].Type == sdk.ColumnTimestamp {
			if cols[i].parse, err = newTimeParser(cols[i].Column); err != nil {
				return err
			}
		}
	}

	w := sdk.NewBatchWriter(out, Stream, schema, batchRows)
	defer w.Release()
	for i := range cols {
		switch b := w.Field(i).(type) {
		case *array.Int64Builder:
			cols[i].i64 = b
		case *array.Float64Builder:
			cols[i].f64 = b
		case *array.StringBuilder:
			cols[i].str = b
		case *array.BooleanBuilder:
			cols[i].bln = b
		case *array.TimestampBuilder:
			cols[i].ts = b
		case *array.Decimal128Builder:
			cols[i].dec = b
		}
	}
	vals := make([]value, len(cols))
	var rows int64
	sentBatches := 0
	for {
		fields, err := cr.Read()
		end := cr.InputOffset()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) || end == prevEnd {
				return fmt.Errorf("%s: %w", r.path, err)
			}
			if err := out.RowError(sdk.RowError{File: r.path, Line: int64(pe.Line), Column: int64(pe.Column), Message: pe.Err.Error(), Raw: rec.text(prevEnd, end), Stream: Stream}); err != nil {
				return err
			}
			advance(end)
			continue
		}
		line, _ := cr.FieldPos(0)
		col, msg := 0, ""
		if len(fields) > width {
			col, msg = width+1, fmt.Sprintf("the record has %d fields, %s", len(fields), widthNoun(width, r.opts.header))
		} else {
			col, msg = r.convert(cols, fields, vals, quoted)
		}
		if msg != "" {
			if err := out.RowError(sdk.RowError{File: r.path, Line: int64(line), Column: int64(col), Message: msg, Raw: rec.text(prevEnd, end), Stream: Stream}); err != nil {
				return err
			}
		} else {
			appendRow(cols, vals)
			if err := w.EndRow(); err != nil {
				return err
			}
			rows++
		}
		advance(end)
		if w.Pending() == 0 { // a batch just went out
			sentBatches++
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := out.Progress(sdk.Progress{Done: counted.Count(), Total: total, HasTotal: total > 0, Unit: sdk.ProgressBytes}); err != nil {
				return err
			}
		}
		if r.limit > 0 && rows >= r.limit {
			break
		}
	}
	return w.Flush()
}

// value is one converted field.
type value struct {
	null bool
	i    int64
	f    float64
	b    bool
	s    string
	d    decimal128.Num
}

// widthNoun says how many fields a record should have, for messages.
func widthNoun(width int, header bool) string {
	if header {
		return fmt.Sprintf("the header %d", width)
	}
	return fmt.Sprintf("%d columns are declared", width)
}

// convert parses the record's fields into vals. For the first field that
// does not convert it returns its 1-based number and a message saying what
// was expected; else 0 and "".
//
// NULL: an empty field, or the null text, is NULL in every column but for
// a quoted field of a string column, which is its text ("" is the empty
// string), as in PostgreSQL's CSV COPY. A NULL in a NOT NULL column is an
// error. quoted(k) says whether field k is quoted.
func (r *fileReader) convert(cols []column, fields []string, vals []value, quoted func(int) bool) (int, string) {
	for i := range cols {
		c := &cols[i]
		if c.index >= len(fields) {
			return 0, fmt.Sprintf("the record has %d fields, column %q is field %d", len(fields), c.Name, c.index+1)
		}
		s := fields[c.index]
		v := &vals[i]
		*v = value{}
		if (s == "" || (r.opts.null != "" && s == r.opts.null)) && (c.Type != sdk.ColumnString || !quoted(c.index)) {
			if c.Nullable {
				v.null = true
				continue
			}
			if s == "" {
				return c.index + 1, fmt.Sprintf("column %q: empty (NULL), but the column is NOT NULL", c.Name)
			}
			return c.index + 1, fmt.Sprintf("column %q: %q is the null text, but the column is NOT NULL", c.Name, s)
		}
		var err error
		switch c.Type {
		case sdk.ColumnInt64:
			bits := c.Bits
			if bits == 0 {
				bits = 64
			}
			v.i, err = strconv.ParseInt(strings.TrimSpace(s), 10, bits)
		case sdk.ColumnFloat64:
			v.f, err = strconv.ParseFloat(strings.TrimSpace(s), 64)
		case sdk.ColumnString:
			v.s = s
			if !c.extra {
				err = checkText(s, c.Length)
			}
		case sdk.ColumnBool:
			v.b, err = strconv.ParseBool(strings.TrimSpace(s))
		case sdk.ColumnTimestamp:
			v.i, err = c.parse(s)
		case sdk.ColumnDecimal:
			v.i, err = parseDecimal(s)
		case sdk.ColumnNumeric:
			v.d, err = parseNumeric(s, c.Scale, c.Precision)
		}
		if err != nil {
			var ne *strconv.NumError
			if errors.As(err, &ne) {
				err = ne.Err
			}
			return c.index + 1, fmt.Sprintf("column %q: %q is not %s: %v", c.Name, s, typeNoun(c.Column), err)
		}
	}
	return 0, ""
}

// typeNoun says what a column's type expects, for messages.
func typeNoun(c sdk.Column) string {
	switch c.Type {
	case sdk.ColumnInt64:
		if c.Bits > 0 && c.Bits < 64 {
			return fmt.Sprintf("a whole number from %d to %d", -(int64(1) << (c.Bits - 1)), int64(1)<<(c.Bits-1)-1)
		}
		return "a whole number"
	case sdk.ColumnFloat64:
		return "a number"
	case sdk.ColumnBool:
		return "true or false"
	case sdk.ColumnTimestamp:
		return "a timestamp"
	case sdk.ColumnDecimal:
		return "a decimal number with at most 9 places"
	case sdk.ColumnNumeric:
		if c.Precision > c.Scale {
			return fmt.Sprintf("a decimal number with at most %d digits before the point and %d after", c.Precision-c.Scale, c.Scale)
		}
		if c.Precision > 0 {
			return fmt.Sprintf("a decimal number below 10^%d with at most %d places", c.Precision-c.Scale, c.Scale)
		}
		return fmt.Sprintf("a decimal number with at most %d places", c.Scale)
	case sdk.ColumnString:
		if c.Length > 0 {
			return fmt.Sprintf("a text of at most %d characters", c.Length)
		}
		return "a text"
	}
	return "a " + c.Type.String()
}

func appendRow(cols []column, vals []value) {
	for i := range cols {
		c, v := &cols[i], vals[i]
		switch {
		case c.i64 != nil:
			if v.null {
				c.i64.AppendNull()
			} else {
				c.i64.Append(v.i)
			}
		case c.f64 != nil:
			if v.null {
				c.f64.AppendNull()
			} else {
				c.f64.Append(v.f)
			}
		case c.str != nil:
			if v.null {
				c.str.AppendNull()
			} else {
				c.str.Append(v.s)
			}
		case c.bln != nil:
			if v.null {
				c.bln.AppendNull()
			} else {
				c.bln.Append(v.b)
			}
		case c.ts != nil:
			if v.null {
				c.ts.AppendNull()
			} else {
				c.ts.Append(arrow.Timestamp(v.i))
			}
		case c.dec != nil:
			if v.null {
				c.dec.AppendNull()
			} else {
				c.dec.Append(v.d)
			}
		}
	}
}
