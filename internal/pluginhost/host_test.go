package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

func job(params map[string]string) *sdk.Job {
	return &sdk.Job{Stream: "trades", Params: params}
}

func fetch(t testing.TB, p *Plugin, params map[string]string, out sdk.Sender) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return p.Fetch(ctx, &sdk.FetchRequest{Job: job(params), Unit: sdk.Unit{Key: "unit-1", Stream: "trades"}}, out)
}

func wantFailure(t *testing.T, err error, kind Failure, contains ...string) *FetchError {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", kind)
	}
	var fe *FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *FetchError", err, err)
	}
	if fe.Kind != kind {
		t.Fatalf("failure kind %q, want %q; error: %v", fe.Kind, kind, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	return fe
}

func TestSearchPathOrder(t *testing.T) {
	got := SearchPath("/a::/b", "/exe")
	want := []string{"/a", "/b", "/exe", "bin"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("SearchPath = %v, want %v", got, want)
	}
	if got := SearchPath("", ""); len(got) != 1 || got[0] != "bin" {
		t.Fatalf("SearchPath empty = %v", got)
	}
}

func TestDiscoverFirstWins(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(a, "hdi-provider-x"), 0o755)
	write(filepath.Join(b, "hdi-provider-x"), 0o755)
	write(filepath.Join(b, "hdi-provider-y"), 0o755)
	write(filepath.Join(a, "hdi-provider-noexec"), 0o644)
	write(filepath.Join(a, "other-tool"), 0o755)

	got, err := Discover([]string{filepath.Join(root, "missing"), a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "x" || got[1].Name != "y" {
		t.Fatalf("Discover = %+v, want x and y", got)
	}
	if got[0].Path != filepath.Join(a, "hdi-provider-x") {
		t.Errorf("x found at %s, want the one in the first directory", got[0].Path)
	}
	// Reversed order: b's x wins.
	got, err = Discover([]string{b, a})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Path != filepath.Join(b, "hdi-provider-x") {
		t.Errorf("x found at %s, want the one in b", got[0].Path)
	}
	h := New(Options{Path: []string{a}})
	if _, err := h.Find("zzz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find(zzz) = %v, want ErrNotFound", err)
	}
}

func TestDescribePlanFetch(t *testing.T) {
	b := setup(t, Options{})
	p := b.open(t, "test")
	d := p.Description()
	if d.Name != "test" || d.ProtocolVersion != sdk.ProtocolVersion {
		t.Fatalf("description %+v", d)
	}
	s, ok := d.Stream("trades")
	if !ok || s.Schema == nil || s.Schema.NumFields() != 12 {
		t.Fatalf("trades stream %+v", s)
	}
	ctx := context.Background()
	if _, err := p.Check(ctx, map[string]string{"token": "ok"}); err != nil {
		t.Fatal(err)
	}
	_, err := p.Check(ctx, map[string]string{"token": "bad"})
	wantFailure(t, err, FailProvider, "plugin test", "token rejected")

	plan, err := p.Plan(ctx, job(map[string]string{"units": "3", "rows": "5"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Units) != 3 || plan.Units[2].Key != "test:2" || *plan.Units[0].EstimatedRows != 5 || plan.Units[0].EstimatedCostUSD != nil {
		t.Fatalf("plan %+v", plan)
	}

	var c sdk.Collector
	defer c.Release()
	if err := fetch(t, p, map[string]string{"mode": "full", "rows": "20000", "batch": "3000"}, &c); err != nil {
		t.Fatal(err)
	}
	if c.Rows["trades"] != 20000 || len(c.Batches["trades"]) != 7 {
		t.Errorf("got %d rows in %d batches, want 20000 in 7", c.Rows["trades"], len(c.Batches["trades"]))
	}
	last := c.Batches["trades"][6]
	if v := last.Column(11).(interface{ Value(int) uint32 }).Value(int(last.NumRows()) - 1); v != 19999 {
		t.Errorf("last sequence %d, want 19999", v)
	}
	if len(c.Maps) != 1 || c.Maps[0].OutSymbol != "5482" || c.Maps[0].EndDate != "2024-01-03" {
		t.Errorf("mappings %+v", c.Maps)
	}
	if len(c.Warnings) != 1 || len(c.RowErrors) != 1 || c.RowErrors[0].Error() != "gen:7: bad row on demand" || c.RowErrors[0].Raw != "x,y,z" {
		t.Errorf("warnings %v row errors %+v", c.Warnings, c.RowErrors)
	}
	if n := len(c.Progs); n == 0 || !c.Progs[n-1].HasTotal || c.Progs[n-1].Done != 20000 {
		t.Errorf("progress %+v", c.Progs)
	}
}

func TestVersionMismatch(t *testing.T) {
	t.Setenv("HDI_TESTPROVIDER_PROTOCOL", "2")
	b := setup(t, Options{})
	_, err := b.host.Open(context.Background(), "test")
	if err == nil {
		t.Fatal("open succeeded with a protocol mismatch")
	}
	for _, s := range []string{"hdi-provider-test", "speaks provider protocol 2, this hdi speaks 1", "upgrade hdi"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	t.Setenv("HDI_TESTPROVIDER_PROTOCOL", "0")
	_, err = b.host.Open(context.Background(), "test")
	if err == nil || !strings.Contains(err.Error(), "speaks provider protocol 0, this hdi speaks 1: upgrade the plugin") {
		t.Errorf("older plugin: error %v", err)
	}
	assertNoZombies(t)
}

func TestNotAPlugin(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\necho hello, I am not a plugin\n"
	if err := os.WriteFile(filepath.Join(dir, "hdi-provider-bogus"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	b := setup(t, Options{Path: []string{dir}})
	_, err := b.host.Open(context.Background(), "bogus")
	if err == nil || !strings.Contains(err.Error(), "did not complete the plugin handshake") {
		t.Fatalf("error %v", err)
	}
	assertNoZombies(t)
}

func TestCrashMidStream(t *testing.T) {
	for _, mode := range []string{"crash", "exit0"} {
		t.Run(mode, func(t *testing.T) {
			b := setup(t, Options{})
			p := b.open(t, "test")
			var c sdk.Collector
			c.Discard = true
			err := fetch(t, p, map[string]string{"mode": mode, "rows": "100000", "batch": "1000"}, &c)
			fe := wantFailure(t, err, FailCrashed, "plugin test", `unit "unit-1"`, "hdi starts the plugin again and retries the unit")
			if strings.Contains(fe.Error(), "next run") {
				t.Errorf("%v: a crashed plugin is started again within the run (see the next Open below), not on the next run", fe)
			}
			if c.TotalRows() == 0 {
				t.Errorf("no rows arrived before the crash; the test does not test a mid-stream crash")
			}
			eventually(t, "plugin exit", p.Exited)
			assertNoZombies(t)

			// hdi survives and the next Open starts a fresh process.
			p2 := b.open(t, "test")
			if p2 == p {
				t.Fatal("Open returned the dead plugin")
			}
			var c2 sdk.Collector
			c2.Discard = true
			if err := fetch(t, p2, map[string]string{"rows": "10"}, &c2); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestHang(t *testing.T) {
	b := setup(t, Options{HangTimeout: 2 * time.Second})
	p := b.open(t, "test")
	var c sdk.Collector
	c.Discard = true
	err := fetch(t, p, map[string]string{"mode": "hang", "rows": "100000", "batch": "100"}, &c)
	wantFailure(t, err, FailHung, "plugin test", `unit "unit-1"`, "hang timeout")
	eventually(t, "hung plugin stopped", p.Exited)
	assertNoZombies(t)
}

// cancelSender cancels a context once the first batch arrives.
type cancelSender struct {
	sdk.Collector
	once   sync.Once
	cancel context.CancelFunc
}

func (s *cancelSender) Batch(stream string, rec arrow.RecordBatch) error {
	s.once.Do(s.cancel)
	return s.Collector.Batch(stream, rec)
}

func TestCancel(t *testing.T) {
	b := setup(t, Options{})
	p := b.open(t, "test")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &cancelSender{cancel: cancel}
	s.Discard = true
	done := make(chan error, 1)
	go func() {
		done <- p.Fetch(ctx, &sdk.FetchRequest{Job: job(map[string]string{"mode": "slow", "batch": "10"}), Unit: sdk.Unit{Key: "u"}}, s)
	}()
	select {
	case err := <-done:
		wantFailure(t, err, FailCanceled)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v is not context.Canceled", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("fetch did not stop after cancellation")
	}
	if p.Exited() {
		t.Fatal("cancellation killed the plugin")
	}
	var c sdk.Collector
	c.Discard = true
	if err := fetch(t, p, map[string]string{"rows": "10"}, &c); err != nil {
		t.Fatalf("fetch after cancel: %v", err)
	}
}

func TestConcurrentFetches(t *testing.T) {
	b := setup(t, Options{})
	p := b.open(t, "test")
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	rows := make([]int64, n)
	for i := range n {
		wg.Go(func() {
			var c sdk.Collector
			c.Discard = true
			errs[i] = fetch(t, p, map[string]string{"rows": "60000", "batch": "4096"}, &c)
			rows[i] = c.TotalRows()
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || rows[i] != 60000 {
			t.Errorf("fetch %d: %d rows, error %v", i, rows[i], errs[i])
		}
	}
}

func TestBatchAboveGRPCDefaultLimit(t *testing.T) {
	b := setup(t, Options{})
	p := b.open(t, "test")
	var c sdk.Collector
	defer c.Release()
	const rows = 250_000 // 46 bytes a row: about 11 MiB, well above gRPC's 4 MiB default
	if err := fetch(t, p, map[string]string{"mode": "big", "rows": "250000"}, &c); err != nil {
		t.Fatal(err)
	}
	if c.Rows["trades"] != rows || len(c.Batches["trades"]) != 1 {
		t.Fatalf("got %d rows in %d batches, want %d in 1", c.Rows["trades"], len(c.Batches["trades"]), rows)
	}
}

func TestMalformedBatches(t *testing.T) {
	b := setup(t, Options{})
	p := b.open(t, "test")
	cases := map[string]string{
		"badipc":     "invalid arrow IPC data",
		"badschema":  "schema differs from the declared one",
		"undeclared": "does not declare",
	}
	for mode, msg := range cases {
		t.Run(mode, func(t *testing.T) {
			var c sdk.Collector
			c.Discard = true
			err := fetch(t, p, map[string]string{"mode": mode}, &c)
			wantFailure(t, err, FailMalformed, "plugin test", `unit "unit-1"`, msg)
		})
	}
	// A malformed batch fails the unit, not the plugin.
	var c sdk.Collector
	c.Discard = true
	if err := fetch(t, p, map[string]string{"rows": "10"}, &c); err != nil {
		t.Fatal(err)
	}
}

func TestProviderErrors(t *testing.T) {
	b := setup(t, Options{})
	p := b.open(t, "test")
	var c sdk.Collector
	c.Discard = true
	err := fetch(t, p, map[string]string{"mode": "error", "batch": "10"}, &c)
	wantFailure(t, err, FailProvider, "test provider fails on demand")
	err = fetch(t, p, map[string]string{"mode": "panic"}, &c)
	wantFailure(t, err, FailProvider, "provider panicked in Fetch")
	if p.Exited() {
		t.Fatal("a provider panic took the process down")
	}
}

func TestChecksumPinning(t *testing.T) {
	sum, err := fileSHA256(filepath.Join(binDir, Prefix+"test"))
	if err != nil {
		t.Fatal(err)
	}
	b := setup(t, Options{Checksums: map[string]string{"test": strings.ToUpper(sum)}})
	b.open(t, "test")

	wrong := sha256.Sum256([]byte("something else"))
	b = setup(t, Options{Checksums: map[string]string{"test": hex.EncodeToString(wrong[:])}})
	_, err = b.host.Open(context.Background(), "test")
	if err == nil || !strings.Contains(err.Error(), "checksum mismatch") || !strings.Contains(err.Error(), sum) {
		t.Fatalf("wrong checksum: error %v", err)
	}
	b = setup(t, Options{Checksums: map[string]string{"test": "xyz"}})
	_, err = b.host.Open(context.Background(), "test")
	if err == nil || !strings.Contains(err.Error(), "not a SHA-256 hex digest") {
		t.Fatalf("bad checksum: error %v", err)
	}
	assertNoZombies(t)
}

func TestPluginLogsReachSlog(t *testing.T) {
	b := setup(t, Options{})
	p := b.open(t, "test")
	var c sdk.Collector
	c.Discard = true
	if err := fetch(t, p, map[string]string{"mode": "log", "rows": "10"}, &c); err != nil {
		t.Fatal(err)
	}
	logged := func(want string) bool {
		for _, line := range strings.Split(b.logs.String(), "\n") {
			if strings.Contains(line, want) && strings.Contains(line, "plugin=test") {
				return true
			}
		}
		return false
	}
	// A raw write to os.Stderr travels on go-plugin's stdio stream, apart
	// from the RPC's answer: it may arrive after Fetch returns (and is
	// lost if the provider exits first, as docs/providers.md says), so
	// wait for it before closing.
	for deadline := time.Now().Add(5 * time.Second); !logged("raw stderr line from the test provider") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	_ = b.host.Close() // flushes the stderr pipe
	for _, want := range []string{"hello from the test provider", "raw stderr line from the test provider"} {
		if !logged(want) {
			t.Errorf("no log line with %q and plugin=test in:\n%s", want, b.logs.String())
		}
	}
}

func TestExampleProvider(t *testing.T) {
	b := setup(t, Options{})
	p := b.open(t, "example")
	ctx := context.Background()
	start := time.Date(2024, 1, 2, 12, 0, 0, 0, time.UTC)
	j := &sdk.Job{Stream: "ticks", Symbols: []string{"AAA", "BBB"}, Start: start.UnixNano(), End: start.Add(36 * time.Hour).UnixNano()}
	plan, err := p.Plan(ctx, j)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Units) != 2 || plan.Units[0].Key != "example:ticks:2024-01-02" || plan.Units[1].Key != "example:ticks:2024-01-03" {
		t.Fatalf("plan %+v", plan.Units)
	}
	var total int64
	for _, u := range plan.Units {
		var c sdk.Collector
		if err := p.Fetch(ctx, &sdk.FetchRequest{Job: j, Unit: u, BatchRows: 5}, &c); err != nil {
			t.Fatal(err)
		}
		if c.Rows["ticks"] != *u.EstimatedRows {
			t.Errorf("unit %s: %d rows, estimated %d", u.Key, c.Rows["ticks"], *u.EstimatedRows)
		}
		total += c.Rows["ticks"]
		c.Release()
	}
	if total != 72 {
		t.Errorf("%d rows, want 72 (36 hours x 2 symbols)", total)
	}
	if _, err := p.Check(ctx, map[string]string{"base_price": "-1"}); err == nil {
		t.Error("check accepted a negative base_price")
	}
}
