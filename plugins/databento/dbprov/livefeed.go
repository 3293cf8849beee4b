package dbprov

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// A live feed is read by one goroutine (Fetch's) and flushed by the
// record loop when a batch is full, on each heartbeat, and by a ticker
// every flush_interval, so that rows wait at most that long at low rates.
// Both hold liveFeed.mu; the reader lets go of it only while it waits for
// bytes from the network. So a flush never races the decoder, and while
// the host is slow (its Sender blocks) nothing more is read from the
// connection: memory stays bounded (one read buffer, one batch per
// stream) and the gateway sees a slow reader.

// behindHold is how long after the gateway's last slow-reader warning the
// checkpoints say the feed is behind.
const behindHold = 10 * time.Second

// liveStream is one subscribed stream.
type liveStream struct {
	name  string
	rt    *dbn.RecordType
	b     *recordBuilder
	seq   *dbn.Field // nil when the schema has no sequence
	last  sdk.LivePosition
	moved bool // rows appended since the last checkpoint
}

// liveFeed turns a gateway's DBN stream into batches and checkpoints.
type liveFeed struct {
	mu      sync.Mutex
	out     sdk.Sender
	lr      *liveRequest
	key     string
	byRType [256]*liveStream
	streams []*liveStream
	pending int // rows appended since the last checkpoint
	records int64

	// symbology (see mapping)
	maps     []sdk.SymbolMapping
	mapSeen  map[sdk.SymbolMapping]bool
	open     map[string][]sdk.SymbolMapping // open-ended mappings by input symbol
	day      dbn.Date                       // UTC day of the feed's clock
	clock    uint64                         // the latest record time seen
	replayed uint64                         // earliest start= of the session, 0: none

	srcTime     int64
	behindUntil time.Time
	slowWarned  time.Time
	lastSent    time.Time
	skipped     map[dbn.RType]bool
	gatewayErr  string // the last non-fatal ErrorMsg, quoted if the session then ends
	sendErr     error  // a Sender error met by the ticker
}

func newLiveFeed(out sdk.Sender, lr *liveRequest, rows int, key string, starts []int64) *liveFeed {
	f := &liveFeed{out: sendErrors{out}, lr: lr, key: key, mapSeen: map[sdk.SymbolMapping]bool{},
		open: map[string][]sdk.SymbolMapping{}, skipped: map[dbn.RType]bool{}, lastSent: time.Now()}
	for _, s := range lr.Streams {
		rt := s.RecordType()
		st := &liveStream{name: s.String(), rt: rt, b: newRecordBuilder(s, rows), seq: rt.Field("sequence")}
		rtype, _ := s.RType()
		f.byRType[rtype] = st
		f.streams = append(f.streams, st)
	}
	for _, s := range starts {
		if s > 0 && (f.replayed == 0 || uint64(s) < f.replayed) {
			f.replayed = uint64(s)
		}
	}
	return f
}

func (f *liveFeed) redact(s string) string { return redactKey(s, f.key) }

// unlockedReader releases mu while it waits for bytes.
type unlockedReader struct {
	r  io.Reader
	mu *sync.Mutex
}

func (u unlockedReader) Read(p []byte) (int, error) {
	u.mu.Unlock()
	defer u.mu.Lock()
	return u.r.Read(p)
}

// deadlineReader fails a read that waits longer than d: no record and no
// heartbeat for that long means the connection is dead.
type deadlineReader struct {
	c net.Conn
	r io.Reader
	d time.Duration
}

func (dr deadlineReader) Read(p []byte) (int, error) {
	_ = dr.c.SetReadDeadline(time.Now().Add(dr.d))
	return dr.r.Read(p)
}

// run reads the session until ctx ends or the feed fails.
func (f *liveFeed) run(ctx context.Context, lc *liveConn) error {
	silence := 2 * time.Duration(f.lr.Heartbeat) * time.Second
	var src io.Reader = deadlineReader{c: lc.conn, r: lc.br, d: silence}
	if f.lr.Compression == "zstd" {
		// One goroutine, so decoding keeps pace with the reads and the
		// silence deadline holds.
		zr, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return err
		}
		defer zr.Close()
		src = zr
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	f.mu.Lock()
	defer func() {
		close(stop)
		f.mu.Unlock()
		wg.Wait()
	}()
	rd, err := dbn.NewReader(unlockedReader{r: src, mu: &f.mu})
	if err != nil {
		return f.end(ctx, lc, silence, fmt.Errorf("reading the DBN metadata: %w", err))
	}
	defer rd.Close()
	wg.Add(1)
	go f.ticker(stop, &wg, lc)
	for rd.Next() {
		if err := f.record(rd); err != nil {
			return err
		}
	}
	return f.end(ctx, lc, silence, rd.Err())
}

// ticker flushes pending rows every flush_interval and keeps the host
// informed while the feed is quiet. A Sender error stops the reader.
func (f *liveFeed) ticker(stop chan struct{}, wg *sync.WaitGroup, lc *liveConn) {
	defer wg.Done()
	t := time.NewTicker(f.lr.Flush)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		f.mu.Lock()
		select {
		case <-stop:
			f.mu.Unlock()
			return
		default:
		}
		if f.pending > 0 || len(f.maps) > 0 || time.Since(f.lastSent) >= keepAlive {
			if err := f.checkpoint(); err != nil {
				f.sendErr = err
				_ = lc.conn.Close() // wakes the reader
			}
		}
		f.mu.Unlock()
		if f.sendErr != nil {
			return
		}
	}
}

// checkpoint sends the pending mappings and rows, then a LiveCheckpoint
// with the position of every stream that moved.
func (f *liveFeed) checkpoint() error {
	if len(f.maps) > 0 {
		if err := f.out.Mappings(f.maps); err != nil {
			return err
		}
		f.maps = nil
	}
	var ps []sdk.LivePosition
	for _, st := range f.streams {
		if rec := st.b.batch(); rec != nil {
			err := f.out.Batch(st.name, rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
		if st.moved {
			ps = append(ps, st.last)
			st.moved = false
		}
	}
	f.pending = 0
	f.lastSent = time.Now()
	return f.out.LiveCheckpoint(sdk.LiveCheckpoint{Positions: ps, SourceTime: f.srcTime, Behind: time.Now().Before(f.behindUntil)})
}

// record takes one record.
func (f *liveFeed) record(rd *dbn.Reader) error {
	rec := rd.RecordBytes()
	switch rt := rd.RType(); rt {
	case dbn.RTypeSymbolMapping:
		f.mapping(rec)
	case dbn.RTypeSystem:
		return f.system(rec)
	case dbn.RTypeError:
		return f.gatewayError(rec)
	default:
		st := f.byRType[rt]
		if st == nil {
			if !f.skipped[rt] {
				f.skipped[rt] = true
				return f.out.Warn(fmt.Sprintf("databento live: the gateway sent %s records, which no stream of the job takes: skipped", rt))
			}
			return nil
		}
		tsOut, hasTsOut := rd.TsOut()
		st.b.append(rec, tsOut, hasTsOut)
		ts := indexTs(rec, st.rt)
		st.last = sdk.LivePosition{Stream: st.name, Time: int64(ts)}
		if st.seq != nil {
			st.last.Sequence = st.seq.Uint(rec)
		}
		st.moved = true
		f.pending++
		f.records++
		src := ts
		if hasTsOut {
			src = tsOut
		}
		f.srcTime = max(f.srcTime, int64(src))
		f.advance(ts)
		if st.b.full() {
			return f.checkpoint()
		}
	}
	return nil
}

// system handles a SystemMsg: a heartbeat moves the source clock and
// sends a checkpoint; a slow-reader warning marks the feed behind.
func (f *liveFeed) system(rec []byte) error {
	var m dbn.SystemMsg
	if err := m.Decode(rec); err != nil {
		return nil
	}
	msg := dbn.CString(m.Msg[:])
	switch {
	case m.Code == dbn.SystemCodeHeartbeat || (m.Code == dbn.SystemCodeUnset && msg == "Heartbeat"):
		f.srcTime = max(f.srcTime, int64(m.TsEvent))
		f.advance(m.TsEvent)
		return f.checkpoint()
	case m.Code == dbn.SystemCodeSlowReaderWarning:
		now := time.Now()
		f.behindUntil = now.Add(behindHold)
		if now.Sub(f.slowWarned) >= time.Minute {
			f.slowWarned = now
			return f.out.Warn(fmt.Sprintf("databento live: the gateway says hdi reads too slowly (%s): the database is behind the feed, which the gateway buffers meanwhile", msg))
		}
	}
	return nil
}

// gatewayError handles an ErrorMsg by Databento's documented codes: a
// symbol that does not resolve is a warning; skipped records (a slow
// reader under slow_reader_behavior skip) end the session so that the
// host reconnects and the replay fills the gap; the fatal codes end it
// with the kind that fits. Rows received before are sent first.
func (f *liveFeed) gatewayError(rec []byte) error {
	var m dbn.ErrorMsg
	if err := m.Decode(rec); err != nil {
		return nil
	}
	text := f.redact(dbn.CString(m.Err[:]))
	var err error
	switch m.Code {
	case dbn.ErrorCodeSymbolResolutionFailed:
		return f.out.Warn("databento live: the gateway could not resolve a symbol: " + text)
	case dbn.ErrorCodeAuthFailed, dbn.ErrorCodeAPIKeyDeactivated:
		err = &sdk.Error{Kind: sdk.ErrorAuth, Field: "config.api_key", Msg: fmt.Sprintf("databento live: authentication failed: %s: check the API key ($%s or api_key under providers.databento)", text, EnvAPIKey)}
	case dbn.ErrorCodeConnectionLimitExceeded:
		err = &sdk.Error{Kind: sdk.ErrorRateLimited, RetryAfter: time.Minute, Msg: "databento live: " + text + ": the API key has as many live sessions open as Databento allows; close one, or wait"}
	case dbn.ErrorCodeInvalidSubscription:
		err = permanent("databento live: the gateway refused a subscription: %s: check the dataset, schemas, symbols, stype_in and start", text)
	case dbn.ErrorCodeInternalError:
		err = retryableErr(nil, "databento live: gateway error: %s; reconnecting", text)
	case dbn.ErrorCodeSkippedRecordsAfterSlowReading:
		err = retryableErr(nil, "databento live: the gateway skipped records because hdi read too slowly (slow_reader_behavior skip): %s; reconnecting to replay them from the last stored position", text)
	case 8: // REPLAY_DATA_AGED_OUT
		err = permanent("databento live: %s: the replay reached data the gateway no longer keeps; fill the gap with a historical run (hdi ingest) and start the feed again", text)
	default:
		f.gatewayErr = text
		return f.out.Warn(fmt.Sprintf("databento live: gateway error (code %d): %s", m.Code, text))
	}
	if cerr := f.checkpoint(); cerr != nil {
		return cerr
	}
	return err
}

// end words why the session ended: a cut, an EOF or a silent gateway are
// retryable (the host reconnects with the committed positions). The rows
// received before are sent first, so fewer come again.
func (f *liveFeed) end(ctx context.Context, lc *liveConn, silence time.Duration, readErr error) error {
	if f.sendErr != nil {
		return f.sendErr
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := f.checkpoint(); err != nil {
		return err
	}
	after := fmt.Sprintf("after %d records", f.records)
	if f.gatewayErr != "" {
		after += " and the gateway error " + strconv.Quote(f.gatewayErr)
	}
	var ne net.Error
	switch {
	case readErr == nil:
		return retryableErr(nil, "databento live: the gateway %s closed the session %s; reconnecting", lc.addr, after)
	case errors.As(readErr, &ne) && ne.Timeout():
		return retryableErr(readErr, "databento live: no record and no heartbeat from the gateway %s for %s (twice heartbeat_interval_s) %s: the connection is dead; reconnecting", lc.addr, silence, after)
	}
	return retryableErr(readErr, "databento live: the connection to the gateway %s was cut %s (%s); reconnecting", lc.addr, after, f.redact(readErr.Error()))
}

// mapping turns a SymbolMappingMsg into host symbol mappings: the
// subscribed symbol (stype_in) to the instrument id, and the raw symbol
// (stype_out_symbol) to it too. The dates, which the host stores per UTC
// day [start_date, end_date):
//
//   - from start_ts and end_ts when the gateway sets them: the day of
//     start_ts to the day after the last nanosecond before end_ts;
//   - else (Databento's live mappings are open-ended) from the day of
//     start_ts when set, else of the feed's clock (the latest record time
//     of the session; before any, the start of the replay, else the
//     message's ts_event), through the feed's current day; then again for
//     each later UTC day the feed's records or heartbeats reach, until a
//     new mapping of the same symbol replaces it (a roll).
func (f *liveFeed) mapping(rec []byte) {
	var m dbn.SymbolMappingMsg
	if err := m.Decode(rec); err != nil {
		return
	}
	in := m.STypeInSymbolString()
	if in == "" {
		return
	}
	stypeIn := m.STypeIn
	if !stypeIn.Valid() {
		stypeIn = f.lr.StypeIn
	}
	id := strconv.FormatUint(uint64(m.InstrumentID), 10)
	ms := []sdk.SymbolMapping{{Dataset: f.lr.Dataset, StypeIn: stypeIn.String(), InSymbol: in, StypeOut: dbn.STypeInstrumentID.String(), OutSymbol: id}}
	if raw := m.STypeOutSymbolString(); raw != "" && raw != in {
		ms = append(ms, sdk.SymbolMapping{Dataset: f.lr.Dataset, StypeIn: dbn.STypeRawSymbol.String(), InSymbol: raw, StypeOut: dbn.STypeInstrumentID.String(), OutSymbol: id})
	}
	defined := func(ts uint64) bool { return ts != 0 && ts != dbn.UndefTimestamp }
	if defined(m.StartTs) && defined(m.EndTs) && m.EndTs > m.StartTs {
		d0, d1 := dbn.DateOfNanos(m.StartTs), dbn.DateOfNanos(m.EndTs-1).AddDays(1)
		for _, x := range ms {
			x.StartDate, x.EndDate = d0.String(), d1.String()
			f.addMapping(x)
		}
		return
	}
	from := m.StartTs
	if !defined(from) {
		from = f.clock
		if from == 0 {
			from = f.replayed
		}
		if from == 0 {
			from = m.TsEvent
		}
	}
	day := dbn.DateOfNanos(from)
	if f.day.Before(day) {
		f.day = day
	}
	f.open[stypeIn.String()+"\x00"+in] = ms
	for _, x := range ms { // from its day through the feed's
		x.StartDate, x.EndDate = day.String(), f.day.AddDays(1).String()
		f.addMapping(x)
	}
}

// reopen sends open mappings ms for day.
func (f *liveFeed) reopen(day dbn.Date, ms []sdk.SymbolMapping) {
	for _, x := range ms {
		x.StartDate, x.EndDate = day.String(), day.AddDays(1).String()
		f.addMapping(x)
	}
}

func (f *liveFeed) addMapping(m sdk.SymbolMapping) {
	if !f.mapSeen[m] {
		f.mapSeen[m] = true
		f.maps = append(f.maps, m)
	}
}

// advance moves the feed's clock to ts; on a new UTC day every open
// mapping is sent again for that day.
func (f *liveFeed) advance(ts uint64) {
	if ts <= f.clock || ts == dbn.UndefTimestamp {
		return
	}
	f.clock = ts
	day := dbn.DateOfNanos(ts)
	switch {
	case f.day == (dbn.Date{}):
		f.day = day
	case f.day.Before(day):
		f.day = day
		for _, ms := range f.open {
			f.reopen(day, ms)
		}
	}
}
