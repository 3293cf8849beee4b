package dbprov

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/hdi-dev/hdi/internal/dbn"
	"github.com/hdi-dev/hdi/internal/synth"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

// partSender collects the ts_event of a part's trades, in order; before
// its first batch it waits for gate (nil: no wait), and it fails from
// batch failAt on (0: never).
type partSender struct {
	sdk.Collector
	gate   <-chan struct{}
	failAt int
	mu     sync.Mutex
	ts     []uint64
	n      int
}

func (s *partSender) batches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

var errPartFails = errors.New("this part fails")

func (s *partSender) Batch(stream string, rec arrow.RecordBatch) error {
	if s.gate != nil {
		<-s.gate
		s.gate = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n++; s.failAt > 0 && s.n >= s.failAt {
		return errPartFails
	}
	if stream != "trades" {
		return nil
	}
	col := rec.Column(rec.Schema().FieldIndices("ts_event")[0]).(*array.Int64)
	for i := range col.Len() {
		s.ts = append(s.ts, uint64(col.Value(i)))
	}
	return nil
}

// TestSharedDecompression loads the parts of a zstd file at once, one of
// them joining after the first has started, alone (a re-run of one part),
// and with one part failing half-way: each part gets exactly its records,
// in file order, and parts that run together decompress the file once.
func TestSharedDecompression(t *testing.T) {
	const n, parts = 300_000, 3 // ~14 MiB decompressed: more chunks than are kept for joiners
	path := filepath.Join(t.TempDir(), "trades.dbn.zst")
	if err := synth.WriteBench(path, dbn.SchemaTrades, n, true); err != nil {
		t.Fatal(err)
	}
	rd, err := dbn.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]uint64, parts) // each part's ts_event, in file order
	for rd.Next() {
		k := partOf(rd.InstrumentID(), rd.TsEvent(), parts)
		want[k] = append(want[k], rd.TsEvent())
	}
	_ = rd.Close()

	p := New()
	ctx := context.Background()
	job := &sdk.Job{Files: []string{path}, Params: map[string]string{"parts": fmt.Sprint(parts)}}
	plan, err := p.Plan(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Units) != parts {
		t.Fatalf("units = %d, want %d", len(plan.Units), parts)
	}
	fetch := func(k int, s *partSender) error {
		return p.Fetch(ctx, &sdk.FetchRequest{Job: job, Unit: plan.Units[k], BatchRows: 8192}, s)
	}
	readers := func() int {
		sharedFiles.mu.Lock()
		defer sharedFiles.mu.Unlock()
		for _, f := range sharedFiles.m {
			f.mu.Lock()
			defer f.mu.Unlock()
			return len(f.readers)
		}
		return 0
	}

	t.Run("together", func(t *testing.T) {
		before := sharedDecompressions.Load()
		gate := make(chan struct{})
		senders := make([]*partSender, parts)
		errs := make([]error, parts)
		var wg sync.WaitGroup
		// Part 1 starts and holds its first batch, so the decompression
		// waits within the chunks kept for joiners; the others then join.
		senders[0] = &partSender{gate: gate}
		wg.Go(func() { errs[0] = fetch(0, senders[0]) })
		for readers() < 1 {
			time.Sleep(time.Millisecond)
		}
		for k := 1; k < parts; k++ {
			senders[k] = &partSender{}
			wg.Go(func() { errs[k] = fetch(k, senders[k]) })
		}
		for readers() < parts {
			time.Sleep(time.Millisecond)
		}
		close(gate)
		wg.Wait()
		for k := range parts {
			if errs[k] != nil {
				t.Fatalf("part %d: %v", k+1, errs[k])
			}
			if !slices.Equal(senders[k].ts, want[k]) {
				t.Errorf("part %d: %d records, want its %d in file order", k+1, len(senders[k].ts), len(want[k]))
			}
		}
		if got := sharedDecompressions.Load() - before; got != 1 {
			t.Errorf("%d decompressions for %d parts loading together, want 1", got, parts)
		}
		if readers() != 0 {
			t.Error("a decompression is left behind")
		}
	})

	t.Run("alone", func(t *testing.T) {
		before := sharedDecompressions.Load()
		s := &partSender{}
		if err := fetch(1, s); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.ts, want[1]) {
			t.Errorf("part 2 alone: %d records, want its %d in file order", len(s.ts), len(want[1]))
		}
		if got := sharedDecompressions.Load() - before; got != 1 {
			t.Errorf("%d decompressions, want 1", got)
		}
	})

	t.Run("one fails", func(t *testing.T) {
		gate := make(chan struct{})
		senders := []*partSender{{gate: gate, failAt: 3}, {}, {}}
		errs := make([]error, parts)
		var wg sync.WaitGroup
		wg.Go(func() { errs[0] = fetch(0, senders[0]) })
		for readers() < 1 {
			time.Sleep(time.Millisecond)
		}
		for k := 1; k < parts; k++ {
			wg.Go(func() { errs[k] = fetch(k, senders[k]) })
		}
		for readers() < parts {
			time.Sleep(time.Millisecond)
		}
		close(gate)
		wg.Wait()
		if !errors.Is(errs[0], errPartFails) {
			t.Errorf("part 1: %v, want its sender's error", errs[0])
		}
		for k := 1; k < parts; k++ {
			if errs[k] != nil {
				t.Fatalf("part %d: %v", k+1, errs[k])
			}
			if !slices.Equal(senders[k].ts, want[k]) {
				t.Errorf("part %d: %d records, want its %d in file order", k+1, len(senders[k].ts), len(want[k]))
			}
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		// A part whose context ends while it waits for bytes stops.
		cctx, cancel := context.WithCancel(ctx)
		gate := make(chan struct{})
		slow := &partSender{gate: gate}
		var wg sync.WaitGroup
		var slowErr, fastErr error
		wg.Go(func() { slowErr = fetch(0, slow) })
		for readers() < 1 {
			time.Sleep(time.Millisecond)
		}
		fast := &partSender{}
		wg.Go(func() {
			fastErr = p.Fetch(cctx, &sdk.FetchRequest{Job: job, Unit: plan.Units[1], BatchRows: 8192}, fast)
		})
		for fast.batches() < 1 {
			time.Sleep(time.Millisecond)
		}
		// The fast part reads the chunks held and then waits for the slow
		// one; cancelling it must not wait for that.
		cancel()
		close(gate)
		wg.Wait()
		if !errors.Is(fastErr, context.Canceled) {
			t.Errorf("cancelled part: %v, want context.Canceled", fastErr)
		}
		if slowErr != nil || !slices.Equal(slow.ts, want[0]) {
			t.Errorf("the other part: %v, %d records, want its %d", slowErr, len(slow.ts), len(want[0]))
		}
	})
}

// BenchmarkParts fetches the two parts of a zstd file of 1M trades (or
// mbp-10 rows, HDI_BENCH_SCHEMA) at once, as hdi's two units do, with
// and without the shared decompression, and reports the process's CPU
// time per record (user + system), which, unlike wall time, the other
// work on a shared machine leaves alone.
func BenchmarkParts(b *testing.B) {
	schema := dbn.SchemaTrades
	if s := os.Getenv("HDI_BENCH_SCHEMA"); s != "" {
		var err error
		if schema, err = dbn.ParseSchema(s); err != nil {
			b.Fatal(err)
		}
	}
	const n, parts = 1_000_000, 2
	path := filepath.Join(b.TempDir(), "bench.dbn.zst")
	if err := synth.WriteBench(path, schema, n, true); err != nil {
		b.Fatal(err)
	}
	p := New()
	ctx := context.Background()
	job := &sdk.Job{Files: []string{path}, Params: map[string]string{"parts": fmt.Sprint(parts)}}
	plan, err := p.Plan(ctx, job)
	if err != nil {
		b.Fatal(err)
	}
	for _, share := range []bool{false, true} {
		b.Run(fmt.Sprintf("shared=%t", share), func(b *testing.B) {
			defer func(old bool) { shareDecompression = old }(shareDecompression)
			shareDecompression = share
			cpu0 := cpuTime()
			for range b.N {
				var wg sync.WaitGroup
				var rows atomic.Int64
				for k := range parts {
					wg.Go(func() {
						col := &sdk.Collector{Discard: true}
						if err := p.Fetch(ctx, &sdk.FetchRequest{Job: job, Unit: plan.Units[k], BatchRows: 57_000}, col); err != nil {
							b.Error(err)
						}
						rows.Add(col.TotalRows())
					})
				}
				wg.Wait()
				if rows.Load() != n {
					b.Fatalf("rows %d, want %d", rows.Load(), n)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/n, "cpu-ns/record")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
