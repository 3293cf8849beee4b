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
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// fileReader reads one delimited file into record batches.
type fileReader struct {
	path   string
	opts   options
	cols   []sdk.Column
	schema *arrow.Schema
	limit  int64
}

// openDecompressed opens path and, judging by its first bytes, decompresses
// gzip or zstd transparently. counted counts the bytes read from the file.
func openDecompressed(path string, counted *int64) (io.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(&countingReader{r: f, n: counted}, 256<<10)
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

type countingReader struct {
	r io.Reader
	n *int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
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

// text returns the input between offsets from and to.
func (rc *recorder) text(from, to int64) string {
	if from < rc.base || to-rc.base > int64(len(rc.buf)) || from > to {
		return ""
	}
	return strings.Trim(string(rc.buf[from-rc.base:to-rc.base]), "\r\n")
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
	index int // field index in the record
	parse timeParser
	// one of these, by type
	i64 *array.Int64Builder
	f64 *array.Float64Builder
	str *array.StringBuilder
	bln *array.BooleanBuilder
	ts  *array.TimestampBuilder
}

func (r *fileReader) read(ctx context.Context, out sdk.Sender, batchRows int) error {
	var counted int64
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
	cr := csv.NewReader(rec)
	cr.Comma = r.opts.delim
	cr.Comment = r.opts.comment
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true

	cols := make([]column, len(r.cols))
	for i, c := range r.cols {
		cols[i] = column{Column: c, index: i}
		if c.Type == sdk.ColumnTimestamp {
			if cols[i].parse, err = newTimeParser(c); err != nil {
				return err
			}
		}
	}
	var prevEnd int64
	if r.opts.header {
		head, err := cr.Read()
		if err == io.EOF {
			return nil // an empty file has no rows
		}
		if err != nil {
			return fmt.Errorf("%s: header: %w", r.path, err)
		}
		if err := mapHeader(cols, head); err != nil {
			return fmt.Errorf("%s:1: %w", r.path, err)
		}
		prevEnd = cr.InputOffset()
	}

	w := sdk.NewBatchWriter(out, Stream, r.schema, batchRows)
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
			if err := out.RowError(sdk.RowError{File: r.path, Line: int64(pe.StartLine), Message: pe.Err.Error(), Raw: rec.text(prevEnd, end), Stream: Stream}); err != nil {
				return err
			}
			prevEnd = end
			rec.release(end)
			continue
		}
		line, _ := cr.FieldPos(0)
		if msg := r.convert(cols, fields, vals); msg != "" {
			if err := out.RowError(sdk.RowError{File: r.path, Line: int64(line), Message: msg, Raw: rec.text(prevEnd, end), Stream: Stream}); err != nil {
				return err
			}
		} else {
			appendRow(cols, vals)
			if err := w.EndRow(); err != nil {
				return err
			}
			rows++
		}
		prevEnd = end
		rec.release(end)
		if w.Pending() == 0 { // a batch just went out
			sentBatches++
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := out.Progress(sdk.Progress{Done: counted, Total: total, HasTotal: total > 0, Unit: sdk.ProgressBytes}); err != nil {
				return err
			}
		}
		if r.limit > 0 && rows >= r.limit {
			break
		}
	}
	return w.Flush()
}

// mapHeader sets each column's field index from the header names.
func mapHeader(cols []column, head []string) error {
	pos := make(map[string]int, len(head))
	for i, h := range head {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // UTF-8 byte order mark
		}
		h = strings.TrimSpace(h)
		if _, dup := pos[h]; !dup {
			pos[h] = i
		}
	}
	for i := range cols {
		name := cols[i].Source
		if name == "" {
			name = cols[i].Name
		}
		j, ok := pos[name]
		if !ok {
			return fmt.Errorf("the header has no column %q (it has: %s): fix the job's columns or set header: false", name, strings.Join(head, ", "))
		}
		cols[i].index = j
	}
	return nil
}

// value is one converted field.
type value struct {
	null bool
	i    int64
	f    float64
	b    bool
	s    string
}

// convert parses the record's fields into vals; it returns a message for the
// first field that does not convert, or "".
func (r *fileReader) convert(cols []column, fields []string, vals []value) string {
	for i := range cols {
		c := &cols[i]
		if c.index >= len(fields) {
			return fmt.Sprintf("the record has %d fields, column %q needs field %d", len(fields), c.Name, c.index+1)
		}
		s := fields[c.index]
		v := &vals[i]
		*v = value{}
		if s == "" || (r.opts.null != "" && s == r.opts.null) {
			if c.Nullable {
				v.null = true
				continue
			}
			if c.Type != sdk.ColumnString || s != "" {
				return fmt.Sprintf("column %q: empty value, and the column is not nullable", c.Name)
			}
		}
		var err error
		switch c.Type {
		case sdk.ColumnInt64:
			v.i, err = strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		case sdk.ColumnFloat64:
			v.f, err = strconv.ParseFloat(strings.TrimSpace(s), 64)
		case sdk.ColumnString:
			v.s = s
		case sdk.ColumnBool:
			v.b, err = strconv.ParseBool(strings.TrimSpace(s))
		case sdk.ColumnTimestamp:
			v.i, err = c.parse(s)
		case sdk.ColumnDecimal:
			v.i, err = parseDecimal(s)
		}
		if err != nil {
			var ne *strconv.NumError
			if errors.As(err, &ne) {
				err = ne.Err
			}
			return fmt.Sprintf("column %q: %q is not a valid %s: %v", c.Name, s, c.Type, err)
		}
	}
	return ""
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
		}
	}
}
