package dbn

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// EncoderOptions configures an Encoder.
type EncoderOptions struct {
	// Zstd compresses the output with zstd.
	Zstd bool
	// ZstdLevel is the compression level; 0 means zstd.SpeedDefault.
	ZstdLevel zstd.EncoderLevel
}

// Encoder writes a DBN v3 stream: metadata first, then records.
type Encoder struct {
	bw    *bufio.Writer
	zw    *zstd.Encoder
	tsOut bool
	buf   [MaxRecordLen]byte
}

// NewEncoder writes the v3 encoding of meta to w and returns an encoder for
// the records. Close must be called to flush.
func NewEncoder(w io.Writer, meta *Metadata, opts *EncoderOptions) (*Encoder, error) {
	e := &Encoder{tsOut: meta.TsOut}
	if opts != nil && opts.Zstd {
		lvl := opts.ZstdLevel
		if lvl == 0 {
			lvl = zstd.SpeedDefault
		}
		zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(lvl), zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		e.zw = zw
		w = zw
	}
	e.bw = bufio.NewWriterSize(w, 1<<16)
	if _, err := e.bw.Write(meta.AppendEncoded(nil)); err != nil {
		return nil, err
	}
	return e, nil
}

// Encode writes rec (a v3 record) with its length byte set; when the
// metadata has ts_out, ts_out is written as 0 (use EncodeWithTsOut).
func (e *Encoder) Encode(rec Record) error { return e.EncodeWithTsOut(rec, 0) }

// EncodeWithTsOut writes rec followed by tsOut when the metadata has ts_out.
func (e *Encoder) EncodeWithTsOut(rec Record, tsOut uint64) error {
	n := rec.EncodedLen()
	rec.Encode(e.buf[:n])
	if e.tsOut {
		binary.LittleEndian.PutUint64(e.buf[n:], tsOut)
		n += 8
	}
	e.buf[0] = uint8(n / LengthMultiplier)
	_, err := e.bw.Write(e.buf[:n])
	return err
}

// WriteRecordBytes writes one already-encoded record as is (its length byte
// must match len(b)).
func (e *Encoder) WriteRecordBytes(b []byte) error {
	if len(b) < HeaderSize || int(b[0])*LengthMultiplier != len(b) {
		return fmt.Errorf("dbn: record of %d bytes does not match its length byte (want a whole record of at least %d bytes)", len(b), HeaderSize)
	}
	_, err := e.bw.Write(b)
	return err
}

// Close flushes the records and ends the zstd frame; it does not close the
// underlying writer.
func (e *Encoder) Close() error {
	if err := e.bw.Flush(); err != nil {
		return err
	}
	if e.zw != nil {
		return e.zw.Close()
	}
	return nil
}
