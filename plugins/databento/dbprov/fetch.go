package dbprov

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/sdk"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
)

func nsTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// Fetch implements sdk.Provider.
func (*Provider) Fetch(ctx context.Context, req *sdk.FetchRequest, out sdk.Sender) error {
	cfg, err := parseConfig(req.Job.Config)
	if err != nil {
		return err
	}
	if req.Job.Live || req.Unit.Params["source"] == "live" {
		err := fetchLive(ctx, cfg, req, out)
		if se := (*sendError)(nil); errors.As(err, &se) {
			return se.err
		}
		return err
	}
	r, err := parseJob(req.Job, cfg)
	if err != nil {
		return err
	}
	u := &req.Unit
	if s := u.Params["schema"]; s != "" {
		if r.Schema, err = dbn.ParseSchema(s); err != nil {
			return permanent("databento: unit %s: unknown schema %q", u.Key, s)
		}
	}
	rows := req.BatchRows
	if rows <= 0 {
		rows = sdk.DefaultBatchRows
	}
	if u.Params["source"] == "files" || (u.Params["source"] == "" && len(u.Files) > 0) {
		return fetchFiles(ctx, cfg, r, u, rows, out)
	}
	if err := cfg.needKey(); err != nil {
		return err
	}
	if u.Params["delivery"] == "batch" {
		return fetchBatch(ctx, newClient(cfg), cfg, r, u, rows, req.Checkpoint, out)
	}
	return fetchAPI(ctx, newClient(cfg), r, u, rows, out)
}

// emitter routes records into batches: the schema's own records to its
// stream, definition records to "definition", others reported.
type emitter struct {
	out      sdk.Sender
	schema   dbn.Schema
	mainRT   *dbn.RecordType
	rtype    dbn.RType
	main     *recordBuilder
	def      *recordBuilder // lazily, for definitions inside another schema
	rows     int
	maps     []sdk.SymbolMapping // sent before the first batch
	warns    []string
	sent     bool  // anything sent to the host
	records  int64 // records of the schema so far
	seen     int64 // records read
	locator  string
	mismatch int64
	// filter
	start, end uint64 // index-ts filter, end 0 = none
	limit      int64
	part       int64 // this unit's part (0-based) of parts (see partOf)
	parts      int64
	// file progress: bytes read of the file's size (0: not a file)
	read      byteCounter
	fileBytes int64
	// lastIndex is the index timestamp (ts_recv, else ts_event) of the last
	// record of the schema taken: where a cut stream resumes.
	lastIndex uint64
}

func newEmitter(out sdk.Sender, s dbn.Schema, rows int, locator string) *emitter {
	rtype, _ := s.RType()
	return &emitter{out: sendErrors{out}, schema: s, mainRT: s.RecordType(), rtype: rtype, main: newRecordBuilder(s, rows), rows: rows, locator: locator}
}

// reset drops everything not yet sent (before a retry).
func (e *emitter) reset() {
	e.main.reset()
	if e.def != nil {
		e.def.reset()
	}
	e.maps, e.warns = nil, nil
	e.records, e.seen, e.mismatch = 0, 0, 0
}

// done reports whether the limit is reached.
func (e *emitter) done() bool { return e.limit > 0 && e.records >= e.limit }

func (e *emitter) sendPending() error {
	if e.sent {
		return nil
	}
	e.sent = true
	if len(e.maps) > 0 {
		if err := e.out.Mappings(e.maps); err != nil {
			return err
		}
	}
	for _, w := range e.warns {
		if err := e.out.Warn(w); err != nil {
			return err
		}
	}
	return nil
}

func (e *emitter) flush(b *recordBuilder, stream string) error {
	rec := b.batch()
	if rec == nil {
		return nil
	}
	defer rec.Release()
	if err := e.sendPending(); err != nil {
		return err
	}
	if err := e.out.Batch(stream, rec); err != nil {
		return err
	}
	if e.fileBytes > 0 {
		return e.out.Progress(sdk.Progress{Done: min(e.read.Count(), e.fileBytes), Total: e.fileBytes, HasTotal: true, Unit: sdk.ProgressBytes})
	}
	return nil
}

func (e *emitter) flushAll() error {
	if err := e.flush(e.main, e.schema.String()); err != nil {
		return err
	}
	if e.def != nil {
		if err := e.flush(e.def, "definition"); err != nil {
			return err
		}
	}
	return e.sendPending()
}

func readU64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

// indexTs is a record's index timestamp: ts_recv when the record has one
// and it is defined, else ts_event.
func indexTs(rec []byte, rt *dbn.RecordType) uint64 {
	if ts := readU64(rec, rt.IndexTsOffset); ts != dbn.UndefTimestamp {
		return ts
	}
	return readU64(rec, 8)
}

// record takes one v3 record from rd.
func (e *emitter) record(rd *dbn.Reader) error {
	rec := rd.RecordBytes()
	e.seen++
	if e.parts > 1 && partOf(rd.InstrumentID(), rd.TsEvent(), e.parts) != e.part {
		return nil
	}
	rt := rd.RecordType()
	if rt == nil {
		return nil
	}
	ts := indexTs(rec, rt)
	if e.end != 0 && (ts < e.start || ts >= e.end) {
		return nil
	}
	tsOut, hasTsOut := rd.TsOut()
	switch {
	case rd.RType() == e.rtype || (rt == e.mainRT && rd.RType() == dbn.RTypeOhlcvDeprecated):
		e.main.append(rec, tsOut, hasTsOut)
		e.records++
		e.lastIndex = ts
		if e.main.full() {
			return e.flush(e.main, e.schema.String())
		}
	case rd.RType() == dbn.RTypeInstrumentDef:
		if e.def == nil {
			e.def = newRecordBuilder(dbn.SchemaDefinition, e.rows)
		}
		e.def.append(rec, tsOut, hasTsOut)
		if e.def.full() {
			return e.flush(e.def, "definition")
		}
	case rd.RType() == dbn.RTypeSymbolMapping, rd.RType() == dbn.RTypeSystem:
		// In-band symbology and heartbeats: the metadata carries mappings.
	case rd.RType() == dbn.RTypeError:
		msg := string(rt.Field("err").CString(rec))
		if err := e.sendPending(); err != nil {
			return err
		}
		return e.out.Warn(fmt.Sprintf("databento: %s: error record: %s", e.locator, msg))
	default:
		e.mismatch++
		if err := e.sendPending(); err != nil {
			return err
		}
		return e.out.RowError(sdk.RowError{
			File: e.locator, Line: e.seen, Stream: e.schema.String(),
			Message: fmt.Sprintf("record %d has rtype %s (%s), which is not a %s record: the data does not match its schema", e.seen, rd.RType(), rt.Name, e.schema),
		})
	}
	return nil
}

// run reads every record of rd.
func (e *emitter) run(ctx context.Context, rd *dbn.Reader) error {
	n := 0
	for !e.done() && rd.Next() {
		if err := e.record(rd); err != nil {
			return err
		}
		if n++; n&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return rd.Err()
}

// progress reports the end of the unit: the file read through, or the
// stream's records all received.
func (e *emitter) progress() error {
	if e.fileBytes > 0 {
		return e.out.Progress(sdk.Progress{Done: e.fileBytes, Total: e.fileBytes, HasTotal: true, Unit: sdk.ProgressBytes})
	}
	return e.out.Progress(sdk.Progress{Done: e.records, Total: e.records, HasTotal: true, Unit: sdk.ProgressRecords})
}

// finish ends a unit read from files: it sends what e holds, warns about
// records not of the schema (what names the unit's data) and reports the
// end.
func (e *emitter) finish(what string) error {
	if err := e.flushAll(); err != nil {
		return err
	}
	if e.mismatch > 0 {
		if err := e.out.Warn(fmt.Sprintf("databento: %s: %d records do not match schema %s (reported as row errors)", what, e.mismatch, e.schema)); err != nil {
			return err
		}
	}
	return e.progress()
}

// dbnFile is a DBN file open for reading.
type dbnFile struct {
	path string
	f    *os.File // nil when the file is read through a shared decompression
	n    byteCounter
	rd   *dbn.Reader
	size int64  // the file's size (0: unknown)
	done func() // closes what the reader reads
}

// byteCounter counts the bytes of a file read so far.
type byteCounter interface{ Count() int64 }

// openDBNFile opens path and reads its DBN metadata. The count of bytes
// read starts at base: the bytes of the unit's files before it. what names
// the file in errors; openErr words a file that cannot be opened.
func openDBNFile(path, what string, base int64, openErr func(error) error) (*dbnFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, openErr(err)
	}
	n := &sdk.CountingReader{R: f, N: base}
	rd, err := dbn.NewReader(n)
	if err != nil {
		_ = f.Close()
		return nil, permanent("databento: %s is not a readable DBN file: %v", what, err)
	}
	df := &dbnFile{path: path, f: f, n: n, rd: rd, done: func() { _ = f.Close() }}
	if st, err := f.Stat(); err == nil {
		df.size = st.Size()
	}
	return df, nil
}

// openPartFile opens path for one of its parts parts: through the
// decompression the parts loading now share (shared.go), or alone.
func openPartFile(ctx context.Context, path string, parts int64, openErr func(error) error) (*dbnFile, error) {
	if parts > 1 && shareDecompression {
		sr, err := openShared(ctx, path, parts)
		if err != nil {
			return nil, openErr(err)
		}
		if sr != nil {
			rd, err := dbn.NewReader(sr)
			if err != nil {
				sr.Close()
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, permanent("databento: %s is not a readable DBN file: %v", path, err)
			}
			return &dbnFile{path: path, n: sr, rd: rd, size: sr.f.key.size, done: sr.Close}, nil
		}
	}
	return openDBNFile(path, path, 0, openErr)
}

func (d *dbnFile) close() {
	d.rd.Close()
	d.done()
}

// load reads the file's records into e, whose progress (when it has a
// fileBytes) moves with the bytes read.
func (d *dbnFile) load(ctx context.Context, e *emitter) error {
	e.read = d.n
	if err := e.run(ctx, d.rd); err != nil {
		return fmt.Errorf("databento: %s: %w", d.path, err)
	}
	return nil
}

// fetchFiles loads one file unit.
func fetchFiles(ctx context.Context, cfg *config, r *request, u *sdk.Unit, rows int, out sdk.Sender) error {
	if len(u.Files) != 1 {
		return permanent("databento: unit %s: want exactly one file, got %d", u.Key, len(u.Files))
	}
	path := u.Files[0]
	part, parts, err := filePart(u)
	if err != nil {
		return err
	}
	df, err := openPartFile(ctx, path, parts, func(err error) error {
		return fmt.Errorf("databento: open %s: %w (was it moved since planning?)", path, err)
	})
	if err != nil {
		return err
	}
	defer df.close()
	meta := df.rd.Metadata()
	schema, err := fileSchema(path, meta, r.Schema)
	if err != nil {
		return err
	}
	e := newEmitter(out, schema, rows, path)
	e.limit = r.Limit
	e.fileBytes = df.size
	e.part, e.parts = part-1, parts
	if !r.Range.IsZero() {
		e.start, e.end = uint64(r.Range.Start.UnixNano()), uint64(r.Range.End.UnixNano())
	}
	// Only the first part stores the file's symbol mappings: parts commit
	// separately, and one writer keeps them from waiting on each other.
	if part == 1 {
		e.maps = metadataMappings(meta, r)
		if len(e.maps) == 0 && r.Resolve && cfg.APIKey != "" {
			if err := e.resolveMissing(ctx, newClient(cfg), meta, r); err != nil {
				return err
			}
		}
	}
	if err := df.load(ctx, e); err != nil {
		return err
	}
	return e.finish(path)
}

// resolveMissing fills e.maps from symbology.resolve when the metadata had
// no mappings; a file without symbols or range is left alone.
func (e *emitter) resolveMissing(ctx context.Context, c *client, meta *dbn.Metadata, r *request) error {
	syms := meta.Symbols
	if len(syms) == 0 {
		syms = r.Symbols
	}
	in := meta.STypeIn
	if !in.Valid() {
		in = r.StypeIn
	}
	out := r.StypeOut
	if len(syms) == 0 || (len(syms) == 1 && syms[0] == AllSymbols) || in == out || in == dbn.STypeInstrumentID {
		return nil
	}
	start, end := nsTime(int64(meta.Start)), nsTime(int64(meta.End))
	if !r.Range.IsZero() {
		start, end = r.Range.Start, r.Range.End
	}
	if meta.Start == 0 || meta.End == 0 || meta.End == dbn.UndefTimestamp || !end.After(start) {
		if r.Range.IsZero() {
			return nil
		}
	}
	ds := firstOf(meta.Dataset, r.Dataset)
	var all []sdk.SymbolMapping
	for _, g := range symbolGroups(syms, MaxSymbolsPerRequest) {
		ms, warns, err := c.resolve(ctx, ds, g, in, out, start, end)
		if err != nil {
			if retryable(err) {
				e.warns = append(e.warns, "databento: symbology.resolve failed; no symbol mappings for this unit: "+err.Error())
				return nil
			}
			return err
		}
		all = append(all, ms...)
		e.warns = append(e.warns, warns...)
	}
	e.maps = all
	return nil
}

// maxResumes is how often a cut stream resumes within one unit.
const maxResumes = 10

// fetchAPI streams one unit from timeseries.get_range. A failure before
// anything was sent to the host is retried here. A stream cut after data
// went to the host resumes: the rest is requested from the index timestamp
// of the last record received (records of that very timestamp come again,
// and the unit's unique key drops them), in the same unit transaction, so
// the unit still commits once. Only when it cannot resume (a record limit,
// too many cuts) is the error retryable for the runner, which retries the
// whole unit.
func fetchAPI(ctx context.Context, c *client, r *request, u *sdk.Unit, rows int, out sdk.Sender) error {
	rg, ok := u.Range()
	if !ok {
		return permanent("databento: unit %s has no time range: re-plan the job", u.Key)
	}
	syms := u.Symbols
	if len(syms) == 0 {
		syms = []string{AllSymbols}
	}
	if len(syms) > MaxSymbolsPerRequest {
		return permanent("databento: unit %s has %d symbols, more than the %d Databento takes per request: re-plan the job", u.Key, len(syms), MaxSymbolsPerRequest)
	}
	form := apiForm(r, syms, rg)
	form.Set("stype_out", r.StypeOut.String())
	form.Set("encoding", "dbn")
	form.Set("compression", "zstd")
	e := newEmitter(out, r.Schema, rows, "databento timeseries.get_range "+u.Key)
	var lastErr error
	resumes := 0
	for attempt := 0; attempt <= c.retries; attempt++ {
		if attempt > 0 {
			if err := c.sleep(ctx, c.delay(attempt, "")); err != nil {
				return err
			}
		}
		if !e.sent {
			e.reset()
		}
		err := streamOnce(ctx, c, r, syms, rg, form, e)
		if err == nil {
			return e.progress()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var pe *sdk.Error
		var se *sendError
		if errors.As(err, &se) {
			return se.err
		}
		if errors.As(err, &pe) {
			return err // classified API errors are final for this call
		}
		if e.sent {
			if r.Limit > 0 || resumes == maxResumes || e.lastIndex == 0 {
				return retryableErr(err, "databento timeseries.get_range: stream cut after %d records of unit %s (%s); the unit will be retried", e.records, u.Key, c.redact(err.Error()))
			}
			// Resume from the last record's timestamp, inclusive.
			resumes++
			rg.Start = time.Unix(0, int64(e.lastIndex)).UTC()
			form.Set("start", timerange.Format(rg.Start))
			if err := out.Warn(fmt.Sprintf("databento timeseries.get_range: stream of unit %s cut after %d records (%s); resuming from %s (resume %d of at most %d)",
				u.Key, e.records, c.redact(err.Error()), timerange.Format(rg.Start), resumes, maxResumes)); err != nil {
				return err
			}
			attempt-- // a resume is no failed attempt
			continue
		}
		lastErr = err
	}
	return retryableErr(lastErr, "databento timeseries.get_range: stream failed %d times for unit %s (%s); the unit will be retried", c.retries+1, u.Key, c.redact(lastErr.Error()))
}

// streamOnce makes one get_range request and streams its body into e.
func streamOnce(ctx context.Context, c *client, r *request, syms []string, rg timerange.Range, form map[string][]string, e *emitter) error {
	resp, cancel, err := c.do(ctx, http.MethodPost, "timeseries.get_range", form)
	if err != nil {
		return err
	}
	defer cancel()
	defer resp.Body.Close()
	ir := newIdleReader(resp.Body, c.timeout, cancel)
	defer ir.stop()
	rd, err := dbn.NewReader(ir)
	if err != nil {
		return fmt.Errorf("read DBN metadata after %d bytes: %w", ir.bytes, err)
	}
	defer rd.Close()
	meta := rd.Metadata()
	if meta.Schema != dbn.SchemaNone && meta.Schema != r.Schema {
		return permanent("databento timeseries.get_range: asked for schema %s, got %s", r.Schema, meta.Schema)
	}
	e.maps = metadataMappings(meta, r)
	if len(e.maps) == 0 && r.Resolve {
		if err := e.resolveMissing(ctx, c, meta, &request{Dataset: r.Dataset, Symbols: syms, StypeIn: r.StypeIn, StypeOut: r.StypeOut, Range: rg}); err != nil {
			return err
		}
	}
	if err := e.run(ctx, rd); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() == nil {
			err = fmt.Errorf("no data for %s: %w", c.timeout, err)
		}
		return fmt.Errorf("after %d records (%s bytes): %w", e.records, strconv.FormatInt(ir.bytes, 10), err)
	}
	if err := e.flushAll(); err != nil {
		return err
	}
	if e.mismatch > 0 {
		return e.out.Warn(fmt.Sprintf("databento: %d records of the response do not match schema %s (reported as row errors)", e.mismatch, r.Schema))
	}
	return nil
}

// sendError marks an error of the host's Sender, which is never retried.
type sendError struct{ err error }

func (e *sendError) Error() string { return e.err.Error() }
func (e *sendError) Unwrap() error { return e.err }

// sendErrors wraps a Sender so its errors are recognisable.
type sendErrors struct{ s sdk.Sender }

func wrapSend(err error) error {
	if err == nil {
		return nil
	}
	return &sendError{err}
}

func (w sendErrors) Batch(stream string, rec arrow.RecordBatch) error {
	return wrapSend(w.s.Batch(stream, rec))
}
func (w sendErrors) Mappings(m []sdk.SymbolMapping) error { return wrapSend(w.s.Mappings(m)) }
func (w sendErrors) Progress(p sdk.Progress) error        { return wrapSend(w.s.Progress(p)) }
func (w sendErrors) Warn(msg string) error                { return wrapSend(w.s.Warn(msg)) }
func (w sendErrors) RowError(r sdk.RowError) error        { return wrapSend(w.s.RowError(r)) }
func (w sendErrors) Checkpoint(state []byte, note string) error {
	return wrapSend(w.s.Checkpoint(state, note))
}
func (w sendErrors) LiveCheckpoint(c sdk.LiveCheckpoint) error {
	return wrapSend(w.s.LiveCheckpoint(c))
}
