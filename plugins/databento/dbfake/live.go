package dbfake

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hdi-dev/hdi/internal/dbn"
)

// The fake Live gateway follows Databento's Raw API as documented (and as
// the official Python client speaks it): on connect the gateway sends
// "lsg_version=V" and "cram=CHALLENGE" lines; the client answers one line
// "auth=SHA256HEX-BUCKET|dataset=...|encoding=dbn|compression=none|ts_out=0|
// heartbeat_interval_s=N|slow_reader_behavior=warn|client=..." where
// SHA256HEX is sha256("CHALLENGE|KEY") in hex and BUCKET the key's last 5
// characters; the gateway answers "success=1|session_id=ID" or
// "success=0|error=TEXT". Then come subscription lines
// "schema=S|stype_in=T|symbols=A,B|start=NS|snapshot=0|id=N|is_last=1" and
// "start_session", after which the gateway sends a DBN stream (zstd when
// asked): metadata, a SymbolMappingMsg per subscribed symbol and
// instrument, then the records: first the intraday replay asked for with
// start= (records from then on, filtered on ts_event, or ts_recv for the
// bbo and cbbo schemas, as Databento documents), then new records as they
// are published, with a SystemMsg heartbeat whenever nothing was sent for
// the heartbeat interval. Errors travel as ErrorMsg records (fatal codes
// close the session).
//
//	gw, err := dbfake.NewLive(dbfake.Generate(dbfake.GenOptions{Schemas: []dbn.Schema{}}), dbfake.LiveOptions{})
//	defer gw.Close()
//	gw.Fill(dbn.SchemaTrades, 1_000_000, time.Now().Add(-time.Hour), time.Microsecond) // replayable
//	go gw.Run(ctx, 10*time.Millisecond, dbn.SchemaTrades)                               // live
//	gw.Inject(dbfake.LiveFault{CutAfterBytes: 100_003}, dbfake.LiveFault{HangUp: true, AtEnd: true})
//	// provider config: api_key gw.Key(), live_gateway gw.Addr(); then
//	// gw.Sessions() tells what each session received and sent.

// LiveVersion is the lsg_version the fake greets with.
const LiveVersion = "0.7.2"

// DefaultReplayWindow is how far back start= may reach: Databento replays
// the last 24 hours.
const DefaultReplayWindow = 24 * time.Hour

// defaultHeartbeat is the gateway's interval when the client asks none.
const defaultHeartbeat = 30 * time.Second

// Live gateway error codes (ErrorMsg.code), as Databento documents them.
const (
	LiveErrAuthFailed          = dbn.ErrorCodeAuthFailed
	LiveErrKeyDeactivated      = dbn.ErrorCodeAPIKeyDeactivated
	LiveErrConnectionLimit     = dbn.ErrorCodeConnectionLimitExceeded
	LiveErrSymbolResolution    = dbn.ErrorCodeSymbolResolutionFailed
	LiveErrInvalidSubscription = dbn.ErrorCodeInvalidSubscription
	LiveErrInternal            = dbn.ErrorCodeInternalError
	LiveErrSkippedRecords      = dbn.ErrorCodeSkippedRecordsAfterSlowReading
	LiveErrReplayAgedOut       = uint8(8)
)

// fatalCode reports whether the gateway closes the session after an
// ErrorMsg of this code (Databento's errors table).
func fatalCode(c uint8) bool {
	return c != LiveErrSymbolResolution && c != LiveErrSkippedRecords
}

// LiveOptions configures a fake Live gateway.
type LiveOptions struct {
	// Key is the API key the gateway accepts (default DefaultKey).
	Key string
	// ReplayWindow is how far back start= may reach (default 24h); an
	// older start is an invalid subscription.
	ReplayWindow time.Duration
	// Heartbeat, when set, is how often the gateway sends a heartbeat while
	// idle, whatever heartbeat_interval_s the client asked for (tests use
	// milliseconds; the real gateway takes 5 to 1800 s, default 30).
	Heartbeat time.Duration
	// Now is the gateway's clock (default time.Now): heartbeats, mappings
	// and ts_out carry it, and the replay window is measured from it.
	Now func() time.Time
	// MappingInterval makes each SymbolMappingMsg carry start_ts and end_ts
	// (the UTC day of Now); by default both are undefined, as Databento's
	// sample live data has them.
	MappingInterval bool
}

// LiveFault is a failure the gateway plays in one session. Each session
// takes the next queued fault (Count sessions each, default 1). Unless
// said otherwise, it happens once the session has sent AfterRecords data
// records (not counting metadata, mappings and system records).
type LiveFault struct {
	// RefuseAuth answers the authentication with success=0 and this error.
	RefuseAuth string
	// CutAfterBytes closes the connection once this many bytes of the DBN
	// stream (counted on the wire, so compressed with zstd; metadata
	// included) are sent, wherever that falls: in the middle of a record
	// unless the count says otherwise.
	CutAfterBytes int64
	AfterRecords  int
	// AtEnd plays the fault instead once the session has sent everything
	// published so far (the replay caught up, the feed is idle).
	AtEnd bool
	// HangUp closes the connection cleanly after whole records.
	HangUp bool
	// Stall stops sending anything, heartbeats too, and keeps the
	// connection open until the client closes it.
	Stall bool
	// ErrorCode, when set, sends an ErrorMsg of this code with ErrorText;
	// a fatal code (all but symbol resolution and skipped records) then
	// closes the session.
	ErrorCode uint8
	ErrorText string
	// SlowReader sends a SystemMsg slow-reader warning and goes on.
	SlowReader bool
	// Skip drops this many records, then sends the ErrorMsg Databento sends
	// after skipping records for a slow reader (slow_reader_behavior skip).
	Skip  int
	Count int
}

// LiveSession is what the gateway saw and did in one connection.
type LiveSession struct {
	ID string
	// Lines are the control lines received, in order, without newline.
	Lines []string
	// Auth holds the authentication request's fields.
	Auth map[string]string
	// Subscriptions hold each subscription line's fields.
	Subscriptions []map[string]string
	Started       bool
	// Records counts the data records sent; Bytes the DBN stream's bytes
	// on the wire.
	Records int
	Bytes   int64
	// End says how the session ended ("" while it runs): "refused",
	// "client closed", "cut", "hung up", "error", "gateway closed".
	End string
}

// LiveGateway is the fake Live gateway: a TCP server on 127.0.0.1.
type LiveGateway struct {
	opts LiveOptions
	ds   *Dataset
	ln   net.Listener

	mu       sync.Mutex
	feed     []feedSeg
	feedLen  int
	changed  chan struct{} // closed and replaced when the feed grows
	faults   []*LiveFault
	sessions []*LiveSession
	conns    map[net.Conn]bool
	closed   chan struct{}
	wg       sync.WaitGroup
}

// NewLive starts a fake Live gateway serving dataset ds (its instruments
// and continuous symbols resolve subscriptions; its Records are not used:
// publish records with Publish, Fill or Run). It listens on 127.0.0.1:0.
func NewLive(ds *Dataset, opts LiveOptions) (*LiveGateway, error) {
	if opts.Key == "" {
		opts.Key = DefaultKey
	}
	if opts.ReplayWindow <= 0 {
		opts.ReplayWindow = DefaultReplayWindow
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g := &LiveGateway{opts: opts, ds: ds, ln: ln, changed: make(chan struct{}), conns: map[net.Conn]bool{}, closed: make(chan struct{})}
	g.wg.Add(1)
	go g.accept()
	return g, nil
}

// Addr is the gateway's host:port (the provider's live_gateway).
func (g *LiveGateway) Addr() string { return g.ln.Addr().String() }

// Key is the accepted API key.
func (g *LiveGateway) Key() string { return g.opts.Key }

// Close stops the gateway and ends every session.
func (g *LiveGateway) Close() {
	g.mu.Lock()
	select {
	case <-g.closed:
		g.mu.Unlock()
		return
	default:
	}
	close(g.closed)
	for c := range g.conns {
		_ = c.Close()
	}
	g.mu.Unlock()
	_ = g.ln.Close()
	g.wg.Wait()
}

// Inject queues faults for the next sessions.
func (g *LiveGateway) Inject(fs ...LiveFault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, f := range fs {
		if f.Count <= 0 {
			f.Count = 1
		}
		g.faults = append(g.faults, &f)
	}
}

func (g *LiveGateway) takeFault() *LiveFault {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.faults) == 0 {
		return &LiveFault{}
	}
	f := g.faults[0]
	if f.Count--; f.Count <= 0 {
		g.faults = g.faults[1:]
	}
	c := *f
	return &c
}

// Sessions returns a copy of every session so far, in order.
func (g *LiveGateway) Sessions() []LiveSession {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]LiveSession, len(g.sessions))
	for i, s := range g.sessions {
		c := *s
		c.Lines = slices.Clone(s.Lines)
		c.Auth = maps.Clone(s.Auth)
		c.Subscriptions = make([]map[string]string, len(s.Subscriptions))
		for j, m := range s.Subscriptions {
			c.Subscriptions[j] = maps.Clone(m)
		}
		out[i] = c
	}
	return out
}

// ---- the feed: an append-only log of published records ----

// feedSeg is a run of the feed: records stored in an arena, or n records
// made on the fly (synthetic, so a million records cost no memory).
type feedSeg struct {
	data    []byte
	offs    []int32
	schemas []dbn.Schema
	synth   *synthSeg
}

type synthSeg struct {
	schema     dbn.Schema
	n          int
	t0, step   uint64
	rt         *dbn.RecordType
	rtype      dbn.RType
	instrument []Instrument
}

func (s *feedSeg) len() int {
	if s.synth != nil {
		return s.synth.n
	}
	return len(s.offs)
}

// at returns record i (buf is scratch for synthetic records).
func (s *feedSeg) at(i int, buf []byte) (dbn.Schema, []byte) {
	if y := s.synth; y != nil {
		in := y.instrument[i%len(y.instrument)]
		return y.schema, fillInto(buf[:y.rt.Size], y.rt, y.rtype, in, y.t0+uint64(i)*y.step, i)
	}
	end := len(s.data)
	if i+1 < len(s.offs) {
		end = int(s.offs[i+1])
	}
	return s.schemas[i], s.data[s.offs[i]:end]
}

// Publish appends encoded v3 records of schema s (length byte set) to the
// feed. Sessions asking for a replay get them if they fall in it; running
// sessions get them at once.
func (g *LiveGateway) Publish(s dbn.Schema, recs ...[]byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if n := len(g.feed); n == 0 || g.feed[n-1].synth != nil {
		g.feed = append(g.feed, feedSeg{})
	}
	seg := &g.feed[len(g.feed)-1]
	for _, r := range recs {
		seg.offs = append(seg.offs, int32(len(seg.data)))
		seg.data = append(seg.data, r...)
		seg.schemas = append(seg.schemas, s)
	}
	g.grew(len(recs))
}

// grew notes n more records (g.mu held).
func (g *LiveGateway) grew(n int) {
	g.feedLen += n
	close(g.changed)
	g.changed = make(chan struct{})
}

// Fill publishes n records of schema s made as Generate makes them, for
// each instrument of the dataset in turn, the k-th with ts_event
// start+k*step (ts_recv 1µs later). Synthetic records are made when a
// session sends them, so Fill costs no memory however large n is.
func (g *LiveGateway) Fill(s dbn.Schema, n int, start time.Time, step time.Duration) {
	rtype, _ := s.RType()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.feed = append(g.feed, feedSeg{synth: &synthSeg{schema: s, n: n, t0: uint64(start.UnixNano()), step: uint64(step),
		rt: s.RecordType(), rtype: rtype, instrument: g.ds.Instruments}})
	g.grew(n)
}

// Feed returns a copy of every published record of schema s, in order.
func (g *LiveGateway) Feed(s dbn.Schema) [][]byte {
	segs, _, _ := g.snapshot()
	var out [][]byte
	buf := make([]byte, dbn.MaxRecordLen)
	for i := range segs {
		for k := range segs[i].len() {
			if sc, rec := segs[i].at(k, buf); sc == s {
				out = append(out, slices.Clone(rec))
			}
		}
	}
	return out
}

// PublishFile publishes the records of a DBN file (any version; records
// of schema-less files are published under the schema of their rtype) and
// returns how many.
func (g *LiveGateway) PublishFile(path string) (int, error) {
	rd, err := dbn.Open(path)
	if err != nil {
		return 0, err
	}
	defer rd.Close()
	schema := rd.Metadata().Schema
	byRType := map[dbn.RType]dbn.Schema{}
	for _, s := range dbn.Schemas() {
		if rt, ok := s.RType(); ok {
			if _, dup := byRType[rt]; !dup {
				byRType[rt] = s
			}
		}
	}
	n := 0
	for rd.Next() {
		s := schema
		if !s.Valid() {
			var ok bool
			if s, ok = byRType[rd.RType()]; !ok {
				continue
			}
		}
		g.Publish(s, slices.Clone(rd.RecordBytes()))
		n++
	}
	return n, rd.Err()
}

// Run is a live source: until ctx is done, every interval it publishes one
// record of each schema for each instrument, stamped with the gateway's
// clock.
func (g *LiveGateway) Run(ctx context.Context, every time.Duration, schemas ...dbn.Schema) {
	t := time.NewTicker(every)
	defer t.Stop()
	k := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.closed:
			return
		case <-t.C:
		}
		ts := uint64(g.opts.Now().UnixNano())
		for _, s := range schemas {
			rtype, _ := s.RType()
			var recs [][]byte
			for _, in := range g.ds.Instruments {
				recs = append(recs, fill(s.RecordType(), rtype, in, ts, k))
			}
			g.Publish(s, recs...)
		}
		k++
	}
}

// snapshot returns the feed as it is now: segments (slice headers copied,
// so later appends do not disturb a reader), the record count, and a
// channel closed when it grows.
func (g *LiveGateway) snapshot() ([]feedSeg, int, chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.feed), g.feedLen, g.changed
}

// ---- sessions ----

func (g *LiveGateway) accept() {
	defer g.wg.Done()
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		select {
		case <-g.closed:
			g.mu.Unlock()
			_ = c.Close()
			return
		default:
		}
		g.conns[c] = true
		g.wg.Add(1)
		g.mu.Unlock()
		go func() {
			defer g.wg.Done()
			g.serve(c)
			g.mu.Lock()
			delete(g.conns, c)
			g.mu.Unlock()
			_ = c.Close()
		}()
	}
}

// session is one connection's state.
type session struct {
	g     *LiveGateway
	conn  net.Conn
	rec   *LiveSession
	fault *LiveFault
	tsOut bool
	subs  []*subscription
	gone  chan struct{} // the client closed its side
	cw    *cutWriter
	zw    *zstd.Encoder
	bw    *bufio.Writer
	buf   [dbn.MaxRecordLen + 8]byte
	// unflushed counts the bytes given to the zstd encoder since its
	// last flush.
	unflushed int
}

type subscription struct {
	schema   dbn.Schema
	stypeIn  dbn.SType
	symbols  []string
	ids      map[uint32]bool // nil: every instrument
	start    uint64
	hasStart bool
	snapshot bool
}

func (s *session) update(f func(r *LiveSession)) {
	s.g.mu.Lock()
	defer s.g.mu.Unlock()
	f(s.rec)
}

func (s *session) end(why string) {
	s.update(func(r *LiveSession) {
		if r.End == "" {
			r.End = why
		}
	})
}

// parseLine splits a control line into its fields.
func parseLine(line string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Split(strings.TrimRight(line, "\r\n"), "|") {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// CRAMResponse is the documented answer to a challenge: the hex SHA-256 of
// "CHALLENGE|KEY", a dash, and the key's last five characters.
func CRAMResponse(challenge, key string) string {
	sum := sha256.Sum256([]byte(challenge + "|" + key))
	return hex.EncodeToString(sum[:]) + "-" + key[max(len(key)-5, 0):]
}

func (g *LiveGateway) serve(conn net.Conn) {
	rec := &LiveSession{}
	g.mu.Lock()
	rec.ID = strconv.Itoa(len(g.sessions) + 1)
	g.sessions = append(g.sessions, rec)
	g.mu.Unlock()
	s := &session{g: g, conn: conn, rec: rec, fault: g.takeFault(), gone: make(chan struct{})}

	var chal [16]byte
	_, _ = rand.Read(chal[:])
	cram := hex.EncodeToString(chal[:])
	if _, err := fmt.Fprintf(conn, "lsg_version=%s\ncram=%s\n", LiveVersion, cram); err != nil {
		s.end("client closed")
		return
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	line, err := s.readLine(br)
	if err != nil {
		s.end("client closed")
		return
	}
	auth := parseLine(line)
	s.update(func(r *LiveSession) { r.Auth = auth })
	refuse := func(msg string) {
		s.end("refused") // first: the client may look at the session as soon as it reads the refusal
		_, _ = fmt.Fprintf(conn, "success=0|error=%s\n", msg)
	}
	switch {
	case s.fault.RefuseAuth != "":
		refuse(s.fault.RefuseAuth)
		return
	case auth["auth"] != CRAMResponse(cram, g.opts.Key):
		refuse("Authentication failed.")
		return
	case auth["dataset"] != g.ds.Code:
		refuse(fmt.Sprintf("Unknown dataset %s", auth["dataset"]))
		return
	case auth["encoding"] != "" && auth["encoding"] != "dbn":
		refuse(fmt.Sprintf("Unsupported encoding %s", auth["encoding"]))
		return
	case auth["compression"] != "" && auth["compression"] != "none" && auth["compression"] != "zstd":
		refuse(fmt.Sprintf("Unsupported compression %s", auth["compression"]))
		return
	}
	s.tsOut = auth["ts_out"] == "1"
	if _, err := fmt.Fprintf(conn, "success=1|session_id=%s\n", rec.ID); err != nil {
		s.end("client closed")
		return
	}
	var subErr string
	for {
		line, err := s.readLine(br)
		if err != nil {
			s.end("client closed")
			return
		}
		if strings.HasPrefix(line, "start_session") {
			break
		}
		f := parseLine(line)
		s.update(func(r *LiveSession) { r.Subscriptions = append(r.Subscriptions, f) })
		if e := s.subscribe(f); e != "" && subErr == "" {
			subErr = e
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	s.update(func(r *LiveSession) { r.Started = true })
	go func() { // later lines are recorded; EOF means the client left
		defer close(s.gone)
		for {
			if _, err := s.readLine(br); err != nil {
				return
			}
		}
	}()
	s.stream(auth, subErr)
}

func (s *session) readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	s.update(func(r *LiveSession) { r.Lines = append(r.Lines, line) })
	return line, nil
}

// subscribe checks and keeps one subscription; it returns the gateway's
// error for an invalid one.
func (s *session) subscribe(f map[string]string) string {
	// snapshot=1 is checked but sends nothing more: the fake's books have
	// no state to snapshot.
	sub := &subscription{snapshot: f["snapshot"] == "1"}
	var err error
	if sub.schema, err = dbn.ParseSchema(f["schema"]); err != nil {
		return fmt.Sprintf("Invalid schema %q", f["schema"])
	}
	if sub.stypeIn, err = dbn.ParseSType(firstNonEmpty(f["stype_in"], "raw_symbol")); err != nil {
		return fmt.Sprintf("Invalid stype_in %q", f["stype_in"])
	}
	if v := f["start"]; v == "0" { // everything the replay window holds
		sub.hasStart = true
	} else if v != "" {
		t, e := parseTime("start", v)
		if e != nil {
			return "Invalid start " + v
		}
		now := s.g.opts.Now()
		if t.Before(now.Add(-s.g.opts.ReplayWindow)) {
			return fmt.Sprintf("start %s is before the replay window (the last %s)", t.Format(time.RFC3339Nano), s.g.opts.ReplayWindow)
		}
		sub.start, sub.hasStart = uint64(t.UnixNano()), true
	}
	if sub.snapshot && (sub.hasStart || sub.schema != dbn.SchemaMbo) {
		return "snapshot is only supported for mbo subscriptions without start"
	}
	sub.symbols = strings.Split(f["symbols"], ",")
	s.subs = append(s.subs, sub)
	return ""
}

// replayTs is the time intraday replay filters on: ts_recv for bbo and
// cbbo, ts_event for everything else.
func replayTs(s dbn.Schema, rec []byte) uint64 {
	switch s {
	case dbn.SchemaBbo1S, dbn.SchemaBbo1M, dbn.SchemaCbbo1S, dbn.SchemaCbbo1M:
		return indexTs(rec)
	}
	return binary.LittleEndian.Uint64(rec[8:])
}

// cutWriter counts the bytes written and closes the connection once limit
// (if any) is reached, after writing exactly up to it.
type cutWriter struct {
	s     *session
	n     int64
	limit int64
}

var errCut = errors.New("dbfake: session cut")

func (w *cutWriter) Write(p []byte) (int, error) {
	if w.limit > 0 && w.n+int64(len(p)) >= w.limit {
		k := int(w.limit - w.n)
		n, _ := w.s.conn.Write(p[:k])
		w.n += int64(n)
		w.s.update(func(r *LiveSession) { r.Bytes = w.n })
		w.s.end("cut")
		_ = w.s.conn.Close()
		return n, errCut
	}
	n, err := w.s.conn.Write(p)
	w.n += int64(n)
	return n, err
}

// zstdBlock is how many bytes the fake compresses before it flushes a
// zstd block, so a reader gets data as it goes, as from the gateway.
const zstdBlock = 16 << 10

// write sends one v3 record (ts_out appended when the session has it).
func (s *session) write(rec []byte) error {
	b := rec
	if s.tsOut {
		b = s.buf[:len(rec)+8]
		copy(b, rec)
		binary.LittleEndian.PutUint64(b[len(rec):], uint64(s.g.opts.Now().UnixNano()))
		b[0] = uint8(len(b) / dbn.LengthMultiplier)
	}
	if _, err := s.bw.Write(b); err != nil {
		return err
	}
	if s.zw != nil {
		if s.unflushed += len(b); s.unflushed >= zstdBlock {
			return s.flush()
		}
	}
	return nil
}

// writeRecord encodes and sends a typed record.
func (s *session) writeRecord(r dbn.Record) error {
	n := r.EncodedLen()
	b := make([]byte, n)
	r.Encode(b)
	b[0] = uint8(n / dbn.LengthMultiplier)
	return s.write(b)
}

func (s *session) flush() error {
	if err := s.bw.Flush(); err != nil {
		return err
	}
	if s.zw != nil {
		s.unflushed = 0
		if err := s.zw.Flush(); err != nil {
			return err
		}
	}
	s.update(func(r *LiveSession) { r.Bytes = s.cw.n })
	return nil
}

func (s *session) now() uint64 { return uint64(s.g.opts.Now().UnixNano()) }

func (s *session) system(code uint8, msg string) error {
	m := &dbn.SystemMsg{RecordHeader: dbn.RecordHeader{RType: dbn.RTypeSystem, TsEvent: s.now()}, Code: code}
	dbn.SetCString(m.Msg[:], msg)
	return s.writeRecord(m)
}

func (s *session) errorMsg(code uint8, msg string) error {
	m := &dbn.ErrorMsg{RecordHeader: dbn.RecordHeader{RType: dbn.RTypeError, TsEvent: s.now()}, Code: code, IsLast: 1}
	dbn.SetCString(m.Err[:], msg)
	return s.writeRecord(m)
}

// stream sends the DBN stream of a started session until it ends.
func (s *session) stream(auth map[string]string, subErr string) {
	g := s.g
	s.cw = &cutWriter{s: s, limit: s.fault.CutAfterBytes}
	var w io.Writer = s.cw
	if auth["compression"] == "zstd" {
		zw, err := zstd.NewWriter(s.cw, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedFastest))
		if err != nil {
			s.end("error")
			return
		}
		defer zw.Close()
		s.zw, w = zw, zw
	}
	s.bw = bufio.NewWriterSize(w, 64<<10)
	now := g.opts.Now()
	meta := &dbn.Metadata{Dataset: g.ds.Code, Schema: dbn.SchemaNone, Start: uint64(now.UnixNano()), End: dbn.UndefTimestamp,
		STypeIn: dbn.STypeNone, STypeOut: dbn.STypeInstrumentID, TsOut: s.tsOut}
	if len(s.subs) > 0 {
		meta.Schema, meta.STypeIn = s.subs[0].schema, s.subs[0].stypeIn
		for _, sub := range s.subs {
			if sub.schema != meta.Schema {
				meta.Schema = dbn.SchemaNone
			}
			if sub.stypeIn != meta.STypeIn {
				meta.STypeIn = dbn.STypeNone
			}
			if sub.hasStart && sub.start < meta.Start {
				meta.Start = sub.start
			}
		}
	}
	if _, err := s.bw.Write(meta.AppendEncoded(nil)); err != nil {
		s.end("client closed")
		return
	}
	if subErr != "" {
		_ = s.errorMsg(LiveErrInvalidSubscription, subErr)
		_ = s.flush()
		s.end("error")
		return
	}
	if err := s.sendMappings(now); err != nil {
		s.ended(err)
		return
	}
	s.loop(auth)
}

// ended records why the stream stopped on a write error.
func (s *session) ended(err error) {
	if errors.Is(err, errCut) {
		return // already recorded
	}
	select {
	case <-s.g.closed:
		s.end("gateway closed")
	default:
		s.end("client closed")
	}
}

// sendMappings resolves each subscription's symbols on the clock's date
// and sends a SymbolMappingMsg per symbol and instrument (an ErrorMsg for
// a symbol that does not resolve), then one subscription ack each.
func (s *session) sendMappings(now time.Time) error {
	day := dbn.DateOf(now)
	startTs, endTs := dbn.UndefTimestamp, dbn.UndefTimestamp
	if s.g.opts.MappingInterval {
		startTs, endTs = uint64(day.Time().UnixNano()), uint64(day.AddDays(1).Time().UnixNano())
	}
	seen := map[string]bool{}
	for i, sub := range s.subs {
		all := len(sub.symbols) == 1 && strings.EqualFold(sub.symbols[0], "ALL_SYMBOLS")
		if !all {
			sub.ids = map[uint32]bool{}
		}
		type pair struct {
			sym string
			id  uint32
		}
		var pairs []pair
		if all {
			for _, in := range s.g.ds.Instruments {
				sym := in.RawSymbol
				if sub.stypeIn == dbn.STypeInstrumentID {
					sym = strconv.FormatUint(uint64(in.ID), 10)
				}
				pairs = append(pairs, pair{sym, in.ID})
			}
		} else {
			for _, sym := range sub.symbols {
				ids := s.g.ds.resolveOn(sub.stypeIn, sym, day)
				if len(ids) == 0 {
					if err := s.errorMsg(LiveErrSymbolResolution, "Failed to resolve symbol: "+sym); err != nil {
						return err
					}
					continue
				}
				for _, id := range ids {
					sub.ids[id] = true
					pairs = append(pairs, pair{sym, id})
				}
			}
		}
		for _, p := range pairs {
			k := p.sym + "\x00" + strconv.FormatUint(uint64(p.id), 10)
			if seen[k] {
				continue
			}
			seen[k] = true
			in, _ := s.g.ds.instrument(p.id)
			m := &dbn.SymbolMappingMsg{RecordHeader: dbn.RecordHeader{RType: dbn.RTypeSymbolMapping, InstrumentID: p.id, TsEvent: uint64(now.UnixNano())},
				STypeIn: sub.stypeIn, STypeOut: dbn.STypeRawSymbol, StartTs: startTs, EndTs: endTs}
			dbn.SetCString(m.STypeInSymbol[:], p.sym)
			dbn.SetCString(m.STypeOutSymbol[:], in.RawSymbol)
			if err := s.writeRecord(m); err != nil {
				return err
			}
		}
		if err := s.system(dbn.SystemCodeSubscriptionAck, fmt.Sprintf("Subscription request %d for %s data succeeded", i, sub.schema)); err != nil {
			return err
		}
	}
	return s.flush()
}

// match reports whether the session sends feed record idx of schema sc.
func (s *session) match(sc dbn.Schema, rec []byte, idx, liveFrom int) bool {
	for _, sub := range s.subs {
		if sub.schema != sc {
			continue
		}
		if sub.ids != nil && !sub.ids[binary.LittleEndian.Uint32(rec[4:])] {
			continue
		}
		if sub.hasStart {
			if replayTs(sc, rec) >= sub.start {
				return true
			}
		} else if idx >= liveFrom {
			return true
		}
	}
	return false
}

// play plays the session's fault, due now, and reports whether the
// stream ends.
func (s *session) play() (bool, error) {
	f := s.fault
	switch {
	case f.HangUp:
		if err := s.flush(); err != nil {
			return true, err
		}
		if s.zw != nil { // a clean end closes the zstd frame
			if err := s.zw.Close(); err != nil {
				return true, err
			}
		}
		s.end("hung up")
		_ = s.conn.Close()
		return true, nil
	case f.Stall:
		if err := s.flush(); err != nil {
			return true, err
		}
		select {
		case <-s.gone:
			s.end("client closed")
		case <-s.g.closed:
			s.end("gateway closed")
		}
		return true, nil
	case f.ErrorCode != 0:
		if err := s.errorMsg(f.ErrorCode, f.ErrorText); err != nil {
			return true, err
		}
		if !fatalCode(f.ErrorCode) {
			return false, nil
		}
		_ = s.flush()
		s.end("error")
		_ = s.conn.Close()
		return true, nil
	case f.SlowReader:
		return false, s.system(dbn.SystemCodeSlowReaderWarning, "Warning: slow reading")
	}
	return false, nil
}

// loop sends the replay and then the live records, with heartbeats.
func (s *session) loop(auth map[string]string) {
	hb := s.g.opts.Heartbeat
	if hb <= 0 {
		hb = defaultHeartbeat
		if n, err := strconv.Atoi(auth["heartbeat_interval_s"]); err == nil && n > 0 {
			hb = time.Duration(n) * time.Second
		}
	}
	_, liveFrom, _ := s.g.snapshot()
	replay := false
	for _, sub := range s.subs {
		replay = replay || sub.hasStart
	}
	pos := liveFrom // feed index of the next record to consider
	if replay {
		pos = 0
	}
	sent, skip := 0, 0
	faultDue := s.fault.HangUp || s.fault.Stall || s.fault.ErrorCode != 0 || s.fault.SlowReader || s.fault.Skip > 0
	var scratch [dbn.MaxRecordLen]byte
	timer := time.NewTimer(hb)
	defer timer.Stop()
	check := func(idle bool) (bool, error) {
		if !faultDue || (s.fault.AtEnd && !idle) || (!s.fault.AtEnd && sent < s.fault.AfterRecords) {
			return false, nil
		}
		faultDue = false
		if s.fault.Skip > 0 {
			skip = s.fault.Skip
			return false, nil
		}
		return s.play()
	}
	for {
		segs, _, changed := s.g.snapshot()
		idx := 0
		for i := range segs {
			n := segs[i].len()
			if pos >= idx+n {
				idx += n
				continue
			}
			for k := pos - idx; k < n; k++ {
				sc, rec := segs[i].at(k, scratch[:])
				pos = idx + k + 1
				if !s.match(sc, rec, idx+k, liveFrom) {
					continue
				}
				if stop, err := check(false); stop || err != nil {
					if err != nil {
						s.ended(err)
					}
					return
				}
				if skip > 0 {
					if skip--; skip == 0 {
						if err := s.errorMsg(LiveErrSkippedRecords, "Slow client detected: records were skipped to catch up"); err != nil {
							s.ended(err)
							return
						}
					}
					continue
				}
				if err := s.write(rec); err != nil {
					s.ended(err)
					return
				}
				sent++
				if sent&1023 == 0 {
					s.update(func(r *LiveSession) { r.Records = sent })
				}
			}
			idx += n
		}
		s.update(func(r *LiveSession) { r.Records = sent })
		if stop, err := check(true); stop || err != nil {
			if err != nil {
				s.ended(err)
			}
			return
		}
		if err := s.flush(); err != nil {
			s.ended(err)
			return
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(hb)
		for waiting := true; waiting; {
			select {
			case <-changed:
				waiting = false
			case <-timer.C:
				err := s.system(dbn.SystemCodeHeartbeat, "Heartbeat")
				if err == nil {
					err = s.flush()
				}
				if err != nil {
					s.ended(err)
					return
				}
				timer.Reset(hb)
			case <-s.gone:
				s.end("client closed")
				return
			case <-s.g.closed:
				s.end("gateway closed")
				return
			}
		}
	}
}
