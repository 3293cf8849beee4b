package dbprov

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// TestSubscriptionStarts: the resume rule (see subscriptionStarts).
func TestSubscriptionStarts(t *testing.T) {
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	at := func(d time.Duration) int64 { return now.Add(d).UnixNano() }
	margin := 10 * time.Second
	lr := &liveRequest{Streams: []dbn.Schema{dbn.SchemaTrades, dbn.SchemaBbo1S, dbn.SchemaOhlcv1M, dbn.SchemaStatistics}, Margin: margin}
	pos := []sdk.LivePosition{
		{Stream: "trades", Time: at(-time.Hour), Sequence: 7},
		{Stream: "bbo-1s", Time: at(-50 * time.Minute)},
		{Stream: "ohlcv-1m", Time: at(-2 * time.Hour)},
	}
	got, err := lr.subscriptionStarts(pos, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{
		at(-time.Hour - margin),   // replay filters on ts_event, position is ts_recv
		at(-50 * time.Minute),     // bbo replays on ts_recv, its index
		at(-2 * time.Hour),        // bars replay on ts_event, their index
		at(-2*time.Hour - margin), // no position: the earliest one, less the margin
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: start %s, want %s", lr.Streams[i], fmtNS(got[i]), fmtNS(want[i]))
		}
	}

	// Nothing to resume: the job's start, else none.
	lr.Start = at(-3 * time.Hour)
	if got, _ := lr.subscriptionStarts(nil, now); got[0] != lr.Start || got[3] != lr.Start {
		t.Errorf("job start: %v", got)
	}
	lr.Start = 0
	if got, _ := lr.subscriptionStarts(nil, now); got[0] != 0 || got[2] != 0 {
		t.Errorf("no start: %v, want none", got)
	}

	// A position inside the window whose margin reaches past it starts at
	// the window's edge; one outside the window cannot be replayed.
	edge := at(-LiveReplay + replaySlack)
	got, err = lr.subscriptionStarts([]sdk.LivePosition{{Stream: "trades", Time: edge + int64(time.Second)}}, now)
	if err != nil || got[0] != edge {
		t.Errorf("start near the window's edge = %s (%v), want %s", fmtNS(got[0]), err, fmtNS(edge))
	}
	_, err = lr.subscriptionStarts([]sdk.LivePosition{{Stream: "trades", Time: at(-25 * time.Hour)}}, now)
	if k, _ := sdk.KindOf(err); k != sdk.ErrorPermanent || !strings.Contains(err.Error(), "historical run") {
		t.Errorf("position 25 h ago: %v", err)
	}
	lr.Start = at(-25 * time.Hour)
	_, err = lr.subscriptionStarts(nil, now)
	var se *sdk.Error
	if !errors.As(err, &se) || se.Field != "start" {
		t.Errorf("job start 25 h ago: %v", err)
	}
}

// heapSender counts rows and samples the live heap (after a GC) every
// 100k rows.
type heapSender struct {
	rows, peak atomic.Int64
	next       int64
	base       uint64
	live       int
}

func (h *heapSender) Batch(_ string, rec arrow.RecordBatch) error {
	n := h.rows.Add(rec.NumRows())
	if n >= h.next {
		h.next += 100_000
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if d := int64(ms.HeapAlloc) - int64(h.base); d > h.peak.Load() {
			h.peak.Store(d)
		}
	}
	return nil
}
func (h *heapSender) Mappings([]sdk.SymbolMapping) error { return nil }
func (h *heapSender) Progress(sdk.Progress) error        { return nil }
func (h *heapSender) Warn(string) error                  { return nil }
func (h *heapSender) RowError(sdk.RowError) error        { return nil }
func (h *heapSender) Checkpoint([]byte, string) error    { return nil }
func (h *heapSender) LiveCheckpoint(sdk.LiveCheckpoint) error {
	h.live++
	return nil
}

// liveGateway starts a fake gateway with n mbp-10 records replayable from
// the last hour, and a job for them.
func liveGateway(tb testing.TB, n int, compression string) (*dbfake.LiveGateway, *sdk.FetchRequest) {
	tb.Helper()
	gw, err := dbfake.NewLive(dbfake.Generate(dbfake.GenOptions{Schemas: []dbn.Schema{}}), dbfake.LiveOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(gw.Close)
	start := time.Now().Add(-time.Hour)
	gw.Fill(dbn.SchemaMbp10, n, start, time.Microsecond)
	job := &sdk.Job{
		Config: map[string]string{"api_key": gw.Key(), "live_gateway": gw.Addr()},
		Live:   true, Stream: "mbp-10", LiveStreams: []string{"mbp-10"}, Dataset: "GLBX.MDP3", Symbols: []string{AllSymbols},
		Start: start.UnixNano(), Params: map[string]string{"compression": compression},
	}
	plan, err := New().Plan(context.Background(), job)
	if err != nil {
		tb.Fatal(err)
	}
	return gw, &sdk.FetchRequest{Job: job, Unit: plan.Units[0]}
}

// TestLiveBoundedMemory: a replay of a million mbp-10 records (368 MB of
// DBN) goes through the provider in bounded memory: the live heap never
// grows by 100 MB, far less than the data. Not a timing.
func TestLiveBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("a million records")
	}
	const n = 1_000_000
	gw, req := liveGateway(t, n, "none")
	gw.Inject(dbfake.LiveFault{HangUp: true, AtEnd: true})
	h := &heapSender{next: 100_000}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.base = ms.HeapAlloc
	err := New().Fetch(context.Background(), req, h)
	if k, _ := sdk.KindOf(err); k != sdk.ErrorRetryable {
		t.Fatalf("err = %v, want the hang-up (retryable)", err)
	}
	if h.rows.Load() != n {
		t.Fatalf("rows = %d, want %d", h.rows.Load(), n)
	}
	if peak := h.peak.Load(); peak > 100<<20 {
		t.Errorf("the live heap grew by %d MB reading %d MB of records: the feed is buffered", peak>>20, n*368>>20)
	} else {
		t.Logf("heap growth at most %.1f MB for %d MB of records; %d checkpoints", float64(peak)/(1<<20), n*368>>20, h.live)
	}
}

// BenchmarkLive: records per second from the fake gateway through the
// provider (in process), plain and zstd.
func BenchmarkLive(b *testing.B) {
	for _, c := range []string{"none", "zstd"} {
		b.Run(c, func(b *testing.B) {
			const n = 200_000
			gw, req := liveGateway(b, n, c)
			b.SetBytes(n * 368)
			b.ResetTimer()
			for range b.N {
				gw.Inject(dbfake.LiveFault{HangUp: true, AtEnd: true})
				h := &heapSender{next: 1 << 62}
				if err := New().Fetch(context.Background(), req, h); h.rows.Load() != n {
					b.Fatalf("rows = %d (%v)", h.rows.Load(), err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
