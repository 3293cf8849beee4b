package dbprov

import (
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/hdi-dev/hdi/internal/dbn"
)

// KindKey is the Arrow field metadata key that tells the host how to treat a
// column: "price" (int64 fixed-point, 1e-9 units), "ts" (int64 nanoseconds
// since the epoch, UTC), "char" (uint8 ASCII code), "int", "flags" (a bit
// field) or "cstr" (a string).
const KindKey = "hdi.kind"

// TsOutField is the name of the last column of every stream: the gateway's
// send timestamp, null unless the source carries ts_out.
const TsOutField = "ts_out"

var (
	schemaOnce  sync.Once
	schemaCache map[dbn.Schema]*arrow.Schema
)

// ArrowSchema returns the Arrow schema of a Databento schema's stream: every
// field of its record type under Databento's name, in the reference column
// order, then ts_out.
func ArrowSchema(s dbn.Schema) *arrow.Schema {
	schemaOnce.Do(func() {
		schemaCache = map[dbn.Schema]*arrow.Schema{}
		for _, sc := range dbn.Schemas() {
			schemaCache[sc] = buildSchema(sc.RecordType())
		}
	})
	return schemaCache[s]
}

func kindMeta(k dbn.Kind) arrow.Metadata {
	return arrow.NewMetadata([]string{KindKey}, []string{k.String()})
}

// arrowType maps a field to its Arrow type: prices and timestamps int64,
// chars uint8, c-strings string, other integers by width and signedness.
func arrowType(f *dbn.Field) arrow.DataType {
	switch f.Kind {
	case dbn.KindPrice, dbn.KindTimestamp:
		return arrow.PrimitiveTypes.Int64
	case dbn.KindChar:
		return arrow.PrimitiveTypes.Uint8
	case dbn.KindCString:
		return arrow.BinaryTypes.String
	}
	switch f.Wire {
	case dbn.WireU8:
		return arrow.PrimitiveTypes.Uint8
	case dbn.WireU16:
		return arrow.PrimitiveTypes.Uint16
	case dbn.WireU32:
		return arrow.PrimitiveTypes.Uint32
	case dbn.WireU64:
		return arrow.PrimitiveTypes.Uint64
	case dbn.WireI8:
		return arrow.PrimitiveTypes.Int8
	case dbn.WireI16:
		return arrow.PrimitiveTypes.Int16
	case dbn.WireI32:
		return arrow.PrimitiveTypes.Int32
	case dbn.WireI64:
		return arrow.PrimitiveTypes.Int64
	}
	panic(fmt.Sprintf("dbprov: field %s has unexpected wire type %s", f.Name, f.Wire))
}

// nullable: fields with an undefined sentinel, and chars (0 is null).
func nullable(f *dbn.Field) bool { return f.HasUndef || f.Kind == dbn.KindChar }

func buildSchema(rt *dbn.RecordType) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(rt.Fields)+1)
	for i := range rt.Fields {
		f := &rt.Fields[i]
		fields = append(fields, arrow.Field{Name: f.Name, Type: arrowType(f), Nullable: nullable(f), Metadata: kindMeta(f.Kind)})
	}
	fields = append(fields, arrow.Field{Name: TsOutField, Type: arrow.PrimitiveTypes.Int64, Nullable: true, Metadata: kindMeta(dbn.KindTimestamp)})
	return arrow.NewSchema(fields, nil)
}

// column accumulates one column's Arrow buffers directly from record bytes:
// fixed-width values are the little-endian wire bytes themselves.
type column struct {
	f        *dbn.Field // nil for ts_out
	typ      arrow.DataType
	size     int // value width in bytes; 0 for strings
	off      int
	null     bool // can hold nulls
	undef    uint64
	hasUndef bool
	isChar   bool

	data    []byte
	valid   []byte // validity bitmap, allocated with data for nullable columns
	nulls   int
	offsets []int32 // strings
}

// recordBuilder turns v3 records of one record type into Arrow record
// batches of a fixed schema. It reads every field at its fixed offset and
// allocates fresh buffers per batch (the receiver may keep a batch).
type recordBuilder struct {
	schema *arrow.Schema
	rtSize int
	cols   []column
	n      int
	cap    int
}

func newRecordBuilder(s dbn.Schema, capacity int) *recordBuilder {
	rt := s.RecordType()
	schema := ArrowSchema(s)
	b := &recordBuilder{schema: schema, rtSize: rt.Size, cap: capacity}
	for i := range rt.Fields {
		f := &rt.Fields[i]
		c := column{f: f, typ: schema.Field(i).Type, off: f.Offset, null: nullable(f), hasUndef: f.HasUndef, undef: f.Undef, isChar: f.Kind == dbn.KindChar}
		if f.Kind != dbn.KindCString {
			c.size = f.Size
		}
		b.cols = append(b.cols, c)
	}
	b.cols = append(b.cols, column{typ: arrow.PrimitiveTypes.Int64, size: 8, null: true, off: -1})
	b.reset()
	return b
}

func (b *recordBuilder) reset() {
	b.n = 0
	for i := range b.cols {
		c := &b.cols[i]
		c.nulls = 0
		if c.size > 0 {
			c.data = make([]byte, b.cap*c.size)
		} else {
			c.data = make([]byte, 0, b.cap*8)
			c.offsets = make([]int32, 1, b.cap+1)
		}
		if c.null {
			c.valid = make([]byte, (b.cap+7)/8)
		}
	}
}

// full reports whether the batch holds capacity rows.
func (b *recordBuilder) full() bool { return b.n >= b.cap }

// append adds one v3 record (at least rtSize bytes); tsOut is the value of
// the ts_out column, hasTsOut false for null.
func (b *recordBuilder) append(rec []byte, tsOut uint64, hasTsOut bool) {
	i := b.n
	for ci := range b.cols {
		c := &b.cols[ci]
		if c.off < 0 { // ts_out
			if hasTsOut {
				binary.LittleEndian.PutUint64(c.data[i*8:], tsOut)
				c.valid[i>>3] |= 1 << (i & 7)
			} else {
				c.nulls++
			}
			continue
		}
		var raw uint64
		switch c.size {
		case 8:
			raw = binary.LittleEndian.Uint64(rec[c.off:])
			binary.LittleEndian.PutUint64(c.data[i*8:], raw)
		case 4:
			v := binary.LittleEndian.Uint32(rec[c.off:])
			binary.LittleEndian.PutUint32(c.data[i*4:], v)
			raw = uint64(v)
		case 2:
			v := binary.LittleEndian.Uint16(rec[c.off:])
			binary.LittleEndian.PutUint16(c.data[i*2:], v)
			raw = uint64(v)
		case 1:
			v := rec[c.off]
			c.data[i] = v
			raw = uint64(v)
		case 0: // c-string
			s := c.f.CString(rec)
			c.data = append(c.data, s...)
			c.offsets = append(c.offsets, int32(len(c.data)))
			continue
		}
		if !c.null {
			continue
		}
		if (c.hasUndef && raw == c.undef) || (c.isChar && raw == 0) {
			c.nulls++
			continue
		}
		c.valid[i>>3] |= 1 << (i & 7)
	}
	b.n++
}

// batch returns the rows built so far as a record batch (nil when empty)
// and starts a new one. The caller releases the batch.
func (b *recordBuilder) batch() arrow.RecordBatch {
	if b.n == 0 {
		return nil
	}
	n := b.n
	arrs := make([]arrow.Array, len(b.cols))
	for ci := range b.cols {
		c := &b.cols[ci]
		var validity *memory.Buffer
		if c.null && c.nulls > 0 {
			validity = memory.NewBufferBytes(c.valid)
		}
		var bufs []*memory.Buffer
		if c.size > 0 {
			bufs = []*memory.Buffer{validity, memory.NewBufferBytes(c.data[:n*c.size])}
		} else {
			bufs = []*memory.Buffer{validity, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(c.offsets)), memory.NewBufferBytes(c.data)}
		}
		d := array.NewData(c.typ, n, bufs, nil, c.nulls, 0)
		arrs[ci] = array.MakeFromData(d)
		d.Release()
	}
	rec := array.NewRecordBatch(b.schema, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	b.reset()
	return rec
}
