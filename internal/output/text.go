package output

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hdi-dev/hdi/internal/fixedpoint"
	"github.com/hdi-dev/hdi/internal/jsonstr"
)

// delimWriter writes CSV (RFC 4180 quoting) or TSV (PostgreSQL text-style
// escapes of tab, newline, carriage return and backslash). NULL is an empty
// field.
type delimWriter struct {
	w    *bufio.Writer
	sep  byte
	loc  *time.Location
	cols []Column
	buf  []byte
}

func newDelimWriter(w io.Writer, opts Options, sep byte) *delimWriter {
	return &delimWriter{w: bufio.NewWriterSize(w, 64<<10), sep: sep, loc: opts.Location}
}

func (d *delimWriter) begin(cols []Column) error {
	d.cols = cols
	d.buf = d.buf[:0]
	for i, c := range cols {
		if i > 0 {
			d.buf = append(d.buf, d.sep)
		}
		d.buf = d.field(d.buf, []byte(c.Name), true)
	}
	d.buf = append(d.buf, '\n')
	_, err := d.w.Write(d.buf)
	return err
}

func (d *delimWriter) field(dst, v []byte, textual bool) []byte {
	if !textual {
		return append(dst, v...)
	}
	if d.sep == ',' {
		if bytes.ContainsAny(v, ",\"\r\n") || (len(v) > 0 && (v[0] == ' ' || v[len(v)-1] == ' ')) {
			dst = append(dst, '"')
			for _, b := range v {
				if b == '"' {
					dst = append(dst, '"')
				}
				dst = append(dst, b)
			}
			return append(dst, '"')
		}
		return append(dst, v...)
	}
	for _, b := range v {
		switch b {
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\\':
			dst = append(dst, '\\', '\\')
		default:
			dst = append(dst, b)
		}
	}
	return dst
}

func (d *delimWriter) row(cells []cell) error {
	d.buf = d.buf[:0]
	for i := range cells {
		if i > 0 {
			d.buf = append(d.buf, d.sep)
		}
		c := &d.cols[i]
		v := &cells[i]
		if v.null {
			continue
		}
		switch c.Kind {
		case KindText, KindJSON:
			d.buf = d.field(d.buf, v.b, true)
		default:
			if v.text {
				d.buf = d.field(d.buf, v.b, true)
			} else {
				d.buf = appendText(d.buf, c, v, d.loc)
			}
		}
	}
	d.buf = append(d.buf, '\n')
	_, err := d.w.Write(d.buf)
	return err
}

func (d *delimWriter) end() error { return d.w.Flush() }

// jsonWriter writes one object per row: a JSON array (array) or NDJSON.
// Integers and floats are JSON numbers; fixed-point and numeric values are
// strings holding the exact decimal (a JSON number would be read as a float
// by most consumers); times are RFC 3339 strings; NULL is null.
type jsonWriter struct {
	w     *bufio.Writer
	array bool
	loc   *time.Location
	cols  []Column
	keys  [][]byte // '{' or ',', the key and ':'
	ts    []fixedpoint.Timestamps
	utc   bool
	buf   []byte
	n     int64
}

func newJSONWriter(w io.Writer, opts Options, array bool) *jsonWriter {
	return &jsonWriter{w: bufio.NewWriterSize(w, 64<<10), array: array, loc: opts.Location}
}

func (j *jsonWriter) begin(cols []Column) error {
	j.cols = cols
	j.keys = make([][]byte, len(cols))
	for i, c := range cols {
		k := []byte{','}
		if i == 0 {
			k[0] = '{'
		}
		k = jsonstr.Append(k, c.Name)
		j.keys[i] = append(k, ':')
	}
	j.ts = make([]fixedpoint.Timestamps, len(cols))
	j.utc = j.loc == nil || j.loc == time.UTC
	if j.array {
		_, err := j.w.WriteString("[")
		return err
	}
	return nil
}

func (j *jsonWriter) row(cells []cell) error {
	b := j.buf[:0]
	if j.array {
		if j.n > 0 {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	if len(cells) == 0 {
		b = append(b, '{')
	}
	for i := range cells {
		b = append(b, j.keys[i]...)
		c := &j.cols[i]
		v := &cells[i]
		switch {
		case v.null:
			b = append(b, "null"...)
		case v.text:
			b = jsonstr.AppendBytes(b, v.b)
		case c.Kind == KindInt || c.Kind == KindBool:
			b = appendText(b, c, v, j.loc)
		case c.Kind == KindFloat:
			if isFinite(v.f) {
				b = strconv.AppendFloat(b, v.f, 'g', -1, 64)
			} else {
				b = append(b, "null"...)
			}
		case c.Kind == KindJSON:
			b = append(b, v.b...)
		case c.Kind == KindText || c.Kind == KindDecimal:
			b = jsonstr.AppendBytes(b, v.b)
		case c.Kind == KindNanos && j.utc && v.i >= 0:
			b = append(b, '"')
			b = j.ts[i].Append(b, uint64(v.i))
			b = append(b, '"')
		default:
			b = append(b, '"')
			b = appendText(b, c, v, j.loc)
			b = append(b, '"')
		}
	}
	b = append(b, '}')
	if !j.array {
		b = append(b, '\n')
	}
	j.buf = b
	j.n++
	_, err := j.w.Write(b)
	return err
}

func (j *jsonWriter) end() error {
	if j.array {
		if j.n > 0 {
			j.w.WriteString("\n")
		}
		j.w.WriteString("]\n")
	}
	return j.w.Flush()
}

func isFinite(f float64) bool { return f-f == 0 }

// tableWriter aligns columns for people. It buffers the first TableSample
// rows to size the columns (each capped at MaxWidth); longer values, and
// later rows wider than their column, are cut and end in "…". Numbers are
// right-aligned; NULL is empty. Decimals (prices) read as people write
// them: trailing zeros of the fraction dropped (5100.25, 5100), aligned on
// the decimal point. Every other format keeps every digit.
type tableWriter struct {
	w       *bufio.Writer
	opts    Options
	cols    []Column
	widths  []int
	right   []bool
	decimal []bool
	fracW   []int // widest fraction (with its point) of each decimal column
	pending [][]string
	started bool
	buf     []byte
}

func newTableWriter(w io.Writer, opts Options) *tableWriter {
	return &tableWriter{w: bufio.NewWriterSize(w, 64<<10), opts: opts}
}

func (t *tableWriter) begin(cols []Column) error {
	t.cols = cols
	t.widths = make([]int, len(cols))
	t.right = make([]bool, len(cols))
	t.decimal = make([]bool, len(cols))
	t.fracW = make([]int, len(cols))
	for i, c := range cols {
		t.widths[i] = utf8.RuneCountInString(c.Name)
		switch c.Kind {
		case KindInt, KindFloat:
			t.right[i] = true
		case KindFixed, KindDecimal:
			t.right[i], t.decimal[i] = true, true
		}
	}
	return nil
}

// trimDecimal drops the trailing zeros of a decimal's fraction, and its
// point when nothing is left: 5100.250000000 is 5100.25, 12.000 is 12.
func trimDecimal(s string) string {
	if !strings.Contains(s, ".") || strings.ContainsAny(s, "eE") {
		return s
	}
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}

// fracLen is the length of a decimal's fraction with its point ("" for none).
func fracLen(s string) int {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return len(s) - i
	}
	return 0
}

func (t *tableWriter) format(cells []cell) []string {
	out := make([]string, len(cells))
	for i := range cells {
		t.buf = appendText(t.buf[:0], &t.cols[i], &cells[i], t.opts.Location)
		s := string(t.buf)
		if bytes.ContainsAny(t.buf, "\n\r\t") {
			s = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
		}
		if t.decimal[i] {
			s = trimDecimal(s)
		}
		out[i] = s
	}
	return out
}

func (t *tableWriter) row(cells []cell) error {
	vals := t.format(cells)
	if !t.started {
		t.pending = append(t.pending, vals)
		for i, v := range vals {
			if t.decimal[i] {
				t.fracW[i] = max(t.fracW[i], fracLen(v))
			}
		}
		if len(t.pending) >= t.opts.TableSample {
			return t.flushPending()
		}
		return nil
	}
	return t.line(t.alignPoints(vals))
}

// alignPoints pads each decimal's fraction to its column's widest, so the
// points line up under right alignment.
func (t *tableWriter) alignPoints(vals []string) []string {
	for i, v := range vals {
		if t.decimal[i] && v != "" {
			pad := t.fracW[i] - fracLen(v)
			if pad > 0 {
				vals[i] = v + strings.Repeat(" ", pad)
			}
		}
	}
	return vals
}

func (t *tableWriter) flushPending() error {
	t.started = true
	for _, r := range t.pending {
		for i, v := range t.alignPoints(r) {
			if n := utf8.RuneCountInString(v); n > t.widths[i] {
				t.widths[i] = min(n, t.opts.MaxWidth)
			}
		}
	}
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.Name
	}
	if err := t.line(names); err != nil {
		return err
	}
	sep := make([]string, len(t.cols))
	for i, w := range t.widths {
		sep[i] = string(bytes.Repeat([]byte("-"), w))
	}
	if err := t.line(sep); err != nil {
		return err
	}
	for _, r := range t.pending {
		if err := t.line(r); err != nil {
			return err
		}
	}
	t.pending = nil
	return nil
}

func (t *tableWriter) line(vals []string) error {
	b := t.buf[:0]
	for i, v := range vals {
		if i > 0 {
			b = append(b, "  "...)
		}
		w := t.widths[i]
		n := utf8.RuneCountInString(v)
		if n > w {
			v = truncate(v, w)
			n = w
		}
		pad := w - n
		last := i == len(vals)-1
		if t.right[i] {
			b = append(b, bytes.Repeat([]byte(" "), pad)...)
			b = append(b, v...)
		} else {
			b = append(b, v...)
			if !last {
				b = append(b, bytes.Repeat([]byte(" "), pad)...)
			}
		}
	}
	b = append(bytes.TrimRight(b, " "), '\n')
	t.buf = b
	_, err := t.w.Write(b)
	return err
}

func truncate(s string, w int) string {
	if w <= 1 {
		return "…"
	}
	n := 0
	for i := range s {
		if n == w-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

func (t *tableWriter) end() error {
	if !t.started {
		if err := t.flushPending(); err != nil {
			return err
		}
	}
	return t.w.Flush()
}
