package dbn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// DefaultBufferSize is the reader's default block size.
const DefaultBufferSize = 1 << 20

// zstdMagic is the little-endian zstd frame magic 0xFD2FB528.
var zstdMagic = []byte{0x28, 0xB5, 0x2F, 0xFD}

// skippableFrame reports a zstd skippable frame's magic (0x184D2A50 to
// 0x184D2A5F, little-endian) at the start of b.
func skippableFrame(b []byte) bool {
	return len(b) >= 4 && b[0]&0xF0 == 0x50 && bytes.Equal(b[1:4], []byte{0x2A, 0x4D, 0x18})
}

// Option configures a Reader.
type Option func(*Reader)

// WithBufferSize sets the size of the read buffer (at least 4 KiB).
func WithBufferSize(n int) Option {
	return func(r *Reader) { r.bufSize = max(n, 4096) }
}

// WithLogger sets the logger that receives warnings (unknown rtypes).
func WithLogger(l *slog.Logger) Option {
	return func(r *Reader) {
		if l != nil {
			r.logger = l
		}
	}
}

// Reader decodes a DBN stream (v1, v2 or v3; plain or zstd) in bounded
// memory. Records of older versions are upgraded to v3 layouts, so
// RecordBytes always has the v3 layout described by LookupRType.
//
//	r, err := dbn.NewReader(f)
//	for r.Next() {
//		rec := r.RecordBytes() // valid until the next call to Next
//		...
//	}
//	if err := r.Err(); err != nil { ... }
type Reader struct {
	src     io.Reader
	zr      *zstd.Decoder
	cr      *countingReader
	closer  io.Closer
	bufSize int
	logger  *slog.Logger

	buf    []byte
	r, w   int
	bufOff int64 // stream offset of buf[0]
	eof    bool
	// inMemory: buf is the caller's whole stream (NewBytesReader); never
	// compacted or refilled.
	inMemory bool
	upgOff   int64 // stream offset of the current record when it was upgraded

	meta    *Metadata
	tsOut   bool
	sizes   [256]int    // minimum on-wire size per rtype for the input version (0 = unknown)
	upgrade [256]bool   // rtypes whose input layout differs from v3
	fast    [256]uint16 // sizes, 0 where upgrade is needed: the fast path's table
	upg     *upgradeScratch

	rec     []byte
	counts  [256]uint64
	unknown [256]uint64
	skipped uint64
	err     error
}

type upgradeScratch struct {
	buf   [MaxRecordLen]byte
	defV1 InstrumentDefMsgV1
	defV2 InstrumentDefMsgV2
	def   InstrumentDefMsg
	statO StatMsgV1
	stat  StatMsg
	smO   SymbolMappingMsgV1
	sm    SymbolMappingMsg
	errO  ErrorMsgV1
	errN  ErrorMsg
	sysO  SystemMsgV1
	sys   SystemMsg
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Open opens a .dbn or .dbn.zst file; Close closes it.
func Open(path string, opts ...Option) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, opts...)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewReader reads the metadata of the DBN stream in src and returns a reader
// positioned at the first record. zstd input is detected from its magic.
func NewReader(src io.Reader, opts ...Option) (*Reader, error) {
	r := &Reader{bufSize: DefaultBufferSize, logger: slog.Default()}
	for _, o := range opts {
		o(r)
	}
	var head [4]byte
	n, err := io.ReadFull(src, head[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if n < 4 {
		return nil, &DecodeError{Offset: int64(n), Kind: ErrBadMagic,
			Msg: fmt.Sprintf("input has %d bytes; expected at least 8 starting with \"DBN\" or a zstd frame", n)}
	}
	full := io.MultiReader(bytes.NewReader(head[:]), src)
	if skippableFrame(head[:]) {
		// A zstd skippable frame first: Databento's legacy DBZ files keep
		// their metadata in one, starting "DBZ".
		var more [7]byte
		m, _ := io.ReadFull(src, more[:])
		if m == len(more) && string(more[4:7]) == "DBZ" {
			return nil, &DecodeError{Offset: 8, Kind: ErrBadMagic, Msg: "this is a legacy DBZ file (Databento's format before DBN, 2022-2023), not DBN: " +
				"convert it with Databento's dbn tool (dbn FILE.dbz --output FILE.dbn) or download the data again, which Databento now serves as DBN"}
		}
		full = io.MultiReader(bytes.NewReader(head[:]), bytes.NewReader(more[:m]), src)
	}
	if bytes.Equal(head[:], zstdMagic) || skippableFrame(head[:]) {
		r.cr = &countingReader{r: full}
		zr, err := zstd.NewReader(r.cr, zstd.WithDecoderConcurrency(2))
		if err != nil {
			return nil, err
		}
		r.zr = zr
		r.src = zr
	} else {
		r.src = full
	}
	if r.buf == nil {
		r.buf = make([]byte, r.bufSize)
	}
	if err := r.readMetadata(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// NewBytesReader is NewReader for a stream already in memory. Uncompressed
// input is decoded in place without copying (RecordBytes aliases data);
// zstd input is decompressed in blocks as with NewReader.
func NewBytesReader(data []byte, opts ...Option) (*Reader, error) {
	if len(data) >= 4 && !bytes.Equal(data[:4], zstdMagic) && !skippableFrame(data[:4]) {
		r := &Reader{bufSize: DefaultBufferSize, logger: slog.Default()}
		for _, o := range opts {
			o(r)
		}
		r.src = bytes.NewReader(nil)
		r.buf = data[:len(data):len(data)]
		r.w, r.eof, r.inMemory = len(data), true, true
		if err := r.readMetadata(); err != nil {
			return nil, err
		}
		return r, nil
	}
	return NewReader(bytes.NewReader(data), opts...)
}

// read fills buf[w:] with at least min more bytes unless EOF comes first.
func (r *Reader) readAtLeast(minBytes int) error {
	target := r.w + minBytes
	for r.w < target && !r.eof {
		n, err := r.src.Read(r.buf[r.w:])
		r.w += n
		if err == io.EOF {
			r.eof = true
		} else if err != nil {
			return r.wrapReadErr(err)
		}
	}
	return nil
}

func (r *Reader) wrapReadErr(err error) error {
	if r.zr != nil {
		return &DecodeError{Offset: r.bufOff + int64(r.w), Kind: ErrCorruptZstd,
			Msg: fmt.Sprintf("zstd decoding failed (about %d compressed bytes read); expected a valid zstd frame", r.cr.n), Err: err}
	}
	return err
}

func (r *Reader) readMetadata() error {
	if err := r.readAtLeast(metadataPrefixLen); err != nil {
		return err
	}
	b := r.buf[:r.w]
	if len(b) < 3 || string(b[:3]) != "DBN" {
		return &DecodeError{Offset: 0, Kind: ErrBadMagic, Msg: fmt.Sprintf("found %q; expected \"DBN\" magic or zstd magic 28 b5 2f fd", b[:min(len(b), 3)])}
	}
	if len(b) < metadataPrefixLen {
		return &DecodeError{Offset: int64(len(b)), Kind: ErrTruncatedMetadata, Msg: fmt.Sprintf("stream ends after %d bytes; expected the 8-byte metadata prefix", len(b))}
	}
	version := b[3]
	if version < 1 || version > Version {
		return &DecodeError{Offset: 3, Kind: ErrUnsupportedVersion, Msg: fmt.Sprintf("version %d; expected 1, 2 or 3", version)}
	}
	length := int64(binary.LittleEndian.Uint32(b[4:]))
	if length < metadataFixedLen {
		return &DecodeError{Offset: 4, Kind: ErrCorruptMetadata, Msg: fmt.Sprintf("metadata length %d; expected at least %d", length, metadataFixedLen)}
	}
	if r.inMemory {
		if int64(len(b)) < metadataPrefixLen+length {
			return &DecodeError{Offset: int64(len(b)), Kind: ErrTruncatedMetadata,
				Msg: fmt.Sprintf("stream ends after %d of %d metadata bytes", len(b)-metadataPrefixLen, length)}
		}
		m, err := decodeMetadata(b[metadataPrefixLen:metadataPrefixLen+length], version, metadataPrefixLen)
		if err != nil {
			return err
		}
		r.meta, r.tsOut = m, m.TsOut
		r.r = int(metadataPrefixLen + length)
		r.setupVersion(version)
		return nil
	}
	// Read the body in bounded steps so a bogus length cannot force a huge
	// allocation before the input runs out.
	body := make([]byte, 0, min(length, 1<<16))
	body = append(body, r.buf[metadataPrefixLen:r.w]...)
	r.r, r.w = 0, 0
	for int64(len(body)) < length && !r.eof {
		if len(body) == cap(body) {
			body = slices.Grow(body, int(min(length-int64(len(body)), int64(max(cap(body), 1<<16)))))
		}
		lim := min(int64(cap(body)), length)
		n, err := r.src.Read(body[len(body):lim])
		body = body[:len(body)+n]
		if err == io.EOF {
			r.eof = true
		} else if err != nil {
			r.bufOff = metadataPrefixLen + int64(len(body))
			return r.wrapReadErr(err)
		}
	}
	if int64(len(body)) < length {
		return &DecodeError{Offset: metadataPrefixLen + int64(len(body)), Kind: ErrTruncatedMetadata,
			Msg: fmt.Sprintf("stream ends after %d of %d metadata bytes", len(body), length)}
	}
	extra := body[length:]
	body = body[:length]
	m, err := decodeMetadata(body, version, metadataPrefixLen)
	if err != nil {
		return err
	}
	r.meta = m
	r.tsOut = m.TsOut
	r.bufOff = metadataPrefixLen + length
	r.w = copy(r.buf, extra)
	r.setupVersion(version)
	return nil
}

func (r *Reader) setupVersion(version uint8) {
	r.sizes = minSizeV3
	if version < 3 {
		r.upg = &upgradeScratch{}
		r.sizes[RTypeStatistics], r.upgrade[RTypeStatistics] = 64, true
		if version == 1 {
			r.sizes[RTypeInstrumentDef], r.upgrade[RTypeInstrumentDef] = 360, true
			r.sizes[RTypeSymbolMapping], r.upgrade[RTypeSymbolMapping] = 80, true
			r.sizes[RTypeError], r.upgrade[RTypeError] = 80, true
			r.sizes[RTypeSystem], r.upgrade[RTypeSystem] = 80, true
		} else {
			r.sizes[RTypeInstrumentDef], r.upgrade[RTypeInstrumentDef] = 400, true
		}
	}
	for i, s := range r.sizes {
		if s != 0 && r.tsOut {
			s += 8
			r.sizes[i] = s
		}
		if !r.upgrade[i] {
			r.fast[i] = uint16(s)
		}
	}
}

// Metadata returns the stream's metadata (shared; do not modify).
func (r *Reader) Metadata() *Metadata { return r.meta }

// Next advances to the next record and reports whether there is one. At the
// end of the stream or on an error it returns false; check Err.
func (r *Reader) Next() bool {
	// Fast path: a whole v3 record of a known rtype is in the buffer.
	p, buf := r.r, r.buf
	if p+HeaderSize <= r.w {
		n := int(buf[p]) << 2
		rt := buf[p+1]
		if want := int(r.fast[rt]); want != 0 && n >= want && p+n <= r.w {
			r.rec = buf[p : p+n]
			r.r = p + n
			r.counts[rt]++
			return true
		}
	}
	return r.nextSlow()
}

func (r *Reader) nextSlow() bool {
	if r.err != nil {
		return false
	}
	r.rec = nil
	for {
		b := r.buf[r.r:r.w]
		if len(b) == 0 || int(b[0])*LengthMultiplier > len(b) {
			if r.eof {
				if len(b) == 0 {
					return false
				}
				r.err = &DecodeError{Offset: r.bufOff + int64(r.r), Kind: ErrTruncatedRecord,
					Msg: fmt.Sprintf("record header says %d bytes, only %d left in the stream", int(b[0])*LengthMultiplier, len(b))}
				return false
			}
			// Compact and read a block.
			r.bufOff += int64(r.r)
			r.w = copy(r.buf, b)
			r.r = 0
			if err := r.readAtLeast(1); err != nil {
				r.err = err
				return false
			}
			continue
		}
		n := int(b[0]) * LengthMultiplier
		off := r.bufOff + int64(r.r)
		if n < HeaderSize {
			r.err = &DecodeError{Offset: off, Kind: ErrBadRecordLength,
				Msg: fmt.Sprintf("record length %d bytes; expected at least the %d-byte record header", n, HeaderSize)}
			return false
		}
		rt := RType(b[1])
		want := r.sizes[rt]
		if want == 0 {
			r.r += n
			r.skipped++
			if r.unknown[rt] == 0 {
				r.logger.Warn("dbn: skipping records of unknown rtype", "rtype", fmt.Sprintf("0x%02x", uint8(rt)), "offset", off, "length", n)
			}
			r.unknown[rt]++
			continue
		}
		if n < want {
			r.err = &DecodeError{Offset: off, Kind: ErrBadRecordLength,
				Msg: fmt.Sprintf("%s record length %d bytes; expected at least %d", rt, n, want)}
			return false
		}
		rec := b[:n]
		r.r += n
		r.counts[rt]++
		if r.upgrade[rt] {
			r.upgOff = off
			r.rec = r.upgradeRecord(rt, rec)
		} else {
			r.rec = rec
		}
		return true
	}
}

// upgradeRecord converts a v1/v2 record into its v3 layout in the scratch
// buffer (ts_out carried over).
func (r *Reader) upgradeRecord(rt RType, rec []byte) []byte {
	u := r.upg
	var out Record
	switch rt {
	case RTypeInstrumentDef:
		if r.meta.Version == 2 {
			u.defV2.decode(rec)
			upgradeDefV2(&u.defV2, &u.def)
		} else {
			u.defV1.decode(rec)
			upgradeDefV1(&u.defV1, &u.def)
		}
		out = &u.def
	case RTypeStatistics:
		u.statO.decode(rec)
		upgradeStatV1(&u.statO, &u.stat)
		out = &u.stat
	case RTypeSymbolMapping:
		u.smO.decode(rec)
		upgradeSymbolMappingV1(&u.smO, &u.sm)
		out = &u.sm
	case RTypeError:
		u.errO.decode(rec)
		upgradeErrorV1(&u.errO, &u.errN)
		out = &u.errN
	case RTypeSystem:
		u.sysO.decode(rec)
		upgradeSystemV1(&u.sysO, &u.sys)
		out = &u.sys
	default:
		return rec
	}
	size := out.EncodedLen()
	out.Encode(u.buf[:size])
	if r.tsOut {
		copy(u.buf[size:size+8], rec[len(rec)-8:])
		size += 8
	}
	u.buf[0] = uint8(size / LengthMultiplier)
	return u.buf[:size:size]
}

// Err returns the first error met, nil at a clean end of stream.
func (r *Reader) Err() error { return r.err }

// RecordBytes returns the current record in its v3 layout, header first and
// ts_out (if any) last. It is valid until the next call to Next and must not
// be modified or appended to.
func (r *Reader) RecordBytes() []byte { return r.rec }

// RType returns the current record's type.
func (r *Reader) RType() RType { return RType(r.rec[1]) }

// InstrumentID returns the current record's instrument_id.
func (r *Reader) InstrumentID() uint32 { return binary.LittleEndian.Uint32(r.rec[4:]) }

// TsEvent returns the current record's ts_event.
func (r *Reader) TsEvent() uint64 { return binary.LittleEndian.Uint64(r.rec[8:]) }

// TsOut returns the current record's ts_out and true when the stream has
// them (Metadata().TsOut).
func (r *Reader) TsOut() (uint64, bool) {
	if !r.tsOut {
		return 0, false
	}
	return binary.LittleEndian.Uint64(r.rec[len(r.rec)-8:]), true
}

// Offset returns the stream offset of the current record as read (before
// any upgrade).
func (r *Reader) Offset() int64 {
	if len(r.rec) == 0 {
		return r.bufOff + int64(r.r)
	}
	if r.upg != nil && &r.rec[0] == &r.upg.buf[0] {
		return r.upgOff
	}
	// The record is a slice of buf running to its end.
	return r.bufOff + int64(cap(r.buf)-cap(r.rec))
}

// RecordType returns the descriptor of the current record.
func (r *Reader) RecordType() *RecordType { return LookupRType(r.RType()) }

// Record decodes the current record into a new typed value (it allocates;
// use DecodeInto or RecordBytes on hot paths).
func (r *Reader) Record() Record {
	rec := LookupRType(r.RType()).New()
	_ = rec.Decode(r.rec)
	return rec
}

// DecodeInto decodes the current record into rec, which must be of the
// record's type (e.g. *TradeMsg for rtype mbp-0).
func (r *Reader) DecodeInto(rec Record) error {
	if rt := LookupRType(r.RType()); rt == nil || reflect.TypeOf(rec) != rt.ptrType {
		return fmt.Errorf("dbn: cannot decode a %s record into %T", r.RType(), rec)
	}
	return rec.Decode(r.rec)
}

// Counts returns the number of records read so far per rtype (after
// upgrade; unknown rtypes are not included, see Skipped).
func (r *Reader) Counts() map[RType]uint64 {
	out := map[RType]uint64{}
	for i, c := range r.counts {
		if c != 0 {
			out[RType(i)] = c
		}
	}
	return out
}

// Skipped returns the number of records of unknown rtypes skipped so far,
// and how many of each.
func (r *Reader) Skipped() (uint64, map[RType]uint64) {
	out := map[RType]uint64{}
	for i, c := range r.unknown {
		if c != 0 {
			out[RType(i)] = c
		}
	}
	return r.skipped, out
}

// Close releases the zstd decoder and closes the file opened by Open.
func (r *Reader) Close() error {
	if r.zr != nil {
		r.zr.Close()
		r.zr = nil
	}
	if r.closer != nil {
		err := r.closer.Close()
		r.closer = nil
		return err
	}
	return nil
}
