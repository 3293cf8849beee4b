package output

import (
	"bufio"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// parquetWriter writes a Parquet file: one row group per RowGroupRows rows,
// flushed as it fills, so memory holds one row group. Types: integers int64
// (smaller ints int32/int16), fixed-point prices decimal(19,9) (the exact
// 1e-9 value, no conversion), ns times timestamp[ns, UTC], timestamptz
// timestamp[µs, UTC], dates date32, floats double, booleans, and text,
// numeric and JSON as UTF-8 strings (numeric keeps its exact decimal text).
type parquetWriter struct {
	out    *bufio.Writer
	opts   Options
	cols   []Column
	schema *arrow.Schema
	rb     *array.RecordBuilder
	fw     *pqarrow.FileWriter
	n      int
}

func newParquetWriter(w io.Writer, opts Options) *parquetWriter {
	return &parquetWriter{out: bufio.NewWriterSize(w, 1<<20), opts: opts}
}

func arrowType(c Column) arrow.DataType {
	switch c.Kind {
	case KindInt:
		switch c.oid {
		case 21:
			return arrow.PrimitiveTypes.Int16
		case 23:
			return arrow.PrimitiveTypes.Int32
		}
		return arrow.PrimitiveTypes.Int64
	case KindFixed:
		return &arrow.Decimal128Type{Precision: 19, Scale: 9}
	case KindNanos:
		return &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	case KindTime:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case KindDate:
		return arrow.FixedWidthTypes.Date32
	case KindFloat:
		return arrow.PrimitiveTypes.Float64
	case KindBool:
		return arrow.FixedWidthTypes.Boolean
	}
	return arrow.BinaryTypes.String
}

func (p *parquetWriter) begin(cols []Column) error {
	p.cols = cols
	fields := make([]arrow.Field, len(cols))
	seen := map[string]int{}
	for i, c := range cols {
		name := c.Name
		if k := seen[name]; k > 0 {
			name = fmt.Sprintf("%s_%d", name, k+1)
		}
		seen[c.Name]++
		fields[i] = arrow.Field{Name: name, Type: arrowType(c), Nullable: true}
	}
	p.schema = arrow.NewSchema(fields, nil)
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(int64(p.opts.RowGroupRows)),
	)
	fw, err := pqarrow.NewFileWriter(p.schema, p.out, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	p.fw = fw
	p.rb = array.NewRecordBuilder(memory.DefaultAllocator, p.schema)
	return nil
}

func (p *parquetWriter) row(cells []cell) error {
	for i := range cells {
		v := &cells[i]
		c := &p.cols[i]
		b := p.rb.Field(i)
		if v.null || (v.text && c.Kind != KindText && c.Kind != KindDecimal && c.Kind != KindJSON) {
			if v.null || arrowType(*c).ID() != arrow.STRING {
				b.AppendNull()
				continue
			}
		}
		switch bb := b.(type) {
		case *array.Int64Builder:
			bb.Append(v.i)
		case *array.Int32Builder:
			bb.Append(int32(v.i))
		case *array.Int16Builder:
			bb.Append(int16(v.i))
		case *array.Decimal128Builder:
			bb.Append(decimal128.FromI64(v.i))
		case *array.TimestampBuilder:
			bb.Append(arrow.Timestamp(v.i))
		case *array.Date32Builder:
			bb.Append(arrow.Date32(v.i))
		case *array.Float64Builder:
			bb.Append(v.f)
		case *array.BooleanBuilder:
			bb.Append(v.i != 0)
		case *array.StringBuilder:
			if v.text || c.Kind == KindText || c.Kind == KindDecimal || c.Kind == KindJSON {
				bb.BinaryBuilder.Append(v.b)
			} else {
				bb.Append(string(appendText(nil, c, v, p.opts.Location)))
			}
		}
	}
	p.n++
	if p.n >= p.opts.RowGroupRows {
		return p.flush()
	}
	return nil
}

func (p *parquetWriter) flush() error {
	if p.n == 0 {
		return nil
	}
	rec := p.rb.NewRecordBatch()
	defer rec.Release()
	p.n = 0
	if err := p.fw.Write(rec); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}

func (p *parquetWriter) end() error {
	if err := p.flush(); err != nil {
		return err
	}
	p.rb.Release()
	if err := p.fw.Close(); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return p.out.Flush()
}
