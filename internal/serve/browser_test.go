package serve_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hdi-dev/hdi/internal/serve"
)

// chromium is the browser the page is tested in (Debian's chromium, which
// .ci/run installs).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/lib/chromium/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("no chromium: install it (apt-get install chromium; .ci/run does)")
	return ""
}

// artifacts is where browser tests leave their screenshots
// (HDI_TEST_ARTIFACTS, else $TMPDIR/hdi-test-artifacts).
func artifacts(t *testing.T) string {
	dir := os.Getenv("HDI_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "hdi-test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestPageInABrowser opens the page on the demo data in headless chromium:
// it charts ES.c.0 back-adjusted across the March->June roll (candles on
// both sides, a marker at the roll), draws the coverage heat map and lists
// the runs, loading nothing from another host and logging no error. The
// state comes from the page (window.hdi, set once painted), not a sleep.
func TestPageInABrowser(t *testing.T) {
	dbURL := demoDB(t)
	ts := newServer(t, dbURL, serve.Options{})
	host := strings.TrimPrefix(ts.URL, "http://")

	actx, cancelA := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 800))...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // starts the browser (no deadline: it would end it)
		t.Fatalf("start chromium: %v", err)
	}
	var mu sync.Mutex
	var problems, foreign []string
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			if m.Type == "error" || m.Type == "warning" || m.IsException() {
				mu.Lock()
				problems = append(problems, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	}()
	go func() {
		for ev, err := range chromedp.Events(ctx, network.RequestWillBeSent) {
			if err != nil {
				return
			}
			if u, perr := url.Parse(ev.Request.URL); perr == nil && u.Host != host && u.Scheme != "data" {
				mu.Lock()
				foreign = append(foreign, ev.Request.URL)
				mu.Unlock()
			}
		}
	}()
	tctx, done := context.WithTimeout(ctx, time.Minute)
	defer done()
	page := ts.URL + "/?symbols=ES.c.0&interval=1d&start=2024-03-11&end=2024-03-22&adjust=ratio"
	if err := chromedp.Do(tctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	type chartState struct {
		Symbol   string
		Bars     int
		Rolls    []string
		Adjust   string
		First    int64
		Last     int64
		Canvases int
	}
	st, err := chromedp.Run(tctx, chromedp.Poll[chartState]("window.hdi.chart", chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("the chart never drew: %v (page errors: %v)", err, problems)
	}
	// 2024-03-11..22: ten trading days, ESH4 until the roll on the 15th.
	roll := time.Date(2024, 3, 15, 0, 0, 0, 0, time.UTC).Unix()
	if st.Symbol != "ES.c.0" || st.Bars != 10 || st.Adjust != "ratio" || len(st.Rolls) != 1 || st.Rolls[0] != "roll ESH4→ESM4" ||
		st.First >= roll || st.Last < roll || st.Canvases == 0 {
		t.Fatalf("chart: %+v", st)
	}
	png, err := chromedp.Run(tctx, chromedp.Screenshot(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(artifacts(t), "serve-chart.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))

	// The coverage heat map and the runs.
	if err := chromedp.Do(tctx, chromedp.Navigate(ts.URL+"/#coverage")); err != nil {
		t.Fatal(err)
	}
	type coverageState struct{ Series, Days, Cells int }
	cov, err := chromedp.Run(tctx, chromedp.Poll[coverageState]("window.hdi.coverage", chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil || cov.Series < 4 || cov.Cells == 0 {
		t.Fatalf("coverage: %+v %v (page errors: %v)", cov, err, problems)
	}
	if png, err := chromedp.Run(tctx, chromedp.Screenshot(chromedp.CSS("body"))); err == nil {
		_ = os.WriteFile(filepath.Join(artifacts(t), "serve-coverage.png"), png, 0o644)
	}
	if err := chromedp.Do(tctx, chromedp.Navigate(ts.URL+"/#runs")); err != nil {
		t.Fatal(err)
	}
	type runsState struct{ Count int }
	runs, err := chromedp.Run(tctx, chromedp.Poll[runsState]("window.hdi.runs", chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil || runs.Count == 0 {
		t.Fatalf("runs: %+v %v", runs, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(problems) > 0 || len(foreign) > 0 {
		t.Fatalf("page errors %v; requests to other hosts %v", problems, foreign)
	}
}
