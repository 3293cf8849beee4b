package pluginhost

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hdi-dev/hdi/internal/testbin"
)

// binDir holds the plugin binaries built once for the whole test run.
var binDir string

// testBinaries maps plugin names to the packages built for the tests.
var testBinaries = map[string]string{
	"test":    "github.com/hdi-dev/hdi/internal/pluginhost/internal/testprovider",
	"example": "github.com/hdi-dev/hdi/plugins/example",
	"csv":     "github.com/hdi-dev/hdi/plugins/csv",
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hdi-pluginhost-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	binDir = dir
	for name, pkg := range testBinaries {
		out := filepath.Join(dir, Prefix+name)
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n", pkg, err)
			return 1
		}
	}
	return m.Run()
}

// bundle is what most tests need: a host over the test binaries and a log.
type bundle struct {
	host *Host
	logs *testbin.Buffer
}

func setup(t testing.TB, opts Options) *bundle {
	t.Helper()
	logs := &testbin.Buffer{}
	if opts.Path == nil {
		opts.Path = []string{binDir}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h := New(opts)
	t.Cleanup(func() { _ = h.Close() })
	return &bundle{host: h, logs: logs}
}

func (b *bundle) open(t testing.TB, name string) *Plugin {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := b.host.Open(ctx, name)
	if err != nil {
		t.Fatalf("open %s: %v\nlog:\n%s", name, err, b.logs)
	}
	return p
}

// zombies lists the zombie children of this test process.
func zombies(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	me := os.Getpid()
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut at the last ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == me && f[0] == "Z" {
			out = append(out, s[:i+1])
		}
	}
	return out
}

// eventually polls cond for up to a generous 30 seconds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func assertNoZombies(t testing.TB) {
	t.Helper()
	var last []string
	eventually(t, "no zombie children", func() bool {
		last = zombies(t)
		return len(last) == 0
	})
}
