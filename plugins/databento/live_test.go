package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// Live feeds through the real plugin binary against the fake Live gateway.

type liveBundle struct {
	*bundle
	gw *dbfake.LiveGateway
}

// setupLive starts the plugin and a fake Live gateway whose dataset has
// the default instruments (ESH4 1001, ESM4 1002, AAPL 2001; ES.c.0 is
// ESM4 today) and no records yet.
func setupLive(t *testing.T, opts dbfake.LiveOptions) *liveBundle {
	t.Helper()
	b := setup(t)
	gw, err := dbfake.NewLive(dbfake.Generate(dbfake.GenOptions{Schemas: []dbn.Schema{}}), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gw.Close)
	return &liveBundle{bundle: b, gw: gw}
}

// liveJob is a live job over the fake gateway.
func (b *liveBundle) liveJob(streams []string, symbols ...string) *sdk.Job {
	return &sdk.Job{
		Config: map[string]string{"api_key": b.gw.Key(), "live_gateway": b.gw.Addr(), "connect_timeout": "5s"},
		Live:   true, Stream: streams[0], LiveStreams: streams, Dataset: "GLBX.MDP3", Symbols: symbols,
		Params: map[string]string{},
	}
}

// fetch plans the job (one unit) and fetches it once with resume into h.
func (b *liveBundle) fetch(t *testing.T, ctx context.Context, job *sdk.Job, resume []sdk.LivePosition, h *liveHost) error {
	t.Helper()
	plan, err := b.p.Plan(ctx, job)
	if err != nil {
		return err
	}
	if len(plan.Units) != 1 {
		t.Fatalf("a live job planned %d units, want 1", len(plan.Units))
	}
	return b.p.Fetch(ctx, &sdk.FetchRequest{Job: job, Unit: plan.Units[0], BatchRows: 500, Resume: resume}, h)
}

// liveHost is a Sender that commits as hdi's host does: the batches and
// mappings received before a LiveCheckpoint are committed with its
// positions; what comes after the last one is lost with the connection.
type liveHost struct {
	mu          sync.Mutex
	pending     []row
	pendMaps    []sdk.SymbolMapping
	committed   []row
	maps        []sdk.SymbolMapping
	positions   map[string]sdk.LivePosition
	checkpoints []sdk.LiveCheckpoint
	warnings    []string
	batches     int
	tsOut       int // rows with a ts_out
	// onCheckpoint, when set, runs after each checkpoint (under the lock).
	onCheckpoint func(h *liveHost)
}

// row identifies a record: stream, instrument_id, ts_event, ts_recv and
// sequence (unique in the fake's records).
type row struct {
	stream                 string
	id                     uint32
	tsEvent, tsRecv, seqNo uint64
}

func newLiveHost() *liveHost { return &liveHost{positions: map[string]sdk.LivePosition{}} }

func (h *liveHost) Batch(stream string, rec arrow.RecordBatch) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.batches++
	col := func(name string) arrow.Array {
		idx := rec.Schema().FieldIndices(name)
		if len(idx) == 0 {
			return nil
		}
		return rec.Column(idx[0])
	}
	ids := col("instrument_id").(*array.Uint32)
	te := col("ts_event").(*array.Int64)
	var tr *array.Int64
	if c := col("ts_recv"); c != nil {
		tr = c.(*array.Int64)
	}
	var seq *array.Uint32
	if c := col("sequence"); c != nil {
		seq = c.(*array.Uint32)
	}
	tsOut := col("ts_out")
	for i := range int(rec.NumRows()) {
		r := row{stream: stream, id: ids.Value(i), tsEvent: uint64(te.Value(i))}
		if tr != nil {
			r.tsRecv = uint64(tr.Value(i))
		}
		if seq != nil {
			r.seqNo = uint64(seq.Value(i))
		}
		if tsOut.IsValid(i) {
			h.tsOut++
		}
		h.pending = append(h.pending, r)
	}
	return nil
}

func (h *liveHost) Mappings(m []sdk.SymbolMapping) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pendMaps = append(h.pendMaps, m...)
	return nil
}

func (h *liveHost) Progress(sdk.Progress) error { return nil }

func (h *liveHost) Warn(msg string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.warnings = append(h.warnings, msg)
	return nil
}

func (h *liveHost) RowError(e sdk.RowError) error { return fmt.Errorf("unexpected row error: %+v", e) }

func (h *liveHost) Checkpoint([]byte, string) error {
	return fmt.Errorf("a live unit sent a unit checkpoint")
}

func (h *liveHost) LiveCheckpoint(c sdk.LiveCheckpoint) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.committed = append(h.committed, h.pending...)
	h.maps = append(h.maps, h.pendMaps...)
	h.pending, h.pendMaps = nil, nil
	for _, p := range c.Positions {
		h.positions[p.Stream] = p
	}
	h.checkpoints = append(h.checkpoints, c)
	if h.onCheckpoint != nil {
		h.onCheckpoint(h)
	}
	return nil
}

// resume returns the committed positions, as the host hands them back.
func (h *liveHost) resume() []sdk.LivePosition {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []sdk.LivePosition
	for _, p := range h.positions {
		out = append(out, p)
	}
	return out
}

func (h *liveHost) warned(sub string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.ContainsFunc(h.warnings, func(w string) bool { return strings.Contains(w, sub) })
}

// sourceRows are the rows of the feed's records of schema s.
func sourceRows(gw *dbfake.LiveGateway, s dbn.Schema) []row {
	rt := s.RecordType()
	seq := rt.Field("sequence")
	var out []row
	for _, rec := range gw.Feed(s) {
		r := row{stream: s.String(), id: binary.LittleEndian.Uint32(rec[4:]), tsEvent: binary.LittleEndian.Uint64(rec[8:])}
		if f := rt.Field("ts_recv"); f != nil {
			r.tsRecv = f.Uint(rec)
		}
		if seq != nil {
			r.seqNo = seq.Uint(rec)
		}
		out = append(out, r)
	}
	return out
}

func kindOf(err error) sdk.ErrorKind {
	k, _ := sdk.KindOf(err)
	return k
}

// sessionBytes is the size of the DBN stream a session of job sends under
// fault (measured on the wire).
func (b *liveBundle) sessionBytes(t *testing.T, job *sdk.Job, fault dbfake.LiveFault) int64 {
	t.Helper()
	b.gw.Inject(fault)
	if err := b.fetch(t, context.Background(), job, nil, newLiveHost()); kindOf(err) != sdk.ErrorRetryable {
		t.Fatalf("measuring session: err = %v", err)
	}
	ss := b.gw.Sessions()
	return ss[len(ss)-1].Bytes
}

// TestLiveExactThroughCut: a session cut in the middle of a record fails
// retryable; the host's committed rows are a prefix of the feed; a second
// fetch with the committed positions resumes with start= at the position
// less the replay margin, and the union of what both committed, less the
// overlap, is the source exactly. Plain and zstd (with ts_out).
func TestLiveExactThroughCut(t *testing.T) {
	for _, compression := range []string{"none", "zstd"} {
		t.Run(compression, func(t *testing.T) {
			b := setupLive(t, dbfake.LiveOptions{})
			const n = 3000
			base := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
			b.gw.Fill(dbn.SchemaTrades, n, base, 2*time.Millisecond)
			job := b.liveJob([]string{"trades"}, "ALL_SYMBOLS")
			job.Start = base.Add(-time.Minute).UnixNano()
			job.Params["compression"] = compression
			job.Params["replay_margin"] = "1s"
			if compression == "zstd" {
				job.Params["ts_out"] = "true"
			}
			ctx := context.Background()
			var cut int64
			if compression == "none" {
				// 19 bytes into record 1101 (metadata, mappings and acks
				// first); batches are of 500 rows, so the last 100 are sent
				// when the cut is met
				cut = b.sessionBytes(t, job, dbfake.LiveFault{HangUp: true}) + 1100*48 + 19
			} else {
				// halfway through the compressed stream: inside a zstd block
				cut = b.sessionBytes(t, job, dbfake.LiveFault{HangUp: true, AtEnd: true})/2 + 7
			}
			b.gw.Inject(dbfake.LiveFault{CutAfterBytes: cut}, dbfake.LiveFault{HangUp: true, AtEnd: true})

			first := newLiveHost()
			err := b.fetch(t, ctx, job, nil, first)
			if kindOf(err) != sdk.ErrorRetryable || !strings.Contains(err.Error(), "cut") {
				t.Fatalf("first fetch: err = %v (kind %v), want a retryable cut", err, kindOf(err))
			}
			b.noKey(t, err)
			src := sourceRows(b.gw, dbn.SchemaTrades)
			if len(first.committed) == 0 || len(first.committed) >= n || (compression == "none" && len(first.committed) != 1100) {
				t.Fatalf("first fetch committed %d of %d rows: want every whole record before the cut (1100 when plain)", len(first.committed), n)
			}
			if len(first.pending) != 0 {
				t.Errorf("%d rows were sent after the last checkpoint", len(first.pending))
			}
			if !slices.Equal(first.committed, src[:len(first.committed)]) {
				t.Fatal("the first fetch's committed rows are not a prefix of the feed")
			}
			resume := first.resume()
			if len(resume) != 1 || resume[0].Stream != "trades" || uint64(resume[0].Time) != first.committed[len(first.committed)-1].tsRecv {
				t.Fatalf("positions = %+v, want the last committed trade's ts_recv", resume)
			}
			if resume[0].Sequence != first.committed[len(first.committed)-1].seqNo {
				t.Errorf("position sequence = %d, want %d", resume[0].Sequence, first.committed[len(first.committed)-1].seqNo)
			}

			second := newLiveHost()
			err = b.fetch(t, ctx, job, resume, second)
			if kindOf(err) != sdk.ErrorRetryable || !strings.Contains(err.Error(), "closed the session") {
				t.Fatalf("second fetch: err = %v, want a retryable hang-up", err)
			}
			ss := b.gw.Sessions()
			sub := ss[len(ss)-1].Subscriptions[0]
			wantStart := resume[0].Time - int64(time.Second)
			if sub["start"] != strconv.FormatInt(wantStart, 10) || sub["schema"] != "trades" || sub["symbols"] != "ALL_SYMBOLS" || sub["snapshot"] != "0" {
				t.Errorf("resumed subscription = %v, want start=%d (position less replay_margin 1s)", sub, wantStart)
			}
			if s0 := ss[len(ss)-2].Subscriptions[0]["start"]; s0 != strconv.FormatInt(job.Start, 10) {
				t.Errorf("first subscription start = %s, want the job's start %d", s0, job.Start)
			}

			seen := map[row]bool{}
			dups := 0
			for _, r := range append(slices.Clone(first.committed), second.committed...) {
				if seen[r] {
					dups++
					if int64(r.tsEvent) < wantStart {
						t.Errorf("row %+v came again from before the resumed start", r)
					}
				}
				seen[r] = true
			}
			if len(seen) != n {
				t.Fatalf("union has %d distinct rows, want %d", len(seen), n)
			}
			for _, r := range src {
				if !seen[r] {
					t.Fatalf("row %+v of the feed is missing", r)
				}
			}
			// 1 s of overlap at one record per 2 ms: at most ~500 again.
			if dups == 0 || dups > 520 {
				t.Errorf("%d rows came twice, want the replay margin's worth (1..520)", dups)
			}
			if compression == "zstd" && second.tsOut != len(second.committed) {
				t.Errorf("ts_out set on %d of %d rows", second.tsOut, len(second.committed))
			}
			auth := ss[len(ss)-1].Auth
			if auth["compression"] != compression || auth["encoding"] != "dbn" || auth["dataset"] != "GLBX.MDP3" ||
				auth["heartbeat_interval_s"] != "10" || auth["slow_reader_behavior"] != "warn" {
				t.Errorf("auth request = %v", auth)
			}
			for _, s := range ss {
				for _, l := range s.Lines {
					if strings.Contains(l, b.gw.Key()) {
						t.Fatalf("the API key crossed the wire: %q", l)
					}
				}
			}
		})
	}
}

// TestLiveCleanHangUp: a gateway that closes the session cleanly ends the
// fetch retryable, after every record received is committed.
func TestLiveCleanHangUp(t *testing.T) {
	b := setupLive(t, dbfake.LiveOptions{})
	base := time.Now().Add(-time.Hour)
	b.gw.Fill(dbn.SchemaOhlcv1M, 700, base, time.Second)
	b.gw.Inject(dbfake.LiveFault{HangUp: true, AfterRecords: 650})
	job := b.liveJob([]string{"ohlcv-1m"}, "ESH4", "ESM4", "AAPL")
	job.Start = base.UnixNano()
	h := newLiveHost()
	err := b.fetch(t, context.Background(), job, nil, h)
	if kindOf(err) != sdk.ErrorRetryable || !strings.Contains(err.Error(), "closed the session after 650 records") {
		t.Fatalf("err = %v", err)
	}
	if len(h.committed) != 650 || len(h.pending) != 0 {
		t.Fatalf("committed %d rows (%d left uncommitted), want all 650", len(h.committed), len(h.pending))
	}
	// Bars replay on ts_event, their index time: a resume starts exactly
	// at the last bar stored, without margin.
	h2 := newLiveHost()
	b.gw.Inject(dbfake.LiveFault{HangUp: true, AtEnd: true})
	if err := b.fetch(t, context.Background(), job, h.resume(), h2); kindOf(err) != sdk.ErrorRetryable {
		t.Fatalf("resume: %v", err)
	}
	ss := b.gw.Sessions()
	if got, want := ss[1].Subscriptions[0]["start"], strconv.FormatInt(int64(h.committed[649].tsEvent), 10); got != want {
		t.Errorf("resumed bars at start=%s, want the last bar's ts_event %s", got, want)
	}
	if len(h2.committed) != 51 {
		t.Errorf("resume committed %d bars, want the 50 left and the last one again", len(h2.committed))
	}
}

// TestLiveWrongKey: a refused key is one line saying authentication
// failed, of kind auth, without the key; no subscription is sent.
func TestLiveWrongKey(t *testing.T) {
	b := setupLive(t, dbfake.LiveOptions{})
	job := b.liveJob([]string{"trades"}, "ESH4")
	wrong := "db-WRONGwrongWRONGwrongWRONGwron"
	job.Config["api_key"] = wrong
	err := b.fetch(t, context.Background(), job, nil, newLiveHost())
	if kindOf(err) != sdk.ErrorAuth || !strings.Contains(err.Error(), "authentication failed: Authentication failed.") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v (kind %v)", err, kindOf(err))
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(b.logs.String(), wrong) {
		t.Fatal("the key appears in the error or the logs")
	}
	ss := b.gw.Sessions()
	if len(ss) != 1 || ss[0].End != "refused" || len(ss[0].Subscriptions) != 0 {
		t.Fatalf("sessions = %+v", ss)
	}
	// A key the gateway refuses for another reason.
	b.gw.Inject(dbfake.LiveFault{RefuseAuth: "User or API key deactivated"})
	err = b.fetch(t, context.Background(), b.liveJob([]string{"trades"}, "ESH4"), nil, newLiveHost())
	if kindOf(err) != sdk.ErrorAuth || !strings.Contains(err.Error(), "deactivated") {
		t.Fatalf("err = %v", err)
	}
	b.noKey(t, err)
}

// TestLiveUnreachable: no gateway at the address is retryable.
func TestLiveUnreachable(t *testing.T) {
	b := setupLive(t, dbfake.LiveOptions{})
	job := b.liveJob([]string{"trades"}, "ESH4")
	addr := b.gw.Addr()
	b.gw.Close()
	err := b.fetch(t, context.Background(), job, nil, newLiveHost())
	if kindOf(err) != sdk.ErrorRetryable || !strings.Contains(err.Error(), "cannot connect to the gateway "+addr) {
		t.Fatalf("err = %v", err)
	}
}

// TestLiveStalledGateway: a gateway that sends nothing, heartbeats
// neither, for twice heartbeat_interval_s is dead: the fetch fails
// retryable, saying so. (Databento's smallest interval is 5 s: this test
// waits 10 s.)
func TestLiveStalledGateway(t *testing.T) {
	t.Parallel()
	b := setupLive(t, dbfake.LiveOptions{})
	base := time.Now().Add(-time.Hour)
	b.gw.Fill(dbn.SchemaTrades, 100, base, time.Second)
	b.gw.Inject(dbfake.LiveFault{Stall: true, AfterRecords: 40})
	job := b.liveJob([]string{"trades"}, "ALL_SYMBOLS")
	job.Start = base.UnixNano()
	job.Params["heartbeat_interval_s"] = "5"
	h := newLiveHost()
	err := b.fetch(t, context.Background(), job, nil, h)
	if kindOf(err) != sdk.ErrorRetryable || !strings.Contains(err.Error(), "no record and no heartbeat") || !strings.Contains(err.Error(), "10s") {
		t.Fatalf("err = %v", err)
	}
	if len(h.committed) != 40 {
		t.Errorf("committed %d rows, want the 40 sent before the stall", len(h.committed))
	}
}

// TestLiveHeartbeats: a quiet feed's heartbeats become checkpoints with
// the gateway's clock and no positions; nothing is lost meanwhile.
func TestLiveHeartbeats(t *testing.T) {
	b := setupLive(t, dbfake.LiveOptions{Heartbeat: 20 * time.Millisecond})
	job := b.liveJob([]string{"trades"}, "ESH4")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := newLiveHost()
	beats := 0
	h.onCheckpoint = func(h *liveHost) {
		if c := h.checkpoints[len(h.checkpoints)-1]; len(c.Positions) == 0 && c.SourceTime > 0 {
			if beats++; beats == 3 {
				cancel()
			}
		}
	}
	start := time.Now().UnixNano()
	err := b.fetch(t, ctx, job, nil, h)
	if beats < 3 {
		t.Fatalf("%d heartbeat checkpoints before the fetch ended (%v)", beats, err)
	}
	for _, c := range h.checkpoints {
		if c.SourceTime != 0 && c.SourceTime < start {
			t.Errorf("checkpoint source time %d is before the session", c.SourceTime)
		}
	}
	if ss := b.gw.Sessions(); ss[0].Subscriptions[0]["start"] != "" {
		t.Errorf("a feed without start or resume sent start=%s", ss[0].Subscriptions[0]["start"])
	}
}

// TestLiveQuietFeedFlushes: at a low rate, rows reach the host in small
// batches while the session goes on (flush_interval), each batch followed
// by a checkpoint with its position.
func TestLiveQuietFeedFlushes(t *testing.T) {
	b := setupLive(t, dbfake.LiveOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go b.gw.Run(ctx, 30*time.Millisecond, dbn.SchemaTrades, dbn.SchemaStatistics)
	job := b.liveJob([]string{"trades", "statistics"}, "ESH4", "AAPL")
	job.Params["flush_interval"] = "20ms"
	h := newLiveHost()
	h.onCheckpoint = func(h *liveHost) {
		if len(h.committed) >= 20 && len(h.positions) == 2 {
			cancel()
		}
	}
	_ = b.fetch(t, ctx, job, nil, h)
	if len(h.committed) < 20 {
		t.Fatalf("committed %d rows of a running feed, want them flushed while it runs", len(h.committed))
	}
	moved := 0
	for _, c := range h.checkpoints {
		if len(c.Positions) > 0 {
			moved++
		}
	}
	if moved < 2 {
		t.Errorf("%d checkpoints with positions for %d rows, want the rows in several flushes", moved, len(h.committed))
	}
	for _, s := range []string{"trades", "statistics"} {
		if p, ok := h.positions[s]; !ok || p.Time == 0 {
			t.Errorf("no position for %s: %+v", s, h.positions)
		}
	}
	for _, r := range h.committed {
		if r.id != 1001 && r.id != 2001 {
			t.Fatalf("row of instrument %d, not subscribed", r.id)
		}
	}
}

// TestLiveGatewayErrors: ErrorMsg records by Databento's codes.
func TestLiveGatewayErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault dbfake.LiveFault
		kind  sdk.ErrorKind
		want  string
		rows  int // committed
	}{
		{"invalid subscription", dbfake.LiveFault{ErrorCode: dbfake.LiveErrInvalidSubscription, ErrorText: "Invalid schema for dataset", AfterRecords: 5}, sdk.ErrorPermanent, "refused a subscription: Invalid schema for dataset", 5},
		{"internal", dbfake.LiveFault{ErrorCode: dbfake.LiveErrInternal, ErrorText: "Internal error", AfterRecords: 7}, sdk.ErrorRetryable, "gateway error: Internal error", 7},
		{"deactivated", dbfake.LiveFault{ErrorCode: dbfake.LiveErrKeyDeactivated, ErrorText: "User or API key deactivated"}, sdk.ErrorAuth, "authentication failed: User or API key deactivated", 0},
		{"connection limit", dbfake.LiveFault{ErrorCode: dbfake.LiveErrConnectionLimit, ErrorText: "User has reached their open connection limit"}, sdk.ErrorRateLimited, "open connection limit", 0},
		{"aged out", dbfake.LiveFault{ErrorCode: dbfake.LiveErrReplayAgedOut, ErrorText: "Replay data aged out", AfterRecords: 3}, sdk.ErrorPermanent, "historical run", 3},
		{"skipped records", dbfake.LiveFault{Skip: 10, AfterRecords: 20}, sdk.ErrorRetryable, "skipped records", 20},
		{"unknown code", dbfake.LiveFault{ErrorCode: 42, ErrorText: "something odd", AfterRecords: 10}, sdk.ErrorRetryable, `closed the session after 10 records and the gateway error "something odd"`, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := setupLive(t, dbfake.LiveOptions{})
			base := time.Now().Add(-time.Hour)
			b.gw.Fill(dbn.SchemaTrades, 50, base, time.Second)
			b.gw.Inject(tc.fault)
			job := b.liveJob([]string{"trades"}, "ALL_SYMBOLS")
			job.Start = base.UnixNano()
			job.Params["slow_reader_behavior"] = "skip"
			h := newLiveHost()
			err := b.fetch(t, context.Background(), job, nil, h)
			if kindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v (kind %v), want %v with %q", err, kindOf(err), tc.kind, tc.want)
			}
			if len(h.committed) != tc.rows {
				t.Errorf("committed %d rows, want %d", len(h.committed), tc.rows)
			}
			if tc.rows > 0 && uint64(h.positions["trades"].Time) != h.committed[tc.rows-1].tsRecv {
				t.Errorf("position %+v, want the last row's before the error", h.positions["trades"])
			}
			b.noKey(t, err)
		})
	}
}

// TestLiveSlowReaderWarning: the gateway's slow-reader warning marks the
// next checkpoints behind and is passed on once as a warning.
func TestLiveSlowReaderWarning(t *testing.T) {
	b := setupLive(t, dbfake.LiveOptions{})
	base := time.Now().Add(-time.Hour)
	b.gw.Fill(dbn.SchemaTrades, 30, base, time.Second)
	b.gw.Inject(dbfake.LiveFault{SlowReader: true, AfterRecords: 10})
	b.gw.Inject(dbfake.LiveFault{}) // spare
	job := b.liveJob([]string{"trades"}, "ALL_SYMBOLS")
	job.Start = base.UnixNano()
	h := newLiveHost()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h.onCheckpoint = func(h *liveHost) {
		if len(h.committed) == 30 {
			cancel()
		}
	}
	_ = b.fetch(t, ctx, job, nil, h)
	behind := false
	for _, c := range h.checkpoints {
		behind = behind || c.Behind
	}
	if !behind || !h.warned("reads too slowly") {
		t.Fatalf("behind = %v, warnings = %v", behind, h.warnings)
	}
	if len(h.committed) != 30 {
		t.Errorf("committed %d rows, want 30: a warning loses nothing", len(h.committed))
	}
}

// TestLiveSymbolMappings: the feed's SymbolMappingMsgs become mappings
// into the same tables as history: the subscribed symbol and the raw
// symbol to the instrument id, for the feed's day; a symbol that does not
// resolve is a warning.
func TestLiveSymbolMappings(t *testing.T) {
	b := setupLive(t, dbfake.LiveOptions{Heartbeat: 20 * time.Millisecond})
	job := b.liveJob([]string{"trades"}, "ES.c.0", "NQ.c.0")
	job.StypeIn = "continuous"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := newLiveHost()
	h.onCheckpoint = func(h *liveHost) {
		if len(h.maps) > 0 {
			cancel()
		}
	}
	_ = b.fetch(t, ctx, job, nil, h)
	today := dbn.DateOf(time.Now())
	want := []sdk.SymbolMapping{
		{Dataset: "GLBX.MDP3", StypeIn: "continuous", InSymbol: "ES.c.0", StypeOut: "instrument_id", OutSymbol: "1002", StartDate: today.String(), EndDate: today.AddDays(1).String()},
		{Dataset: "GLBX.MDP3", StypeIn: "raw_symbol", InSymbol: "ESM4", StypeOut: "instrument_id", OutSymbol: "1002", StartDate: today.String(), EndDate: today.AddDays(1).String()},
	}
	if !slices.Equal(h.maps, want) {
		t.Fatalf("mappings = %+v\nwant %+v", h.maps, want)
	}
	if !h.warned("could not resolve a symbol: Failed to resolve symbol: NQ.c.0") {
		t.Errorf("warnings = %v", h.warnings)
	}
}

// TestLiveMappingsAcrossMidnight: an open-ended mapping covers the day the
// feed starts on and is sent again for each UTC day its records reach; a
// mapping with start_ts and end_ts covers those days.
func TestLiveMappingsAcrossMidnight(t *testing.T) {
	now := time.Now().UTC()
	midnight := now.Truncate(24 * time.Hour)
	if now.Sub(midnight) > 12*time.Hour {
		midnight = midnight.Add(24 * time.Hour) // the nearest one
	}
	for _, interval := range []bool{false, true} {
		t.Run(fmt.Sprint("interval=", interval), func(t *testing.T) {
			b := setupLive(t, dbfake.LiveOptions{MappingInterval: interval})
			b.gw.Fill(dbn.SchemaTrades, 120, midnight.Add(-time.Minute), time.Second)
			b.gw.Inject(dbfake.LiveFault{HangUp: true, AtEnd: true})
			job := b.liveJob([]string{"trades"}, "ESM4")
			job.Start = midnight.Add(-time.Hour).UnixNano()
			h := newLiveHost()
			if err := b.fetch(t, context.Background(), job, nil, h); kindOf(err) != sdk.ErrorRetryable {
				t.Fatal(err)
			}
			if len(h.committed) != 40 {
				t.Fatalf("committed %d rows, want ESM4's 40", len(h.committed))
			}
			got := map[string]bool{}
			for _, m := range h.maps {
				if m.InSymbol != "ESM4" || m.OutSymbol != "1002" || m.StypeIn != "raw_symbol" {
					t.Errorf("mapping %+v", m)
				}
				got[m.StartDate+"/"+m.EndDate] = true
			}
			before, after := dbn.DateOf(midnight.Add(-time.Hour)), dbn.DateOf(midnight)
			want := map[string]bool{before.String() + "/" + after.String(): true, after.String() + "/" + after.AddDays(1).String(): true}
			if interval { // the fake's interval is the UTC day of its clock
				d := dbn.DateOf(time.Now())
				want = map[string]bool{d.String() + "/" + d.AddDays(1).String(): true}
			}
			if !maps.Equal(got, want) {
				t.Errorf("mapping days = %v, want %v", got, want)
			}
		})
	}
}

// TestLivePlanAndDescribe: the live streams and the replay window in
// Describe; a live job plans one stable unit without estimates; bad live
// jobs are refused with the field at fault.
func TestLivePlanAndDescribe(t *testing.T) {
	b := setupLive(t, dbfake.LiveOptions{})
	d := b.p.Description()
	if d.LiveReplay != 24*time.Hour {
		t.Errorf("LiveReplay = %s", d.LiveReplay)
	}
	for _, s := range d.Streams {
		if s.Live != (s.Name != "ohlcv-eod") {
			t.Errorf("stream %s: Live = %v", s.Name, s.Live)
		}
	}
	job := b.liveJob([]string{"trades", "mbp-10"}, "ESM4", "ESH4")
	job.Start = time.Now().Add(-time.Hour).UnixNano()
	p1, err := b.p.Plan(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	job.LiveStreams = []string{"mbp-10", "trades"}
	job.Stream = "mbp-10"
	job.Start = 0
	p2, err := b.p.Plan(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	u := p1.Units[0]
	if u.Key != p2.Units[0].Key || !strings.HasPrefix(u.Key, "databento:live:GLBX.MDP3:mbp-10+trades:raw_symbol:s") ||
		u.End != 0 || u.EstimatedCostUSD != nil || !strings.Contains(u.Note, "no cost estimate") || u.Stream != "trades" {
		t.Fatalf("unit = %+v\nother key %s", u, p2.Units[0].Key)
	}
	for _, tc := range []struct {
		edit  func(j *sdk.Job)
		field string
	}{
		{func(j *sdk.Job) { j.LiveStreams = []string{"mbp-1", "tbbo"} }, "streams[1]"},
		{func(j *sdk.Job) { j.LiveStreams = []string{"ohlcv-eod"}; j.Stream = "ohlcv-eod" }, "schema"},
		{func(j *sdk.Job) { j.StypeIn = "isin" }, "stype_in"},
		{func(j *sdk.Job) { j.End = time.Now().UnixNano() }, "end"},
		{func(j *sdk.Job) { j.Params["snapshot"] = "true" }, "params.snapshot"},
		{func(j *sdk.Job) { j.Params["heartbeat_interval_s"] = "2" }, "params.heartbeat_interval_s"},
		{func(j *sdk.Job) { j.Params["slow_reader_behavior"] = "drop" }, "params.slow_reader_behavior"},
		{func(j *sdk.Job) { j.Start = time.Now().Add(-30 * time.Hour).UnixNano() }, "start"},
		{func(j *sdk.Job) { j.Config["live_gateway"] = "no-port" }, "config.live_gateway"},
		{func(j *sdk.Job) { j.Params["delivery"] = "batch" }, "params.delivery"},
		{func(j *sdk.Job) { // a live param on a historical job
			*j = *b.apiJob("trades", "ESM4")
			j.Params = map[string]string{"compression": "zstd"}
		}, "params.compression"},
	} {
		j := b.liveJob([]string{"trades"}, "ESM4")
		tc.edit(j)
		_, err := b.p.Plan(context.Background(), j)
		var se *sdk.Error
		if !errors.As(err, &se) || se.Field != tc.field {
			t.Errorf("want an error about %s, got %v", tc.field, err)
		}
	}
}
