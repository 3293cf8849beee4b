package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/internal/pluginhost"
	"github.com/hdi-dev/hdi/internal/testbin"
	"github.com/hdi-dev/hdi/plugins/databento/dbfake"
	"github.com/hdi-dev/hdi/plugins/sdk"
)

var binDir string

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hdi-databento-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	binDir = dir
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, pluginhost.Prefix+"databento"), ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build plugin:", err)
		return 1
	}
	return m.Run()
}

type bundle struct {
	p    *pluginhost.Plugin
	logs *testbin.Buffer
	srv  *dbfake.Server
}

// setup starts the real plugin binary and a fake API with generated data.
func setup(t *testing.T, ds ...*dbfake.Dataset) *bundle {
	t.Helper()
	logs := &testbin.Buffer{}
	h := pluginhost.New(pluginhost.Options{Path: []string{binDir}, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	t.Cleanup(func() { _ = h.Close() })
	p, err := h.Open(context.Background(), "databento")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) == 0 {
		ds = []*dbfake.Dataset{dbfake.Generate(dbfake.GenOptions{})}
	}
	srv := dbfake.New(ds...)
	t.Cleanup(srv.Close)
	return &bundle{p: p, logs: logs, srv: srv}
}

func (b *bundle) config() map[string]string {
	return map[string]string{"base_url": b.srv.URL, "api_key": b.srv.Key, "retry_backoff": "1ms", "max_retries": "3", "timeout": "5s"}
}

func day(s string) int64 {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.UnixNano()
}

// apiJob is a job over the fake's default data.
func (b *bundle) apiJob(stream string, symbols ...string) *sdk.Job {
	return &sdk.Job{Config: b.config(), Stream: stream, Dataset: "GLBX.MDP3", Symbols: symbols,
		Start: day("2024-01-02"), End: day("2024-01-05")}
}

// run plans and fetches every unit, returning what arrived.
func (b *bundle) run(t *testing.T, job *sdk.Job, batchRows int) (*sdk.Plan, *sdk.Collector, error) {
	t.Helper()
	ctx := context.Background()
	plan, err := b.p.Plan(ctx, job)
	if err != nil {
		return nil, nil, err
	}
	col := &sdk.Collector{}
	t.Cleanup(col.Release)
	for _, u := range plan.Units {
		if err := b.p.Fetch(ctx, &sdk.FetchRequest{Job: job, Unit: u, BatchRows: batchRows}, col); err != nil {
			return plan, col, err
		}
	}
	return plan, col, nil
}

// noKey fails when the API key shows up in the logs or err.
func (b *bundle) noKey(t *testing.T, err error) {
	t.Helper()
	if strings.Contains(b.logs.String(), b.srv.Key) {
		t.Errorf("the API key appears in the plugin's logs")
	}
	if err != nil && strings.Contains(err.Error(), b.srv.Key) {
		t.Errorf("the API key appears in an error: %v", err)
	}
}

// sharedDir is <repo>/../shared/testdata/dbn.
func sharedDir(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "testdata", "dbn")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("sample DBN files missing at %s: %v", dir, err)
	}
	return dir
}
