// Package dbn reads and writes Databento's DBN format (Databento Binary
// Encoding) natively: versions 1, 2 and 3, plain or zstd-compressed.
//
// # Reading
//
// NewReader (or Open, or NewBytesReader for data already in memory) reads the
// metadata and returns a Reader that iterates over records in bounded
// memory: it reads large blocks into one buffer and hands out each record as
// a slice of that buffer, so the loop
//
//	for r.Next() { rec := r.RecordBytes(); ... }
//
// does not allocate. zstd input is recognised by its magic number
// (28 b5 2f fd) and decompressed as a stream.
//
// # One layout downstream: v3
//
// Records of DBN v1 and v2 are upgraded to their v3 layouts on the fly, as
// the reference decoder's default upgrade policy (UpgradeToV3) does, so
// everything downstream sees v3 shapes only: v1/v2 definitions
// (raw_symbol 22 -> 71 bytes in v1, asset 7 -> 11 bytes, raw_instrument_id
// u32 -> u64, new leg and strike fields at their defaults, fields dropped in
// v3 discarded), v1/v2 statistics (quantity i32 -> i64, i32::MAX -> i64::MAX),
// and v1 symbol mapping (symbols widened, stype_in/stype_out set to u8::MAX),
// error and system records (text widened, code inferred from the text as the
// reference does). Upgraded records are built in a scratch buffer inside the
// Reader; their header length is recomputed. Metadata of any version is
// presented in v3 form (Metadata.Version keeps the input version).
//
// # Field descriptors
//
// LookupRType returns a RecordType whose Fields describe every field of a v3
// record: its Databento name, wire type, byte offset, kind (int, price,
// timestamp, char, c-string, flags) and undefined sentinel, in the column
// order of Databento's CSV and JSON encoders (mbp levels flattened as
// bid_px_00, ask_px_00, ...). Code that turns records into columns can walk
// them without knowing each record type. Typed structs (TradeMsg, MboMsg,
// ...) have generated Decode and Encode methods for convenience.
//
// # Errors and unknown record types
//
// Malformed input never panics: Reader returns a *DecodeError naming the byte
// offset in the (decompressed) stream, the kind of problem (see ErrBadMagic,
// ErrUnsupportedVersion, ErrTruncatedMetadata, ErrCorruptMetadata,
// ErrTruncatedRecord, ErrBadRecordLength, ErrCorruptZstd) and what was
// expected. A record whose rtype this package does not know (a newer
// Databento record type) is not an error: it is skipped using its length
// byte, counted (Reader.Skipped), and logged once per rtype as a warning, so
// a file with a new record type still yields everything else.
//
// # Writing
//
// Encoder writes v3 metadata and records, optionally zstd-compressed; it is
// used for tests, fixtures, the demo and the benchmarks.
package dbn
